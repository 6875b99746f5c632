"""Meeting definitions: the irc-meetings format, and each bad file reported by file, field and
reason while the others load."""

from __future__ import annotations

from datetime import date, time
from pathlib import Path

from opsbot_plugins.schedule.definitions import load_folder

GOOD = """\
project: Operators Meetup Team
meeting_id: ops_meetup_team
agenda_url: https://etherpad.opendev.org/p/ops-meetups-team
chair: Chris Morgan (mihalis68), Shintaro Mizuno (shintaro)
description: >
  Plans the operators' meetups.
schedule:
  - time: '1400'
    day: Tuesday
    irc: openstack-operators
    frequency: weekly
    start_date: 20150801
    duration: 45
    skip_dates:
      - skip_date: 20261229
        reason: Holidays
  - time: 900
    day: Thursday
    irc: "#ops-matrix"
    network: matrix
    room: "!ops:example.org"
    frequency: biweekly-odd
"""


def test_a_definition_in_the_irc_meetings_format(tmp_path: Path) -> None:
    (tmp_path / "ops.yaml").write_text(GOOD)
    loaded = load_folder(tmp_path)
    assert loaded.problems == []
    ops = loaded.definitions["ops_meetup_team"]
    weekly, matrix = ops.schedule
    assert (weekly.time, weekly.day, weekly.irc, weekly.duration) == (
        time(14, 0),
        "Tuesday",
        "#openstack-operators",
        45,
    )
    assert weekly.start_date == date(2015, 8, 1)
    assert [(s.skip_date, s.reason) for s in weekly.skip_dates] == [
        (date(2026, 12, 29), "Holidays")
    ]
    assert (matrix.time, matrix.network, matrix.room) == (time(9, 0), "matrix", "!ops:example.org")
    assert ops.chair_nicks() == {"mihalis68", "shintaro"}
    assert loaded.files == {"ops_meetup_team": "ops.yaml"}


def test_bad_files_are_reported_by_file_field_and_reason_and_the_rest_loads(
    tmp_path: Path,
) -> None:
    (tmp_path / "ops.yaml").write_text(GOOD)
    (tmp_path / "badtime.yaml").write_text(
        "project: X\nschedule:\n  - {time: '2561', day: Monday, irc: x, frequency: weekly}\n"
    )
    (tmp_path / "badfreq.yaml").write_text(
        "project: Y\nschedule:\n  - {time: '1000', day: Friday, irc: y, frequency: monthly}\n"
    )
    (tmp_path / "mismatch.yaml").write_text(
        "project: Z\nschedule:\n  - {time: '1000', day: Friday, irc: z, frequency: first-monday}\n"
    )
    (tmp_path / "broken.yaml").write_text("project: [unclosed\n")
    (tmp_path / "nodate.yaml").write_text(
        "project: W\nschedule:\n  - {time: '1000', day: Friday, irc: w, frequency: weekly,"
        " skip_dates: [{skip_date: 2026-13-01, reason: x}]}\n"
    )
    (tmp_path / "twice.yaml").write_text(GOOD)
    loaded = load_folder(tmp_path)
    assert sorted(loaded.definitions) == ["ops_meetup_team"]
    problems = {(p.file, p.field): p.reason for p in loaded.problems}
    assert (
        problems[("badtime.yaml", "schedule[0].time")] == "'2561' is not a time of day (HHMM, UTC)"
    )
    assert problems[("badfreq.yaml", "schedule[0].frequency")].startswith(
        "Input should be 'weekly'"
    )
    assert problems[("mismatch.yaml", "schedule[0]")] == (
        "frequency first-monday does not meet on day Friday"
    )
    assert problems[("broken.yaml", "line 2")].startswith("not valid YAML")
    assert problems[("nodate.yaml", "")] == "not valid YAML: month must be in 1..12"
    assert (
        problems[("twice.yaml", "meeting_id")] == "'ops_meetup_team' is already defined in ops.yaml"
    )
    assert str(loaded.problems[0]).count(": ") >= 2


def test_the_meeting_id_defaults_to_the_file_name_and_a_missing_folder_is_a_problem(
    tmp_path: Path,
) -> None:
    (tmp_path / "Large Scale SIG.yaml").write_text(
        "project: Large Scale SIG\nschedule:\n  - {time: '1500', day: Wednesday, irc: x,"
        " frequency: quadweekly}\n"
    )
    assert list(load_folder(tmp_path).definitions) == ["large_scale_sig"]
    assert [str(p) for p in load_folder(tmp_path / "nope").problems] == [
        f"{tmp_path / 'nope'}: no such folder"
    ]
