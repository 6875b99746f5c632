"""Kudos storage: new kudos are committed in groups (one transaction for whatever arrived during
the last one, so thousands a second stay cheap), with their audit rows and the running totals in
the same transaction. The limits (one kudos per giver, receiver and category in a window; a daily
cap per giver) are checked against memory, loaded from the database at start-up.

IDs are handed out here (the largest stored ID plus one): one bot process writes a database.
"""

from __future__ import annotations

import logging
from collections import defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, and_, delete, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from opsbot.events import utcnow
from opsbot.groupcommit import GroupCommit
from opsbot.people import IdentityRow, any_identity, not_hidden
from opsbot.storage import Storage

from .models import Audit, ByReaction, Kudos, Seen, Total

log = logging.getLogger("opsbot.plugins.kudos")

ALL = "*"
"""The category of a receiver's total over all categories, in the totals table."""
Key = tuple[str, str]
"""(network, key): an account, or ``~nick`` where accounts are not required."""


@dataclass(frozen=True, slots=True)
class Given:
    id: int
    ts: datetime
    giver: Key
    receiver: Key
    category: str


@dataclass(frozen=True, slots=True)
class Standing:
    total: int
    by_category: dict[str, int]
    latest: list[tuple[str, str, str]]
    """(category, reason, giver nick) of the latest kudos."""


