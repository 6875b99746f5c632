"""The meetings plugin over real bots on memory networks: chairing, files, actions, resumption."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from opsbot.domain import (
    ActionItemRecorded,
    ItemUndone,
    LineLogged,
    MeetingEnded,
    MeetingStarted,
    TopicChanged,
)
from opsbot.events import DomainEvent, Edit, Redaction, Role
from opsbot.plugin import Plugin, subscribe
from opsbot.testing import BotFactory, TestBot

URL = "https://meetings.example.org"


def minutes_json(tmp_path: Path) -> dict[str, Any]:
    found = list((tmp_path / "meetings").rglob("*.json"))
    assert len(found) == 1, found
    data: dict[str, Any] = json.loads(found[0].read_text())
    return data


async def test_a_meeting_end_to_end_on_irc(bot: TestBot, tmp_path: Path) -> None:
    irc = bot.irc
    started = await irc.say("alice", "#startmeeting Ops Meetup Team")
    assert started[0].startswith("Meeting started ") and started[0].endswith(
        "The chair is alice. Information about MeetBot at http://wiki.debian.org/MeetBot."
    )
    assert started[1:] == [
        "Useful Commands: #action #agreed #help #info #idea #link #topic #startvote.",
        "The meeting name has been set to 'ops_meetup_team'",
    ]
    assert await irc.say("bob", "#topic mine") == ["Only the chairs (alice) can use #topic."]
    assert await irc.say("alice", "#topic Roll call") == []
    await irc.say("bob", "o/")
    await irc.say("alice", "#action bob to book the venue")
    ended = await irc.say("alice", "#endmeeting")
    assert ended[0].startswith("Meeting ended ")
    base = f"{URL}/ops_meetup_team/"
    assert ended[1].startswith(f"Minutes:        {base}") and ended[1].endswith(".html")
    assert ended[2].startswith(f"Minutes (text): {base}") and ended[2].endswith(".txt")
    assert ended[3].startswith(f"Log:            {base}") and ended[3].endswith(".log.html")
    folder = tmp_path / "meetings" / "ops_meetup_team"
    [stem] = {
        ".".join(p.name.split(".")[1:3]) for p in folder.rglob("*") if p.is_file()
    }  # the date
    names = sorted(p.name for p in folder.rglob("*") if p.is_file())
    assert names == sorted(
        f"ops_meetup_team.{stem}.{ext}"
        for ext in ("html", "txt", "log.html", "log.txt", "md", "json")
    )
    record = minutes_json(tmp_path)
    assert record["topics"] == ["Roll call"]
    assert record["actions"] == [{"text": "bob to book the venue", "owners": ["bob"], "line": 8}]
    log = next(p for p in (tmp_path / "meetings").rglob("*.log.txt")).read_text().splitlines()
    assert [line.split(" ", 1)[1] for line in log][:6] == [
        "<alice> #startmeeting Ops Meetup Team",
        f"<opsbot> {started[0]}",
        f"<opsbot> {started[1]}",
        f"<opsbot> {started[2]}",
        "<bob> #topic mine",
        "<opsbot> Only the chairs (alice) can use #topic.",
    ]
    assert log[-1].split(" ", 1)[1] == f"<opsbot> {ended[3]}"  # the bot's closing lines are logged
    assert record["people_present"] == {"alice": 4, "opsbot": 4, "bob": 2}


async def test_bang_commands_work_and_are_not_unknown_commands(bot: TestBot) -> None:
    replies = await bot.irc.say("alice", "!startmeeting")
    assert replies[2] == "The meeting name has been set to 'test'"
    assert await bot.irc.say("alice", "!topic budget") == []
    assert await bot.irc.say("alice", "!help ping") == ["!ping — Check that the bot is alive."]
    assert (await bot.irc.say("alice", "!endmeeting"))[0].startswith("Meeting ended")


async def test_startmeeting_while_one_runs_and_commands_outside_meetings(bot: TestBot) -> None:
    assert await bot.irc.say("bob", "#topic nothing running") == []
    await bot.irc.say("alice", "#startmeeting")
    [busy] = await bot.irc.say("bob", "#startmeeting other")
    assert busy.startswith("A meeting is already running here: 'test', chaired by alice since ")
    assert (await bot.irc.say("carol", "#startmeeting", room="#other"))[0].startswith(
        "Meeting started"
    )


async def test_open_actions_are_followed_up_at_the_next_meeting(bot: TestBot) -> None:
    irc = bot.irc
    await irc.say("alice", "#startmeeting ops")
    await irc.say("bob", "hi")
    await irc.say("alice", "#action bob to upgrade the canary cells")
    await irc.say("alice", "#action alice to write the report")
    await irc.say("alice", "#endmeeting")
    [listed] = await irc.say("carol", "!actions bob")
    assert listed.startswith("Open action items: (1) bob to upgrade the canary cells [ops ")
    [both] = await irc.say("carol", "!actions ops")
    assert "(1) bob to upgrade" in both and "(2) alice to write the report" in both
    assert await irc.say("carol", "!done 1") == [
        "Only an owner of action item 1 (bob), a chair of its meeting (alice) or a room "
        "moderator may close it."
    ]
    assert await irc.say("bob", "!done 1", account="mallory") == [
        "Only an owner of action item 1 (bob), a chair of its meeting (alice) or a room "
        "moderator may close it."
    ], "bob's nick under another account is not bob"
    assert await irc.say("bob", "!done 1") == [
        "Closed action item 1: bob to upgrade the canary cells"
    ]
    assert await irc.say("bob", "!done 1") == ["Action item 1 was already closed by bob."]
    assert await irc.say("bob", "!done 99") == ["There is no action item 99."]
    assert await irc.say("bob", "!done one") == ["'one' is not a whole number. Usage: !done ID"]
    replies = await irc.say("alice", "#startmeeting ops")
    assert replies[-1].startswith("Open action items from earlier ops meetings: (2) alice to ")
    assert replies[-1].endswith("]. Close one with !done ID.")
    await irc.say("alice", "#action alice to book the room")
    await irc.say("alice", "#endmeeting")
    # every earlier meeting of the series counts, not only the last one
    third = await irc.say("alice", "#startmeeting ops")
    assert "(2) alice to write the report" in third[-1], third
    assert "(3) alice to book the room" in third[-1], third
    assert await irc.say("alice", "!actions nobody") == ["No open action items for nobody."]


async def test_co_chairs_close_the_meetings_action_items(bot: TestBot) -> None:
    irc = bot.irc
    await irc.say("alice", "#startmeeting ops")
    await irc.say("carol", "here")
    await irc.say("alice", "#chair carol")
    await irc.say("alice", "#action bob to upgrade the canary cells")
    await irc.say("alice", "#endmeeting")
    assert await irc.say("dave", "!done 1") == [
        "Only an owner of action item 1 (nobody), a chair of its meeting (alice, carol) or a "
        "room moderator may close it."
    ]
    assert await irc.say("carol", "!done 1") == [
        "Closed action item 1: bob to upgrade the canary cells"
    ]


async def test_minutes_in_chat(bot: TestBot) -> None:
    irc = bot.irc
    assert await irc.say("bob", "!minutes") == ["No minutes for this room."]
    await irc.say("alice", "#startmeeting ops")
    await irc.say("alice", "#topic Upgrades")
    await irc.say("alice", "#endmeeting")
    [answer] = await irc.say("bob", "!minutes")
    assert answer.startswith("ops ") and f"Minutes: {URL}/ops/" in answer
    assert "topics: Upgrades; 0 action items; people: alice, opsbot" in answer
    assert (await irc.say("bob", "!minutes ops last"))[0] == answer
    assert await irc.say("bob", "!minutes ops 1999-01-01") == [
        "No minutes for 'ops' on 1999-01-01."
    ]
    assert await irc.say("bob", "!minutes ops someday") == [
        "'someday' is not a date; use YYYY-MM-DD or last."
    ]


async def test_minutes_of_a_day_lists_every_meeting_of_it(bot: TestBot) -> None:
    from datetime import datetime

    irc = bot.irc
    for topic in ("morning", "afternoon"):
        await irc.say("alice", "#startmeeting ops")
        await irc.say("alice", f"#topic {topic}")
        await irc.say("alice", "#endmeeting")
    today = datetime.now(bot.bot.timezone).date()
    both = await irc.say("bob", f"!minutes ops {today}")
    assert len(both) == 2, both
    assert "topics: morning" in both[0] and "topics: afternoon" in both[1]
    assert len(await irc.say("bob", "!minutes ops")) == 1, "without a day: the latest"


async def test_minutes_by_the_name_as_typed(bot: TestBot) -> None:
    irc = bot.irc
    assert (await irc.say("alice", "#startmeeting scientific-sig"))[-1] == (
        "The meeting name has been set to 'scientific_sig'"
    )
    await irc.say("alice", "#endmeeting")
    for typed in ("scientific-sig", "scientific_sig", "Scientific-SIG"):
        [answer] = await irc.say("bob", f"!minutes {typed}")
        assert answer.startswith("scientific_sig ") and f"{URL}/scientific_sig/" in answer


def holding(folder: Path, text: bytes) -> list[str]:
    """The database's files (the file, its write-ahead log) that hold ``text`` anywhere."""
    return [p.name for p in folder.glob("opsbot.db*") if p.is_file() and text in p.read_bytes()]


