"""Webhooks against a real aiohttp receiver on a loopback port that checks every signature: down
while a meeting runs, up later (everything arrives, at least once, one idempotency key per
event), across a restart of the bot; 410 Gone disables a webhook for good."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from opsbot.testing import BotFactory

from .ircserver import free_port

SECRET = "s3cret-of-the-receiver"
PLUGINS = ("core", "meetings", "kudos")
ALL = ["MeetingStarted", "MeetingEnded", "ActionItemRecorded", "ActionItemClosed", "KudosGiven"]


class Receiver:
    """An aiohttp app that keeps what it was sent, answering ``status``."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.received: list[dict[str, Any]] = []
        self.keys: list[str] = []
        self.bad_signatures = 0
        self.hits = 0
        self.status = 204
        self.runner: web.AppRunner | None = None

    async def hook(self, request: web.Request) -> web.Response:
        self.hits += 1
        body = await request.read()
        expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, request.headers.get("X-Opsbot-Signature", "")):
            self.bad_signatures += 1
            return web.Response(status=401)
        if self.status < 300:
            self.received.append(json.loads(body))
            self.keys.append(request.headers["X-Opsbot-Delivery"])
        return web.Response(status=self.status)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self.hook)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None

    async def wait_for(self, count: int) -> None:
        for _ in range(300):
            if len(set(self.keys)) >= count:
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"{len(set(self.keys))} events, not {count}: {self.received}")


@pytest.fixture
async def receiver() -> Any:
    made = Receiver()
    yield made
    await made.stop()


def hooks(receiver: Receiver, **extra: Any) -> dict[str, Any]:
    hook = {"name": "ci", "url": receiver.url, "secret": SECRET, "events": ALL}
    hook |= {"retry_min": 0.1, "retry_max": 0.5, **extra}
    return {"webhooks": [hook]}


async def test_events_wait_while_the_receiver_is_down_and_arrive_signed_once_each(
    receiver: Receiver, bot_factory: BotFactory, tmp_path: Path
) -> None:
    database = tmp_path / "opsbot.db"
    bot = await bot_factory(plugins=PLUGINS, config=hooks(receiver), database=database)
    await bot.irc.say("alice", "#startmeeting Ops Meetup Team")
    await bot.irc.say("bob", "o/")
    await bot.irc.say("alice", "#action bob to file the bug")
    await bot.irc.say("alice", "#endmeeting")
    assert await bot.irc.say("bob", "!done 1") == ["Closed action item 1: bob to file the bug"]
    await asyncio.sleep(0.5)  # tried, refused (nobody listens), waiting
    assert (await bot.bot.outbox.status("webhook", "ci")).last_error
    assert (await bot.irc.say("carol", "!kudos bob #rootcause found the leak"))[0].startswith(
        "Kudos to bob"
    )
    await bot.bot.stop()

    await receiver.start()
    again = await bot_factory(plugins=PLUGINS, config=hooks(receiver), database=database)
    await receiver.wait_for(5)
    await asyncio.wait_for(again.bot.outbox.idle(), 30)
    assert receiver.bad_signatures == 0
    events = {body["event"]: body for body in receiver.received}
    assert [body["event"] for body in receiver.received] == [
        "MeetingStarted",
        "ActionItemRecorded",
        "MeetingEnded",
        "ActionItemClosed",
        "KudosGiven",
    ]
    assert all(body["version"] == 1 for body in receiver.received)
    assert sorted(receiver.keys) == sorted(body["id"] for body in receiver.received)
    started = events["MeetingStarted"]["data"]
    assert started["meeting_name"] == "ops_meetup_team" and started["owner"] == "alice"
    assert events["ActionItemRecorded"]["data"]["owners"] == ["bob"]
    ended = events["MeetingEnded"]["data"]
    assert ended["actions"] == [["bob to file the bug", ["bob"]]]
    assert ended["links"][".html"].startswith("https://meetings.example.org/ops_meetup_team/")
    assert "minutes_text" not in ended
    assert events["ActionItemClosed"]["data"]["action_id"] == 1
    assert events["KudosGiven"]["data"]["category"] == "rootcause"


async def test_restricted_meetings_stay_private_and_a_wrong_secret_never_passes(
    receiver: Receiver, bot_factory: BotFactory
) -> None:
    await receiver.start()
    bot = await bot_factory(plugins=PLUGINS, config=hooks(receiver))
    await bot.irc.say("alice", "#startmeeting secret")
    await bot.irc.say("alice", "#restrictlogs")
    await bot.irc.say("alice", "#action bob to rotate the keys")
    await bot.irc.say("alice", "#endmeeting")
    await bot.irc.say("alice", "#startmeeting public")
    await bot.irc.say("alice", "#endmeeting")
    await receiver.wait_for(3)
    await asyncio.wait_for(bot.bot.outbox.idle(), 30)
    names = [(b["event"], b["data"]["meeting_name"]) for b in receiver.received]
    assert names == [
        ("MeetingStarted", "secret"),
        ("MeetingStarted", "public"),
        ("MeetingEnded", "public"),
    ]
    assert "rotate" not in json.dumps(receiver.received)


async def test_a_receiver_answering_410_is_disabled_and_stays_so_after_a_restart(
    receiver: Receiver, bot_factory: BotFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    receiver.status = 410
    await receiver.start()
    database = tmp_path / "opsbot.db"
    bot = await bot_factory(plugins=PLUGINS, config=hooks(receiver), database=database)
    await bot.irc.say("alice", "#startmeeting ops")
    await bot.irc.say("alice", "#endmeeting")
    await asyncio.wait_for(bot.bot.outbox.idle(), 30)
    assert receiver.hits == 1  # the first answer disabled it: the second event never went
    assert "webhook ci disabled" in caplog.text and "410 Gone" in caplog.text
    await bot.bot.stop()
    again = await bot_factory(plugins=PLUGINS, config=hooks(receiver), database=database)
    await again.irc.say("alice", "#startmeeting ops")
    await again.irc.say("alice", "#endmeeting")
    await asyncio.wait_for(again.bot.outbox.idle(), 30)
    assert receiver.hits == 1
