"""The local spool: items on their way to the database, kept on local disk until it has them.

A group-commit writer appends each item here as it is added, before it is attempted: items are
gathered for at most :data:`GATHER_SECONDS` (or :data:`GATHER_MOST` of them) and written with
one ``write(2)`` to a file opened for appending, so a ``kill -9`` loses nothing older than that
(the kernel has it); while the database is away an ``fsync`` before each retry keeps it across a
machine crash too. Each write is a frame: length, CRC-32 and the pickled list of ``(sequence
number, item)`` it gathered (the spool is the bot's own file, mode 0600, read only by the bot);
a frame cut short by a kill is dropped on reading. The database stores the sequence number of
the last item of each batch in the same transaction as the batch (see :mod:`.groupcommit`), so
on recovery exactly the items the database lacks are written again, once, in order. The file is
emptied whenever every item in it is committed, and compacted to the waiting items when it
grows past a limit while the database is away for long.
"""

from __future__ import annotations

import logging
import os
import pickle
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

log = logging.getLogger("opsbot.spool")
COMPACT_BYTES = 64 * 1024 * 1024
"""A spool this large is rewritten with only the items still waiting."""
GATHER_SECONDS = 0.003
"""Items added within this long are written to the spool together (one system call)."""
GATHER_MOST = 100
"""... or once this many wait (a burst never makes one long write that holds the loop)."""
_HEAD = struct.Struct(">II")
"""A frame's length and CRC-32."""


def encode(records: list[tuple[int, Any]]) -> bytes:
    """One frame of ``(sequence number, item)`` records."""
    body = pickle.dumps(records, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEAD.pack(len(body), zlib.crc32(body)) + body


def frames(data: bytes) -> Iterator[tuple[int, Any]]:
    """The records of a spool's bytes, up to the first frame that is cut short or damaged."""
    at = 0
    while at + _HEAD.size <= len(data):
        length, crc = _HEAD.unpack_from(data, at)
        body = data[at + _HEAD.size : at + _HEAD.size + length]
        if len(body) < length or zlib.crc32(body) != crc:
            if at + _HEAD.size + length < len(data):
                log.error("spool: a damaged record at byte %d; what follows it is skipped", at)
            return
        for seq, item in pickle.loads(body):
            yield int(seq), item
        at += _HEAD.size + length


class Spool:
    """One append-only file of ``(sequence number, item)`` records."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._dirty = False
        self._size = 0
        self._gathered: list[tuple[int, Any]] = []

    def open(self) -> list[tuple[int, Any]]:
        """Open the file (made if missing) and return the records it holds, in order. A last
        line cut short (the process was killed mid-write) is dropped: it was never complete."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        records = list(frames(self.path.read_bytes())) if self.path.exists() else []
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._size = os.fstat(self._fd).st_size
        return records

    def append(self, seq: int, item: object) -> int:
        """Gather a record; returns how many wait to be written. The caller makes sure
        :meth:`write` runs within :data:`GATHER_SECONDS` of the first, or at once when
        :data:`GATHER_MOST` wait. Never raises: nothing here touches the disk."""
        assert self._fd is not None, "the spool is not open"
        self._gathered.append((seq, item))
        return len(self._gathered)

    def write(self) -> None:
        """Hand what was gathered to the kernel (from then on a kill -9 cannot lose it)."""
        if self._fd is None or not self._gathered:
            return
        gathered, self._gathered = self._gathered, []  # a frame that fails is not retried
        records = encode(gathered)
        os.write(self._fd, records)
        self._size += len(records)
        self._dirty = True

    def sync(self) -> None:
        """Make what was written survive a machine crash (called off the event loop)."""
        if self._fd is not None and self._dirty:
            self._dirty = False
            os.fsync(self._fd)

    def clear(self) -> None:
        """Everything in the spool is committed: empty it."""
        if self._fd is not None and self._size and not self._gathered:
            os.ftruncate(self._fd, 0)
            self._size = 0

    def compact(self, waiting: list[tuple[int, Any]]) -> None:
        """Rewrite the spool with only ``waiting`` when it has grown past the limit."""
        if self._fd is None or self._size < COMPACT_BYTES:
            return
        temporary = self.path.with_suffix(".compacting")
        with temporary.open("wb") as out:
            out.write(encode(waiting))
            out.flush()
            os.fsync(out.fileno())
        temporary.replace(self.path)
        self._gathered = []  # ``waiting`` held them too
        os.close(self._fd)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        self._size = os.fstat(self._fd).st_size

    def close(self) -> None:
        self.write()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
