"""The Matrix transport on a real homeserver: Synapse started for this test session."""

from __future__ import annotations

import asyncio
import json
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from opsbot.bot import Bot
from opsbot.config import parse_config
from opsbot.transports.matrix import MatrixTransport

from .homeserver import Homeserver, MatrixPerson


@pytest.fixture(scope="session")
def homeserver() -> Iterator[Homeserver]:
    server = Homeserver(Path(tempfile.mkdtemp(prefix="opsbot-synapse-")))
    server.start()
    try:
        yield server
    finally:
        server.stop()


def unique(name: str) -> str:
    return f"{name}{uuid.uuid4().hex[:6]}"


class World:
    """A bot account, two people and a room they share, on the session's homeserver."""

    def __init__(self, homeserver: Homeserver, folder: Path) -> None:
        self.homeserver = homeserver
        self.folder = folder
        self.bot_name = unique("opsbot")
        self.bot_password = "bot-password"
        self.bot_id = homeserver.register(self.bot_name, self.bot_password)
        self.bots: list[Bot] = []

    def config(self, **matrix: Any) -> dict[str, Any]:
        net = {
            "type": "matrix",
            "name": "matrix",
            "homeserver": self.homeserver.url,
            "user_id": self.bot_id,
            "password": self.bot_password,
            "invites": {"servers": ["localhost"]},
            "sync_timeout": 5,
            "retry": {"min_delay": 0.2, "max_delay": 1},
            **matrix,
        }
        return {
            "bot": {"nick": self.bot_name},
            "database": {"url": f"sqlite+aiosqlite:///{self.folder}/bot.db"},
            "networks": [net],
            "plugins": {
                "enabled": ["core", "meetings"],
                "meetings": {
                    "output_dir": str(self.folder / "meetings"),
                    "url_prefix": "https://m.example",
                },
            },
        }

    async def start_bot(self, **matrix: Any) -> Bot:
        bot = Bot(parse_config(self.config(**matrix), env={}))
        await bot.start()
        self.bots.append(bot)
        await asyncio.wait_for(transport_of(bot).ready.wait(), 30)
        return bot

    async def stop_bots(self) -> None:
        for bot in self.bots:
            await bot.stop()
        self.bots.clear()


def transport_of(bot: Bot) -> MatrixTransport:
    transport = bot.transports["matrix"]
    assert isinstance(transport, MatrixTransport)
    return transport


@pytest.fixture
async def world(homeserver: Homeserver, tmp_path: Path) -> AsyncIterator[World]:
    found = World(homeserver, tmp_path)
    try:
        yield found
    finally:
        await found.stop_bots()


@pytest.fixture
async def people(homeserver: Homeserver) -> AsyncIterator[tuple[MatrixPerson, MatrixPerson]]:
    alice = await MatrixPerson.connect(homeserver, unique("alice"))
    bob = await MatrixPerson.connect(homeserver, unique("bob"))
    try:
        yield alice, bob
    finally:
        await alice.close()
        await bob.close()


async def shared_room(world: World, alice: MatrixPerson, bob: MatrixPerson) -> str:
    """Alice's room with Bob, the bot invited (it accepts invitations from localhost)."""
    room_id = await alice.create_room(invite=[bob.user_id, world.bot_id])
    await bob.join(room_id)
    bot = world.bots[-1]
    for _ in range(200):
        if any(room.id == room_id for room in transport_of(bot).rooms()):
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the bot never joined the room it was invited to")
    return room_id


def body_of(event: Any) -> str:
    return str(getattr(event, "body", ""))


async def answer(person: MatrixPerson, room_id: str, bot_id: str, text: str) -> Any:
    mark = len(person.events)
    await person.say(room_id, text)
    return await person.wait_for(lambda e: e.sender == bot_id, room_id, since=mark)


async def written(folder: Path) -> dict[str, Any]:
    for _ in range(200):
        found = list((folder / "meetings").rglob("*.json"))
        if found:
            data: dict[str, Any] = json.loads(found[0].read_text())
            return data
        await asyncio.sleep(0.05)
    raise AssertionError("the meeting's files were never written")


async def test_a_command_is_answered_with_a_threaded_notice(
    world: World, people: tuple[MatrixPerson, MatrixPerson]
) -> None:
    alice, bob = people
    await world.start_bot()
    room_id = await shared_room(world, alice, bob)
    mark = len(alice.events)
    asked = await alice.say(room_id, "!ping")
    reply = await alice.wait_for(lambda e: e.sender == world.bot_id, room_id, since=mark)
    content = reply.source["content"]
    assert content["msgtype"] == "m.notice"
    assert content["body"].startswith("pong")
    assert content["format"] == "org.matrix.custom.html"
    assert content["m.relates_to"] == {"m.in_reply_to": {"event_id": asked}}


async def test_a_meeting_with_two_people_end_to_end(
    world: World, people: tuple[MatrixPerson, MatrixPerson]
) -> None:
    alice, bob = people
    await world.start_bot()
    room_id = await shared_room(world, alice, bob)
    started = await answer(alice, room_id, world.bot_id, "#startmeeting ops meetup")
    assert "Meeting started" in body_of(started)
    await alice.say(room_id, "#topic upgrades")
    await bob.say(room_id, "we saw the scheduler fall over\nat 400 nodes\nlogs attached")
    await alice.say(room_id, f"#action {bob.name} file a bug with the logs")
    await bob.say(room_id, "#info the root cause is the conductor's RPC timeout")
    listed = await answer(alice, room_id, world.bot_id, "#actions")
    content = listed.source["content"]
    assert f"(1) {bob.name} file a bug with the logs" in content["body"]
    assert f'href="https://matrix.to/#/{bob.user_id}"' in content["formatted_body"]
    assert content["m.mentions"] == {"user_ids": [bob.user_id]}
    ended = await answer(alice, room_id, world.bot_id, "#endmeeting")
    assert "Meeting ended" in body_of(ended)
    record = await written(world.folder)
    assert [a["owners"] for a in record["actions"]] == [[bob.name]]
    assert set(record["people_present"]) >= {alice.name, bob.name}
    log = next((world.folder / "meetings").rglob("*.log.txt")).read_text()
    assert f"<{bob.name}> we saw the scheduler fall over\n" in log
    lines = [line.split("> ", 1)[1] for line in log.splitlines() if f"<{bob.name}>" in line]
    assert lines[:3] == ["we saw the scheduler fall over", "at 400 nodes", "logs attached"]
