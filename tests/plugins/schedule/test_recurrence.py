"""Every frequency over a year, against dates computed another way (ISO calendar construction,
the month calendar), across the 53-week ISO year 2026; skipped days; conflicts."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from opsbot_plugins.schedule.definitions import DAYS, Definition
from opsbot_plugins.schedule.recurrence import conflicts, next_occurrence, occurrences

START = datetime(2026, 6, 1, tzinfo=UTC)
END = datetime(2027, 6, 1, tzinfo=UTC)


def meeting(frequency: str, day: str = "Thursday", **entry: Any) -> Definition:
    return Definition(
        project="P",
        meeting_id=entry.pop("meeting_id", "m"),
        schedule=[{"time": "1400", "day": day, "irc": "ops", "frequency": frequency, **entry}],
    )


def iso_weeks(weekday: int, keep: Any) -> list[date]:
    """Days built from (ISO year, week, weekday) for every week of the ISO years around the
    range whose number ``keep`` accepts."""
    found = []
    for year in (2026, 2027):
        weeks = date(year, 12, 28).isocalendar().week  # 52 or 53
        for week in range(1, weeks + 1):
            if keep(week):
                found.append(date.fromisocalendar(year, week, weekday + 1))
    return [d for d in found if START.date() <= d < END.date()]


def first_weekdays(weekday: int) -> list[date]:
    found = []
    for year, month in [(2026, m) for m in range(6, 13)] + [(2027, m) for m in range(1, 6)]:
        weeks = calendar.monthcalendar(year, month)
        day = next(w[weekday] for w in weeks if w[weekday])
        found.append(date(year, month, day))
    return found


@pytest.mark.parametrize(
    ("frequency", "keep"),
    [
        ("weekly", lambda w: True),
        ("biweekly-odd", lambda w: w % 2 == 1),
        ("biweekly-even", lambda w: w % 2 == 0),
        ("quadweekly", lambda w: w % 4 == 0),
        ("quadweekly-week-1", lambda w: w % 4 == 1),
        ("quadweekly-week-2", lambda w: w % 4 == 2),
        ("quadweekly-week-3", lambda w: w % 4 == 3),
        ("quadweekly-alternate", lambda w: w % 4 == 2),
    ],
)
@pytest.mark.parametrize("day", DAYS)
def test_weekly_frequencies_follow_iso_week_numbers(frequency: str, keep: Any, day: str) -> None:
    found = [o.start for o in occurrences([meeting(frequency, day)], START, END)]
    expected = [datetime.combine(d, datetime.min.time(), UTC) + timedelta(hours=14)
                for d in iso_weeks(DAYS.index(day), keep)]  # fmt: skip
    assert found == expected


def test_odd_weeks_meet_two_weeks_running_across_a_53_week_year() -> None:
    days = [o.start.date() for o in occurrences([meeting("biweekly-odd", "Monday")], START, END)]
    assert date(2026, 12, 28) in days and date(2027, 1, 4) in days  # ISO weeks 53 and 1
    assert date(2026, 12, 21) not in days and date(2027, 1, 11) not in days


@pytest.mark.parametrize("day", DAYS[:5])
def test_first_weekday_of_the_month(day: str) -> None:
    frequency = f"first-{day.lower()}"
    found = [o.start.date() for o in occurrences([meeting(frequency, day)], START, END)]
    assert found == first_weekdays(DAYS.index(day))


def test_skipped_days_start_dates_and_ad_hoc_meetings() -> None:
    weekly = meeting(
        "weekly", "Tuesday", start_date=20260901,
        skip_dates=[{"skip_date": 20261229, "reason": "holidays"}],
    )  # fmt: skip
    days = [o.start.date() for o in occurrences([weekly], START, END)]
    assert days[0] == date(2026, 9, 1)
    assert date(2026, 12, 29) not in days and date(2027, 1, 5) in days
    more = occurrences([weekly], START, END, {"m": {date(2027, 1, 5)}})
    assert date(2027, 1, 5) not in [o.start.date() for o in more]
    assert occurrences([meeting("adhoc")], START, END) == []
    assert next_occurrence(meeting("adhoc"), START) is None
    found = next_occurrence(weekly, datetime(2026, 12, 29, 14, 0, 1, tzinfo=UTC))
    assert found is not None and found.start == datetime(2027, 1, 5, 14, tzinfo=UTC)
    assert found.end == found.start + timedelta(minutes=60)


def test_conflicts_are_meetings_sharing_a_room_at_overlapping_times_in_the_same_weeks() -> None:
    odd = meeting("biweekly-odd", meeting_id="odd")
    even = meeting("biweekly-even", meeting_id="even")
    weekly = meeting("weekly", meeting_id="weekly", time="1430", duration=30)
    elsewhere = meeting("weekly", meeting_id="elsewhere", irc="other")
    later = meeting("weekly", meeting_id="later", time="1500")
    assert conflicts([odd, even, elsewhere, later], START) == []
    found = conflicts([odd, even, weekly], START)
    assert sorted((c.first.meeting_id, c.second.meeting_id) for c in found) == [
        ("even", "weekly"),
        ("odd", "weekly"),
    ]
    assert str(found[0]).endswith(f"overlap in #ops, first on {found[0].first.start:%Y-%m-%d}")
    assert "(Thursday 1400, biweekly-" in str(found[0])
