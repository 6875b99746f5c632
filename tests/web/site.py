"""A bot with its web site on a free port, and an HTTP client for it (fixtures shared by the
web and browser tests)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from opsbot.testing import BotFactory, TestBot

SiteFactory = Callable[..., Awaitable[TestBot]]
OPS = """\
project: Operators Meetup Team
meeting_id: ops_meetup_team
agenda_url: https://etherpad.opendev.org/p/ops-meetups-team
schedule:
  - {time: '1400', day: Tuesday, irc: test, frequency: weekly}
"""


@pytest.fixture
async def site_bot(bot_factory: BotFactory, tmp_path: Path) -> SiteFactory:
    async def make(database_url: str | None = None, **more: Any) -> TestBot:
        definitions = tmp_path / "definitions"
        definitions.mkdir(exist_ok=True)
        (definitions / "ops.yaml").write_text(OPS)
        config: dict[str, Any] = {
            "web": {"enabled": True, "listen": "127.0.0.1:0"},
            "plugins": {"schedule": {"folder": str(definitions)}},
            **more,
        }
        if database_url:
            config["database"] = {"url": database_url}
        return await bot_factory(
            plugins=("core", "meetings", "kudos", "records", "schedule"), config=config
        )

    return make


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def base(bot: TestBot) -> str:
    assert bot.bot.web is not None
    return bot.bot.web.base_url


async def meeting(bot: TestBot, name: str = "Ops Meetup Team", restricted: bool = False) -> None:
    irc = bot.irc
    await irc.say("alice", f"#startmeeting {name}")
    if restricted:
        await irc.say("alice", "#restrictlogs")
    await irc.say("bob", "the nova scheduler bug is back after the upgrade")
    await irc.say("carol", "I bisected it to the placement change")
    await irc.say("alice", "#action bob to file the nova bug")
    await irc.say("alice", "#agreed roll back placement")
    await irc.say("alice", "#endmeeting")
