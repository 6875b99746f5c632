"""Plugin ``records``: contribution records per person, so a community can recognise operators
the way code contributors are recognised.

It keeps the domain events it hears (meetings ended, kudos given and withdrawn) and derives a
ledger from them: meetings attended with the lines said (as MeetBot's "People present" counts
them), meetings chaired, action items owned, kudos received by category. Linked identities count
as one person. Recognition rules from the config say who meets what; ``!record [WHO|me]`` tells
in chat, ``opsbot records export`` hands everything to election officials.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, or_, select, update

from opsbot.domain import KudosGiven, KudosWithdrawn, MeetingEnded
from opsbot.events import DomainEvent, utcnow
from opsbot.plugin import Context, Plugin, PluginConfig, command, subscribe

from .ledger import Credit, Rule, credits_of, rules_met
from .models import Entry, HeardEvent

Key = tuple[str, str]


class RecordsConfig(PluginConfig):
    rules: list[Rule] = []


def _plain(event: DomainEvent) -> dict[str, Any]:
    """The event's fields as JSON-ready data (its time is stored beside it)."""
    data = asdict(event)
    data.pop("ts", None)
    return _jsonable(data)  # type: ignore[no-any-return]


class Records(Plugin):
    """Contribution records: meetings attended and chaired, action items, kudos; recognition rules."""

    Config = RecordsConfig
    config: RecordsConfig

    # hearing

    async def _heard(self, kind: str, event: Any) -> None:
        data = _plain(event)
        # Who the bot was, kept with the event: a rebuild gives it no credit either.
        data["bots"] = [list(t.me.key) for t in self.bot.transports.values() if t.me.key]
        credits = credits_of(kind, data, event.ts)
        async with self.storage.session() as session, session.begin():
            session.add(HeardEvent(ts=event.ts, kind=kind, data=data))
            session.add_all(_entry(credit) for credit in credits)

    @subscribe(MeetingEnded)
    async def meeting_ended(self, event: MeetingEnded) -> None:
        await self._heard("meeting_ended", event)

    @subscribe(KudosGiven)
    async def kudos_given(self, event: KudosGiven) -> None:
        await self._heard("kudos_given", event)

    @subscribe(KudosWithdrawn)
    async def kudos_withdrawn(self, event: KudosWithdrawn) -> None:
        async with self.storage.session() as session, session.begin():
            session.add(HeardEvent(ts=event.ts, kind="kudos_withdrawn", data=_plain(event)))
            await session.execute(
                update(Entry)
                .where(Entry.source == f"kudos:{event.kudos_id}")
                .values(withdrawn=True)
            )

    async def rebuild(self) -> int:
        """Derive the ledger again from the stored events; returns the entries made."""
        async with self.storage.session() as session, session.begin():
            await session.execute(delete(Entry))
            withdrawn: set[str] = set()
            rows = await session.scalars(select(HeardEvent).order_by(HeardEvent.id))
            entries: list[Entry] = []
            for row in rows:
                if row.kind == "kudos_withdrawn":
                    withdrawn.add(f"kudos:{row.data['kudos_id']}")
                    continue
                entries += [_entry(c) for c in credits_of(row.kind, row.data, row.ts)]
            for entry in entries:
                entry.withdrawn = entry.source in withdrawn
            session.add_all(entries)
        return len(entries)

    # asking

    async def record(self, identities: list[Key], now: datetime) -> dict[str, Any]:
        """A person's totals, evidence and the rules they meet."""
        mine = or_(*(and_(Entry.network == n, Entry.account == a) for n, a in identities))
        async with self.storage.session() as session:
            rows = list(
                await session.scalars(
                    select(Entry).where(mine, Entry.withdrawn.is_(False)).order_by(Entry.ts)
                )
            )
        met = rules_met(
            self.config.rules,
            ((r.ts, r.kind, r.meeting, r.category, r.count) for r in rows),
            now,
        )
        attended = [r for r in rows if r.kind == "attended"]
        kudos: dict[str, int] = {}
        for r in rows:
            if r.kind == "kudos":
                kudos[r.category] = kudos.get(r.category, 0) + 1
        return {
            "identities": [f"{n}:{a}" for n, a in identities],
            "meetings_attended": len(attended),
            "lines_said": sum(r.count for r in attended),
            "meetings_chaired": sum(1 for r in rows if r.kind == "chaired"),
            "action_items": sum(1 for r in rows if r.kind == "action"),
            "kudos": kudos,
            "rules_met": met,
            "evidence": [
                {
                    "time": r.ts.isoformat(),
                    "kind": r.kind,
                    "meeting": r.meeting,
                    "category": r.category,
                    "count": r.count,
                    "source": r.source,
                    "link": r.link,
                }
                for r in rows
            ],
        }

    async def export(self, *, since: datetime | None, rule: str | None) -> list[dict[str, Any]]:
        """Every person (linked identities together) with a record, their evidence and rules."""
        async with self.storage.session() as session:
            keys = (await session.execute(select(Entry.network, Entry.account).distinct())).all()
        people: list[list[Key]] = []
        placed: set[Key] = set()
        for network, account in sorted(keys):
            if (network, account) in placed:
                continue
            identities = await self.bot.people.identities((network, account))
            placed.update(identities)
            people.append(identities)
        now = utcnow()
        found = []
        for identities in people:
            record = await self.record(identities, now)
            if rule is not None and rule not in record["rules_met"]:
                continue
            if since is not None:
                record["evidence"] = [
                    e for e in record["evidence"] if e["time"] >= since.isoformat()
                ]
            found.append({"person": record["identities"][0], **record})
        return found

    @command("record", usage="[WHO|me]", help="Someone's contribution record and the rules met.")
    async def show(self, ctx: Context, who: str | None = None) -> None:
        person = ctx.sender if who in (None, "me") else ctx.transport.member(ctx.room, who or "")
        if person is None:
            await ctx.reply(f"{who} is not here; records are kept per account.")
            return
        if person.key is None:
            await ctx.reply(f"{person.nick} is not identified to an account; no record is kept.")
            return
        found = await self.record(await self.bot.people.identities(person.key), utcnow())
        kudos = ", ".join(f"#{c} {n}" for c, n in sorted(found["kudos"].items())) or "none"
        rules = ", ".join(found["rules_met"]) or "none yet"
        await ctx.reply(
            f"{person.nick}: {found['meetings_attended']} meetings attended "
            f"({found['lines_said']} lines), {found['meetings_chaired']} chaired, "
            f"{found['action_items']} action items; kudos: {kudos}. Rules met: {rules}."
        )


def _entry(credit: Credit) -> Entry:
    return Entry(
        ts=credit.ts,
        network=credit.network,
        account=credit.account,
        nick=credit.nick,
        kind=credit.kind,
        meeting=credit.meeting,
        category=credit.category,
        count=credit.count,
        source=credit.source,
        link=credit.link,
        withdrawn=False,
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value
