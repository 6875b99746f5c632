"""A pytest plugin (entry point ``pytest11``): fixtures that build a real bot over memory networks.

``bot`` is a started bot with every bundled plugin over two memory networks, ``irc`` (IRC-like)
and ``matrix`` (Matrix-like), and a temporary SQLite database. A test speaks as people and reads
what the bot answered::

    async def test_ping(bot: TestBot) -> None:
        assert await bot.irc.say("alice", "!ping") == ["pong"]

``bot_factory`` builds bots with other plugins or config (``await bot_factory(plugins=["core"],
config={"bot": {"prefix": "."}})``); every bot it built is stopped at the end of the test.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from .bot import Bot
from .config import Config, parse_config
from .plugin import Plugin
from .transports.memory import DEFAULT, MemoryTransport, Sent, _Default

BUNDLED_PLUGINS = ("core", "meetings")


class Chat:
    """One memory network seen from a test: say things as people, read what the bot sent."""

    def __init__(self, bot: Bot, transport: MemoryTransport) -> None:
        self.bot = bot
        self.transport = transport
        self._read = 0

    @property
    def room(self) -> str:
        return self.transport.default_room_id

    async def say(
        self,
        nick: str,
        text: str,
        *,
        room: str | None = None,
        account: str | _Default | None = DEFAULT,
        action: bool = False,
    ) -> list[str]:
        """``nick`` says ``text``; returns the texts the bot sent in answer, once all is handled."""
        await self.transport.say(nick, text, room=room, account=account, action=action)
        return [sent.text for sent in await self.settle()]

    async def say_private(
        self, nick: str, text: str, *, account: str | _Default | None = DEFAULT
    ) -> list[str]:
        await self.transport.say_private(nick, text, account=account)
        return [sent.text for sent in await self.settle()]

    async def settle(self) -> list[Sent]:
        """Wait until the bot has handled everything; returns what it sent since the last look."""
        await self.bot.bus.drain()
        new = self.transport.sent[self._read :]
        self._read = len(self.transport.sent)
        return new


class TestBot:
    """A started bot with its memory networks."""

    __test__ = False  # not a test class, whatever pytest thinks of the name

    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        self.chats = {
            name: Chat(bot, t)
            for name, t in bot.transports.items()
            if isinstance(t, MemoryTransport)
        }

    @property
    def irc(self) -> Chat:
        return self.chats["irc"]

    @property
    def matrix(self) -> Chat:
        return self.chats["matrix"]


def memory_config(
    database: Path, plugins: Sequence[str] = BUNDLED_PLUGINS, config: dict[str, Any] | None = None
) -> Config:
    """A config with memory networks ``irc`` and ``matrix``, a SQLite file at ``database`` and
    meeting files beside it; ``config`` is merged over it (mappings merge, other values replace)."""
    data: dict[str, Any] = {
        "bot": {"nick": "opsbot", "admins": ["irc:admin", "matrix:@admin:example.org"]},
        "database": {
            "url": f"sqlite+aiosqlite:///{database}",
            "spool_dir": str(database.parent / "spool"),
        },
        "networks": [
            {"type": "memory", "name": "irc", "style": "irc"},
            {"type": "memory", "name": "matrix", "style": "matrix"},
        ],
        "plugins": {"enabled": list(plugins)},
        # Tests that want the site ask for it (on any free port): bots in parallel never clash.
        "web": {"enabled": False, "listen": "127.0.0.1:0"},
    }
    if "meetings" in plugins:
        data["plugins"]["meetings"] = {
            "output_dir": str(database.parent / "meetings"),
            "url_prefix": "https://meetings.example.org",
        }
    return parse_config(_merge(data, config or {}), source="test config", env={})


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


BotFactory = Callable[..., Awaitable[TestBot]]


def run_opsbot(
    *args: str, cwd: Path | None = None, stdin: str = "", timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """``opsbot ARGS`` as a person runs it, in a process of its own; ``$OPSBOT_CONFIG`` of the
    test run is not inherited, and the example config's web site takes any free port."""
    return subprocess.run(
        [sys.executable, "-m", "opsbot", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "OPSBOT_CONFIG": "", "OPSBOT_WEB_LISTEN": "127.0.0.1:0"},
    )


@pytest.fixture
async def bot_factory(tmp_path: Path) -> AsyncIterator[BotFactory]:
    """Build started bots; ``plugins=`` and ``config=`` as for :func:`memory_config`,
    ``database=`` to share one SQLite file between bots (a restart), ``extra=`` to add plugin
    classes defined in the test (enabled after ``plugins``)."""
    built: list[Bot] = []

    async def make(
        plugins: Sequence[str] = BUNDLED_PLUGINS,
        config: dict[str, Any] | None = None,
        database: Path | None = None,
        extra: dict[str, type[Plugin]] | None = None,
    ) -> TestBot:
        enabled = [*plugins, *(extra or {})]
        bot = Bot(
            memory_config(database or tmp_path / "opsbot.db", enabled, config), extra_plugins=extra
        )
        built.append(bot)
        await bot.start()
        return TestBot(bot)

    yield make
    for bot in reversed(built):
        await bot.stop()


@pytest.fixture
async def bot(bot_factory: BotFactory) -> TestBot:
    """A started bot with every bundled plugin, on memory networks ``irc`` and ``matrix``."""
    return await bot_factory()
