"""Plugin ``records``: contribution records per person, so a community can recognise operators
the way code contributors are recognised.

It keeps the domain events it hears (meetings ended, kudos given and withdrawn) and derives a
ledger from them: meetings attended with the lines said (as MeetBot's "People present" counts
them), meetings chaired, action items owned, kudos received by category. Linked identities count
as one person. Recognition rules from the config say who meets what; ``!record [WHO|me]`` tells
in chat, ``opsbot records export`` hands everything to election officials.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, insert, or_, select, update

from opsbot.domain import KudosGiven, KudosWithdrawn, MeetingEnded
from opsbot.events import DomainEvent, utcnow
from opsbot.groupcommit import GroupCommit
from opsbot.people import IdentityRow
from opsbot.plugin import Context, Plugin, PluginConfig, command, subscribe

from .ledger import Credit, Rule, credits_of, rules_met
from .models import Entry, HeardEvent

Key = tuple[str, str]
EVIDENCE = ("time", "kind", "meeting", "category", "count", "source", "link")


class RecordsConfig(PluginConfig):
    rules: list[Rule] = []


def _plain(event: DomainEvent) -> dict[str, Any]:
    """The event's fields as data for a JSON column (its time is stored beside it). Domain
    events hold only strings, numbers, tuples and string-keyed dicts, which JSON takes as they
    are; tuples come back as lists, which the ledger reads alike."""
    return {name: getattr(event, name) for name in _field_names(type(event)) if name != "ts"}


class Records(Plugin):
    """Contribution records: meetings attended and chaired, action items, kudos; recognition rules."""

    Config = RecordsConfig
    config: RecordsConfig

    async def setup(self) -> None:
        # Events are written in groups: a kudos handler never waits on the records' database.
        self.writer: GroupCommit[tuple[str, datetime, dict[str, Any]]] = GroupCommit(
            self._write, name="records writer"
        )
        self.writer.start()

    async def teardown(self) -> None:
        await self.writer.stop()

    # hearing

    def _heard(self, kind: str, event: DomainEvent) -> None:
        data = _plain(event)
        # Who the bot was, kept with the event: a rebuild gives it no credit either.
        data["bots"] = [list(t.me.key) for t in self.bot.transports.values() if t.me.key]
        self.writer.add((kind, event.ts, data))

    async def _write(self, items: list[tuple[str, datetime, dict[str, Any]]]) -> None:
        """Store heard events in order, with the credits they give; withdrawals last (each
        follows the kudos it takes back, in this batch or an earlier one)."""
        events = [{"ts": ts, "kind": kind, "data": data} for kind, ts, data in items]
        entries = [
            _entry_row(credit) for kind, ts, data in items for credit in credits_of(kind, data, ts)
        ]
        withdrawn = [
            f"kudos:{data['kudos_id']}" for kind, _, data in items if kind == "kudos_withdrawn"
        ]
        async with self.storage.engine.begin() as conn:
            await conn.execute(insert(HeardEvent), events)
            if entries:
                await conn.execute(insert(Entry), entries)
            if withdrawn:
                await conn.execute(
                    update(Entry).where(Entry.source.in_(withdrawn)).values(withdrawn=True)
                )

    @subscribe(MeetingEnded)
    async def meeting_ended(self, event: MeetingEnded) -> None:
        self._heard("meeting_ended", event)

    @subscribe(KudosGiven)
    async def kudos_given(self, event: KudosGiven) -> None:
        self._heard("kudos_given", event)

    @subscribe(KudosWithdrawn)
    async def kudos_withdrawn(self, event: KudosWithdrawn) -> None:
        self._heard("kudos_withdrawn", event)

    async def rebuild(self) -> int:
        """Derive the ledger again from the stored events; returns the entries made."""
        await self._flush()
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

    async def _flush(self) -> None:
        """Everything heard so far is written (no-op outside a running bot: the CLI)."""
        writer = getattr(self, "writer", None)
        if writer is not None:
            await writer.flush()

    # asking

    async def record(self, identities: list[Key], now: datetime) -> dict[str, Any]:
        """A person's totals, evidence and the rules they meet."""
        await self._flush()
        mine = or_(*(and_(Entry.network == n, Entry.account == a) for n, a in identities))
        async with self.storage.session() as session:
            rows = (await session.execute(_ledger().where(mine).order_by(Entry.ts))).all()
        summary = self._summary(rows, now, since=None)
        return {"identities": [f"{n}:{a}" for n, a in identities], **summary}

    def _summary(
        self, rows: Sequence[Any], now: datetime, *, since: datetime | None
    ) -> dict[str, Any]:
        """Totals, rules met and evidence of one person's ledger rows (``_ledger()`` columns)."""
        attended = [r for r in rows if r[3] == "attended"]
        kudos: dict[str, int] = {}
        for r in rows:
            if r[3] == "kudos":
                kudos[r[5]] = kudos.get(r[5], 0) + 1
        return {
            "meetings_attended": len(attended),
            "lines_said": sum(r[6] for r in attended),
            "meetings_chaired": sum(1 for r in rows if r[3] == "chaired"),
            "action_items": sum(1 for r in rows if r[3] == "action"),
            "kudos": kudos,
            "rules_met": rules_met(self.config.rules, (tuple(r[2:7]) for r in rows), now),
            "evidence": [
                dict(zip(EVIDENCE, (r[2].isoformat(), *r[3:9]), strict=True))
                for r in rows
                if since is None or r[2] >= since
            ],
        }

    async def export(self, *, since: datetime | None, rule: str | None) -> list[dict[str, Any]]:
        """Every person (linked identities together) with a record, their evidence and rules:
        one pass over the ledger in person order, rows as tuples (no ORM objects)."""
        await self._flush()
        async with self.storage.session() as session:
            links = await session.execute(
                select(IdentityRow.network, IdentityRow.account, IdentityRow.person)
            )
            person_of = {(n, a): p for n, a, p in links.all()}
            rows = await session.execute(_ledger().order_by(Entry.network, Entry.account, Entry.ts))
            by_person: dict[Any, list[Any]] = {}
            names: dict[Any, set[str]] = {}
            for row in rows.all():
                key = (row[0], row[1])
                person = person_of.get(key, key)
                by_person.setdefault(person, []).append(row)
                names.setdefault(person, set()).add(f"{row[0]}:{row[1]}")
        now = utcnow()
        found = []
        for person, entries in by_person.items():
            summary = self._summary(entries, now, since=since)
            if rule is not None and rule not in summary["rules_met"]:
                continue
            identities = sorted(names[person])
            found.append({"person": identities[0], "identities": identities, **summary})
        return sorted(found, key=lambda p: str(p["person"]))

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


def _ledger() -> Any:
    """The ledger's standing rows, as the tuples :meth:`Records._summary` reads."""
    return select(
        Entry.network, Entry.account, Entry.ts, Entry.kind, Entry.meeting,
        Entry.category, Entry.count, Entry.source, Entry.link,
    ).where(Entry.withdrawn.is_(False))  # fmt: skip


def _entry(credit: Credit) -> Entry:
    return Entry(**_entry_row(credit))


def _entry_row(credit: Credit) -> dict[str, Any]:
    row = {name: getattr(credit, name) for name in _field_names(Credit)}
    row["withdrawn"] = False
    return row


_FIELDS: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    """A dataclass's field names (``dataclasses.fields`` and ``asdict`` are slow per call)."""
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in fields(cls))
    return names
