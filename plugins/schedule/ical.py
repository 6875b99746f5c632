"""The calendar as iCalendar (RFC 5545), one event a schedule entry, through the ``icalendar``
library: weekly meetings as a weekly RRULE; bi- and four-weekly ones by ISO week number
(``FREQ=YEARLY;BYWEEKNO=...``), which keeps their parity across years of 53 weeks where a plain
``INTERVAL=2`` would drift; ``first-<day>`` as ``FREQ=MONTHLY;BYDAY=1XX``; skipped days as
EXDATE. Ad hoc meetings have no dates and no event."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from icalendar import Calendar, Event, vRecur

from .definitions import Definition, Entry
from .recurrence import QUADWEEK, dates, skipped

PRODID = "-//opsbot//meeting calendar//EN"
BYDAY = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def rrule(entry: Entry) -> vRecur | None:
    day = BYDAY[entry.weekday]
    frequency = entry.frequency
    if frequency == "weekly":
        return vRecur(freq="WEEKLY", byday=day)
    if frequency.startswith("biweekly-"):
        weeks = range(1 if frequency == "biweekly-odd" else 2, 54, 2)
        return vRecur(freq="YEARLY", byweekno=list(weeks), byday=day)
    if frequency in QUADWEEK:
        weeks = range(QUADWEEK[frequency] or 4, 54, 4)
        return vRecur(freq="YEARLY", byweekno=list(weeks), byday=day)
    if frequency.startswith("first-"):
        return vRecur(freq="MONTHLY", byday=f"1{day}")
    return None


def event(definition: Definition, index: int, entry: Entry, today: date) -> Event | None:
    """The entry's meetings from its start date (or ``today``) on; None for ad hoc ones."""
    rule = rrule(entry)
    begin = max(entry.start_date or today, today - timedelta(days=366))
    first = next(dates(entry, begin, begin + timedelta(days=400)), None)
    if rule is None or first is None:
        return None
    start = datetime.combine(first, entry.time, UTC)
    found = Event()
    found.add("uid", f"{definition.meeting_id}-{index}@opsbot")
    found.add("dtstamp", datetime.combine(today, datetime.min.time(), UTC))
    found.add("summary", f"{definition.project} ({definition.meeting_id})")
    found.add("dtstart", start)
    found.add("duration", timedelta(minutes=entry.duration))
    found.add("rrule", rule)
    where = entry.room or entry.irc
    found.add("location", f"{where} ({entry.network})" if entry.network else where)
    details = [definition.description.strip()]
    if definition.chair:
        details.append(f"Chair: {definition.chair}")
    if definition.agenda_url:
        details.append(f"Agenda: {definition.agenda_url}")
        found.add("url", definition.agenda_url)
    found.add("description", "\n\n".join(d for d in details if d))
    off = sorted(d for d in skipped(entry) if d >= first)
    if off:
        found.add("exdate", [datetime.combine(d, entry.time, UTC) for d in off])
    return found


def calendar(definitions: Iterable[Definition], today: date, name: str = "Meetings") -> Calendar:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("x-wr-calname", name)
    for definition in definitions:
        for index, entry in enumerate(definition.schedule):
            found = event(definition, index, entry, today)
            if found is not None:
                cal.add_component(found)
    return cal
