"""A token bucket: ``burst`` lines at once, then ``per_second`` (the pacing of every line)."""

from __future__ import annotations

import asyncio
import time


class TokenBucket:
    """``burst`` lines at once, then ``per_second``."""

    def __init__(self, burst: int, per_second: float) -> None:
        self.capacity = float(burst)
        self.rate = per_second
        self.tokens = float(burst)
        self.stamp = time.monotonic()

    def try_take(self) -> bool:
        """Take a token if one is there now."""
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False

    async def take(self) -> None:
        while True:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= 1:
                self.tokens -= 1
                return
            await asyncio.sleep((1 - self.tokens) / self.rate)