class KudosStore:
    def __init__(self, storage: Storage, window: timedelta) -> None:
        self.storage = storage
        self.window = window
        self._writer: GroupCommit[tuple[str, dict[str, Any]]] = GroupCommit(
            self._write, name="kudos writer", storage=storage
        )
        self._next_id = 1
        self._last: dict[tuple[Key, Key, str], datetime] = {}
        self._today: dict[Key, deque[datetime]] = defaultdict(deque)
        self._recent_by_giver: dict[Key, Given] = {}
        self._seen: dict[tuple[str, str], dict[str, Any]] = {}
        """Latest sighting per person since start-up, answered before asking the database."""

    async def start(self) -> None:
        await self._writer.start()  # what was spooled while the database was away, first
        since = utcnow() - max(self.window, timedelta(days=1))
        async with self.storage.session() as session:
            self._next_id = int(await session.scalar(select(func.max(Kudos.id))) or 0) + 1
            rows = await session.execute(
                select(
                    Kudos.id,
                    Kudos.ts,
                    Kudos.giver_network,
                    Kudos.giver_key,
                    Kudos.receiver_network,
                    Kudos.receiver_key,
                    Kudos.category,
                )
                .where(Kudos.ts >= since, Kudos.state == "given")
                .order_by(Kudos.id)
            )
            for kid, ts, gn, gk, rn, rk, category in rows.all():
                self._remember(Given(kid, ts, (gn, gk), (rn, rk), category))

    async def stop(self) -> None:
        await self._writer.stop()

    async def public_kudos(
        self,
        *,
        category: str | None,
        receiver: str | None,
        since: datetime | None,
        limit: int,
    ) -> list[Kudos]:
        """Standing kudos, newest first, none to people who left the public leaderboards."""
        found: Any = (
            select(Kudos)
            .where(Kudos.state == "given", not_hidden(Kudos.receiver_network, Kudos.receiver_key))
            .order_by(Kudos.id.desc())
        )
        if since is not None:
            found = found.where(Kudos.ts >= since)
        if category:
            found = found.where(Kudos.category == category)
        if receiver:
            network, _, key = receiver.partition(":")
            found = found.where(Kudos.receiver_network == network, Kudos.receiver_key == key)
        await self.flush()
        async with self.storage.session() as session:
            return list((await session.scalars(found.limit(limit))).all())

    async def flush(self) -> None:
        """Wait until every kudos and sighting recorded so far is committed."""
        await self._writer.flush()

    # limits

    def last_given(self, giver: Key, receiver: Key, category: str) -> datetime | None:
        return self._last.get((giver, receiver, category))

    def given_today(self, giver: Key, now: datetime) -> int:
        times = self._today[giver]
        while times and times[0] <= now - timedelta(days=1):
            times.popleft()
        return len(times)

    def latest_by(self, giver: Key) -> Given | None:
        return self._recent_by_giver.get(giver)

    def _remember(self, given: Given) -> None:
        self._last[(given.giver, given.receiver, given.category)] = given.ts
        self._today[given.giver].append(given.ts)
        self._recent_by_giver[given.giver] = given

    def _forget(self, given: Given) -> None:
        key = (given.giver, given.receiver, given.category)
        if self._last.get(key) == given.ts:
            del self._last[key]
        with_times = self._today.get(given.giver)
        if with_times is not None and given.ts in with_times:
            with_times.remove(given.ts)
        if self._recent_by_giver.get(given.giver) == given:
            del self._recent_by_giver[given.giver]

    # writing

    def give(
        self,
        *,
        ts: datetime,
        network: str,
        room: str,
        giver: Key,
        giver_nick: str,
        receiver: Key,
        receiver_nick: str,
        category: str,
        reason: str,
        evidence: list[dict[str, str]],
        reaction_id: str | None = None,
    ) -> Given:
        """Record a kudos (committed within milliseconds; :meth:`flush` waits for it), given by
        the reaction ``reaction_id`` if one gave it."""
        given = Given(self._next_id, ts, giver, receiver, category)
        self._next_id += 1
        self._remember(given)
        if reaction_id is not None:
            self._writer.add(("reaction", {"reaction_id": reaction_id, "kudos_id": given.id}))
        self._writer.add(
            (
                "kudos",
                {
                    "id": given.id,
                    "ts": ts,
                    "network": network,
                    "room": room,
                    "giver_network": giver[0],
                    "giver_key": giver[1],
                    "giver_nick": giver_nick,
                    "receiver_network": receiver[0],
                    "receiver_key": receiver[1],
                    "receiver_nick": receiver_nick,
                    "category": category,
                    "reason": reason,
                    "evidence": evidence,
                    "state": "given",
                },
            )
        )
        return given

    async def _write(self, items: list[tuple[str, dict[str, Any]]], conn: AsyncConnection) -> None:
        batch = [row for kind, row in items if kind == "kudos"]
        # One sighting per person per batch (the latest): an upsert may touch a row once.
        seen = list({(r["network"], r["nick"]): r for kind, r in items if kind == "seen"}.values())
        counts: dict[tuple[str, str, str], tuple[int, str]] = {}
        for row in batch:
            for category in (row["category"], ALL):
                total = (row["receiver_network"], row["receiver_key"], category)
                counts[total] = (counts.get(total, (0, ""))[0] + 1, row["receiver_nick"])
        audit = [
            {
                "kudos_id": row["id"],
                "ts": row["ts"],
                "action": "give",
                "actor": f"{row['giver_network']}:{row['giver_key']}",
                "note": "",
            }
            for row in batch
        ]
        if seen:
            upsert = (postgresql_insert if conn.dialect.name == "postgresql" else sqlite_insert)(
                Seen
            )
            await conn.execute(
                upsert.on_conflict_do_update(
                    index_elements=["network", "nick"],
                    set_={
                        "account": upsert.excluded.account,
                        "display_nick": upsert.excluded.display_nick,
                        "last_seen": upsert.excluded.last_seen,
                    },
                ),
                seen,
            )
        if not batch:
            return
        await conn.execute(insert(Kudos), batch)
        reactions = [row for kind, row in items if kind == "reaction"]
        if reactions:
            await conn.execute(insert(ByReaction), reactions)
        await conn.execute(insert(Audit), audit)
        await _add_to_totals(
            conn,
            [
                (network, key, category, added, nick)
                for (network, key, category), (added, nick) in counts.items()
            ],
        )

    async def withdraw(self, kudos_id: int, state: str, actor: str, note: str) -> Kudos | None:
        """Mark a kudos undone or revoked (kept, with an audit row); None if it is not standing."""
        await self.flush()
        async with self.storage.session() as session, session.begin():
            row = await session.get(Kudos, kudos_id)
            if row is None or row.state != "given":
                return None
            row.state = state
            action = {"undone": "undo", "revoked": "revoke"}[state]
            session.add(
                Audit(kudos_id=kudos_id, ts=utcnow(), action=action, actor=actor, note=note)
            )
            conn = await session.connection()
            await _add_to_totals(
                conn,
                [
                    (row.receiver_network, row.receiver_key, category, -1, row.receiver_nick)
                    for category in (row.category, ALL)
                ],
            )
        self._forget(
            Given(
                row.id,
                row.ts,
                (row.giver_network, row.giver_key),
                (row.receiver_network, row.receiver_key),
                row.category,
            )
        )
        return row

    async def by_reaction(self, reaction_id: str) -> int | None:
        """The kudos a reaction gave, if it gave one."""
        await self.flush()
        async with self.storage.session() as session:
            return await session.scalar(
                select(ByReaction.kudos_id).where(ByReaction.reaction_id == reaction_id)
            )

    async def between(self, identities: Sequence[Key]) -> list[int]:
        """The standing kudos whose giver and receiver are both among ``identities``."""
        await self.flush()
        givers = any_identity(Kudos.giver_network, Kudos.giver_key, identities)
        receivers = any_identity(Kudos.receiver_network, Kudos.receiver_key, identities)
        async with self.storage.session() as session:
            found = await session.scalars(
                select(Kudos.id).where(Kudos.state == "given", givers, receivers)
            )
            return list(found)

    # people

    def note_seen(self, network: str, nick: str, account: str | None, ts: datetime) -> None:
        """Remember someone who spoke (written with the next group of kudos)."""
        row = {
            "network": network,
            "nick": nick.casefold(),
            "account": account,
            "display_nick": nick,
            "last_seen": ts,
        }
        self._seen[(network, nick.casefold())] = row
        self._writer.add(("seen", row))

    async def seen(self, network: str, nick: str) -> Seen | None:
        pending = self._seen.get((network, nick.casefold()))
        if pending is not None:
            return Seen(**pending)
        async with self.storage.session() as session:
            found: Seen | None = await session.get(Seen, (network, nick.casefold()))
            return found

    # questions

    async def standing(self, identities: Sequence[Key], latest: int = 3) -> Standing:
        """One person's kudos over all their (linked) identities."""
        await self.flush()
        mine = or_(
            *(
                and_(Kudos.receiver_network == network, Kudos.receiver_key == key)
                for network, key in identities
            )
        )
        totals_mine = or_(
            *(
                and_(Total.receiver_network == network, Total.receiver_key == key)
                for network, key in identities
            )
        )
        async with self.storage.session() as session:
            rows = await session.execute(
                select(Total.category, func.sum(Total.count))
                .where(totals_mine, Total.category != ALL)
                .group_by(Total.category)
            )
            by_category = {str(c): int(n) for c, n in rows.all() if n and n > 0}
            recent = await session.execute(
                select(Kudos.category, Kudos.reason, Kudos.giver_nick)
                .where(mine, Kudos.state == "given")
                .order_by(Kudos.ts.desc(), Kudos.id.desc())
                .limit(latest)
            )
            latest_rows = [(str(c), str(r), str(g)) for c, r, g in recent.all()]
            return Standing(sum(by_category.values()), by_category, latest_rows)

    async def top(
        self,
        category: str | None,
        since: datetime | None,
        categories: Sequence[str],
        limit: int = 5,
    ) -> list[Ranked]:
        """The people with most kudos (in ``category``, or any of ``categories``), opted-out
        people left out."""
        await self.flush()
        async with self.storage.session() as session:
            if await session.scalar(select(IdentityRow.person).limit(1)) is not None:
                return await self._top_by_person(session, category, since, categories, limit)
            query: Any
            if since is None:  # all time: the running totals, by an index on the count
                query = (
                    select(Total.nick, Total.count, Total.receiver_network, Total.receiver_key)
                    .where(Total.category == (category or ALL), Total.count > 0)
                    .where(not_hidden(Total.receiver_network, Total.receiver_key))
                    .order_by(Total.count.desc())
                )
            else:  # a period: one range of the covering index per category, then opt-outs
                # On SQLite, grouped by one expression no index is ordered by: grouping by the
                # columns tempts it into walking the receiver index over the whole table.
                receiver: tuple[Any, ...] = (Kudos.receiver_network, Kudos.receiver_key)
                if self.storage.is_sqlite:
                    receiver = (Kudos.receiver_network + " " + Kudos.receiver_key,)
                counted = (
                    select(
                        func.max(Kudos.receiver_network).label("network"),
                        func.max(Kudos.receiver_key).label("key"),
                        func.max(Kudos.receiver_nick).label("nick"),
                        func.count().label("n"),
                    )
                    .where(Kudos.category.in_([category] if category else list(categories)))
                    .where(Kudos.ts >= since, Kudos.state == "given")
                    .group_by(*receiver)
                    .subquery()
                )
                query = (
                    select(counted.c.nick, counted.c.n, counted.c.network, counted.c.key)
                    .where(not_hidden(counted.c.network, counted.c.key))
                    .order_by(counted.c.n.desc())
                )
            rows = await session.execute(query.limit(limit))
            return [Ranked(str(nick), int(n), (net, key)) for nick, n, net, key in rows.all()]

    async def _top_by_person(
        self,
        session: Any,
        category: str | None,
        since: datetime | None,
        categories: Sequence[str],
        limit: int,
    ) -> list[Ranked]:
        """The leaderboard where some identities are linked: each person counted once."""
        table: Any
        network: Any
        key: Any
        nick: Any
        if since is None:
            table, network, key, nick = (
                Total,
                Total.receiver_network,
                Total.receiver_key,
                Total.nick,
            )
            amount: Any = func.sum(Total.count)
            where: list[Any] = [Total.category == (category or ALL)]
        else:
            table, network, key = Kudos, Kudos.receiver_network, Kudos.receiver_key
            nick, amount = Kudos.receiver_nick, func.count()
            where = [
                Kudos.category.in_([category] if category else list(categories)),
                Kudos.ts >= since,
                Kudos.state == "given",
            ]
        person = func.coalesce("#" + func.cast(IdentityRow.person, String), network + " " + key)
        query = (
            select(func.max(nick), amount, func.min(network + ":" + key))
            .select_from(table)
            .outerjoin(
                IdentityRow, and_(IdentityRow.network == network, IdentityRow.account == key)
            )
            .where(*where, not_hidden(network, key))
            .group_by(person)
            .order_by(amount.desc())
            .limit(limit)
        )
        rows = await session.execute(query)
        return [
            Ranked(str(n), int(c), tuple(str(k).split(":", 1)))  # type: ignore[arg-type]
            for n, c, k in rows.all()
            if c
        ]

    async def recent(self, limit: int = 5) -> Sequence[Kudos]:
        await self.flush()
        async with self.storage.session() as session:
            rows = await session.scalars(
                select(Kudos).where(Kudos.state == "given").order_by(Kudos.id.desc()).limit(limit)
            )
            return list(rows)


