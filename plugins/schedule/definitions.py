"""Meeting definitions in the format of OpenStack's irc-meetings repository, read from a folder of
YAML files: one meeting a file, each with one or more schedule entries.

A file that cannot be read or does not validate is reported with its name, the field and the
reason; the other files still load.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from datetime import time as TimeOfDay
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
Day = Literal["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
Frequency = Literal[
    "weekly",
    "biweekly-odd",
    "biweekly-even",
    "quadweekly",
    "quadweekly-week-1",
    "quadweekly-week-2",
    "quadweekly-week-3",
    "quadweekly-alternate",
    "first-monday",
    "first-tuesday",
    "first-wednesday",
    "first-thursday",
    "first-friday",
    "adhoc",
]


def _day_of(value: Any) -> date:
    """irc-meetings writes dates as YYYYMMDD (an integer in YAML); ISO dates are taken too."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    if re.fullmatch(r"\d{8}", text):
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a date (YYYYMMDD)") from None


class SkipDate(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    skip_date: date
    reason: str = ""

    @field_validator("skip_date", mode="before")
    @classmethod
    def _day(cls, value: Any) -> date:
        return _day_of(value)


class Entry(BaseModel):
    """One line of a meeting's schedule: when and where it meets."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    time: TimeOfDay
    """Start, UTC (HHMM)."""
    day: Day
    irc: str
    """The channel (``#`` optional, as irc-meetings writes it without)."""
    frequency: Frequency
    network: str | None = None
    """The opsbot network the meeting is on (default: the plugin's ``default_network``)."""
    room: str | None = None
    """The room on that network, where it is not the IRC channel (a Matrix room ID)."""
    start_date: date | None = None
    duration: int = Field(default=60, gt=0, le=24 * 60)
    """Minutes."""
    skip_dates: list[SkipDate] = []

    @field_validator("time", mode="before")
    @classmethod
    def _hhmm(cls, value: Any) -> TimeOfDay:
        if isinstance(value, TimeOfDay):
            return value
        text = f"{value:04d}" if isinstance(value, int) else str(value).strip()
        found = re.fullmatch(r"([01]\d|2[0-3]):?([0-5]\d)", text)
        if found is None:
            raise ValueError(f"{text!r} is not a time of day (HHMM, UTC)")
        return TimeOfDay(int(found[1]), int(found[2]))

    @field_validator("start_date", mode="before")
    @classmethod
    def _start(cls, value: Any) -> date | None:
        return None if value is None else _day_of(value)

    @field_validator("irc")
    @classmethod
    def _channel(cls, value: str) -> str:
        value = value.strip()
        if not value or any(c in value for c in " ,\x07"):
            raise ValueError(f"{value!r} is not a channel name")
        return value if value.startswith(("#", "&")) else f"#{value}"

    @model_validator(mode="after")
    def _monthly_day(self) -> Entry:
        if self.frequency.startswith("first-") and self.frequency[6:] != self.day.lower():
            raise ValueError(f"frequency {self.frequency} does not meet on day {self.day}")
        return self

    @property
    def weekday(self) -> int:
        return DAYS.index(self.day)


class Definition(BaseModel):
    """A meeting: its ``meeting_id`` is the name given to ``#startmeeting``."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    project: str
    meeting_id: str
    agenda_url: str | None = None
    chair: str = ""
    description: str = ""
    schedule: list[Entry] = Field(min_length=1)

    @field_validator("meeting_id")
    @classmethod
    def _name(cls, value: str) -> str:
        name = re.sub(r"\s+", "_", value.strip()).lower()
        if not re.fullmatch(r"[\w.-]+", name):
            raise ValueError(f"{value!r} is not a meeting name (letters, digits, _ . -)")
        return name

    def chair_nicks(self) -> set[str]:
        """Nicks named as chairs: irc-meetings writes ``Full Name (nick)``, several by commas."""
        named = re.findall(r"\(([^()\s]+)\)", self.chair)
        bare = [p.strip() for p in self.chair.split(",") if re.fullmatch(r"\S+", p.strip())]
        return {n.casefold() for n in [*named, *bare]}


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    field: str
    reason: str

    def __str__(self) -> str:
        return (
            f"{self.file}: {self.field}: {self.reason}"
            if self.field
            else f"{self.file}: {self.reason}"
        )


@dataclass(frozen=True, slots=True)
class Loaded:
    definitions: dict[str, Definition]
    """By meeting_id."""
    files: dict[str, str]
    """meeting_id to the file it came from."""
    problems: list[Problem]


def load_folder(folder: Path) -> Loaded:
    """Every ``*.yaml``/``*.yml`` file of ``folder``; problems listed, the rest loaded."""
    definitions: dict[str, Definition] = {}
    files: dict[str, str] = {}
    problems: list[Problem] = []
    if not folder.is_dir():
        return Loaded({}, {}, [Problem(str(folder), "", "no such folder")])
    for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
        name = path.name
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as error:
            problems.append(Problem(name, "", f"cannot be read: {error}"))
            continue
        except ValueError as error:  # a scalar YAML cannot make, e.g. the date 2026-13-01
            problems.append(Problem(name, "", f"not valid YAML: {error}"))
            continue
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            where = f"line {mark.line + 1}" if mark is not None else ""
            problems.append(
                Problem(name, where, f"not valid YAML: {getattr(error, 'problem', error)}")
            )
            continue
        if not isinstance(data, dict):
            problems.append(Problem(name, "", "is not a mapping of fields"))
            continue
        data.setdefault("meeting_id", path.stem)
        try:
            definition = Definition.model_validate(data)
        except ValidationError as error:
            for found in error.errors():
                field = "".join(
                    f"[{part}]" if isinstance(part, int) else f".{part}" for part in found["loc"]
                ).lstrip(".")
                problems.append(Problem(name, field, found["msg"].removeprefix("Value error, ")))
            continue
        if definition.meeting_id in definitions:
            problems.append(
                Problem(
                    name,
                    "meeting_id",
                    f"{definition.meeting_id!r} is already defined in {files[definition.meeting_id]}",
                )
            )
            continue
        definitions[definition.meeting_id] = definition
        files[definition.meeting_id] = name
    return Loaded(definitions, files, problems)
