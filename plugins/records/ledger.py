"""The ledger: what each heard event credits to whom (pure functions, so the ledger can be
rebuilt from the stored events and come out the same), and the recognition rules."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


@dataclass(frozen=True, slots=True)
class Credit:
    ts: datetime
    network: str
    account: str
    nick: str
    kind: str
    """attended, chaired, action, kudos."""
    meeting: str = ""
    category: str = ""
    count: int = 1
    source: str = ""
    link: str = ""


def credits_of(kind: str, data: dict[str, Any], ts: datetime) -> list[Credit]:
    """The credits one stored event gives; people without a proven account get none, nor does
    the bot itself (``bots`` in the event: MeetBot counts the bot among the people present)."""
    bots = {tuple(key) for key in data.get("bots", [])}
    return [c for c in _credits(kind, data, ts) if (c.network, c.account) not in bots]


def _credits(kind: str, data: dict[str, Any], ts: datetime) -> list[Credit]:
    if kind == "meeting_ended":
        network, meeting = data["network"], data["meeting_name"]
        source, link = f"meeting:{data['meeting_id']}", data.get("links", {}).get(".html", "")
        accounts: dict[str, str | None] = data.get("accounts", {})
        found: list[Credit] = []
        for nick, lines in data.get("attendees", {}).items():
            if accounts.get(nick):
                found.append(
                    Credit(ts, network, str(accounts[nick]), nick, "attended", meeting,
                           count=int(lines), source=source, link=link)
                )  # fmt: skip
        for nick, account in data.get("chairs", []):
            if account:
                found.append(
                    Credit(ts, network, account, nick, "chaired", meeting, source=source, link=link)
                )
        folded = {nick.casefold(): account for nick, account in accounts.items() if account}
        for _text, owners in data.get("actions", []):
            for owner in owners:
                if folded.get(owner.casefold()):
                    found.append(
                        Credit(ts, network, str(folded[owner.casefold()]), owner, "action",
                               meeting, source=source, link=link)
                    )  # fmt: skip
        return found
    if kind == "kudos_given":
        network, account = data["receiver"]
        return [
            Credit(ts, network, account, data["receiver_nick"], "kudos",
                   category=data["category"], source=f"kudos:{data['kudos_id']}")
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
    kudos: int | None = None
    """Kudos received (in ``category``, if given)."""
    meetings: list[str] = []
    category: str | None = None


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    period_days: int = Field(default=365, ge=1)
    any: list[Condition]
    """The rule is met when any one of these is."""

    def kinds(self) -> frozenset[str]:
        """The kinds of entries the rule looks at (the others need not be counted)."""
        wanted: set[str] = set()
        for condition in self.any:
            if condition.attended is not None or condition.lines is not None:
                wanted.add("attended")
            if condition.chaired is not None:
                wanted.add("chaired")
            if condition.actions is not None:
                wanted.add("action")
            if condition.kudos is not None:
                wanted.add("kudos")
        return frozenset(wanted)


@dataclass
class Tally:
    """One person's totals over a period."""

    attended: dict[str, int] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)
    chaired: int = 0
    actions: int = 0
    kudos: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, meeting: str, category: str, count: int) -> None:
        if kind == "attended":
            self.attended[meeting] = self.attended.get(meeting, 0) + 1
            self.lines[meeting] = self.lines.get(meeting, 0) + count
        elif kind == "chaired":
            self.chaired += 1
        elif kind == "action":
            self.actions += 1
        elif kind == "kudos":
            self.kudos[category] = self.kudos.get(category, 0) + 1


def _within(values: dict[str, int], names: list[str]) -> int:
    return sum(n for name, n in values.items() if not names or name in names)


def meets(condition: Condition, tally: Tally) -> bool:
    checks = [
        (condition.attended, _within(tally.attended, condition.meetings)),
        (condition.lines, _within(tally.lines, condition.meetings)),
        (condition.chaired, tally.chaired),
        (condition.actions, tally.actions),
        (
            condition.kudos,
            sum(tally.kudos.values())
            if condition.category is None
            else tally.kudos.get(condition.category, 0),
        ),
    ]
    wanted = [(need, have) for need, have in checks if need is not None]
    return bool(wanted) and all(have >= need for need, have in wanted)


def rules_met(
    rules: Iterable[Rule], entries: Iterable[tuple[datetime, str, str, str, int]], now: datetime
) -> list[str]:
    """Names of the rules met by a person whose entries are ``(ts, kind, meeting, category,
    count)`` (withdrawn ones left out by the caller)."""
    rows = list(entries)
    met = []
    for rule in rules:
        since = now - timedelta(days=rule.period_days)
        kinds = rule.kinds()
        tally = Tally()
        for ts, kind, meeting, category, count in rows:
            if kind in kinds and ts >= since:
                tally.add(kind, meeting, category, count)
        if any(meets(condition, tally) for condition in rule.any):
            met.append(rule.name)
    return met
