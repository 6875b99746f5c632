"""Rooms bridged by a real heisenbridge between the real InspIRCd and Synapse, with people on
both sides: one meeting and one log, every line once and in order, whether opsbot sits on the
IRC side only, on the Matrix side only, or on both."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from opsbot.bot import Bot
from opsbot.config import parse_config

from .bridgeserver import Heisenbridge
from .homeserver import MatrixPerson
from .ircserver import Person

CHANNEL = "#ops"
BOT_PASSWORD = "bot-password"


class World:
    """The servers and the bridge, carol on Matrix and bob on IRC in one plumbed room."""

    def __init__(
        self, bridge: Heisenbridge, carol: MatrixPerson, bob: Person, room: str, bot_id: str
    ) -> None:
        self.bridge = bridge
        self.carol = carol
        self.bob = bob
        self.room = room
        self.bot_id = bot_id

    def config(self, folder: Path, sides: tuple[str, ...]) -> dict[str, Any]:
        networks: list[dict[str, Any]] = []
        if "irc" in sides:
            networks.append({
                "type": "irc", "name": "irc", "host": "127.0.0.1", "port": self.bridge.irc.port,
                "tls": False, "nick": "opsbot", "channels": [CHANNEL],
                "flood": {"burst": 1000, "per_second": 1000},
                "reconnect": {"min_delay": 0.2, "max_delay": 2},
            })  # fmt: skip
        if "matrix" in sides:
            networks.append({
                "type": "matrix", "name": "matrix", "homeserver": self.bridge.homeserver.url,
                "user_id": self.bot_id, "password": BOT_PASSWORD, "rooms": [self.room],
                "sync_timeout": 5, "retry": {"min_delay": 0.2, "max_delay": 1},
            })  # fmt: skip
        return {
            "bot": {"nick": "opsbot"},
            "web": {"enabled": False},
            "database": {
                "url": f"sqlite+aiosqlite:///{folder}/bot.db",
                "spool_dir": str(folder / "spool"),
            },
            "networks": networks,
            "bridges": [
                {
                    "name": "heisenbridge",
                    "style": "heisenbridge",
                    "irc_network": "irc",
                    "matrix_network": "matrix",
                    "rooms": [{"irc": CHANNEL, "matrix": self.room}],
                    "irc_puppets": {"relay_nicks": [self.bridge.owner_nick]},
                    "matrix_puppets": {
                        "user": "@irc_test_{nick}:localhost",
                        "bot": "@heisenbridge:localhost",
                    },
                }
            ],
            "plugins": {
                "enabled": ["core", "meetings", "kudos"],
                "meetings": {
                    "output_dir": str(folder / "meetings"),
                    "url_prefix": "https://m.example",
                },
            },
        }

    async def start_bot(self, folder: Path, sides: tuple[str, ...]) -> Bot:
        bot = Bot(parse_config(self.config(folder, sides), env={}))
        await bot.start()
        for _ in range(400):
            if all(bot.transports[side].rooms() for side in sides):
                return bot
            await asyncio.sleep(0.05)
        await bot.stop()
        raise AssertionError(f"the bot is not in the rooms of {sides}")

    # people speak, and wait until the bridge has carried it over

    async def carol_says(self, text: str) -> str:
        mark = len(self.bob.lines)
        event_id = await self.carol.say(self.room, text)
        last = text.split("\n")[-1]
        await self.bob.wait_for(
            lambda line: "PRIVMSG #ops :" in line and last in line, within=20, since=mark
        )
        return event_id

    async def carol_edits(self, event_id: str, text: str) -> None:
        mark = len(self.bob.lines)
        await self.carol.edit(self.room, event_id, text)
        await self.bob.wait_for(
            lambda line: " PRIVMSG #ops :" in line and "* " in line, within=20, since=mark
        )

    async def bob_says(self, text: str) -> None:
        mark = len(self.carol.events)
        await self.bob.say(CHANNEL, text)
        await self.carol.wait_for(
            lambda e: e.sender == "@irc_test_bob:localhost" and getattr(e, "body", "") == text,
            self.room,
            since=mark,
        )


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    bridge = Heisenbridge(tmp_path / "servers")
    bridge.start_servers()
    people: list[Any] = []
    try:
        await bridge.setup()
        bot_id = bridge.homeserver.register("opsbot", BOT_PASSWORD)
        carol = await MatrixPerson.connect(bridge.homeserver, "carol")
        people.append(carol)
        room = await carol.create_room(invite=["@heisenbridge:localhost", bot_id], name="ops")
        bob = await Person.connect(bridge.irc.port, "bob")
        people.append(bob)
        await bob.register("bob-password")  # an operator with a services account
        await bob.send(f"JOIN {CHANNEL}")
        await bridge.plumb(room, CHANNEL)
        yield World(bridge, carol, bob, room, bot_id)
    finally:
        for person in people:
            await (person.close() if isinstance(person, MatrixPerson) else person.quit())
        await bridge.close()


async def logged(folder: Path) -> list[str]:
    """The lines of the one meeting log written, once past the bridge window (nothing held is
    let go later)."""
    for _ in range(200):
        found = list((folder / "meetings").rglob("*.log.txt"))
        if found:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the meeting's log was never written")
    await asyncio.sleep(6)
    assert len(found) == 1, found
    return [line.split(" ", 1)[1] for line in found[0].read_text().splitlines()]


async def a_meeting(world: World, bot: Bot, folder: Path) -> list[str]:
    """The same meeting, said by the same people: the log lines not the bot's."""
    await world.carol_says("#startmeeting bridged")
    await world.bob_says("o/ from IRC")
    await world.carol_says("line one\nline two")
    typo = await world.carol_says("tpyo here")
    await world.carol_edits(typo, "typo here")
    await world.bob_says("#info said on IRC")
    await world.carol_says("#info said on Matrix")
    await world.carol_says("#endmeeting")
    lines = await logged(folder)
    [page] = list((folder / "meetings").rglob("*.log.html"))
    html = page.read_text()
    assert "typo here <i>(edited)</i>" in html and "tpyo" not in html, "shown as an edit"
    assert not [line for line in lines if "irc_test_" in line or "hbowner" in line], lines
    assert not [line for line in lines if line.startswith("*** bob")], "bob joined before"
    return [line for line in lines if not line.startswith(("<opsbot>", "***"))]