async def test_matrix_multiline_edits_redactions_and_hostile_names(
    bot: TestBot, tmp_path: Path
) -> None:
    mx = bot.matrix
    room = mx.transport.room(mx.room)
    await mx.say("alice", "#startmeeting")
    await mx.say("<img src=x onerror=alert(1)>", "#info first\n#info second\nplain chat")
    info = await mx.transport.say("bob", "#info the upgrade failed", id="$info")
    await mx.transport.say("bob", "#info secret token 1234", id="$secret")
    sender = info.sender
    await mx.transport.deliver(
        Edit(
            network="matrix",
            room=room,
            sender=sender,
            target_id="$info",
            text="#info the upgrade worked",
            id="$e",
        )
    )
    await mx.transport.deliver(
        Redaction(network="matrix", room=room, sender=sender, target_id="$secret", id="$r")
    )
    await mx.say("alice", "#endmeeting")
    record = minutes_json(tmp_path)
    # the redacted line's item is gone from the minutes; its log line says [message removed]
    assert [i["text"] for i in record["items"]] == ["first", "second", "the upgrade worked"]
    pages = "".join(p.read_text() for p in (tmp_path / "meetings").rglob("*") if p.is_file())
    assert "secret token 1234" not in pages and "[message removed]" in pages
    assert "the upgrade failed" not in pages
    # ... and the database keeps no copy: not in the log table, not in free or WAL pages
    await bot.bot.plugins["meetings"].store.writer.flush()  # type: ignore[attr-defined]
    for _ in range(50):
        if not holding(tmp_path, b"secret token 1234"):
            break
        await asyncio.sleep(0.05)
    assert holding(tmp_path, b"SQLite format 3"), "the database files are where the test looks"
    assert holding(tmp_path, b"secret token 1234") == []
    assert holding(tmp_path, b"the upgrade failed") == []
    assert "<img" not in "".join(p.read_text() for p in (tmp_path / "meetings").rglob("*.html"))
    assert record["people_present"]["<img src=x onerror=alert(1)>"] == 3


