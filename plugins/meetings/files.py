"""Writing a meeting's outputs to disk: every file atomically, never outside the output folder."""

from __future__ import annotations

from datetime import UTC, tzinfo
from pathlib import Path

from opsbot.files import write_atomically

from .engine import Meeting
from .paths import DEFAULT_PATTERN, EXTENSIONS, basename
from .render import Context, Prepared, render_all, summary


def links(base: str, url_prefix: str) -> dict[str, str]:
    prefix = url_prefix.rstrip("/")
    return {ext: f"{prefix}/{base}{ext}" if prefix else f"{base}{ext}" for ext in EXTENSIONS}


def target_of(output_dir: Path, base: str) -> Path:
    """Where a meeting's files go (without extension); ValueError if outside the folder."""
    root = output_dir.resolve()
    target = (root / base).resolve()
    if root != target and root not in target.parents:
        raise ValueError(f"{base!r} would be written outside {root}")
    return target


def write_outputs(
    meeting: Meeting,
    output_dir: Path,
    *,
    pattern: str = DEFAULT_PATTERN,
    url_prefix: str = "",
    tz: tzinfo = UTC,
    logs: bool = True,
    prepared: Prepared | None = None,
) -> tuple[str, dict[str, object]]:
    """Render and write every output (only the minutes unless ``logs``: a live meeting's logs
    are written as it goes); returns the files' base path and a short summary (for the
    database and chat answers; the full record is the .json file). ``prepared``: the items' rows
    the live bot rendered as they were recorded."""
    assert meeting.started_at is not None
    base = basename(meeting.name, meeting.started_at, pattern)
    target = target_of(output_dir, base)
    ctx = Context(meeting, base, url_prefix, tz, prepared)
    for extension, text in render_all(ctx, logs=logs).items():
        write_atomically(
            target.with_name(target.name + extension), text, private=meeting.restricted
        )
    return base, summary(ctx)