EXPECTED = [
    "<carol> #startmeeting bridged",
    "<bob> o/ from IRC",
    "<carol> line one",
    "<carol> line two",
    "<carol> typo here",
    "<bob> #info said on IRC",
    "<carol> #info said on Matrix",
    "<carol> #endmeeting",
]


@pytest.mark.parametrize("sides", [("irc",), ("matrix",), ("irc", "matrix")], ids="+".join)
async def test_one_meeting_one_log_wherever_the_bot_sits(
    world: World, tmp_path: Path, sides: tuple[str, ...]
) -> None:
    bot = await world.start_bot(tmp_path, sides)
    try:
        said = await a_meeting(world, bot, tmp_path)
    finally:
        await bot.stop()
    assert said == EXPECTED, said


async def test_the_bridge_restarted_mid_meeting_loses_nothing(world: World, tmp_path: Path) -> None:
    bot = await world.start_bot(tmp_path, ("irc", "matrix"))
    bridge = world.bridge
    try:
        await world.carol_says("#startmeeting restart")
        await world.bob_says("before the restart")
        mark = len(world.bob.lines)
        bridge.stop_bridge()
        await world.bob.wait_for(
            lambda line: line.startswith(f":{bridge.owner_nick}!") and " QUIT " in line,
            within=30,
            since=mark,
        )
        await world.carol.say(world.room, "said on Matrix while the bridge is away")
        await asyncio.sleep(2)  # nobody sees the other side now: the bot's sync has it first
        await world.bob.say(CHANNEL, "said on IRC while the bridge is away")
        await asyncio.sleep(2)
        mark = len(world.bob.lines)
        bridge.start_bridge()
        await world.bob.wait_for(
            lambda line: line.startswith(f":{bridge.owner_nick}!") and " JOIN " in line,
            within=60,
            since=mark,
        )
        await asyncio.sleep(3)  # what Synapse kept for the bridge while it was away is relayed
        await world.bob_says("after the restart")
        await world.carol_says("#endmeeting")
        lines = await logged(tmp_path)
    finally:
        await bot.stop()
    said = [line for line in lines if not line.startswith(("<opsbot>", "***"))]
    assert said == [
        "<carol> #startmeeting restart",
        "<bob> before the restart",
        "<carol> said on Matrix while the bridge is away",
        "<bob> said on IRC while the bridge is away",
        "<bob> after the restart",
        "<carol> #endmeeting",
    ], said


@pytest.mark.parametrize("sides", [("irc",), ("irc", "matrix")], ids="+".join)
async def test_kudos_to_a_bridged_person_reach_her_matrix_account(
    world: World, tmp_path: Path, sides: tuple[str, ...]
) -> None:
    """On both sides the bot knows carol from the room; on the IRC side only, from the relay
    (which names her by Matrix ID, as the README's heisenbridge setup advises)."""
    if sides == ("irc",):
        await world.bridge.use_matrix_ids(CHANNEL)
    bot = await world.start_bot(tmp_path, sides)
    try:
        await world.carol_says("found it: the scheduler retried without backoff")
        mark = len(world.bob.lines)
        await world.bob.say(CHANNEL, "carol++ for finding the root cause")
        await world.bob.wait_for(lambda line: "Kudos to carol" in line, within=20, since=mark)
        kudos = bot.plugins["kudos"]
        await kudos.store.flush()  # type: ignore[attr-defined]
        standing = await kudos.store.standing([("matrix", "@carol:localhost")])  # type: ignore[attr-defined]
        assert standing.total == 1
    finally:
        await bot.stop()


async def test_a_long_matrix_message_is_logged_once_line_by_line(
    world: World, tmp_path: Path
) -> None:
    """Seven lines from Matrix, which heisenbridge relays into a plumbed room line by line (a
    "long message truncated" notice where it cuts one short is recognised too): on both sides
    the bot logs the seven lines once."""
    bot = await world.start_bot(tmp_path, ("irc", "matrix"))
    seven = "\n".join(f"step {i} of the upgrade" for i in range(1, 8))
    try:
        await world.carol_says("#startmeeting long")
        mark = len(world.bob.lines)
        await world.carol.say(world.room, seven)
        await world.bob.wait_for(
            lambda line: "step 7 of the upgrade" in line or "truncated" in line,
            within=30,
            since=mark,
        )
        await world.bob_says("thanks")
        await world.carol_says("#endmeeting")
        lines = await logged(tmp_path)
    finally:
        await bot.stop()
    said = [line for line in lines if not line.startswith(("<opsbot>", "***"))]
    assert said == [
        "<carol> #startmeeting long",
        *(f"<carol> step {i} of the upgrade" for i in range(1, 8)),
        "<bob> thanks",
        "<carol> #endmeeting",
    ], said
