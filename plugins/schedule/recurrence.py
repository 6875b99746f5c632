"""When meetings happen: the dates a schedule entry gives, as irc-meetings defines its
frequencies (ISO week parity for the bi- and four-weekly ones, the first weekday of the month
for ``first-<day>``), less the dates skipped. Pure functions of the definitions and a clock."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from .definitions import Definition, Entry

QUADWEEK = {
    "quadweekly": 0,
    "quadweekly-week-1": 1,
    "quadweekly-week-2": 2,
    "quadweekly-week-3": 3,
    "quadweekly-alternate": 2,
}


@dataclass(frozen=True, slots=True)
class Occurrence:
    definition: Definition
    entry: Entry
    index: int
    """The entry's place in the definition's schedule."""
    start: datetime
    """Aware UTC."""

    @property
    def end(self) -> datetime:
        return self.start + timedelta(minutes=self.entry.duration)

    @property
    def meeting_id(self) -> str:
        return self.definition.meeting_id


def meets_on(entry: Entry, day: date) -> bool:
    """Whether the entry's frequency holds a meeting on ``day`` (skips aside)."""
    if day.weekday() != entry.weekday or entry.frequency == "adhoc":
        return False
    if entry.start_date is not None and day < entry.start_date:
        return False
    week = day.isocalendar().week
    frequency = entry.frequency
    if frequency == "weekly":
        return True
    if frequency == "biweekly-odd":
        return week % 2 == 1
    if frequency == "biweekly-even":
        return week % 2 == 0
    if frequency in QUADWEEK:
        return week % 4 == QUADWEEK[frequency]
    return day.day <= 7  # first-<day>: the first such weekday of its month


def dates(entry: Entry, first: date, last: date) -> Iterator[date]:
    """Days from ``first`` to ``last`` (inclusive) the entry meets on, skips aside."""
    day = first + timedelta(days=(entry.weekday - first.weekday()) % 7)
    while day <= last:
        if meets_on(entry, day):
            yield day
        day += timedelta(days=7)


def skipped(entry: Entry, extra: Iterable[date] = ()) -> set[date]:
    return {s.skip_date for s in entry.skip_dates} | set(extra)


def occurrences(
    definitions: Iterable[Definition],
    start: datetime,
    end: datetime,
    skips: dict[str, set[date]] | None = None,
) -> list[Occurrence]:
    """Every meeting starting in ``[start, end)``, in time order; ``skips`` adds skipped days
    per meeting_id to those of the definitions."""
    found = []
    for definition in definitions:
        extra = (skips or {}).get(definition.meeting_id, set())
        for index, entry in enumerate(definition.schedule):
            off = skipped(entry, extra)
            for day in dates(entry, start.date() - timedelta(days=1), end.date()):
                if day in off:
                    continue
                at = datetime.combine(day, entry.time, UTC)
                if start <= at < end:
                    found.append(Occurrence(definition, entry, index, at))
    return sorted(found, key=lambda o: (o.start, o.meeting_id, o.index))


def next_occurrence(
    definition: Definition,
    after: datetime,
    skips: set[date] = frozenset(),  # type: ignore[assignment]
    horizon_days: int = 400,
) -> Occurrence | None:
    """The meeting's first start at or after ``after`` (None: ad hoc, or none within the horizon)."""
    found = occurrences(
        [definition], after, after + timedelta(days=horizon_days), {definition.meeting_id: skips}
    )
    return found[0] if found else None


@dataclass(frozen=True, slots=True)
class Conflict:
    room: tuple[str | None, str]
    first: Occurrence
    second: Occurrence

    def __str__(self) -> str:
        a, b = self.first, self.second
        where = f"{self.room[0]}:{self.room[1]}" if self.room[0] else self.room[1]
        return (
            f"{a.meeting_id} ({a.entry.day} {a.entry.time:%H%M}, {a.entry.frequency}) and "
            f"{b.meeting_id} ({b.entry.day} {b.entry.time:%H%M}, {b.entry.frequency}) overlap in "
            f"{where}, first on {a.start:%Y-%m-%d}"
        )


def conflicts(
    definitions: Iterable[Definition], start: datetime, weeks: int = 53
) -> list[Conflict]:
    """Pairs of schedule entries that hold meetings in the same room at overlapping times in
    the same weeks, within ``weeks`` from ``start``; one conflict per pair, at its first clash."""
    by_room: dict[tuple[str | None, str], list[Occurrence]] = {}
    for found in occurrences(definitions, start, start + timedelta(weeks=weeks)):
        room = (found.entry.network, found.entry.room or found.entry.irc.casefold())
        by_room.setdefault(room, []).append(found)
    clashes: dict[tuple[tuple[str, int], tuple[str, int]], Conflict] = {}
    for room, meetings in by_room.items():
        for i, a in enumerate(meetings):
            for b in meetings[i + 1 :]:
                if b.start >= a.end:
                    break
                pair = ((a.meeting_id, a.index), (b.meeting_id, b.index))
                if pair[0] != pair[1]:
                    clashes.setdefault(tuple(sorted(pair)), Conflict(room, a, b))  # type: ignore[arg-type]
    return sorted(clashes.values(), key=lambda c: c.first.start)