@dataclass(frozen=True, slots=True)
class Ranked:
    nick: str
    count: int
    key: Key
    """(network, account) — one of the person's identities."""


async def _add_to_totals(conn: Any, changes: list[tuple[str, str, str, int, str]]) -> None:
    """Add each ``(network, key, category, delta, nick)`` to its running total, in one
    statement (an upsert: the total's row is made by its first kudos)."""
    if not changes:
        return
    upsert = (postgresql_insert if conn.dialect.name == "postgresql" else sqlite_insert)(Total)
    await conn.execute(
        upsert.on_conflict_do_update(
            index_elements=["receiver_network", "receiver_key", "category"],
            set_={"count": Total.count + upsert.excluded.count, "nick": upsert.excluded.nick},
        ),
        [
            {
                "receiver_network": network,
                "receiver_key": key,
                "category": category,
                "count": delta,
                "nick": nick,
            }
            for network, key, category, delta, nick in changes
        ],
    )


async def kudos_of(storage: Storage, identities: Sequence[Key]) -> tuple[list[Kudos], list[Kudos]]:
    """The kudos a person (all their identities) gave, and those they received, oldest first."""
    gave = any_identity(Kudos.giver_network, Kudos.giver_key, identities)
    got = any_identity(Kudos.receiver_network, Kudos.receiver_key, identities)
    async with storage.session() as session:
        given = (await session.scalars(select(Kudos).where(gave).order_by(Kudos.id))).all()
        received = (await session.scalars(select(Kudos).where(got).order_by(Kudos.id))).all()
    return list(given), list(received)


