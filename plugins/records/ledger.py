"""The ledger: what each heard event credits to whom (pure functions, so the ledger can be
rebuilt from the stored events and come out the same), and the recognition rules."""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from opsbot.events import account_key
from opsbot.storage import iso_utc_text


@dataclass(frozen=True, slots=True)
class Credit:
    ts: datetime
    network: str
    account: str
    nick: str
    kind: str
    """attended, chaired, action (owned), completed (an owned action item closed), kudos."""
    meeting: str = ""
    category: str = ""
    count: int = 1
    source: str = ""
    link: str = ""
    private: bool = False
    """From a restricted meeting: counted, never shown publicly."""


def credits_of(kind: str, data: dict[str, Any], ts: datetime) -> list[Credit]:
    """The credits one stored event gives; people without a proven account get none, nor does
    the bot itself (``bots`` in the event: MeetBot counts the bot among the people present)."""
    bots = {tuple(key) for key in data.get("bots", [])}
    return [c for c in _credits(kind, data, ts) if (c.network, c.account) not in bots]


def _credits(kind: str, data: dict[str, Any], ts: datetime) -> list[Credit]:
    if kind == "meeting_ended":
        network, meeting = data["network"], data["meeting_name"]
        source, link = f"meeting:{data['meeting_id']}", data.get("links", {}).get(".html", "")
        folded = {nick.casefold(): a for nick, a in data.get("accounts", {}).items() if a}
        private = bool(data.get("restricted"))

        def account_of(nick: str, seen: str | None = None) -> str | None:
            # Someone not identified (or an archive, which proves no accounts) is credited by
            # nick ("~nick"): they claim it (!claim) the same day, or an admin merges it with
            # their account later (opsbot people merge).
            found = seen or folded.get(nick.casefold())
            return found or f"~{nick.casefold()}"

        found: list[Credit] = []
        for nick, lines in data.get("attendees", {}).items():
            if account := account_of(nick):
                found.append(
                    Credit(ts, *account_key(network, account), nick, "attended", meeting, count=int(lines),
                           source=source, link=link, private=private)
                )  # fmt: skip
        for nick, seen in data.get("chairs", []):
            if account := account_of(nick, seen):
                found.append(
                    Credit(ts, *account_key(network, account), nick, "chaired", meeting, source=source,
                           link=link, private=private)
                )  # fmt: skip
        for _text, owners in data.get("actions", []):
            for owner in owners:
                if account := account_of(owner):
                    found.append(
                        Credit(ts, *account_key(network, account), owner, "action", meeting, source=source,
                               link=link, private=private)
                    )  # fmt: skip
        return found
    if kind == "action_closed":
        network, meeting = data["network"], data["meeting_name"]
        return [
            Credit(ts, *account_key(network, account), nick, "completed", meeting,
                   source=f"action:{data['action_id']}")
            for nick, account in data.get("owners", [])
            if account
        ]  # fmt: skip
    if kind == "kudos_given":
        network, account = data["receiver"]
        links = " ".join(str(link) for _kind, link in data.get("evidence") or ())
        return [
            Credit(ts, network, account, data["receiver_nick"], "kudos",
                   category=data["category"], source=f"kudos:{data['kudos_id']}", link=links)
        ]  # fmt: skip
    return []


class Condition(BaseModel):
    """One way to meet a rule; every limit given must hold."""

    model_config = ConfigDict(extra="forbid")

    attended: int | None = None
    """Meetings attended (of ``meetings``, if given)."""
    lines: int | None = None
    """Lines said in meetings (of ``meetings``, if given)."""
    chaired: int | None = None
    actions: int | None = None
    """Action items owned."""
    completed: int | None = None
    """Owned action items closed."""
    kudos: int | None = None
    """Kudos received (in ``category``, if given)."""
    meetings: list[str] = []
    category: str | None = None


class Nomination(BaseModel):
    """Someone a rule counts as met for, by name, until a day (``records.nominations``)."""

    model_config = ConfigDict(extra="forbid")

    account: str
    """``network:account``."""
    rule: str
    until: date
    why: str = ""


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    period_days: int = Field(default=365, ge=1)
    any: list[Condition]
    """The rule is met when any one of these is."""


@dataclass
class Tally:
    """One person's totals over a period."""

    attended: dict[str, int] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)
    chaired: int = 0
    actions: int = 0
    completed: int = 0
    kudos: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, rows: Sequence[Any]) -> Tally:
        """The tally of ledger rows, counted in one C-level pass and one over attendances."""
        tally = cls()
        for (kind, category), n in Counter((r[3], r[5]) for r in rows).items():
            if kind == "kudos":
                tally.kudos[category] = tally.kudos.get(category, 0) + n
            elif kind == "action":
                tally.actions += n
            elif kind == "completed":
                tally.completed += n
        lines = tally.lines
        # One meeting attended or chaired once by a person, whichever of their linked
        # accounts was there (rows carry the meeting as their source, r[7]).
        attended: set[str] = set()
        chaired: set[str] = set()
        for row in rows:
            kind = row[3]
            if kind == "attended":
                lines[row[4]] = lines.get(row[4], 0) + row[6]
                if row[7] not in attended:
                    attended.add(row[7])
                    tally.attended[row[4]] = tally.attended.get(row[4], 0) + 1
            elif kind == "chaired":
                chaired.add(row[7])
        tally.chaired = len(chaired)
        return tally


def _within(values: dict[str, int], names: list[str]) -> int:
    return sum(n for name, n in values.items() if not names or name in names)


def meets(condition: Condition, tally: Tally) -> bool:
    checks = [
        (condition.attended, _within(tally.attended, condition.meetings)),
        (condition.lines, _within(tally.lines, condition.meetings)),
        (condition.chaired, tally.chaired),
        (condition.actions, tally.actions),
        (condition.completed, tally.completed),
        (
            condition.kudos,
            sum(tally.kudos.values())
            if condition.category is None
            else tally.kudos.get(condition.category, 0),
        ),
    ]
    wanted = [(need, have) for need, have in checks if need is not None]
    return bool(wanted) and all(have >= need for need, have in wanted)


class Periods:
    """The rules' periods as of one moment, as text to compare entries' times with (the form
    :func:`opsbot.storage.iso_utc_text` gives): made once for a whole export."""

    def __init__(self, rules: list[Rule], now: datetime) -> None:
        self.rules = rules
        self.since = {
            days: iso_utc_text(now - timedelta(days=days))
            for days in sorted({rule.period_days for rule in rules})
        }

    def rules_met(self, rows: Sequence[Any]) -> list[str]:
        """The rules met by one person's ledger rows (``(network, account, time, kind,
        meeting, category, count, source, ...)``, oldest first: each period is a tail of them)."""
        times = [row[2] for row in rows]
        by_days = {
            days: Tally.of(rows[bisect_left(times, since) :]) for days, since in self.since.items()
        }
        return [
            rule.name
            for rule in self.rules
            if any(meets(condition, by_days[rule.period_days]) for condition in rule.any)
        ]
