"""One-time codes that link two accounts, made so that guessing one is hopeless.

A code is 16 hex digits from :mod:`secrets` (64 bits) and lives ten minutes; a person has at
most one waiting. Wrong tries are limited twice over:

- per account: the 5th wrong code within ten minutes locks that account out of ``!link CODE``
  for 15 minutes (a right code is refused too meanwhile, so guessing cannot go on);
- per code: each waiting code counts every wrong try said while it waits, by anyone; at 10 it
  is void and its owner must ask for a new one (a spread-out guess across many accounts ends
  there).

So at most 10 guesses can ever be made at a code: a chance of 10 in 2^64 (about 5e-19).
"""

from __future__ import annotations

import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

Key = tuple[str, str]
"""(network, account)"""

CODE_SECONDS = 600.0
CODE_BYTES = 8
WRONG_PER_ACCOUNT = 5
LOCKED_SECONDS = 900.0
WRONG_PER_CODE = 10


class Outcome(Enum):
    LINKED = "linked"
    UNKNOWN = "unknown"
    """Not a code waiting (never made, expired or said already)."""
    VOID = "void"
    """A code made void by wrong tries while it waited."""
    LOCKED = "locked"
    """This account made too many wrong tries; it must wait."""
    JUST_LOCKED = "just locked"
    """This wrong try was the one too many: the account is locked from now."""


@dataclass(slots=True)
class _Waiting:
    owner: Key
    expires: float
    wrong: int = 0


@dataclass(slots=True)
class Redeemed:
    outcome: Outcome
    owner: Key | None = None
    """Whose code it was (LINKED only)."""
    wait_seconds: float = 0.0
    """How long the account stays locked (LOCKED, JUST_LOCKED)."""


@dataclass(slots=True)
class LinkCodes:
    clock: Callable[[], float] = time.monotonic
    _waiting: dict[str, _Waiting] = field(default_factory=dict)
    _by_owner: dict[Key, str] = field(default_factory=dict)
    _void: dict[str, float] = field(default_factory=dict)
    _wrong: dict[Key, deque[float]] = field(default_factory=dict)
    _locked_until: dict[Key, float] = field(default_factory=dict)

    def _now(self) -> float:
        return self.clock()

    def _expire(self, now: float) -> None:
        for code in [c for c, w in self._waiting.items() if w.expires <= now]:
            self._by_owner.pop(self._waiting.pop(code).owner, None)
        for code in [c for c, until in self._void.items() if until <= now]:
            del self._void[code]
        for key in [k for k, until in self._locked_until.items() if until <= now]:
            del self._locked_until[key]

    def new(self, owner: Key) -> str:
        """A fresh code for ``owner``; the one they had waiting, if any, is void."""
        now = self._now()
        self._expire(now)
        old = self._by_owner.pop(owner, None)
        if old is not None:
            self._waiting.pop(old, None)
        code = secrets.token_hex(CODE_BYTES)
        self._waiting[code] = _Waiting(owner, now + CODE_SECONDS)
        self._by_owner[owner] = code
        return code

    def redeem(self, code: str, by: Key, *, own: bool = False) -> Redeemed:
        """Take the code ``by`` says; with ``own``, only its owner may (a confirmation code:
        anyone else's try is a wrong one and leaves it waiting)."""
        now = self._now()
        self._expire(now)
        until = self._locked_until.get(by)
        if until is not None:
            return Redeemed(Outcome.LOCKED, wait_seconds=until - now)
        said = code.strip().lower()
        waiting = self._waiting.get(said)
        if waiting is not None and (not own or waiting.owner == by):
            del self._waiting[said]
            self._by_owner.pop(waiting.owner, None)
            return Redeemed(Outcome.LINKED, waiting.owner)
        if said in self._void:  # only its owner knows it: not a guess
            return Redeemed(Outcome.VOID)
        return self._wrong_try(by, now)

    def _wrong_try(self, by: Key, now: float) -> Redeemed:
        for code, waiting in list(self._waiting.items()):
            waiting.wrong += 1
            if waiting.wrong >= WRONG_PER_CODE:
                del self._waiting[code]
                self._by_owner.pop(waiting.owner, None)
                self._void[code] = waiting.expires
        tries = self._wrong.setdefault(by, deque())
        tries.append(now)
        while tries and tries[0] <= now - CODE_SECONDS:
            tries.popleft()
        if len(tries) >= WRONG_PER_ACCOUNT:
            tries.clear()
            self._locked_until[by] = now + LOCKED_SECONDS
            return Redeemed(Outcome.JUST_LOCKED, wait_seconds=LOCKED_SECONDS)
        return Redeemed(Outcome.UNKNOWN)

    def wrong_tries(self, by: Key) -> int:
        """Wrong tries ``by`` made lately (within the code's life, since any lock ended)."""
        return len(self._wrong.get(by, ()))