async def forget_person(storage: Storage, identities: Sequence[Key], pseudonym: str) -> None:
    """The person's kudos keep counting under ``pseudonym``, without their reasons or evidence
    (written by them or about them); their sightings go; the totals follow."""
    networks = sorted({network for network, _ in identities})
    async with storage.engine.begin() as conn:
        for network, account in identities:
            for side in ("giver", "receiver"):
                await conn.execute(
                    update(Kudos)
                    .where(
                        getattr(Kudos, f"{side}_network") == network,
                        getattr(Kudos, f"{side}_key") == account,
                    )
                    .values(
                        {f"{side}_key": pseudonym, f"{side}_nick": pseudonym, "reason": "",
                         "evidence": []}
                    )
                )  # fmt: skip
            await conn.execute(
                delete(Total).where(
                    Total.receiver_network == network, Total.receiver_key == account
                )
            )
            await conn.execute(delete(Seen).where(Seen.network == network, Seen.account == account))
            await conn.execute(
                update(Audit).where(Audit.actor == f"{network}:{account}").values(actor=pseudonym)
            )
        for network in networks:
            await conn.execute(
                delete(Total).where(
                    Total.receiver_network == network, Total.receiver_key == pseudonym
                )
            )
            standing = (
                await conn.execute(
                    select(Kudos.category, func.count())
                    .where(
                        Kudos.receiver_network == network,
                        Kudos.receiver_key == pseudonym,
                        Kudos.state == "given",
                    )
                    .group_by(Kudos.category)
                )
            ).all()
            await _add_to_totals(
                conn,
                [(network, pseudonym, category, int(n), pseudonym) for category, n in standing]
                + (
                    [(network, pseudonym, ALL, sum(int(n) for _, n in standing), pseudonym)]
                    if standing
                    else []
                ),
            )