async def test_a_meeting_resumes_after_a_restart(bot_factory: BotFactory, tmp_path: Path) -> None:
    db = tmp_path / "bot.db"
    first = await bot_factory(database=db)
    await first.irc.say("alice", "#startmeeting ops")
    await first.irc.say("alice", "#chair bob")
    await first.irc.say("bob", "#topic before the restart")
    await first.bot.stop()

    second = await bot_factory(database=db)
    assert await second.irc.say("bob", "#topic after the restart") == []  # bob is still a chair
    ended = await second.irc.say("alice", "#endmeeting")
    assert ended[0].startswith("Meeting ended")
    record = minutes_json(tmp_path)
    assert record["topics"] == ["before the restart", "after the restart"]
    assert record["chairs"] == ["alice", "bob"]


async def test_a_resumed_meeting_keeps_the_settings_it_started_with(
    bot_factory: BotFactory, tmp_path: Path
) -> None:
    """The config changes while a meeting runs (prefix, file pattern, links): the
    meeting is read, ended and written as it started, and the next meeting takes the new."""
    db = tmp_path / "bot.db"
    first = await bot_factory(database=db, config={"bot": {"prefix": "!"}})
    await first.irc.say("alice", "#startmeeting ops")
    await first.irc.say("alice", "!topic said with the old prefix")
    await first.bot.stop()

    changed = {
        "bot": {"prefix": "."},
        "plugins": {
            "meetings": {
                "filename_pattern": "{name}/{start:%Y}/{name}-new.{start:%H.%M}",
                "url_prefix": "https://elsewhere.example.org",
                "duration_minutes": 1,
            }
        },
    }
    second = await bot_factory(database=db, config=changed)
    await second.irc.say("alice", "!topic still the old prefix")
    ended = await second.irc.say("alice", "#endmeeting")
    assert any("https://meetings.example.org/ops/" in line for line in ended), ended
    record = minutes_json(tmp_path)
    assert record["topics"] == ["said with the old prefix", "still the old prefix"]
    files = [p.name for p in (tmp_path / "meetings").rglob("*.html")]
    assert files and not [name for name in files if "-new." in name], files

    await second.irc.say("alice", "#startmeeting ops")
    ended = await second.irc.say("alice", "#endmeeting")
    assert any("https://elsewhere.example.org/ops/" in line for line in ended), ended


