"""The one retry policy of the bot: capped exponential backoff with jitter (tenacity's waits).

Reconnecting to IRC and to a Matrix homeserver and delivering the outbox all wait the same way:
``first`` seconds, doubling up to ``most``, each wait spread by ±25% so that many bots (or many
outbox targets) cut off together do not all come back in the same second. tenacity is imported
at the first failure, not before: a bot that never has to wait never carries it (~1.2 MiB).
"""

from __future__ import annotations

import random
from typing import Any

JITTER = 0.25


class Backoff:
    """The waits between attempts of one thing; :meth:`reset` after it worked."""

    __slots__ = ("_attempt", "_state", "_wait", "first", "most")

    def __init__(self, first: float, most: float) -> None:
        self.first = first
        self.most = most
        self._wait: Any = None
        self._state: Any = None
        self._attempt = 0

    def next(self) -> float:
        """Seconds to wait before the next attempt (and count this failure)."""
        if self._wait is None:
            from tenacity import RetryCallState, wait_exponential

            self._wait = wait_exponential(multiplier=self.first, min=self.first, max=self.most)
            self._state = RetryCallState(retry_object=None, fn=None, args=(), kwargs={})  # type: ignore[arg-type]
        self._attempt += 1
        self._state.attempt_number = self._attempt
        return float(self._wait(self._state)) * random.uniform(1 - JITTER, 1 + JITTER)

    def reset(self) -> None:
        self._attempt = 0

    @property
    def failures(self) -> int:
        """Failures since the last reset."""
        return self._attempt
