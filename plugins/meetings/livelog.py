"""A running meeting's logs on disk as it goes, as MeetBot's realtime logs are: ``.log.txt`` and
``.log.html`` grow by whole lines, appended a batch at a time, so the log is on disk at every
moment and ``#endmeeting`` writes only the minutes.

All writing happens in one thread of its own (:data:`DISK`), in the order asked, so the event
loop never waits on the disk. Appending cannot take anything back. An edit or a redaction, a new
title or name, or ``#restrictlogs`` makes one atomic rewrite of both files from the meeting's
lines (lines that come meanwhile wait and follow it), so a redacted text leaves the disk too.
A bot that resumes a meeting (a restart, a takeover) writes both files again from the lines it
replayed from the database, so a crash never leaves a log short.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import tzinfo
from pathlib import Path

from opsbot.files import write_atomically

from .engine import Line, Meeting
from .files import target_of
from .paths import basename
from .render import LOG_HTML_FOOT, Context, log_html, log_html_key, log_line_txt, log_row, log_txt

log = logging.getLogger("opsbot.plugins.meetings")

FLUSH_AFTER = 0.005
"""Seconds a line may wait to be appended: a burst of lines becomes one write, not hundreds."""
RETRY_AFTER = 10.0
"""Seconds between tries to write the logs again after the disk refused them."""
CHANGES_SEEN = frozenset({"edit", "redaction"})
DISK = ThreadPoolExecutor(max_workers=1, thread_name_prefix="meeting logs")
"""The one thread that writes every live log, in the order asked: the event loop never waits on
the disk, and an append never overtakes a rewrite (nor a rewrite an append)."""


class LiveLog:
    """The ``.log.txt`` and ``.log.html`` of one meeting in progress."""

    def __init__(self, meeting: Meeting, output_dir: Path, tz: tzinfo, label: str) -> None:
        self.meeting = meeting
        self.output_dir = output_dir
        self.tz = tz
        self.label = label
        self._rows = Context(meeting, "", tz=tz)
        """Renders rows, which depend on the time zone only (not on the files' names)."""
        self._target: Path | None = None
        self._head: tuple[object, ...] | None = None
        self._private = False
        self._txt: list[str] = []
        self._html: list[str] = []
        self._timer: asyncio.TimerHandle | None = None
        self._rewriting: asyncio.Task[None] | None = None
        self._dirty = True
        """Appending would not make the files right: the next write is a whole one."""
        self._failed_at: float | None = None
        self._ended = False
        self._appending: asyncio.Future[None] | None = None
        """The last append handed to the disk thread."""

    @property
    def paths(self) -> tuple[Path, Path] | None:
        """The two files, once written."""
        return None if self._target is None else _paths(self._target)

    def add(self, line: Line) -> None:
        """Log a line the meeting has just been fed."""
        meeting = self.meeting
        if self._ended or not meeting.started:
            return
        if (
            (line.kind in CHANGES_SEEN and line.target_id in meeting.seqs_of)
            or meeting.restricted != self._private
            or (self._head is not None and log_html_key(self._rows) != self._head)
        ):
            self._dirty = True
        if self._dirty:
            self._rewrite_soon()
            return
        text = meeting.text_of(line)
        row = log_line_txt(self._rows, line, text)
        if row is None:
            return
        self._txt.append(f"{row}\n")
        self._html.append(f"{log_row(self._rows, line, text)}\n")
        if self._timer is None and self._rewriting is None:
            self._timer = asyncio.get_running_loop().call_later(FLUSH_AFTER, self._flush)

    def resume(self) -> None:
        """Write both files whole from the lines replayed (after a restart or a takeover)."""
        self._dirty = True
        self._rewrite_soon()

    async def finish(self, ended: bool) -> None:
        """Everything logged so far on disk; once the meeting ended, the HTML's foot too."""
        self._ended = self._ended or ended
        while self._rewriting is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(self._rewriting)
        if not self._dirty:
            if ended:
                self._html.append(LOG_HTML_FOOT)
            await self.flush_now()
        if self._dirty:  # changed, or an append failed: whole, once more
            self._failed_at = None
            self._rewriting = asyncio.current_task()
            try:
                await self._rewrite_whole(foot=ended)
            finally:
                self._rewriting = None
            await self.flush_now()

    async def flush_now(self) -> None:
        """What waits to be appended, on disk now (the meeting's end, the bot stopping)."""
        if self._timer is not None:
            self._timer.cancel()
        self._flush()
        if self._appending is not None:
            with contextlib.suppress(OSError):
                await self._appending

    def _rewrite_soon(self) -> None:
        if self._rewriting is not None or (
            self._failed_at is not None and time.monotonic() - self._failed_at < RETRY_AFTER
        ):
            return  # a rewrite under way sees the change when it ends; a failed one waits
        self._rewriting = asyncio.create_task(self._rewrite(), name=f"{self.label} log")

    async def _rewrite(self) -> None:
        try:
            await self._rewrite_whole()
        finally:
            self._rewriting = None
        self._flush()  # the lines that came meanwhile

    async def _rewrite_whole(self, *, foot: bool = False) -> None:
        """Both files whole from a snapshot of the lines, until no change came meanwhile; the
        HTML's foot only if ``foot`` (the meeting's end writes it, once)."""
        meeting = self.meeting
        while self._dirty:
            self._dirty = False
            assert meeting.started_at is not None
            base = basename(meeting.name, meeting.started_at, meeting.settings.pattern)
            ctx = Context(meeting, base, meeting.settings.url_prefix, self.tz)
            lines = meeting.said_now()
            self._txt.clear()  # the snapshot has them
            self._html.clear()
            # What the files will show, known now: a change while they are written is a change.
            self._head, self._private = log_html_key(ctx), meeting.restricted
            before = self.paths
            try:
                target = target_of(self.output_dir, base)
                await asyncio.get_running_loop().run_in_executor(
                    DISK, _write_whole, ctx, target, lines, self._private, foot
                )
            except (OSError, ValueError) as error:
                self._dirty = True
                self._failed(error)
                return
            self._target = target
            self._failed_at = None
            if before is not None and before != self.paths:  # renamed: the old files go
                for path in before:
                    path.unlink(missing_ok=True)

    def _flush(self) -> None:
        self._timer = None
        paths = self.paths
        if self._rewriting is not None or paths is None or (not self._txt and not self._html):
            return
        chunks = ("".join(self._txt).encode(), "".join(self._html).encode())
        self._txt.clear()
        self._html.clear()
        self._appending = asyncio.get_running_loop().run_in_executor(
            DISK, _append_both, paths, chunks
        )
        self._appending.add_done_callback(self._appended)

    def _appended(self, done: asyncio.Future[None]) -> None:
        error = None if done.cancelled() else done.exception()
        if isinstance(error, OSError):  # gone or refused: the next write is a whole one
            self._dirty = True
            self._failed(error)
        elif error is not None:
            log.error("%s: appending to its log files failed", self.label, exc_info=error)

    def _failed(self, error: Exception) -> None:
        if self._failed_at is None:
            log.warning("%s: could not write its log files: %s", self.label, error)
        self._failed_at = time.monotonic()


def _paths(target: Path) -> tuple[Path, Path]:
    return target.with_name(target.name + ".log.txt"), target.with_name(target.name + ".log.html")


def _write_whole(
    ctx: Context, target: Path, lines: list[tuple[Line, str]], private: bool, foot: bool
) -> None:
    txt, html = _paths(target)
    write_atomically(txt, log_txt(ctx, lines), private=private)
    write_atomically(html, log_html(ctx, lines, ended=foot), private=private)


def _append_both(paths: tuple[Path, Path], chunks: tuple[bytes, bytes]) -> None:
    for path, chunk in zip(paths, chunks, strict=True):
        _append(path, chunk)


def _append(path: Path, data: bytes) -> None:
    """One write of whole lines at the end of ``path`` (which must exist: a missing file is
    written whole again, head included)."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)
