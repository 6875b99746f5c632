"""The calendar as iCalendar, parsed back with the icalendar library and expanded (RRULE less
EXDATE, with dateutil) to the same dates as the schedule; and ``opsbot schedule`` as a process."""

from __future__ import annotations

import sqlite3
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from dateutil.rrule import rrulestr
from icalendar import Calendar

from opsbot.events import utcnow
from opsbot.testing import run_opsbot
from opsbot_plugins.schedule.definitions import Definition, load_folder
from opsbot_plugins.schedule.ical import calendar
from opsbot_plugins.schedule.recurrence import next_occurrence, occurrences

FREQUENCIES = [
    ("weekly", "Tuesday"), ("biweekly-odd", "Monday"), ("biweekly-even", "Thursday"),
    ("quadweekly", "Wednesday"), ("quadweekly-week-1", "Monday"), ("quadweekly-week-2", "Friday"),
    ("quadweekly-week-3", "Sunday"), ("quadweekly-alternate", "Tuesday"),
    ("first-monday", "Monday"), ("first-friday", "Friday"),
]  # fmt: skip


def parsed(definitions: list[Definition], today: date) -> Calendar:
    return Calendar.from_ical(calendar(definitions, today).to_ical())


@pytest.mark.parametrize(("frequency", "day"), FREQUENCIES)
def test_each_event_expands_to_the_schedule_dates(frequency: str, day: str) -> None:
    definition = Definition(
        project="Ops Meetup Team",
        meeting_id="ops_meetup_team",
        agenda_url="https://etherpad.opendev.org/p/ops",
        chair="Chris (mihalis68)",
        schedule=[
            {"time": "1400", "day": day, "irc": "openstack-operators", "frequency": frequency,
             "duration": 45, "skip_dates": [{"skip_date": "2027-01-04", "reason": "x"},
                                            {"skip_date": "2027-01-05", "reason": "x"}]},
        ],
    )  # fmt: skip
    [event] = parsed([definition], date(2026, 6, 1)).walk("VEVENT")
    assert str(event["summary"]) == "Ops Meetup Team (ops_meetup_team)"
    assert str(event["location"]) == "#openstack-operators"
    assert str(event["uid"]) == "ops_meetup_team-0@opsbot"
    assert event["duration"].dt.total_seconds() == 45 * 60
    assert "Agenda: https://etherpad.opendev.org/p/ops" in str(event["description"])
    start = event["dtstart"].dt
    exdates = event.get("exdate")
    skipped = {d.dt for d in (exdates.dts if exdates is not None else [])}
    rule = rrulestr(event["rrule"].to_ical().decode(), dtstart=start)
    since, until = datetime(2026, 6, 1, tzinfo=UTC), datetime(2027, 12, 31, tzinfo=UTC)
    expanded = [d for d in rule.between(since, until, inc=True) if d not in skipped]
    assert expanded == [o.start for o in occurrences([definition], since, until)]
    assert len(expanded) > 12


def test_ad_hoc_meetings_have_no_event() -> None:
    adhoc = Definition(
        project="A", meeting_id="a",
        schedule=[{"time": "1400", "day": "Monday", "irc": "x", "frequency": "adhoc"}],
    )  # fmt: skip
    cal = parsed([adhoc], date(2026, 6, 1))
    assert list(cal.walk("VEVENT")) == [] and str(cal["version"]) == "2.0"


OPS = """\
project: Operators Meetup Team
meeting_id: ops_meetup_team
schedule:
  - {time: '1400', day: Tuesday, irc: openstack-operators, frequency: weekly}
"""
SIG = """\
project: Large Scale SIG
meeting_id: large_scale_sig
schedule:
  - {time: '1430', day: Tuesday, irc: openstack-operators, frequency: biweekly-even}
"""


def opsbot(folder: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_opsbot("schedule", *args, "--folder", str(folder), cwd=cwd)


def test_check_ical_and_next_from_the_command_line(tmp_path: Path) -> None:
    folder = tmp_path / "meetings"
    folder.mkdir()
    (folder / "ops.yaml").write_text(OPS)
    good = opsbot(folder, "check", cwd=tmp_path)
    assert good.returncode == 0, good.stderr
    assert good.stdout.strip() == "1 meetings, 0 files with problems, 0 conflicts."

    (folder / "sig.yaml").write_text(SIG)
    (folder / "bad.yaml").write_text("project: B\nschedule: []\n")
    bad = opsbot(folder, "check", cwd=tmp_path)
    assert bad.returncode == 1
    lines = bad.stdout.splitlines()
    assert (
        lines[0]
        == "invalid: bad.yaml: schedule: List should have at least 1 item after validation, not 0"
    )
    assert lines[1].startswith(
        "conflict: ops_meetup_team (Tuesday 1400, weekly) and large_scale_sig (Tuesday 1430, "
        "biweekly-even) overlap in #openstack-operators, first on "
    )
    assert lines[-1] == "2 meetings, 1 files with problems, 1 conflicts."

    out = tmp_path / "ical"
    written = opsbot(folder, "ical", "--out", str(out), cwd=tmp_path)
    assert written.returncode == 0, written.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "all.ics", "large_scale_sig.ics", "ops_meetup_team.ics"
    ]  # fmt: skip
    everything = Calendar.from_ical((out / "all.ics").read_bytes())
    assert len(list(everything.walk("VEVENT"))) == 2
    assert "skipped: bad.yaml" in written.stderr
    to_stdout = opsbot(folder, "ical", cwd=tmp_path)
    assert to_stdout.stdout.startswith("BEGIN:VCALENDAR")

    soon = opsbot(folder, "next", "ops_meetup_team", cwd=tmp_path)
    assert soon.returncode == 0 and soon.stdout.count("\n") == 1
    assert " UTC  ops_meetup_team  #openstack-operators  (weekly, 60 min)" in soon.stdout
    assert soon.stdout.startswith("Tue ")
    # a day skipped in chat (kept in the database) is skipped here too
    coming = next_occurrence(load_folder(folder).definitions["ops_meetup_team"], utcnow())
    assert coming is not None
    with sqlite3.connect(tmp_path / "var" / "opsbot.db") as db:
        db.execute(
            "INSERT INTO schedule_skips VALUES ('ops_meetup_team', ?, 'holiday', 'irc:x', ?)",
            (coming.start.date().isoformat(), "2026-01-01 00:00:00.000000"),
        )
    later = opsbot(folder, "next", "ops_meetup_team", cwd=tmp_path)
    week_after = coming.start + timedelta(days=7)
    assert later.stdout.startswith(f"{week_after:%a %Y-%m-%d %H:%M} UTC  ops_meetup_team"), later
    unknown = opsbot(folder, "next", "nope", cwd=tmp_path)
    assert unknown.returncode == 2 and "No meeting named 'nope'" in unknown.stderr