class Listener(Plugin):
    """Records the meetings plugin's domain events."""

    async def setup(self) -> None:
        self.events: list[DomainEvent] = []

    @subscribe(DomainEvent)
    async def heard(self, event: DomainEvent) -> None:
        self.events.append(event)


async def test_domain_events_for_other_plugins(bot_factory: BotFactory) -> None:
    bot = await bot_factory(extra={"listener": Listener})
    await bot.irc.say("alice", "#startmeeting ops")
    await bot.irc.say("bob", "hi")
    await bot.irc.say("alice", "#topic One")
    await bot.irc.say("alice", "#action bob to test")
    await bot.irc.say("alice", "#undo")
    await bot.irc.say("alice", "#endmeeting")
    listener = bot.bot.plugins["listener"]
    assert isinstance(listener, Listener)
    kinds = [type(e).__name__ for e in listener.events if not isinstance(e, LineLogged)]
    assert kinds == [
        "MeetingStarted",
        "ItemRecorded",
        "TopicChanged",
        "ActionItemRecorded",
        "ItemUndone",
        "MeetingEnded",
    ]
    started = next(e for e in listener.events if isinstance(e, MeetingStarted))
    assert (started.meeting_name, started.owner, started.owner_account) == ("ops", "alice", "alice")
    action = next(e for e in listener.events if isinstance(e, ActionItemRecorded))
    assert action.owners == ("bob",) and action.text == "bob to test"
    assert any(isinstance(e, ItemUndone) and e.kind == "ACTION" for e in listener.events)
    assert any(isinstance(e, TopicChanged) and e.topic == "One" for e in listener.events)
    ended = next(e for e in listener.events if isinstance(e, MeetingEnded))
    assert ended.attendees["bob"] == 1 and ended.accounts["bob"] == "bob"
    assert ended.links[".html"].startswith(f"{URL}/ops/")
    logged = [e for e in listener.events if isinstance(e, LineLogged)]
    assert logged[0].text == "#startmeeting ops" and logged[-1].nick == "opsbot"


