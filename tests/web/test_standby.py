"""A process standing by serves the site from the shared database: the archive, the kudos and
people pages, the calendar, the API, and the live page of a meeting the bot runs, line by line
(followed in the database); a person who opts out disappears from its pages within seconds, a
restricted meeting never shows, and nothing is served before the bot has migrated the database.
(SQLite and timer-driven following here; the PostgreSQL NOTIFY path with real processes is in
tests/integration/test_failover.py.)"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from opsbot.bot import Bot
from opsbot.config import parse_config
from opsbot.standby import Standby
from opsbot.testing import TestBot, memory_config
from tests.web.site import OPS, SiteFactory, base

PLUGINS = ("core", "meetings", "kudos", "records", "schedule")


@pytest.fixture
async def bot_and_standby(
    site_bot: SiteFactory, tmp_path: Path
) -> AsyncIterator[tuple[TestBot, Standby]]:
    follow = {"live_follow": "poll", "live_poll_seconds": 0.1}
    plugins = {"schedule": {"folder": str(tmp_path / "definitions")}, "meetings": follow}
    bot = await site_bot(plugins=plugins)
    config = memory_config(
        tmp_path / "opsbot.db",
        PLUGINS,
        {"web": {"enabled": True, "listen": "127.0.0.1:0"}, "plugins": plugins},
    )
    standby = Standby(config, lambda: Bot(config, transports=[]))
    standby.start()
    await asyncio.wait_for(standby.serving.wait(), 10)
    yield bot, standby
    await standby.stop()


def standby_base(standby: Standby) -> str:
    assert standby.site is not None and standby.site.web is not None
    return standby.site.web.base_url


async def get(http: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    async with http.get(url) as response:
        return response.status, await response.text()


async def until(condition: Any, within: float = 5) -> None:
    deadline = time.monotonic() + within
    while not await condition():
        assert time.monotonic() < deadline, "never happened"
        await asyncio.sleep(0.05)


async def test_the_standby_serves_the_archive_and_follows_a_live_meeting(
    bot_and_standby: tuple[TestBot, Standby], http: aiohttp.ClientSession
) -> None:
    bot, standby = bot_and_standby
    there = standby_base(standby)
    assert (await get(http, f"{there}/readyz"))[0] == 200
    irc = bot.irc
    await irc.say("alice", "#startmeeting Ops Meetup Team")
    await irc.say("bob", "said before anyone watched")

    async def listed() -> bool:
        return "/meetings/live/" in (await get(http, f"{there}/meetings/"))[1]

    await until(listed)
    status, index = await get(http, f"{there}/meetings/")
    meeting_id = index.split("/meetings/live/", 1)[1].split('"', 1)[0]
    status, page = await get(http, f"{there}/meetings/live/{meeting_id}")
    assert status == 200 and "said before anyone watched" in page

    events: list[str] = []

    async def watch() -> None:
        url = f"{there}/meetings/live/{meeting_id}/events"
        async with http.get(url) as response:
            async for raw in response.content:
                events.append(raw.decode())
                if raw.startswith(b"event: end"):
                    return

    watching = asyncio.create_task(watch())
    await asyncio.sleep(0.3)
    await irc.say("bob", "said while the standby watched")
    await irc.say("alice", "#endmeeting")
    await asyncio.wait_for(watching, 10)
    said = [json.loads(e[6:]) for e in events if e.startswith("data: {") and "text" in e]
    texts = [line["text"] for line in said]
    assert "said while the standby watched" in texts
    assert texts.count("said before anyone watched") == 1
    assert events[-1].startswith("event: end")

    status, api = await get(http, f"{there}/api/meetings")
    assert status == 200 and json.loads(api)[0]["name"] == "ops_meetup_team"
    status, log = await get(http, f"{there}{json.loads(api)[0]['log']}")
    assert status == 200 and "said while the standby watched" in log  # the shared minutes folder
    status, listing = await get(http, f"{there}/meetings/")
    assert "/meetings/live/" not in listing and "ops_meetup_team" in listing
    status, calendar = await get(http, f"{there}/calendar.ics")
    assert status == 200 and "Operators Meetup Team" in calendar
    assert OPS  # the same definitions as the bot's


async def test_a_restricted_meeting_and_an_opt_out_never_show_on_the_standby(
    bot_and_standby: tuple[TestBot, Standby], http: aiohttp.ClientSession
) -> None:
    bot, standby = bot_and_standby
    there = standby_base(standby)
    irc = bot.irc
    await irc.say("bob", "o/")
    await irc.say("alice", "!kudos bob #rootcause for the bisect")

    async def bob_on_the_board() -> bool:
        return "bob" in (await get(http, f"{there}/kudos"))[1]

    await until(bob_on_the_board)
    await irc.say("bob", "!kudos optout")
    started = time.monotonic()

    async def bob_gone() -> bool:
        status, board = await get(http, f"{there}/kudos")
        _, people = await get(http, f"{there}/api/kudos")
        return status == 200 and "bob" not in board and "bob" not in people

    await until(bob_gone, within=5)
    print(f"standby: an opt-out left its pages {time.monotonic() - started:.2f} s after")

    await irc.say("alice", "#startmeeting secret")
    await irc.say("alice", "#restrictlogs")
    await irc.say("bob", "the password is hunter2")
    await asyncio.sleep(0.5)  # several reads of the follower
    _, index = await get(http, f"{there}/meetings/")
    assert "/meetings/live/" not in index
    _, bots_index = await get(http, f"{base(bot)}/meetings/")
    assert "/meetings/live/" not in bots_index
    await irc.say("alice", "#endmeeting")
    _, api = await get(http, f"{there}/api/meetings")
    assert "secret" not in api


async def test_nothing_is_served_before_the_bot_has_migrated(tmp_path: Path) -> None:
    config = memory_config(tmp_path / "fresh.db", ("core", "meetings"), {"web": {"enabled": True}})
    data = config.model_dump(mode="json")
    data["web"]["listen"] = f"127.0.0.1:{free_port()}"
    config = parse_config(data, source="test", env={})
    standby = Standby(config, lambda: Bot(config, transports=[]))
    standby.start()
    try:
        await asyncio.sleep(1.5)
        assert not standby.serving.is_set()
        async with aiohttp.ClientSession() as http:
            status, body = await get(http, f"http://{config.web.listen}/readyz")
            assert status == 503 and "waiting for the bot to migrate" in body
            assert (await get(http, f"http://{config.web.listen}/meetings/"))[0] == 404
    finally:
        await standby.stop()


def free_port() -> int:
    from tests.integration.ircserver import free_port as port

    return port()
