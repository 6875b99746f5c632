"""People across networks: an IRC account and a Matrix ID count as one person only once they
are linked by proof (a one-time code given on one network and said back on the other within
ten minutes), or by an admin. Unlinked identities are people of their own.

A person is named by a number; only linked identities have a row (``opsbot_identities``). The
links are also kept in memory, so rules that compare people (no kudos to yourself, one kudos per
giver and receiver) cost no query: read at start-up, changed with each link made here, and read
again when older than a minute (an admin may link people from the command line meanwhile).
Codes and their limits on guessing: :mod:`opsbot.linkcodes`.

A person's preferences (leaving the public leaderboards, ...) are kept here too, in one place
for every plugin (``opsbot_preferences``, per identity; a person's identities count together),
read into memory at start-up and changed through :meth:`People.set_preference`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, and_, delete, func, or_, select, update
from sqlalchemy.orm import Mapped, mapped_column

from .events import utcnow
from .linkcodes import LinkCodes
from .state import OpsbotBase
from .storage import Storage, UTCDateTime

Key = tuple[str, str]
"""(network, account)"""
FRESH_SECONDS = 60.0
LEADERBOARDS = "leaderboards"
"""The preference of leaving public leaderboards and pages: value ``hidden``."""
HIDDEN = "hidden"


class IdentityRow(OpsbotBase):
    __tablename__ = "opsbot_identities"

    network: Mapped[str] = mapped_column(String(64), primary_key=True)
    account: Mapped[str] = mapped_column(String(255), primary_key=True)
    person: Mapped[int] = mapped_column(Integer)
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    linked_by: Mapped[str] = mapped_column(String(320))


class PreferenceRow(OpsbotBase):
    __tablename__ = "opsbot_preferences"

    network: Mapped[str] = mapped_column(String(64), primary_key=True)
    account: Mapped[str] = mapped_column(String(255), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


def any_identity(network: Any, account: Any, identities: Iterable[Key]) -> Any:
    """A SQL condition: the identity in these columns is one of ``identities``."""
    return or_(*(and_(network == n, account == a) for n, a in identities))


def not_hidden(network: Any, account: Any) -> Any:
    """A SQL condition: the identity in these columns has not left the public leaderboards."""
    return ~(
        select(PreferenceRow.account)
        .where(
            PreferenceRow.network == network,
            PreferenceRow.account == account,
            PreferenceRow.name == LEADERBOARDS,
            PreferenceRow.value == HIDDEN,
        )
        .exists()
    )


class People:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.codes = LinkCodes()
        """The link codes waiting, and the limits on guessing them."""
        self._preferences: dict[tuple[Key, str], str] = {}
        self._same: dict[Key, frozenset[Key]] = {}
        self._read_at = float("-inf")

    async def load(self) -> None:
        """Read every preference and every link (the bot does at start-up)."""
        async with self.storage.session() as session:
            rows = await session.scalars(select(PreferenceRow))
            self._preferences = {((r.network, r.account), r.name): r.value for r in rows}
        await self._read_links()

    async def _read_links(self) -> None:
        groups = await self.groups()
        self._same = {key: frozenset(keys) for key, keys in groups.items()}
        self._read_at = time.monotonic()

    async def one_person(self, key: Key) -> frozenset[Key]:
        """Every identity of the person ``key`` is, from memory (read again when a minute old;
        a database that is away leaves the links as last read)."""
        if time.monotonic() - self._read_at > FRESH_SECONDS:
            try:
                await self._read_links()
            except Exception:
                self._read_at = time.monotonic()
        return self._same.get(key) or frozenset((key,))

    def preference(self, key: Key, name: str) -> str | None:
        return self._preferences.get((key, name))

    def hidden(self, identities: Iterable[Key]) -> bool:
        """Whether someone (by any of their identities) left the public leaderboards."""
        return any(self._preferences.get((key, LEADERBOARDS)) == HIDDEN for key in identities)

    def everyone_hidden(self) -> set[Key]:
        return {
            key
            for (key, name), v in self._preferences.items()
            if (name, v) == (LEADERBOARDS, HIDDEN)
        }

    async def set_preference(self, key: Key, name: str, value: str | None) -> None:
        """Keep (or, with None, forget) one preference of an identity."""
        async with self.storage.session() as session, session.begin():
            if value is None:
                await session.execute(
                    delete(PreferenceRow).where(
                        PreferenceRow.network == key[0],
                        PreferenceRow.account == key[1],
                        PreferenceRow.name == name,
                    )
                )
            else:
                await session.merge(
                    PreferenceRow(
                        network=key[0], account=key[1], name=name, value=value,
                        updated_at=utcnow(),
                    )
                )  # fmt: skip
        if value is None:
            self._preferences.pop((key, name), None)
        else:
            self._preferences[(key, name)] = value

    async def person(self, key: Key) -> int | None:
        async with self.storage.session() as session:
            row = await session.get(IdentityRow, key)
            return None if row is None else row.person

    async def identities(self, key: Key) -> list[Key]:
        """Every identity of the person ``key`` is (just ``key`` when it is linked to none)."""
        person = await self.person(key)
        if person is None:
            return [key]
        async with self.storage.session() as session:
            rows = await session.execute(
                select(IdentityRow.network, IdentityRow.account)
                .where(IdentityRow.person == person)
                .order_by(IdentityRow.network, IdentityRow.account)
            )
            return [(network, account) for network, account in rows.all()]

    async def groups(self) -> dict[Key, list[Key]]:
        """Every linked identity to all the identities of its person, in one read (a listing
        of everyone shows each person once)."""
        async with self.storage.session() as session:
            rows = (
                await session.execute(
                    select(IdentityRow.person, IdentityRow.network, IdentityRow.account).order_by(
                        IdentityRow.network, IdentityRow.account
                    )
                )
            ).all()
        by_person: dict[int, list[Key]] = {}
        for person, network, account in rows:
            by_person.setdefault(person, []).append((network, account))
        return {key: keys for keys in by_person.values() for key in keys}

    async def link(self, a: Key, b: Key, by: str) -> None:
        """Make ``a`` and ``b`` (and whoever each is linked to) one person."""
        async with self.storage.session() as session, session.begin():
            first = await session.get(IdentityRow, a)
            second = await session.get(IdentityRow, b)
            if first is None and second is None:
                person = int(await session.scalar(select(func.max(IdentityRow.person))) or 0) + 1
            else:
                person = first.person if first is not None else second.person  # type: ignore[union-attr]
            if first is not None and second is not None and first.person != second.person:
                await session.execute(
                    update(IdentityRow)
                    .where(IdentityRow.person == second.person)
                    .values(person=person)
                )
            for key, row in ((a, first), (b, second)):
                if row is None:
                    session.add(
                        IdentityRow(
                            network=key[0],
                            account=key[1],
                            person=person,
                            linked_at=utcnow(),
                            linked_by=by,
                        )
                    )
        await self._read_links()

    async def split(self, key: Key) -> bool:
        """Make ``key`` a person of its own again; False if it was linked to nobody."""
        async with self.storage.session() as session, session.begin():
            row = await session.get(IdentityRow, key)
            if row is None:
                return False
            await session.delete(row)
        await self._read_links()
        return True


def parse_key(text: str) -> Key:
    """``network:account`` (a Matrix ID keeps its own colon)."""
    network, _, account = text.partition(":")
    if not network or not account:
        raise ValueError(f"{text!r} is not network:account")
    return network, account
