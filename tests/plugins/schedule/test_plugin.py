"""The schedule plugin in a running bot on memory networks, under a controlled clock
(time-machine): chat commands, reminders and follow-ups sent once across restarts and never
late beyond the grace, the weekly kudos digest, reloading the definitions."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine

from opsbot.events import Role
from opsbot.testing import BotFactory, TestBot
from opsbot.transports.memory import Sent
from opsbot_plugins.schedule.plugin import Schedule

OPS = """\
project: Operators Meetup Team
meeting_id: ops_meetup_team
agenda_url: https://etherpad.opendev.org/p/ops-meetups-team
chair: Chris Morgan (mihalis68)
schedule:
  - {time: '1400', day: Tuesday, irc: test, frequency: weekly}
"""
SIG = """\
project: Large Scale SIG
meeting_id: large_scale_sig
schedule:
  - {time: '1600', day: Wednesday, irc: test, frequency: biweekly-even}
"""
TUESDAY_9 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # ISO week 49


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(TUESDAY_9, tick=False) as traveller:
        yield traveller


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    found = tmp_path / "definitions"
    found.mkdir()
    (found / "ops.yaml").write_text(OPS)
    (found / "sig.yaml").write_text(SIG)
    return found


def settings(folder: Path, **more: Any) -> dict[str, Any]:
    schedule = {
        "folder": str(folder),
        "default_network": "irc",
        "also_in": {"#test": ["matrix:!test:example.org"]},
        "remind_minutes": 15,
        "follow_up_hours": 2,
        "grace_minutes": 5,
        **more,
    }
    return {"plugins": {"schedule": schedule}}


async def start(bot_factory: BotFactory, folder: Path, tmp_path: Path, **more: Any) -> TestBot:
    return await bot_factory(
        plugins=("core", "meetings", "kudos", "schedule"),
        config=settings(folder, **more),
        database=tmp_path / "opsbot.db",
    )


def plugin_of(bot: TestBot) -> Schedule:
    found = bot.bot.plugins["schedule"]
    assert isinstance(found, Schedule)
    return found


async def at(clock: time_machine.Coordinates, bot: TestBot, when: datetime) -> list[Sent]:
    """Move the clock, let the scheduler run what is due, return what the bot sent (both nets)."""
    clock.move_to(when)
    bot.bot.scheduler.aps.wakeup()
    sent: list[Sent] = []
    for _ in range(20):  # the scheduler runs due jobs as tasks
        await asyncio.sleep(0.02)
        for chat in bot.chats.values():
            sent += await chat.settle()
    return sent


async def test_next_meetings_and_skip_in_chat(
    clock: time_machine.Coordinates, bot_factory: BotFactory, folder: Path, tmp_path: Path
) -> None:
    bot = await start(bot_factory, folder, tmp_path)
    irc = bot.irc
    assert await irc.say("bob", "!next ops_meetup_team") == [
        "Next: Operators Meetup Team, ops_meetup_team Tue 2026-12-01 14:00 UTC in #test. "
        "Agenda: https://etherpad.opendev.org/p/ops-meetups-team"
    ]
    assert (await irc.say("bob", "!next"))[0].startswith("Next: Operators Meetup Team,")
    assert await irc.say("bob", "!next nope") == [
        "No meeting named 'nope' (known: large_scale_sig, ops_meetup_team)."
    ]
    assert await irc.say("bob", "!meetings today") == [
        "Meetings today: ops_meetup_team Tue 2026-12-01 14:00 UTC in #test"
    ]
    # week 49 is odd: the even-week SIG first meets on Wednesday the 9th
    assert await irc.say("bob", "!meetings week") == [
        "Meetings in the next seven days: ops_meetup_team Tue 2026-12-01 14:00 UTC in #test"
    ]
    assert await irc.say("bob", "!meetings someday") == ["Say !meetings today or !meetings week."]

    assert await irc.say("bob", "!skip ops_meetup_team 2026-12-08 holidays") == [
        "Only a chair of ops_meetup_team (Chris Morgan (mihalis68)) or a room moderator may skip it."
    ]
    assert await irc.say("mihalis68", "!skip ops_meetup_team 2026-12-09 holidays") == [
        "ops_meetup_team does not meet on Wed 2026-12-09; it meets Tuesday (weekly)."
    ]
    assert await irc.say("mihalis68", "!skip ops_meetup_team 2026-11-24 late") == [
        "2026-11-24 is past."
    ]
    assert await irc.say("mihalis68", "!skip ops_meetup_team 2026-12-08 holidays") == [
        "ops_meetup_team on Tue 2026-12-08 is skipped: holidays. Next: Tue 2026-12-15 14:00 UTC."
    ]
    irc.transport.set_role("carol", Role.OP)
    assert (await irc.say("carol", "!skip ops_meetup_team 2026-12-01 moved"))[0].startswith(
        "ops_meetup_team on Tue 2026-12-01 is skipped: moved."
    )
    assert await irc.say("bob", "!next ops_meetup_team") == [
        "Next: Operators Meetup Team, ops_meetup_team Tue 2026-12-15 14:00 UTC in #test. "
        "Agenda: https://etherpad.opendev.org/p/ops-meetups-team"
    ]

    # skips are kept across a restart
    await bot.bot.stop()
    again = await start(bot_factory, folder, tmp_path)
    assert (await again.irc.say("bob", "!next ops_meetup_team"))[0].startswith(
        "Next: Operators Meetup Team, ops_meetup_team Tue 2026-12-15"
    )


async def test_reminders_and_follow_ups_go_once_across_a_restart(
    clock: time_machine.Coordinates, bot_factory: BotFactory, folder: Path, tmp_path: Path
) -> None:
    bot = await start(bot_factory, folder, tmp_path)
    irc = bot.irc
    await irc.say("mihalis68", "#startmeeting ops_meetup_team")
    await irc.say("bob", "here")
    await irc.say("mihalis68", "#action bob to book the venue")
    await irc.say("mihalis68", "#endmeeting")

    follow = await at(clock, bot, datetime(2026, 12, 1, 12, 0, 1, tzinfo=UTC))
    assert [(s.to.nick if s.to else None, s.text) for s in follow] == [
        (
            "bob",
            'Before ops_meetup_team Tue 2026-12-01 14:00 UTC: your action item (1) "bob to book '
            'the venue" from 2026-12-01 is still open. Say !done 1 when it is done.',
        )
    ]
    reminder = await at(clock, bot, datetime(2026, 12, 1, 13, 45, 1, tzinfo=UTC))
    expected = (
        "Meeting reminder: Operators Meetup Team (ops_meetup_team) starts in 15 minutes, "
        "Tue 2026-12-01 14:00 UTC. Agenda: https://etherpad.opendev.org/p/ops-meetups-team "
        "Open action items: (1) bob to book the venue. Owners: bob."
    )
    # Each room has its own queue in the outbox: which room hears first is not promised.
    reminder.sort(key=lambda s: s.room.key if s.room else "")
    assert [(s.room.key if s.room else None, s.text) for s in reminder] == [
        ("irc:#test", expected),
        ("matrix:!test:example.org", expected),
    ]
    assert [m.nick for m in reminder[0].mentions] == ["bob"], "the owner is notified"
    assert reminder[1].mentions == (), "bob is known on IRC only"
    assert await at(clock, bot, datetime(2026, 12, 1, 13, 46, tzinfo=UTC)) == []

    await bot.bot.stop()
    clock.move_to(datetime(2026, 12, 1, 13, 47, tzinfo=UTC))  # within the grace
    again = await start(bot_factory, folder, tmp_path)
    assert await at(clock, again, datetime(2026, 12, 1, 13, 48, tzinfo=UTC)) == [], (
        "nothing is sent twice"
    )
    jobs = plugin_of(again).jobs.names()
    assert "schedule:remind:ops_meetup_team:20261208T1400" in jobs

    # closing the item stops its follow-ups
    assert await again.irc.say("bob", "!done 1") == ["Closed action item 1: bob to book the venue"]
    assert await plugin_of(again).open_actions("ops_meetup_team") == []


async def test_a_reminder_missed_beyond_the_grace_is_not_sent_late(
    clock: time_machine.Coordinates, bot_factory: BotFactory, folder: Path, tmp_path: Path
) -> None:
    clock.move_to(datetime(2026, 12, 1, 13, 51, tzinfo=UTC))  # reminder was due 13:45
    bot = await start(bot_factory, folder, tmp_path, follow_up_hours=0)
    assert await at(clock, bot, datetime(2026, 12, 1, 13, 52, tzinfo=UTC)) == []
    jobs = plugin_of(bot).jobs.names()
    assert "schedule:remind:ops_meetup_team:20261208T1400" in jobs
    assert "schedule:remind:ops_meetup_team:20261201T1400" not in jobs
    late_but_in_grace = await start(
        bot_factory, folder, tmp_path / "other", follow_up_hours=0, grace_minutes=10
    )
    sent = await at(clock, late_but_in_grace, datetime(2026, 12, 1, 13, 52, tzinfo=UTC))
    assert [s.text.split(",")[0] for s in sent][:1] == [
        "Meeting reminder: Operators Meetup Team (ops_meetup_team) starts in 8 minutes"
    ]


async def test_weekly_kudos_digest_leaves_out_people_who_opted_out(
    clock: time_machine.Coordinates, bot_factory: BotFactory, folder: Path, tmp_path: Path
) -> None:
    bot = await start(
        bot_factory,
        folder,
        tmp_path,
        digest={"rooms": ["irc:#test"], "day": "fri", "time": "09:00"},
    )
    irc = bot.irc
    for nick in ("alice", "bob", "carol", "dave"):
        await irc.say(nick, "o/")
    await irc.say("alice", "!kudos bob #rootcause for the bisect")
    await irc.say("carol", "!kudos bob #rootcause for the logs")
    await irc.say("alice", "!kudos carol #review for the spec review")
    await irc.say("bob", "!kudos dave for the docs")
    await irc.say("dave", "!kudos optout")
    await irc.say("alice", "!kudos carol #docs for the guide")
    await irc.say("alice", "!kudos undo")
    job = f"{plugin_of(bot).job_id('digest')}"
    assert bot.bot.scheduler.next_run(job) == datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
    digest = await at(clock, bot, datetime(2026, 12, 4, 9, 0, 1, tzinfo=UTC))
    assert [s.text for s in digest] == [
        "Kudos this week: 4 to 3 people. #review: carol; #rootcause: bob (2). Thank you all!"
    ]
    quiet = await at(clock, bot, datetime(2026, 12, 18, 9, 0, 1, tzinfo=UTC))
    assert quiet == [], "no digest for a week without kudos"


async def test_reload_in_chat_and_on_sighup(
    clock: time_machine.Coordinates, bot_factory: BotFactory, folder: Path, tmp_path: Path
) -> None:
    bot = await start(bot_factory, folder, tmp_path)
    irc = bot.irc
    (folder / "edge.yaml").write_text(
        "project: Edge WG\nmeeting_id: edge_wg\nschedule:\n"
        "  - {time: '1000', day: Tuesday, irc: test, frequency: weekly}\n"
    )
    (folder / "broken.yaml").write_text("project: B\n")
    assert await irc.say("bob", "!schedule reload") == [
        "Only bot admins may reload the meeting definitions."
    ]
    assert await irc.say("admin", "!schedule reload") == [
        f"Loaded 3 meetings from {folder}; 1 files with problems (see the log): "
        "broken.yaml: schedule: Field required"
    ]
    assert (await irc.say("bob", "!next edge_wg"))[0].startswith(
        "Next: Edge WG, edge_wg Tue 2026-12-01 10:00"
    )
    (folder / "edge.yaml").unlink()
    bot.bot._reload()  # what SIGHUP does
    for _ in range(10):
        await asyncio.sleep(0.01)
    assert (await irc.say("bob", "!next edge_wg"))[0].startswith("No meeting named 'edge_wg'")


async def test_times_are_utc_and_shown_in_the_bots_zone_across_daylight_saving(
    clock: time_machine.Coordinates, bot_factory: BotFactory, folder: Path, tmp_path: Path
) -> None:
    config = settings(folder)
    config["bot"] = {"timezone": "Europe/Berlin"}
    bot = await bot_factory(
        plugins=("core", "schedule"), config=config, database=tmp_path / "opsbot.db"
    )
    assert (await bot.irc.say("bob", "!next ops_meetup_team"))[0].startswith(
        "Next: Operators Meetup Team, ops_meetup_team Tue 2026-12-01 14:00 UTC (15:00 CET) in #test."
    )
    clock.move_to(datetime(2027, 3, 24, 9, 0, tzinfo=UTC))  # the clocks change on the 28th
    assert (await bot.irc.say("bob", "!meetings week"))[0] == (
        "Meetings in the next seven days: "
        "large_scale_sig Wed 2027-03-24 16:00 UTC (17:00 CET) in #test; "
        "ops_meetup_team Tue 2027-03-30 14:00 UTC (16:00 CEST) in #test"
    )
    shown = plugin_of(bot).when(datetime(2027, 3, 29, 23, 30, tzinfo=UTC))
    assert shown == "Mon 2027-03-29 23:30 UTC (Tue 01:30 CEST)"


def test_sighup_makes_a_running_bot_read_the_definitions_again(tmp_path: Path) -> None:
    folder = tmp_path / "definitions"
    folder.mkdir()
    (folder / "ops.yaml").write_text(OPS)
    config = tmp_path / "config.yaml"
    config.write_text(
        f"database: {{url: 'sqlite+aiosqlite:///{tmp_path}/bot.db'}}\n"
        "web: {enabled: false}\n"
        f"plugins: {{enabled: [core, schedule], schedule: {{folder: '{folder}'}}}}\n"
    )
    bot = subprocess.Popen(
        [sys.executable, "-m", "opsbot", "run", "-c", str(config)],
        cwd=tmp_path,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert bot.stdin and bot.stdout and bot.stderr

    def ask(line: str) -> str:
        assert bot.stdin and bot.stdout
        bot.stdin.write(line + "\n")
        bot.stdin.flush()
        return bot.stdout.readline()

    try:
        assert ask("!next edge_wg").startswith("<opsbot> No meeting named 'edge_wg'")
        (folder / "edge.yaml").write_text(
            "project: Edge WG\nmeeting_id: edge_wg\nschedule:\n"
            "  - {time: '1000', day: Tuesday, irc: test, frequency: weekly}\n"
        )
        bot.send_signal(signal.SIGHUP)
        for _ in range(50):
            answer = ask("!next edge_wg")
            if answer.startswith("<opsbot> Next: Edge WG"):
                break
            time.sleep(0.1)
        assert answer.startswith("<opsbot> Next: Edge WG, edge_wg "), answer
        assert bot.poll() is None, "SIGHUP reloads; it does not stop the bot"
    finally:
        bot.send_signal(signal.SIGTERM)
        assert bot.wait(timeout=15) == 0
    assert "SIGHUP" in bot.stderr.read()


async def test_a_reminder_is_tried_again_where_it_failed_then_the_admins_are_told(
    clock: time_machine.Coordinates, bot_factory: BotFactory, folder: Path, tmp_path: Path
) -> None:
    from opsbot.transports import TransportError

    bot = await start(bot_factory, folder, tmp_path, follow_up_hours=0)
    matrix = bot.bot.transports["matrix"]
    real_send = matrix.send
    down = {"now": True}

    async def flaky(room: Any, text: str, **kwargs: Any) -> str | None:
        if down["now"] and room.id == "!test:example.org":
            raise TransportError("could not send to !test:example.org: not in that room")
        return await real_send(room, text, **kwargs)

    matrix.send = flaky  # type: ignore[method-assign]
    first = await at(clock, bot, datetime(2026, 12, 1, 13, 45, 1, tzinfo=UTC))
    assert [s.room.key for s in first if s.room] == ["irc:#test"]
    again = await at(clock, bot, datetime(2026, 12, 1, 13, 45, 32, tzinfo=UTC))
    assert again == [], "still down: nothing sent, and IRC is not told twice"
    down["now"] = False
    back = await at(clock, bot, datetime(2026, 12, 1, 13, 46, 3, tzinfo=UTC))
    assert [s.room.key for s in back if s.room] == ["matrix:!test:example.org"]
    assert await at(clock, bot, datetime(2026, 12, 1, 13, 47, tzinfo=UTC)) == []

    # Next week the room stays away past the grace: the bot admins hear of it, once.
    down["now"] = True
    await at(clock, bot, datetime(2026, 12, 8, 13, 45, 1, tzinfo=UTC))
    told: list[Sent] = []
    for second in range(0, 6 * 60, 30):
        told += await at(
            clock,
            bot,
            datetime(2026, 12, 8, 13, 45, 2, tzinfo=UTC) + timedelta(seconds=second + 30),
        )
    private = [s for s in told if s.to is not None]
    assert [s.to.nick for s in private if s.to] == ["admin", "admin"]  # on IRC and on Matrix
    assert "could not be delivered to matrix:!test:example.org" in private[0].text
    assert not [s for s in told if s.room is not None and s.room.key == "irc:#test"]


async def test_a_bridged_room_in_also_in_is_reminded_once(
    clock: time_machine.Coordinates, bot_factory: BotFactory, folder: Path, tmp_path: Path
) -> None:
    """``also_in`` names the Matrix room bridged to the channel: one room, one reminder (the
    bridge carries it to the other side), not one each side and two on each after the bridge."""
    bridges = {
        "bridges": [
            {
                "name": "oftc",
                "irc_network": "irc",
                "matrix_network": "matrix",
                "rooms": [{"irc": "#test", "matrix": "!test:example.org"}],
                "irc_puppets": {"nick_suffix": "[m]"},
                "matrix_puppets": {"user": "@_oftc_{nick}:example.org"},
            }
        ]
    }
    bot = await bot_factory(
        plugins=("core", "meetings", "kudos", "schedule"),
        config={**settings(folder, follow_up_hours=0), **bridges},
        database=tmp_path / "opsbot.db",
    )
    reminder = await at(clock, bot, datetime(2026, 12, 1, 13, 45, 1, tzinfo=UTC))
    assert [(s.room.key if s.room else None) for s in reminder] == ["irc:#test"]
    assert reminder[0].text.startswith("Meeting reminder: Operators Meetup Team")
