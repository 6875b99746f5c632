"""Group commit: items added one by one are written together, one transaction for whatever
arrived while the last one ran, so thousands a second stay cheap and each is durable within
milliseconds. Batches are bounded (binding a batch's parameters holds the event loop); a failed
batch is kept and retried, never dropped.

With a spool (:mod:`.spool`) every item is on local disk from the moment it is added until the
database has it: the database may go away and the process be killed meanwhile, and the items
are written on the next start, once each, in order. Each batch's transaction also stores the
sequence number of its last item (``opsbot_state``, scope ``spool``), which tells recovery
exactly where the database stopped.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from .spool import GATHER_MOST, GATHER_SECONDS, Spool
from .state import StateRow, put_state
from .storage import Storage

T = TypeVar("T")
log = logging.getLogger("opsbot.groupcommit")
SCOPE = "spool"

Write = Callable[[list[T], AsyncConnection], Awaitable[None]]
"""Writes one batch inside the transaction it is given."""


def spool_identity(folder: Path) -> str:
    """The spool folder's own name for its watermarks, made once (``spool.id`` in it)."""
    path = folder / "spool.id"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    folder.mkdir(parents=True, exist_ok=True)
    made = uuid.uuid4().hex
    temporary = path.with_suffix(f".{made}")
    temporary.write_text(made + "\n")
    try:
        os.link(temporary, path)  # never replaces one another writer made meanwhile
    except FileExistsError:
        pass
    finally:
        temporary.unlink()
    return path.read_text().strip()


class GroupCommit(Generic[T]):
    def __init__(
        self,
        write: Write[T],
        *,
        name: str,
        storage: Storage,
        batch: int = 500,
        retry_seconds: float = 0.5,
        committed: Callable[[list[T]], None] | None = None,
    ) -> None:
        self.write = write
        self.committed = committed
        """Called with each batch once it is committed (to start what waits on it)."""
        self.name = name
        self.storage = storage
        self.batch = batch
        self.retry_seconds = retry_seconds
        self.failures = 0
        self.spool: Spool | None = None
        self._items: list[tuple[int, T]] = []
        self._seq = 0
        self._wake = asyncio.Event()
        self._committed = asyncio.Condition()
        self._queued = 0
        self._written = 0
        self._task: asyncio.Task[None] | None = None
        self._lock: Any = None
        self._mark = ""
        """The key of this spool's watermark (``opsbot_state``, scope ``spool``)."""
        """The open lock file that makes the spool this process's alone."""

    @property
    def key(self) -> str:
        """The spool's file name and watermark key: the writer's name in one word."""
        return self.name.replace(" ", "-")

    async def start(self) -> None:
        """Write what an earlier process spooled and the database lacks (before anything reads
        the database), then begin. Raises what the database raises if it cannot be written."""
        spool_dir = self.storage.spool_dir
        if spool_dir is not None:
            self.spool = self._open_spool(spool_dir / f"{self.key}.jsonl")
        if self.spool is not None:
            assert spool_dir is not None
            self._mark = f"{self.key}@{spool_identity(spool_dir)}"
            records = self.spool.open()
            done = await self._watermark()
            waiting = sorted({seq: item for seq, item in records if seq > done}.items())
            self._seq = max([done, *(seq for seq, _ in records)])
            began = time.perf_counter()
            for start in range(0, len(waiting), self.batch):
                await self._commit(waiting[start : start + self.batch])
            if waiting:
                log.warning(
                    "%s: stored %d items kept in %s while the database was away (%.0f ms)",
                    self.name, len(waiting), self.spool.path, (time.perf_counter() - began) * 1000,
                )  # fmt: skip
            self.spool.clear()
        self._task = asyncio.create_task(self._run(), name=self.name)
        self.storage.writers.add(self)

    def _open_spool(self, path: Path) -> Spool | None:
        """The writer's spool, unless another process (an import beside the running bot)
        holds it: then this writer keeps its items in memory only."""
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = path.with_suffix(".lock").open("a")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.close()
            log.info("%s: %s is another process's; not spooling", self.name, path)
            return None
        self._lock = lock
        return Spool(path)

    async def _watermark(self) -> int:
        """The last item of this spool the database has. Each spool has its own (processes of
        a group share the database, not their spools: one watermark for all of them let one
        process's commits hide another's spooled items). Before 0.13 the watermark was kept
        under the writer's name alone: read once, when this spool has none yet."""
        async with self.storage.session() as session:
            values = dict(
                (await session.execute(
                    select(StateRow.key, StateRow.value).where(
                        StateRow.scope == SCOPE, StateRow.key.in_([self._mark, self.key])
                    )
                )).all()
            )  # fmt: skip
        value = values.get(self._mark, values.get(self.key))
        return int(value) if value is not None else 0

    def add(self, item: T) -> None:
        self._seq += 1
        self._items.append((self._seq, item))  # first: whatever the disk does, it is queued
        if self.spool is not None:
            waiting = self.spool.append(self._seq, item)
            if waiting >= GATHER_MOST:
                self._write_spool()
            elif waiting == 1:
                asyncio.get_running_loop().call_later(GATHER_SECONDS, self._write_spool)
        self._queued += 1
        self._wake.set()

    def _write_spool(self) -> None:
        if self.spool is None:
            return
        try:
            self.spool.write()
        except Exception as error:  # a full disk, an item that cannot be pickled
            # The items still go to the database from memory; only the spool misses them.
            log.error("%s: cannot spool to %s: %s", self.name, self.spool.path, error)

    @property
    def pending(self) -> int:
        return self._queued - self._written

    async def _commit(self, batch: list[tuple[int, T]]) -> None:
        items = [item for _, item in batch]
        async with self.storage.engine.begin() as conn:
            await self.write(items, conn)
            if self.spool is not None:
                await put_state(conn, SCOPE, self._mark, str(batch[-1][0]))
        if self.committed is not None:
            self.committed(items)

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._items:
                batch, self._items = self._items[: self.batch], self._items[self.batch :]
                self._write_spool()  # the batch is on disk before the database is tried
                try:
                    if self.spool is not None and not self.storage.health.up:
                        # The database is away, so the spool is what keeps these: make it
                        # survive a machine crash too. (A kill -9 never loses what was written
                        # to it; while the database takes each batch at once, it is its
                        # durability that counts.)
                        await asyncio.to_thread(self.spool.sync)
                    await self._commit(batch)
                except Exception as error:
                    self.failures += 1
                    self.storage.health.failed(error, f"{self.name} ({len(batch)} items)")
                    self._items = batch + self._items
                    await asyncio.sleep(self.retry_seconds)
                    continue
                self.storage.health.succeeded()
                self._written += len(batch)
                if self.spool is not None:
                    if self._items:
                        self.spool.compact(list(self._items))
                    else:
                        self.spool.clear()
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
        self.storage.writers.discard(self)
        try:
            await asyncio.wait_for(self.flush(), grace)
        except TimeoutError:
            kept = f"; they stay in {self.spool.path}" if self.spool is not None else ""
            log.error(
                "%s: %d items could not be written before shutdown%s", self.name, self.pending, kept
            )
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        self._task = None
        if self.spool is not None:
            self.spool.close()
        if self._lock is not None:
            self._lock.close()
