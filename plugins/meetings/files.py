"""Writing a meeting's outputs to disk: every file atomically, never outside the output folder."""

from __future__ import annotations

from datetime import UTC, tzinfo
from pathlib import Path
from typing import Any

from opsbot.files import write_atomically

from .engine import Meeting
from .paths import DEFAULT_PATTERN, EXTENSIONS, basename
from .render import Context, render_all, summary


def links(base: str, url_prefix: str) -> dict[str, str]:
    prefix = url_prefix.rstrip("/")
    return {ext: f"{prefix}/{base}{ext}" if prefix else f"{base}{ext}" for ext in EXTENSIONS}


def write_outputs(
    meeting: Meeting,
    output_dir: Path,
    *,
    pattern: str = DEFAULT_PATTERN,
    url_prefix: str = "",
    tz: tzinfo = UTC,
    rows: dict[object, Any] | None = None,
) -> tuple[str, dict[str, object]]:
    """Render and write every output; returns the files' base path and a short summary (for the
    database and chat answers; the full record is the .json file). ``rows``: log rows the live
    bot rendered as the lines arrived."""
    assert meeting.started_at is not None
    base = basename(meeting.name, meeting.started_at, pattern)
    root = output_dir.resolve()
    target = (root / base).resolve()
    if root != target and root not in target.parents:
        raise ValueError(f"{base!r} would be written outside {root}")
    ctx = Context(meeting, base, url_prefix, tz, rows)
    for extension, text in render_all(ctx).items():
        write_atomically(
            target.with_name(target.name + extension), text, private=meeting.restricted
        )
    return base, summary(ctx)
