"""Plugin ``records``: contribution records per person, so a community can recognise operators
the way code contributors are recognised.

It keeps the domain events it hears (meetings ended, live or imported from archives; action items
closed; kudos given and withdrawn) and derives a ledger from them: meetings attended with the
lines said (as MeetBot's "People present" counts them), meetings chaired, action items owned and
completed, kudos received by category. Linked identities count
as one person. Recognition rules from the config say who meets what; ``!record [WHO|me]`` tells
in chat, ``opsbot records export`` hands everything to election officials.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from opsbot.domain import (
    ActionItemClosed,
    KudosGiven,
    KudosWithdrawn,
    LeaderboardOptOut,
    MeetingEnded,
)
from opsbot.events import DomainEvent, utcnow
from opsbot.groupcommit import GroupCommit
from opsbot.people import IdentityRow
from opsbot.plugin import Context, Plugin, PluginConfig, command, subscribe
from opsbot.storage import iso_utc, iso_utc_text, read_ahead

from .ledger import Credit, Periods, Rule, credits_of
from .models import Entry, HeardEvent
from .web import PeopleSite

Key = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Part:
    """One range of an export: the identities from ``first`` to ``last`` (inclusive, in the
    database's order), and the linked people it yields."""

    first: Key
    last: Key
    linked: frozenset[int]


class RecordsConfig(PluginConfig):
    rules: list[Rule] = []


def _plain(event: DomainEvent) -> dict[str, Any]:
    """The event's fields as data for a JSON column (its time is stored beside it). Domain
    events hold only strings, numbers, tuples and string-keyed dicts, which JSON takes as they
    are; tuples come back as lists, which the ledger reads alike."""
    return {name: getattr(event, name) for name in _field_names(type(event)) if name != "ts"}


class Records(Plugin):
    """Contribution records: meetings attended and chaired, action items, kudos; recognition rules."""

    web_paths = ("/people",)

    Config = RecordsConfig
    config: RecordsConfig
    hears_history = True  # imported MeetBot archives count too

    async def setup(self) -> None:
        self._ids = itertools.count(await self._next_id())
        # Events are written in groups: a kudos handler never waits on the records' database.
        self.writer: GroupCommit[tuple[str, datetime, dict[str, Any]]] = GroupCommit(
            self._write, name="records writer", storage=self.storage
        )
        await self.writer.start()  # what was spooled while the database was away, first
        self.opted_out: set[Key] = set()
        """People who left the public leaderboards: no public page of theirs."""
        async with self.storage.session() as session:
            changes = await session.scalars(
                select(HeardEvent.data).where(HeardEvent.kind == "opt_out").order_by(HeardEvent.id)
            )
            for data in changes:
                self._opt(data)
        site = self.web
        if site is not None:
            PeopleSite(self, site)

    def _opt(self, data: dict[str, Any]) -> None:
        key = (str(data["person"][0]), str(data["person"][1]))
        if data["opted_out"]:
            self.opted_out.add(key)
        else:
            self.opted_out.discard(key)

    async def teardown(self) -> None:
        await self.writer.stop()

    # hearing

    def _heard(self, kind: str, event: DomainEvent) -> None:
        data = _plain(event)
        # Who the bot was, kept with the event: a rebuild gives it no credit either.
        data["bots"] = [
            list(key) for name in self.services.networks() if (key := self.services.me(name).key)
        ]
        self.writer.add((kind, event.ts, data))

    async def _write(
        self, items: list[tuple[str, datetime, dict[str, Any]]], conn: AsyncConnection
    ) -> None:
        """Store heard events in order, with the credits they give; withdrawals last (each
        follows the kudos it takes back, in this batch or an earlier one)."""
        events = [{"ts": ts, "kind": kind, "data": data} for kind, ts, data in items]
        entries = [
            _entry_row(credit, next(self._ids))
            for kind, ts, data in items
            for credit in credits_of(kind, data, ts)
        ]
        withdrawn = [
            f"kudos:{data['kudos_id']}" for kind, _, data in items if kind == "kudos_withdrawn"
        ]
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

    @subscribe(ActionItemClosed)
    async def action_closed(self, event: ActionItemClosed) -> None:
        self._heard("action_closed", event)

    @subscribe(LeaderboardOptOut)
    async def opt_out(self, event: LeaderboardOptOut) -> None:
        self._heard("opt_out", event)
        self._opt(_plain(event))

    @subscribe(KudosGiven)
    async def kudos_given(self, event: KudosGiven) -> None:
        self._heard("kudos_given", event)

    @subscribe(KudosWithdrawn)
    async def kudos_withdrawn(self, event: KudosWithdrawn) -> None:
        self._heard("kudos_withdrawn", event)

    async def rebuild(self) -> int:
        """Derive the ledger again from the stored events; returns the entries made."""
        await self.flush()
        ids = itertools.count(1)
        withdrawn: set[str] = set()
        entries: list[dict[str, Any]] = []
        async with self.storage.engine.begin() as conn:
            await conn.execute(delete(Entry))
            events = await conn.stream(
                select(HeardEvent.kind, HeardEvent.data, HeardEvent.ts).order_by(HeardEvent.id)
            )
            async for kind, data, ts in events:
                if kind == "kudos_withdrawn":
                    withdrawn.add(f"kudos:{data['kudos_id']}")
                else:
                    entries += [_entry_row(c, next(ids)) for c in credits_of(kind, data, ts)]
            for entry in entries:
                entry["withdrawn"] = entry["source"] in withdrawn
            for start in range(0, len(entries), 5_000):
                await conn.execute(insert(Entry), entries[start : start + 5_000])
        self._ids = ids
        return len(entries)

    async def _next_id(self) -> int:
        async with self.storage.session() as session:
            return int(await session.scalar(select(func.max(Entry.id))) or 0) + 1

    async def flush(self) -> None:
        """Everything heard so far is written (no-op outside a running bot: the CLI)."""
        writer = getattr(self, "writer", None)
        if writer is not None:
            await writer.flush()

    # asking

    async def record(self, identities: list[Key], now: datetime) -> dict[str, Any]:
        """A person's totals, evidence and the rules they meet."""
        await self.flush()
        mine = or_(*(and_(Entry.network == n, Entry.account == a) for n, a in identities))
        async with self.storage.session() as session:
            rows = (await session.execute(_ledger().where(mine).order_by(Entry.ts, Entry.id))).all()
        summary = self._summary(rows, Periods(self.config.rules, now), since=None)
        return {"identities": [f"{n}:{a}" for n, a in identities], **summary}

    def _summary(
        self, rows: Sequence[Any], periods: Periods, *, since: datetime | None
    ) -> dict[str, Any]:
        """Totals, rules met and evidence of one person's ledger rows (``_ledger()`` columns),
        in one pass: an export makes a million of these. Evidence carries only the fields its
        kind has."""
        attended = lines = chaired = actions = completed = 0
        kudos: dict[str, int] = {}
        evidence: list[dict[str, Any]] = []
        shown_from = "" if since is None else iso_utc_text(since)
        for _network, _account, ts, kind, meeting, category, count, source, link, private in rows:
            if kind == "attended":
                attended += 1
                lines += count
                item = {"time": ts, "kind": kind, "meeting": meeting, "lines": count}
            elif kind == "kudos":
                kudos[category] = kudos.get(category, 0) + 1
                item = {"time": ts, "kind": kind, "category": category}
            else:
                if kind == "chaired":
                    chaired += 1
                elif kind == "action":
                    actions += 1
                elif kind == "completed":
                    completed += 1
                item = {"time": ts, "kind": kind, "meeting": meeting}
            if ts >= shown_from:
                item["source"] = source
                if link:
                    item["link"] = link
                if private:
                    item["private"] = True
                evidence.append(item)
        return {
            "meetings_attended": attended,
            "lines_said": lines,
            "meetings_chaired": chaired,
            "action_items": actions,
            "action_items_completed": completed,
            "kudos": kudos,
            "rules_met": periods.rules_met(rows),
            "evidence": evidence,
        }

    async def export(
        self,
        *,
        since: datetime | None,
        rule: str | None,
        part: Part | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        """Every person with a record, their evidence and the rules they meet, one at a time in
        the ledger's order (network, then account, as the database sorts them; linked people
        where their first identity comes). The ledger is read as a stream: a million entries
        never sit in memory at once. ``part`` (from :meth:`parts`) limits it to one range of
        identities, so several processes can share an export."""
        await self.flush()
        periods = Periods(self.config.rules, utcnow())
        async with self.storage.engine.connect() as conn:
            links = await conn.execute(
                select(IdentityRow.network, IdentityRow.account, IdentityRow.person)
            )
            person_of: dict[Key, int] = {(n, a): p for n, a, p in links.all()}
            # Linked people first, from their own (few) rows; each is yielded where the stream
            # below meets the first of their identities.
            linked: dict[int, list[Any]] = {}
            if person_of:
                rows = await conn.execute(
                    _ledger()
                    .add_columns(IdentityRow.person)
                    .join(
                        IdentityRow,
                        and_(
                            IdentityRow.network == Entry.network,
                            IdentityRow.account == Entry.account,
                        ),
                    )
                    .order_by(Entry.ts, Entry.id)
                )
                for row in rows.all():
                    if part is None or row[-1] in part.linked:
                        linked.setdefault(row[-1], []).append(row[:-1])
            ledger = _ledger()
            if part is not None:
                here = tuple_(Entry.network, Entry.account)
                ledger = ledger.where(here >= tuple_(*part.first), here <= tuple_(*part.last))
            stream = await conn.stream(
                ledger.order_by(Entry.network, Entry.account, Entry.ts, Entry.id)
            )
            mine: list[Any] = []
            current: Key | None = None
            async for partition in read_ahead(stream):
                for row in partition:
                    key = (row[0], row[1])
                    if key != current:
                        if mine:
                            found = self._person(mine, periods, since, rule)
                            if found is not None:
                                yield found
                            mine = []
                        current = key
                        person = person_of.get(key)
                        if person is not None and person in linked:
                            found = self._person(linked.pop(person), periods, since, rule)
                            if found is not None:
                                yield found
                    if key not in person_of:
                        mine.append(row)
            if mine:
                found = self._person(mine, periods, since, rule)
                if found is not None:
                    yield found

    async def parts(self, count: int) -> list[Part]:
        """The ledger cut into ``count`` ranges of identities with about as many entries each
        (in the database's order), each linked person given to the range of their first
        identity."""
        await self.flush()
        async with self.storage.session() as session:
            sizes = (
                await session.execute(
                    select(Entry.network, Entry.account, func.count())
                    .where(Entry.withdrawn.is_(False))
                    .group_by(Entry.network, Entry.account)
                    .order_by(Entry.network, Entry.account)
                )
            ).all()
            links = (
                await session.execute(
                    select(IdentityRow.network, IdentityRow.account, IdentityRow.person)
                )
            ).all()
        if not sizes:
            return []
        total = sum(n for _, _, n in sizes)
        bounds: list[list[Key]] = [[]]
        done = 0
        for network, account, n in sizes:
            if done >= total * len(bounds) / count and len(bounds) < count:
                bounds.append([])
            bounds[-1].append((network, account))
            done += n
        part_of = {key: i for i, keys in enumerate(bounds) for key in keys}
        first_part: dict[int, int] = {}
        for network, account, person in links:
            if (network, account) in part_of:
                where = part_of[(network, account)]
                first_part[person] = min(where, first_part.get(person, where))
        return [
            Part(keys[0], keys[-1], frozenset(p for p, at in first_part.items() if at == i))
            for i, keys in enumerate(bounds)
        ]

    def _person(
        self, rows: list[Any], periods: Periods, since: datetime | None, rule: str | None
    ) -> dict[str, Any] | None:
        """One person's export from their ledger rows; None when ``rule`` is not met."""
        summary = self._summary(rows, periods, since=since)
        if rule is not None and rule not in summary["rules_met"]:
            return None
        identities = sorted({f"{r[0]}:{r[1]}" for r in rows})
        return {"person": identities[0], "identities": identities, **summary}

    @command("record", usage="[WHO|me]", help="Someone's contribution record and the rules met.")
    async def show(self, ctx: Context, who: str | None = None) -> None:
        person = ctx.sender if who in (None, "me") else ctx.services.member(ctx.room, who or "")
        if person is None:
            await ctx.reply(f"{who} is not here; records are kept per account.")
            return
        if person.key is None:
            await ctx.reply(f"{person.nick} is not identified to an account; no record is kept.")
            return
        found = await self.record(await self.services.people.identities(person.key), utcnow())
        kudos = ", ".join(f"#{c} {n}" for c, n in sorted(found["kudos"].items())) or "none"
        rules = ", ".join(found["rules_met"]) or "none yet"
        await ctx.reply(
            f"{person.nick}: {found['meetings_attended']} meetings attended "
            f"({found['lines_said']} lines), {found['meetings_chaired']} chaired, "
            f"{found['action_items']} action items ({found['action_items_completed']} done); "
            f"kudos: {kudos}. Rules met: {rules}."
        )


def _ledger() -> Any:
    """The ledger's standing rows, as the tuples :meth:`Records._summary` reads."""
    return select(
        Entry.network, Entry.account, iso_utc(Entry.ts), Entry.kind, Entry.meeting,
        Entry.category, Entry.count, Entry.source, Entry.link, Entry.private,
    ).where(Entry.withdrawn.is_(False))  # fmt: skip


def _entry_row(credit: Credit, entry_id: int) -> dict[str, Any]:
    row = {name: getattr(credit, name) for name in _field_names(Credit)}
    row["id"] = entry_id
    row["withdrawn"] = False
    return row


_FIELDS: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    """A dataclass's field names (``dataclasses.fields`` and ``asdict`` are slow per call)."""
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in fields(cls))
    return names