async def test_a_line_the_engine_chokes_on_is_still_logged(
    bot: TestBot, tmp_path: Path, monkeypatch: Any
) -> None:
    from opsbot_plugins.meetings.engine import Meeting

    await bot.irc.say("alice", "#startmeeting")
    original = Meeting._apply

    def choke(self: Meeting, line: Any) -> Any:
        if "boom" in line.text:
            raise RuntimeError("engine bug")
        return original(self, line)

    monkeypatch.setattr(Meeting, "_apply", choke)
    [apology] = await bot.irc.say("bob", "#info boom")
    assert apology.startswith("Sorry, meetings.message failed (logged as error ")
    await bot.irc.say("alice", "#endmeeting")
    log = next((tmp_path / "meetings").rglob("*.log.txt")).read_text()
    assert "<bob> #info boom" in log


async def test_restricted_meetings_are_private_files_and_not_listed(
    bot: TestBot, tmp_path: Path
) -> None:
    await bot.irc.say("alice", "#startmeeting secret")
    assert await bot.irc.say("alice", "#restrictlogs") == [
        "The logs of this meeting will not be published."
    ]
    await bot.irc.say("alice", "#action alice to rotate the keys")
    await bot.irc.say("alice", "#endmeeting")
    files = [p for p in (tmp_path / "meetings").rglob("*") if p.is_file()]
    assert len(files) == 6 and all(p.stat().st_mode & 0o777 == 0o600 for p in files)
    assert await bot.irc.say("bob", "!minutes secret") == ["No minutes for 'secret'."]
    assert await bot.irc.say("bob", "!actions alice") == ["No open action items for alice."]


async def test_the_channel_topic_follows_the_meeting_when_configured(
    bot_factory: BotFactory, tmp_path: Path
) -> None:
    quiet = await bot_factory(database=tmp_path / "quiet.db")
    await quiet.irc.say("alice", "#startmeeting ops")
    await quiet.irc.say("alice", "#topic Roll call")
    assert quiet.irc.transport.topics == {}

    bot = await bot_factory(
        config={"plugins": {"meetings": {"set_topic": True}}}, database=tmp_path / "topic.db"
    )
    await bot.irc.say("alice", "#startmeeting Ops Meetup")
    await bot.irc.say("alice", "#topic Roll call")
    assert bot.irc.transport.topics == {"#test": "Ops Meetup (Meeting topic: Roll call)"}


async def test_a_channel_operator_may_use_chair_commands_and_that_survives_a_restart(
    bot_factory: BotFactory, tmp_path: Path
) -> None:
    db = tmp_path / "bot.db"
    first = await bot_factory(database=db)
    first.irc.transport.set_role("olga", Role.OP)
    await first.irc.say("alice", "#startmeeting ops")
    assert await first.irc.say("bob", "#topic mine") == ["Only the chairs (alice) can use #topic."]
    assert await first.irc.say("olga", "#topic set by an op") == []
    await first.bot.stop()

    second = await bot_factory(database=db)  # the engine replays the stored lines
    assert await second.irc.say("olga", "#endmeeting") == [
        "Only the chairs (alice) can use #endmeeting."
    ], "no longer an op here"
    second.irc.transport.set_role("olga", Role.OP)
    ended = await second.irc.say("olga", "#endmeeting")
    assert ended[0].startswith("Meeting ended")
    assert minutes_json(tmp_path)["topics"] == ["set by an op"]


async def test_a_networks_own_prefix_is_the_one_meetings_and_help_speak(
    bot_factory: BotFactory,
) -> None:
    networks = [
        {"type": "memory", "name": "irc", "style": "irc", "prefix": "."},
        {"type": "memory", "name": "matrix", "style": "matrix"},
    ]
    bot = await bot_factory(config={"networks": networks})
    irc = bot.irc
    await irc.say("alice", ".startmeeting ops")
    await irc.say("alice", "#action alice to write the report")
    await irc.say("alice", ".endmeeting")
    again = await irc.say("alice", "#startmeeting ops")
    assert again[-1].endswith("Close one with .done ID."), again
    [overview] = await irc.say("bob", ".help meetings")
    assert "In chat: .minutes [NAME] [DATE], .actions [NICK|MEETING], .done ID." in overview
