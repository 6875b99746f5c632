"""People's own mail addresses, for the follow-ups of their action items.

Someone says ``!mail verify ADDRESS`` in private; a six-digit code goes to that address; saying
``!mail verify CODE`` back within half an hour makes it theirs. Only a hash of the code is kept,
five wrong codes void it, and a new code is mailed at most every two minutes. Addresses are
private: only this module reads them, to mail their owner; no page, no answer in a room, no
export shows them.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete

from opsbot.events import utcnow
from opsbot.storage import Storage

from .models import Address

Key = tuple[str, str]
CODE_DIGITS = 6
CODE_LIFETIME = timedelta(minutes=30)
MOST_TRIES = 5
AGAIN_AFTER = timedelta(minutes=2)


def _hash(key: Key, code: str) -> str:
    return hashlib.sha256(f"{key[0]}\0{key[1]}\0{code}".encode()).hexdigest()


def looks_like_code(text: str) -> bool:
    return len(text) == CODE_DIGITS and text.isdigit()


@dataclass(frozen=True)
class TooSoon(Exception):
    """A code was mailed moments ago: wait this long before asking for another."""

    seconds: int


@dataclass(frozen=True)
class Confirmed:
    address: str | None
    """The address now verified, or None: the code was wrong, expired or never sent."""
    tries_left: int = 0


class Addresses:
    """Pending and verified addresses, keyed by (network, account)."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    async def offer(self, key: Key, address: str, *, now: datetime | None = None) -> str:
        """A new code for ``address`` (pending until said back), to be mailed there."""
        now = now or utcnow()
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        async with self.storage.session() as session, session.begin():
            row = await session.get(Address, key)
            if row is None:
                row = Address(network=key[0], account=key[1], tries=0)
                session.add(row)
            elif row.code_sent_at is not None and now - row.code_sent_at < AGAIN_AFTER:
                raise TooSoon(int((AGAIN_AFTER - (now - row.code_sent_at)).total_seconds()) + 1)
            row.pending, row.code_hash, row.code_sent_at, row.tries = (
                address, _hash(key, code), now, 0,
            )  # fmt: skip
        return code

    async def confirm(self, key: Key, code: str, *, now: datetime | None = None) -> Confirmed:
        now = now or utcnow()
        async with self.storage.session() as session, session.begin():
            row = await session.get(Address, key)
            if row is None or row.code_hash is None or row.pending is None:
                return Confirmed(None)
            expired = row.code_sent_at is None or now - row.code_sent_at > CODE_LIFETIME
            if not expired and hmac.compare_digest(row.code_hash, _hash(key, code)):
                row.address, row.verified_at = row.pending, now
                row.pending = row.code_hash = None
                row.tries = 0
                return Confirmed(row.address)
            row.tries += 1
            left = 0 if expired else MOST_TRIES - row.tries
            if left <= 0:
                row.pending = row.code_hash = None
                if row.address is None:
                    await session.delete(row)
            return Confirmed(None, max(left, 0))

    async def verified(self, keys: list[Key]) -> str | None:
        """The verified address of whoever has these identities (the first that has one)."""
        if not keys:
            return None
        async with self.storage.session() as session:
            for key in keys:
                row = await session.get(Address, key)
                if row is not None and row.address is not None:
                    return row.address
        return None

    async def of(self, key: Key) -> Address | None:
        async with self.storage.session() as session:
            return await session.get(Address, key)

    async def forget(self, keys: list[Key]) -> bool:
        """Forget the addresses (verified or pending) of these identities."""
        forgotten = False
        async with self.storage.session() as session, session.begin():
            for network, account in keys:
                result = await session.execute(
                    delete(Address).where(Address.network == network, Address.account == account)
                )
                forgotten = forgotten or bool(getattr(result, "rowcount", 0))
        return forgotten
