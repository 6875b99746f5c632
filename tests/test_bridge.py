"""Rooms bridged between IRC and Matrix, over memory networks that play the bridge's part: one
meeting and one log whichever side the bot is on, puppets credited as their people, the bridge's
copies dropped (or kept when the line itself never reaches the bot), relayed edits and links."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from opsbot.bridge import BridgedRooms
from opsbot.bridge.conventions import corrected, paste_link
from opsbot.bridge.puppets import heisenbridge_ident
from opsbot.config import ConfigError
from opsbot.domain import LineLogged
from opsbot.events import Address, DomainEvent, Identity, Message, Room, account_in, account_key
from opsbot.plugin import Plugin, subscribe
from opsbot.testing import BotFactory, TestBot, memory_config
from opsbot_plugins.records.ledger import credits_of

MATRIX_ROOM = "!test:example.org"


def bridge(**over: Any) -> dict[str, Any]:
    return {
        "bridges": [
            {
                "name": "oftc",
                "irc_network": "irc",
                "matrix_network": "matrix",
                "rooms": [{"irc": "#test", "matrix": MATRIX_ROOM}],
                "irc_puppets": {"nick_suffix": "[m]", "realname": "{mxid}"},
                "matrix_puppets": {
                    "user": "@_oftc_{nick}:example.org",
                    "bot": "@oftc-irc:example.org",
                },
                "window": 0.3,
                **over,
            }
        ]
    }


ONLY_IRC = {"networks": [{"type": "memory", "name": "irc", "style": "irc"}]}
ONLY_MATRIX = {"networks": [{"type": "memory", "name": "matrix", "style": "matrix"}]}


class Lines(Plugin):
    """Records what the meetings plugin logged, with whom it credited."""

    logged: list[LineLogged]

    async def setup(self) -> None:
        self.logged = []

    @subscribe(LineLogged)
    async def on_line(self, event: DomainEvent) -> None:
        assert isinstance(event, LineLogged)
        self.logged.append(event)


async def make(bot_factory: BotFactory, **config: Any) -> TestBot:
    merged: dict[str, Any] = {**bridge(**config.pop("bridge", {})), **config}
    return await bot_factory(plugins=["core", "meetings"], config=merged, extra={"lines": Lines})


async def irc_puppet(bot: TestBot, nick: str, text: str, *, action: bool = False) -> None:
    """The bridge says on IRC what the Matrix person ``nick`` said."""
    irc = bot.irc.transport
    await irc.deliver(
        Message(
            network="irc",
            room=irc.room("#test"),
            sender=Identity("irc", None, f"{nick}[m]"),
            text=text,
            is_action=action,
            address=Address(nick, "gateway/matrix", f"@{nick}:example.org"),
        )
    )


async def matrix_puppet(bot: TestBot, nick: str, text: str) -> None:
    """The bridge says on Matrix what the IRC person ``nick`` said."""
    mx = bot.matrix.transport
    user = f"@_oftc_{nick}:example.org"
    await mx.say(f"_oftc_{nick}", text, account=user)


def log_of(tmp_path: Path) -> list[str]:
    [found] = list((tmp_path / "meetings").rglob("*.log.txt"))
    return [line.split(" ", 1)[1] for line in found.read_text().splitlines()]


def minutes(tmp_path: Path) -> dict[str, Any]:
    [found] = list((tmp_path / "meetings").rglob("*.json"))
    data: dict[str, Any] = json.loads(found.read_text())
    return data


async def settle(bot: TestBot, seconds: float = 0.0) -> None:
    await asyncio.sleep(seconds)
    await bot.bot.bus.drain()


def credited(bot: TestBot) -> list[tuple[str, str, str | None]]:
    lines = bot.bot.plugins["lines"]
    assert isinstance(lines, Lines)
    return [(e.nick, e.text, e.account) for e in lines.logged if e.nick != "opsbot"]


async def test_on_both_sides_every_line_is_logged_once_and_commands_run_once(
    bot_factory: BotFactory, tmp_path: Path
) -> None:
    bot = await make(bot_factory)
    irc, mx = bot.irc, bot.matrix
    # alice on Matrix starts the meeting; the bridge's IRC copy comes after it
    answers_mx = await mx.say("alice", "#startmeeting bridged")
    await irc_puppet(bot, "alice", "#startmeeting bridged")
    await settle(bot, 0.4)
    answers_irc = [s.text for s in await irc.settle()]
    assert answers_mx[0].startswith("Meeting started") and answers_irc == []
    # the bot's own lines, copied by the bridge onto the other side, are its own
    for text in answers_mx:
        await irc.transport.say("opsbot[m]", text, account=None)
    # bob on IRC; the bridge's Matrix copy first once, after once
    await matrix_puppet(bot, "bob", "o/ from IRC")
    await irc.say("bob", "o/ from IRC")
    await irc.say("bob", "#info the copy came first, then the line")
    await matrix_puppet(bot, "bob", "#info the copy came first, then the line")
    # the copy of alice's line overtakes it; bob speaks in between: the room keeps its order
    await irc_puppet(bot, "alice", "said before bob")
    await irc.say("bob", "said after alice")
    await mx.say("alice", "said before bob")
    # a multi-line Matrix message, copied line by line
    await mx.say("alice", "first line\nsecond line")
    await irc_puppet(bot, "alice", "first line")
    await irc_puppet(bot, "alice", "second line")
    await settle(bot, 0.5)  # past the window: nothing held is let go
    assert await mx.say("alice", "#endmeeting")
    await settle(bot, 0.5)
    said = [line for line in log_of(tmp_path) if not line.startswith("<opsbot>")]
    assert said == [
        "<alice> #startmeeting bridged",
        "<bob> o/ from IRC",
        "<bob> #info the copy came first, then the line",
        "<alice> said before bob",
        "<bob> said after alice",
        "<alice> first line",
        "<alice> second line",
        "<alice> #endmeeting",
    ]
    bots = [line for line in log_of(tmp_path) if line.startswith("<opsbot>")]
    assert len(bots) == len(set(bots)), "the bot's lines are logged once"
    assert len(list((tmp_path / "meetings").rglob("*.json"))) == 1
    assert ("bob", "o/ from IRC", "bob") in credited(bot)
    assert ("alice", "first line", "matrix:@alice:example.org") in credited(bot)


async def test_a_copy_whose_line_never_comes_is_logged_as_the_persons(
    bot_factory: BotFactory, tmp_path: Path
) -> None:
    bot = await make(bot_factory)
    await bot.matrix.say("alice", "#startmeeting held")
    await irc_puppet(bot, "carol", "said on Matrix while the bot's Matrix side missed it")
    await settle(bot)
    assert not [t for t in credited(bot) if t[0] == "carol"], "the copy waits for its line"
    await settle(bot, 0.5)
    assert (
        "carol",
        "said on Matrix while the bot's Matrix side missed it",
        "matrix:@carol:example.org",
    ) in credited(bot)


async def test_on_the_irc_side_only_puppets_are_their_matrix_people(
    bot_factory: BotFactory, tmp_path: Path
) -> None:
    bot = await make(bot_factory, **ONLY_IRC)
    irc = bot.irc
    await irc.say("bob", "#startmeeting irc side")
    await irc.say("bob", "#chair alice")
    await irc_puppet(bot, "alice", "#info tpyo in the plan")
    await irc_puppet(bot, "alice", "* #info typo fixed in the plan")
    await irc_puppet(bot, "alice", "s/plan/upgrade plan/")
    await irc_puppet(
        bot,
        "alice",
        "sent a long message:  < https://matrix.example.org/_matrix/media/v3/download/x/abc >",
        action=True,
    )
    await irc_puppet(bot, "alice", "#topic chaired from Matrix")
    await irc.say("bob", "#endmeeting")
    record = minutes(tmp_path)
    assert [i["text"] for i in record["items"] if i["kind"] == "INFO"] == [
        "typo fixed in the upgrade plan"
    ]
    assert record["topics"] == ["chaired from Matrix"], "the puppet is the chair alice"
    log = log_of(tmp_path)
    assert (
        "* alice sent a long message:  < https://matrix.example.org/_matrix/media/v3/download/x/abc >"
        in log
    )
    assert all("alice[m]" not in line for line in log)
    assert ("alice", "#info tpyo in the plan", "matrix:@alice:example.org") in credited(bot)


async def test_on_the_matrix_side_only_irc_people_are_unproven_nicks(
    bot_factory: BotFactory, tmp_path: Path
) -> None:
    bot = await make(bot_factory, **ONLY_MATRIX)
    mx = bot.matrix
    await matrix_puppet(bot, "bob", "#startmeeting matrix side")
    started = await mx.settle()
    assert started[0].text.startswith("Meeting started") and started[0].room.id == MATRIX_ROOM
    await mx.transport.say(
        "oftc-irc", "dave has joined the channel", account="@oftc-irc:example.org"
    )
    await mx.say("alice", "#info from Matrix")
    await matrix_puppet(bot, "bob", "#endmeeting")
    await settle(bot)
    assert ("bob", "#startmeeting matrix side", None) in credited(bot)
    assert ("oftc-irc", "dave has joined the channel", None) in credited(bot), "no one's credit"
    assert minutes(tmp_path)["channel"] == "#test", "the meeting is the bridged channel's"
    log = log_of(tmp_path)
    assert "<bob> #endmeeting" in log and not any("_oftc_bob" in line for line in log)


async def test_one_room_answers_where_asked_or_on_both_sides(
    bot_factory: BotFactory,
) -> None:
    asked = await make(bot_factory)
    assert await asked.irc.say("bob", "!ping") == ["pong"]
    assert await asked.matrix.settle() == []
    assert await asked.matrix.say("alice", "!ping") == ["pong"]
    assert await asked.irc.settle() == []
    both = await make(bot_factory, bridge={"answer": "both"})
    assert await both.irc.say("bob", "!ping") == ["pong"]
    assert [s.text for s in await both.matrix.settle()] == ["pong"]


def test_bridges_are_checked_against_the_networks(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        memory_config(tmp_path / "db", config={**ONLY_IRC, **bridge(matrix_network="irc")})
    assert "irc_network and matrix_network are both 'irc'" in str(error.value)
    with pytest.raises(ConfigError) as error:
        memory_config(
            tmp_path / "db",
            config={**bridge(irc_network="matrix", matrix_network="mx")},
        )
    assert "'matrix' is not an irc network" in str(error.value)
    with pytest.raises(ConfigError) as error:
        memory_config(tmp_path / "db", config=bridge(irc_puppets={}))
    assert "give nick_suffix, hosts or relay_nicks" in str(error.value)


def test_relayed_edits_and_links() -> None:
    assert corrected("tpyo here", "* typo", "words") == "typo here"
    assert corrected("the plan is ok", "s/plan/upgrade plan/", "whole") == "the upgrade plan is ok"
    assert corrected("the plan", "* a list's bullet, not an edit", "whole") is None
    assert corrected("the plan", "s/nothing/x/", "whole") is None
    assert (
        paste_link("... long message truncated: https://hs/_heisenbridge/media/x/y (7 lines)")
        == "https://hs/_heisenbridge/media/x/y"
    )
    assert paste_link("... long message truncated: <media unavailable> (7 lines)") == (
        "<media unavailable>"
    )
    assert paste_link("just a line") is None
    assert (
        heisenbridge_ident("@alice:localhost").startswith("m-")
        and len(heisenbridge_ident("@a:b")) == 8
    )


def test_the_readme_bridges_are_valid_config(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = readme.split("## Rooms bridged between IRC and Matrix", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```yaml\n(.*?)```", section, re.S)
    assert len(blocks) == 2
    for block in blocks:
        data = yaml.safe_load(block)
        networks = {
            "networks": [
                {"type": "memory", "name": data["bridges"][0]["irc_network"], "style": "irc"},
                {"type": "memory", "name": "matrix", "style": "matrix"},
            ]
        }
        config = memory_config(tmp_path / "db", config={**networks, **data})
        assert config.bridges[0].rooms


def test_a_bridged_persons_account_keeps_its_network() -> None:
    carol = Identity("matrix", "@carol:example.org", "carol")
    assert account_in("irc", carol) == "matrix:@carol:example.org"
    assert account_key("irc", "matrix:@carol:example.org") == ("matrix", "@carol:example.org")
    assert account_key("matrix", "@carol:example.org") == ("matrix", "@carol:example.org")
    assert account_key("irc", "bob") == ("irc", "bob")
    assert carol.is_seen_as("irc", "whoever", "matrix:@carol:example.org")
    assert not carol.is_seen_as("irc", "carol", "matrix:@mallory:example.org")
    ledger = credits_of(
        "meeting_ended",
        {
            "network": "irc", "meeting_name": "m", "meeting_id": 1,
            "accounts": {"carol": "matrix:@carol:example.org", "bob": "bob"},
            "attendees": {"carol": 3, "bob": 2}, "chairs": [["carol", None]], "actions": [],
        },
        datetime(2026, 12, 4, tzinfo=UTC),
    )  # fmt: skip
    assert {(c.network, c.account, c.kind) for c in ledger} == {
        ("matrix", "@carol:example.org", "attended"),
        ("irc", "bob", "attended"),
        ("matrix", "@carol:example.org", "chaired"),
    }


async def test_people_the_bridge_relays_can_be_named_from_one_side(
    bot_factory: BotFactory, tmp_path: Path
) -> None:
    """The bot on IRC only: alice exists for it only through the bridge, yet she is chaired,
    owns an action and gets kudos, as her Matrix account."""
    merged: dict[str, Any] = {**bridge(), **ONLY_IRC}
    bot = await bot_factory(plugins=["core", "meetings", "kudos"], config=merged)
    irc = bot.irc
    await irc.say("bob", "#startmeeting named")
    await irc_puppet(bot, "alice", "o/ from Matrix")
    await settle(bot)
    assert await irc.say("bob", "#chair alice") == ["Current chairs: bob, alice"]
    await irc.say("bob", "#action alice to bisect the regression")
    assert await irc.say("bob", "alice++ for the root cause") == ["Kudos to alice for #general."]
    await irc.say("bob", "#endmeeting")
    kudos = bot.bot.plugins["kudos"]
    standing = await kudos.store.standing([("matrix", "@alice:example.org")])  # type: ignore[attr-defined]
    assert standing.total == 1
    record = minutes(tmp_path)
    assert record["actions"][0]["owners"] == ["alice"]
    meetings = bot.bot.plugins["meetings"]
    accounts = await meetings.store.accounts_in(1)  # type: ignore[attr-defined]
    assert accounts["alice"] == "matrix:@alice:example.org"


async def test_whois_tells_the_sides_a_person_speaks_from(bot_factory: BotFactory) -> None:
    bot = await make(bot_factory)
    await bot.matrix.say("alice", "hello from Matrix")
    await irc_puppet(bot, "alice", "hello from Matrix")
    await bot.irc.say("bob", "hello from IRC")
    await settle(bot, 0.4)
    assert await bot.irc.say("bob", "!whois alice") == [
        "alice is matrix:@alice:example.org. In this bridged room: heard on matrix."
    ]
    assert await bot.matrix.say("alice", "!whois bob") == [
        "bob is irc:bob. In this bridged room: heard on irc."
    ]


def test_a_bridged_pair_is_found_by_either_side() -> None:
    config = memory_config(Path("/nonexistent/db"), config=bridge()).bridges
    rooms = BridgedRooms(config, lambda network: [])
    assert rooms.pair_of(Room("irc", "#TEST")) is rooms.pair_of(Room("irc", "#test")) is not None
    assert rooms.pair_of(Room("matrix", MATRIX_ROOM)) is not None
    assert rooms.pair_of(Room("matrix", MATRIX_ROOM.upper())) is None, "Matrix IDs are exact"
    assert rooms.pair_of(Room("irc", "#test", is_direct=True)) is None
    assert rooms.one_room(Room("matrix", MATRIX_ROOM)) == Room("irc", "#test")


async def test_a_relay_is_read_line_by_line(bot_factory: BotFactory, tmp_path: Path) -> None:
    """heisenbridge's plumbed rooms: ``<name> text`` from the owner's nick, a multi-line
    message's further lines bare, the relay's own words before anyone was relayed its own."""
    bot = await make(bot_factory, bridge={"irc_puppets": {"relay_nicks": ["hbowner"]}}, **ONLY_IRC)
    irc = bot.irc
    await irc.say("bob", "#startmeeting relayed")
    await irc.transport.say("hbowner", "the owner speaking for itself", account=None)
    await irc.transport.say("hbowner", "<carol> first of two lines", account=None)
    await irc.transport.say("hbowner", "second of two lines", account=None)
    await irc.transport.say("hbowner", "<@dave:example.org> named by ID", account=None)
    await irc.say("bob", "#endmeeting")
    said = [line for line in log_of(tmp_path) if not line.startswith("<opsbot>")]
    assert said == [
        "<bob> #startmeeting relayed",
        "<hbowner> the owner speaking for itself",
        "<carol> first of two lines",
        "<carol> second of two lines",
        "<dave> named by ID",
        "<bob> #endmeeting",
    ]
    assert ("dave", "named by ID", "matrix:@dave:example.org") in credited(bot)
    assert ("carol", "first of two lines", None) in credited(bot)


async def test_answering_on_both_sides_logs_the_bots_line_once(
    bot_factory: BotFactory, tmp_path: Path
) -> None:
    """``answer: both``: the bot says each line on IRC and on Matrix; Matrix echoes its own
    lines back (as Synapse does), even before the send returns: logged once all the same."""
    bot = await make(bot_factory, bridge={"answer": "both"})
    mx = bot.matrix.transport
    mx.capabilities = dataclasses.replace(mx.capabilities, echoes_own=True)
    real_send = mx.send

    async def send_and_echo(room: Room, text: str, **kw: Any) -> str | None:
        await mx.deliver(Message(network="matrix", room=room, sender=mx.me, text=text))
        return await real_send(room, text, **kw)

    mx.send = send_and_echo  # type: ignore[method-assign]
    await bot.irc.say("bob", "#startmeeting both")
    assert [s.text for s in await bot.matrix.settle()][
        -1
    ] == "The meeting name has been set to 'both'"
    await bot.irc.say("bob", "#endmeeting")
    await settle(bot)
    bots = [line for line in log_of(tmp_path) if line.startswith("<opsbot>")]
    assert bots[:3] and len(bots) == len(set(bots)), bots


async def test_heisenbridges_hashed_ident_proves_the_matrix_id(
    bot_factory: BotFactory, tmp_path: Path
) -> None:
    # what the real heisenbridge 1.15 gave @hbowner:localhost in the integration tests
    assert heisenbridge_ident("@hbowner:localhost") == "m-zh3ozk"
    puppets = {"hosts": ["127.0.0.1"], "hashed_ident": True, "matrix_server": "example.org"}
    bot = await make(bot_factory, bridge={"irc_puppets": puppets}, **ONLY_IRC)
    irc = bot.irc.transport
    await bot.irc.say("bob", "#startmeeting ident")
    for nick, user in (
        ("alice", heisenbridge_ident("@alice:example.org")),
        ("mallory", "m-aaaaaa"),
    ):
        await irc.deliver(
            Message(
                network="irc",
                room=irc.room("#test"),
                sender=Identity("irc", None, nick),
                text=f"{nick} via the bouncer",
                address=Address(user, "127.0.0.1", nick),
            )
        )
    await settle(bot)
    assert ("alice", "alice via the bouncer", "matrix:@alice:example.org") in credited(bot)
    assert ("mallory", "mallory via the bouncer", None) in credited(bot), "no proof, no account"


async def test_a_copy_far_behind_its_line_is_still_recognised(bot_factory: BotFactory) -> None:
    """A bridge's own flood control can put its copies many minutes behind (heisenbridge: one
    line each 1.5 s): 17 minutes late, a copy is still the line's; only after an hour it counts
    as a line of its own."""
    bot = await make(bot_factory)
    now = [1000.0]
    bot.bot._bridge_step._clock = lambda: now[0]  # type: ignore[attr-defined]
    await bot.matrix.say("alice", "#startmeeting lagging")
    await bot.matrix.say("alice", "said long before its copy")
    now[0] += 17 * 60
    await irc_puppet(bot, "alice", "said long before its copy")
    await settle(bot, 0.5)
    said = [t for n, t, _ in credited(bot) if n == "alice"]
    assert said.count("said long before its copy") == 1
    await bot.matrix.say("alice", "said an hour before its copy")
    now[0] += 3601
    await irc_puppet(bot, "alice", "said an hour before its copy")
    await settle(bot, 0.5)
    said = [t for n, t, _ in credited(bot) if n == "alice"]
    assert said.count("said an hour before its copy") == 2
