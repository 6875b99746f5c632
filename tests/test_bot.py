"""The bot's lifecycle: start-up order and its failures, clean stop, admins and roles."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from opsbot.bot import Bot, StartupError
from opsbot.config import parse_config
from opsbot.events import Identity, Message, Role, Room
from opsbot.plugin import Context, Plugin, on
from opsbot.storage import StorageUnavailable
from opsbot.testing import BotFactory, memory_config
from opsbot.transports.memory import MemoryTransport


class Counter(Plugin):
    """Counts lines."""

    async def setup(self) -> None:
        self.lines: list[str] = []
        self.torn_down = False

    @on(Message)
    async def count(self, ctx: Context) -> None:
        self.lines.append(ctx.msg.text)

    async def teardown(self) -> None:
        self.torn_down = True


class FailsToStart(Plugin):
    """Cannot set up."""

    async def setup(self) -> None:
        raise OSError("template folder missing")


async def test_stop_handles_every_queued_line_first(bot_factory: BotFactory) -> None:
    bot = await bot_factory(extra={"counter": Counter})
    for i in range(300):
        await bot.irc.transport.say("alice", f"line {i}")
    await bot.bot.stop()
    counter = bot.bot.plugins["counter"]
    assert isinstance(counter, Counter)
    assert counter.lines == [f"line {i}" for i in range(300)]
    assert counter.torn_down
    await bot.bot.stop()  # a second stop is harmless


async def test_a_plugin_that_cannot_set_up_stops_start_up_cleanly(tmp_path: Path) -> None:
    bot = Bot(
        memory_config(tmp_path / "b.db", ["core", "broken"]), extra_plugins={"broken": FailsToStart}
    )
    with pytest.raises(
        StartupError, match="plugin broken failed to set up: template folder missing"
    ):
        await bot.start()
    assert not bot.scheduler.running
    with pytest.raises(RuntimeError, match="not connected"):
        bot.storage.session()


async def test_an_unreachable_database_stops_start_up_before_any_network(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = memory_config(
        tmp_path / "x.db",
        config={"database": {"url": f"postgresql+asyncpg://u@127.0.0.1:{port}/db"}},
    )
    bot = Bot(config)
    with pytest.raises(StorageUnavailable):
        await bot.start()
    irc = bot.transports["irc"]
    assert isinstance(irc, MemoryTransport) and irc.rooms() == []


def test_every_network_type_builds_its_transport_without_connecting() -> None:
    from opsbot.transports.irc import IrcTransport
    from opsbot.transports.matrix import MatrixTransport

    matrix = {
        "type": "matrix",
        "name": "mx",
        "homeserver": "https://m.example",
        "user_id": "@b:m.example",
        "password": "x",
    }
    irc = {"type": "irc", "name": "oftc", "host": "irc.example"}
    bot = Bot(parse_config({"networks": [matrix, irc]}, env={}))
    assert isinstance(bot.transports["mx"], MatrixTransport)
    assert isinstance(bot.transports["oftc"], IrcTransport)


async def test_admins_are_accounts_and_outrank_room_roles(bot_factory: BotFactory) -> None:
    bot = await bot_factory()
    room = Room("matrix", "!test:example.org")
    assert (
        await bot.bot.role_of(room, Identity("matrix", "@admin:example.org", "admin"))
        is Role.BOT_ADMIN
    )
    assert await bot.bot.role_of(room, Identity("matrix", None, "admin")) is Role.NONE
    assert await bot.bot.role_of(room, Identity("irc", "@admin:example.org", "admin")) is Role.NONE
    bot.matrix.transport.set_role("mod", Role.OP)
    assert await bot.bot.role_of(room, Identity("matrix", "@mod:example.org", "mod")) is Role.OP


async def test_a_failing_role_lookup_counts_as_no_role_and_the_meeting_goes_on(
    bot_factory: BotFactory, tmp_path: Path
) -> None:
    bot = await bot_factory()
    transport = bot.irc.transport

    async def broken(room: Room, who: Identity) -> Role:
        raise RuntimeError("homeserver said no")

    transport.role = broken  # type: ignore[method-assign]
    await bot.irc.say("alice", "#startmeeting")
    assert await bot.irc.say("bob", "#endmeeting") == [
        "Only the chairs (alice) can use #endmeeting."
    ]
    assert (await bot.irc.say("alice", "#endmeeting"))[0].startswith("Meeting ended")


async def test_no_own_message_events_without_a_handler_that_wants_them(
    bot_factory: BotFactory,
) -> None:
    bot = await bot_factory(extra={"counter": Counter})
    await bot.irc.say("alice", "!ping")
    counter = bot.bot.plugins["counter"]
    assert isinstance(counter, Counter) and counter.lines == ["!ping"]
