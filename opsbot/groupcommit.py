"""Group commit: items added one by one are written together, one transaction for whatever
arrived while the last one ran, so thousands a second stay cheap and each is durable within
milliseconds. Batches are bounded (binding a batch's parameters holds the event loop); a failed
batch is kept and retried, never dropped."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")
log = logging.getLogger("opsbot.groupcommit")


class GroupCommit(Generic[T]):
    def __init__(
        self,
        write: Callable[[list[T]], Awaitable[None]],
        *,
        name: str,
        batch: int = 500,
        retry_seconds: float = 0.5,
    ) -> None:
        self.write = write
        self.name = name
        self.batch = batch
        self.retry_seconds = retry_seconds
        self.failures = 0
        self._items: list[T] = []
        self._wake = asyncio.Event()
        self._committed = asyncio.Condition()
        self._queued = 0
        self._written = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    def add(self, item: T) -> None:
        self._items.append(item)
        self._queued += 1
        self._wake.set()

    @property
    def pending(self) -> int:
        return self._queued - self._written

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._items:
                batch, self._items = self._items[: self.batch], self._items[self.batch :]
                try:
                    await self.write(batch)
                except Exception:
                    self.failures += 1
                    log.exception("%s: could not write %d items; retrying", self.name, len(batch))
                    self._items = batch + self._items
                    await asyncio.sleep(self.retry_seconds)
                    continue
                self._written += len(batch)
                async with self._committed:
                    self._committed.notify_all()

    async def flush(self) -> None:
        """Wait until every item added so far is committed."""
        target = self._queued
        async with self._committed:
            await self._committed.wait_for(lambda: self._written >= target)

    async def stop(self, grace: float = 10.0) -> None:
        if self._task is None:
            return
        try:
            await asyncio.wait_for(self.flush(), grace)
        except TimeoutError:
            log.error("%s: %d items could not be written before shutdown", self.name, self.pending)
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        self._task = None
