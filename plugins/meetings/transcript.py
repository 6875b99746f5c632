"""Reading meeting transcripts: MeetBot's ``.log.txt`` and ``.log.html``, and opsbot's own.

Lines look like ``HH:MM:SS <nick> text``, ``HH:MM:SS * nick action`` or ``HH:MM:SS -nick- notice``
(``HH:MM`` and an ISO date in front are accepted too), plus ``*** nick has joined`` style events.
Lines that fit none of these are reported with their line numbers, never fatal.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from .engine import Line

_STAMP = r"^\[?(?:(?P<date>\d{4}-\d{2}-\d{2})[T ])?(?P<time>\d{1,2}:\d{2}(?::\d{2})?)\]?\s+"
_PATTERNS = [
    ("message", re.compile(_STAMP + r"<\s*[@+%~&]?(?P<nick>[^>\s]+)\s*>\s?(?P<text>.*)$")),
    ("event", re.compile(_STAMP + r"\*\*\*\s+(?P<nick>\S+)\s+(?P<text>.*)$")),
    ("action", re.compile(_STAMP + r"\*\s+(?P<nick>\S+)\s?(?P<text>.*)$")),
    ("notice", re.compile(_STAMP + r"-(?P<nick>[^-\s]+)-\s?(?P<text>.*)$")),
]
_EVENTS = [
    ("join", re.compile(r"^has joined\b.*$")),
    ("quit", re.compile(r"^has quit(?: \((?P<reason>.*)\))?$")),
    ("part", re.compile(r"^has left(?: [#&!+]\S*)?(?: \((?P<reason>.*)\))?$")),
    ("nick", re.compile(r"^is now known as (?P<new>\S+)$")),
]
_FILE_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})-(\d{2})\.(\d{2})")
_TAG = re.compile(r"<[^>]*>")
_EDITED = re.compile(r"<i>\(edited\)</i>")


@dataclass
class Transcript:
    lines: list[Line] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)
    """``(line number, text)`` of every line that could not be read."""


def date_of(path: Path | str) -> date | None:
    """The date in a MeetBot file name (``name.2019-02-05-14.00.log.txt``)."""
    found = _FILE_DATE.search(Path(path).name)
    if found is None:
        return None
    year, month, day = (int(found.group(i)) for i in (1, 2, 3))
    return date(year, month, day)


_ARCHIVE_NAME = re.compile(
    r"(?P<name>[A-Za-z0-9_-][A-Za-z0-9_.-]*)\.\d{4}-\d{2}-\d{2}-\d{2}\.\d{2}\.log\.(?:html|txt)"
)


def name_of(path: Path | str) -> str | None:
    """The meeting name an archive file carries (``ops-meetup`` of
    ``ops-meetup.2019-02-05-14.00.log.html``): the name its folder and URL have, whatever rule
    the MeetBot of the day used to make it."""
    found = _ARCHIVE_NAME.fullmatch(Path(path).name)
    return found.group("name").lower() if found is not None else None


def html_to_text(markup: str) -> list[str]:
    """The text lines of a ``.log.html`` page: tags dropped, entities decoded."""
    lines = []
    for raw in markup.splitlines():
        raw = _EDITED.sub("", raw)
        text = html.unescape(_TAG.sub("", raw)).strip()
        if text:
            lines.append(text)
    return lines


def parse(rows: list[str], day: date) -> Transcript:
    """Read transcript lines; times before the previous one roll over to the next day."""
    result = Transcript()
    previous: datetime | None = None
    for number, row in enumerate(rows, 1):
        if not row.strip():
            continue
        line = _parse_row(row, day)
        if line is None:
            result.problems.append((number, row))
            continue
        if previous is not None and line.ts < previous and line.ts.date() == previous.date():
            day = day + timedelta(days=1)
            line.ts = line.ts + timedelta(days=1)
        previous = line.ts
        result.lines.append(line)
    return result


def _fast_row(row: str, day: date) -> Line | None:
    """The common shape, ``HH:MM:SS <nick> text``, without regular expressions."""
    if len(row) < 12 or row[2] != ":" or row[5] != ":" or row[8] != " " or row[9] != "<":
        return None
    end = row.find("> ", 10)
    if end < 11 or " " in row[10:end]:
        return None
    try:
        ts = datetime(
            day.year, day.month, day.day, int(row[0:2]), int(row[3:5]), int(row[6:8]), tzinfo=UTC
        )
    except ValueError:
        return None
    return Line(ts=ts, nick=row[10:end].lstrip("@+%~&"), text=row[end + 2 :].rstrip("\r\n"))


def _parse_row(row: str, day: date) -> Line | None:
    fast = _fast_row(row, day)
    if fast is not None:
        return fast
    for kind, pattern in _PATTERNS:
        found = pattern.match(row.rstrip("\r\n"))
        if found is None:
            continue
        ts = _timestamp(found.group("date"), found.group("time"), day)
        if ts is None:
            return None
        nick, text = found.group("nick"), found.group("text")
        if kind != "event":
            return Line(ts=ts, nick=nick, text=text, kind=kind)  # type: ignore[arg-type]
        for event_kind, event in _EVENTS:
            detail = event.match(text)
            if detail is None:
                continue
            if event_kind == "nick":
                return Line(ts=ts, nick=nick, text=detail.group("new"), kind="nick")
            reason = detail.groupdict().get("reason") or ""
            return Line(ts=ts, nick=nick, text=reason, kind=event_kind)  # type: ignore[arg-type]
        return None
    return None


def _timestamp(day_text: str | None, clock: str, day: date) -> datetime | None:
    try:
        if day_text:
            day = date.fromisoformat(day_text)
        hour, _, rest = clock.partition(":")
        minute, _, second = rest.partition(":")
        return datetime(
            day.year, day.month, day.day, int(hour), int(minute), int(second or 0), tzinfo=UTC
        )
    except ValueError:
        return None


def read(path: Path, day: date | None = None) -> Transcript:
    """Read a transcript file (``.html`` files as MeetBot's or opsbot's log pages)."""
    text = path.read_text(encoding="utf-8", errors="replace")
    rows = html_to_text(text) if path.suffix in (".html", ".htm") else text.splitlines()
    when = day or date_of(path) or datetime.now(UTC).date()
    return parse(rows, when)
