"""Read-only queries over the records ledger: one person's record, the export of everyone, its
parts for several processes. The plugin's chat command, its web pages and its command-line
tools all read through :class:`RecordReads`; none of them holds the plugin for it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, func, select, tuple_

from opsbot.events import utcnow
from opsbot.people import IdentityRow, any_identity
from opsbot.storage import Storage, iso_utc, iso_utc_text, read_ahead

from .ledger import Nomination, Periods, Rule
from .models import Entry, NominationRow

Key = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Part:
    """One range of an export: the identities from ``first`` to ``last`` (inclusive, in the
    database's order), and the linked people it yields."""

    first: Key
    last: Key
    linked: frozenset[int]
    nominated: bool = False
    """This part also yields the people only nominated (nothing in the ledger): the first."""


class RecordReads:
    def __init__(
        self,
        storage: Storage,
        rules: list[Rule],
        flush: Callable[[], Awaitable[None]],
        nominations: Sequence[Nomination] = (),
    ) -> None:
        self.storage = storage
        self.rules = rules
        self.flush = flush
        """Waits until everything heard so far is written (a no-op outside a running bot)."""
        self.configured = list(nominations)
        """Nominations from the config (those made with ``opsbot records nominate`` are read
        from the database)."""

    async def nominated(self, today: date) -> dict[Key, list[dict[str, str]]]:
        """Who is nominated for what until when, not expired by ``today``."""
        async with self.storage.session() as session:
            rows = (
                await session.scalars(select(NominationRow).where(NominationRow.until >= today))
            ).all()
        found: dict[Key, list[dict[str, str]]] = {}
        every = [((r.network, r.account), r.rule, r.until, r.why) for r in rows]
        for n in self.configured:
            network, _, account = n.account.partition(":")
            if n.until >= today and account:
                every.append(((network, account), n.rule, n.until, n.why))
        for key, rule, until, why in every:
            found.setdefault(key, []).append({"rule": rule, "until": until.isoformat(), "why": why})
        return found

    async def everyone(self) -> list[tuple[str, str, str, int]]:
        """(network, account, nick, entries) of the 2,000 people with most entries."""
        await self.flush()
        query = (
            select(Entry.network, Entry.account, func.max(Entry.nick), func.count())
            .where(Entry.withdrawn.is_(False))
            .group_by(Entry.network, Entry.account)
            .order_by(func.count().desc())
            .limit(2000)
        )
        async with self.storage.session() as session:
            return [
                (str(n), str(a), str(nick), int(c))
                for n, a, nick, c in await session.execute(query)
            ]

    async def record(self, identities: list[Key], now: datetime) -> dict[str, Any]:
        """A person's totals, evidence and the rules they meet."""
        await self.flush()
        mine = any_identity(Entry.network, Entry.account, identities)
        async with self.storage.session() as session:
            rows = (
                await session.execute(ledger_rows().where(mine).order_by(Entry.ts, Entry.id))
            ).all()
        nominated = await self.nominated(now.date())
        summary = self._summary(
            rows, Periods(self.rules, now), since=None,
            nominated=[n for key in identities for n in nominated.get(key, [])],
        )  # fmt: skip
        return {"identities": [f"{n}:{a}" for n, a in identities], **summary}

    def _summary(
        self,
        rows: Sequence[Any],
        periods: Periods,
        *,
        since: datetime | None,
        nominated: Sequence[dict[str, str]] = (),
    ) -> dict[str, Any]:
        """Totals, rules met and evidence of one person's ledger rows (``ledger_rows()`` columns),
        in one pass: an export makes a million of these. Evidence carries only the fields its
        kind has."""
        lines = actions = completed = 0
        kudos: dict[str, int] = {}
        evidence: list[dict[str, Any]] = []
        shown_from = "" if since is None else iso_utc_text(since)
        # A person linked across accounts attended (chaired) a meeting once, whichever of
        # their accounts spoke (was made chair) in it.
        attended_in: set[str] = set()
        chaired_in: set[str] = set()
        for _network, _account, ts, kind, meeting, category, count, source, link, private in rows:
            if kind == "attended":
                attended_in.add(source)
                lines += count
                item = {"time": ts, "kind": kind, "meeting": meeting, "lines": count}
            elif kind == "kudos":
                kudos[category] = kudos.get(category, 0) + 1
                item = {"time": ts, "kind": kind, "category": category}
            else:
                if kind == "chaired":
                    chaired_in.add(source)
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
            "meetings_attended": len(attended_in),
            "lines_said": lines,
            "meetings_chaired": len(chaired_in),
            "action_items": actions,
            "action_items_completed": completed,
            "kudos": kudos,
            "rules_met": _with_nominations(periods.rules_met(rows), nominated),
            "nominations": list(nominated),
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
        now = utcnow()
        periods = Periods(self.rules, now)
        nominated = await self.nominated(now.date())
        shown: set[Key] = set()

        def person(rows: list[Any]) -> dict[str, Any] | None:
            keys = {(r[0], r[1]) for r in rows}
            shown.update(keys)
            mine = [n for key in sorted(keys) for n in nominated.get(key, [])]
            return self._person(rows, periods, since, rule, mine)

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
                    ledger_rows()
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
            ledger = ledger_rows()
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
                            found = person(mine)
                            if found is not None:
                                yield found
                            mine = []
                        current = key
                        person_id = person_of.get(key)
                        if person_id is not None and person_id in linked:
                            found = person(linked.pop(person_id))
                            if found is not None:
                                yield found
                    if key not in person_of:
                        mine.append(row)
            if mine:
                found = person(mine)
                if found is not None:
                    yield found
        if part is None or part.nominated:
            # nominated people with nothing in the ledger yet: after everyone else
            for key in sorted(set(nominated) - shown):
                found = self._person([], periods, since, rule, nominated[key], key)
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
            Part(
                keys[0],
                keys[-1],
                frozenset(p for p, at in first_part.items() if at == i),
                nominated=i == 0,
            )
            for i, keys in enumerate(bounds)
        ]

    def _person(
        self,
        rows: list[Any],
        periods: Periods,
        since: datetime | None,
        rule: str | None,
        nominated: Sequence[dict[str, str]] = (),
        key: Key | None = None,
    ) -> dict[str, Any] | None:
        """One person's export from their ledger rows (none, for someone only nominated:
        ``key``); None when ``rule`` is not met."""
        summary = self._summary(rows, periods, since=since, nominated=nominated)
        if rule is not None and rule not in summary["rules_met"]:
            return None
        identities = sorted(
            {f"{r[0]}:{r[1]}" for r in rows} | ({f"{key[0]}:{key[1]}"} if key else set())
        )
        return {"person": identities[0], "identities": identities, **summary}


def ledger_rows() -> Any:
    """The ledger's standing rows, as the tuples :meth:`RecordReads._summary` reads."""
    return select(
        Entry.network, Entry.account, iso_utc(Entry.ts), Entry.kind, Entry.meeting,
        Entry.category, Entry.count, Entry.source, Entry.link, Entry.private,
    ).where(Entry.withdrawn.is_(False))  # fmt: skip


def _with_nominations(met: list[str], nominated: Sequence[dict[str, str]]) -> list[str]:
    """The rules met, and those a nomination counts as met (once each, in rule order)."""
    return met + sorted({n["rule"] for n in nominated} - set(met))
