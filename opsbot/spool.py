"""The local spool: items on their way to the database, kept on local disk until it has them.

A group-commit writer appends each item here the moment it is added, before it is attempted: one
``write(2)`` of one JSON line to a file opened for appending, so a ``kill -9`` an instant later
loses nothing (the kernel has it), and while the database is away an ``fsync`` before each
retry keeps it across a machine crash too. Every line carries a sequence number; the database stores
the number of the last item of each batch in the same transaction as the batch (see
:mod:`.groupcommit`), so on recovery exactly the items the database lacks are written again,
once, in order. The file is emptied whenever every item in it is committed, and compacted to the
waiting items when it grows past a limit while the database is away for long.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

log = logging.getLogger("opsbot.spool")
COMPACT_BYTES = 64 * 1024 * 1024
"""A spool this large is rewritten with only the items still waiting."""


def _encode(value: object) -> object:
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} cannot be spooled")


def _decode(value: dict[str, Any]) -> object:
    if len(value) == 1 and "$datetime" in value:
        return datetime.fromisoformat(value["$datetime"])
    return value


def encode(seq: int, item: object) -> bytes:
    return (json.dumps([seq, item], default=_encode, separators=(",", ":")) + "\n").encode()


def decode(line: bytes) -> tuple[int, Any]:
    seq, item = json.loads(line, object_hook=_decode)
    return int(seq), item


class Spool:
    """One append-only file of ``(sequence number, item)`` records."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._dirty = False
        self._size = 0

    def open(self) -> list[tuple[int, Any]]:
        """Open the file (made if missing) and return the records it holds, in order. A last
        line cut short (the process was killed mid-write) is dropped: it was never complete."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        records = list(self._read()) if self.path.exists() else []
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._size = os.fstat(self._fd).st_size
        return records

    def _read(self) -> Iterator[tuple[int, Any]]:
        data = self.path.read_bytes()
        lines = data.split(b"\n")
        for number, line in enumerate(lines, 1):
            if not line:
                continue
            try:
                yield decode(line)
            except (ValueError, TypeError):
                if number < len(lines):  # not merely the last, unfinished line
                    log.error("%s: line %d is not a spooled item; skipped", self.path, number)

    def append(self, seq: int, item: object) -> None:
        assert self._fd is not None, "the spool is not open"
        record = encode(seq, item)
        os.write(self._fd, record)
        self._size += len(record)
        self._dirty = True

    def sync(self) -> None:
        """Make what was appended survive a machine crash (called off the event loop)."""
        if self._fd is not None and self._dirty:
            self._dirty = False
            os.fsync(self._fd)

    def clear(self) -> None:
        """Everything in the spool is committed: empty it."""
        if self._fd is not None and self._size:
            os.ftruncate(self._fd, 0)
            self._size = 0

    def compact(self, waiting: list[tuple[int, Any]]) -> None:
        """Rewrite the spool with only ``waiting`` when it has grown past the limit."""
        if self._fd is None or self._size < COMPACT_BYTES:
            return
        temporary = self.path.with_suffix(".compacting")
        with temporary.open("wb") as out:
            for seq, item in waiting:
                out.write(encode(seq, item))
            out.flush()
            os.fsync(out.fileno())
        temporary.replace(self.path)
        os.close(self._fd)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        self._size = os.fstat(self._fd).st_size

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
