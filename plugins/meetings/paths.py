"""Where a meeting's files go: MeetBot's layout, built safely from user-supplied names.

``<name>/<YYYY>/<name>.<YYYY-MM-DD-HH.MM>`` plus ``.html``, ``.txt``, ``.log.html``,
``.log.txt``, ``.md`` and ``.json``. The pattern is configurable; whatever it makes of the
meeting's name, the result stays inside the output folder.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import PurePosixPath

DEFAULT_PATTERN = "{name}/{start:%Y}/{name}.{start:%Y-%m-%d-%H.%M}"
MAX_NAME_IN_PATH = 229
"""The longest meeting name (the engine's ``MAX_NAME``): the default pattern fits 255 bytes."""
EXTENSIONS = (".html", ".txt", ".log.html", ".log.txt", ".md", ".json")
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def basename(name: str, start: datetime, pattern: str = DEFAULT_PATTERN) -> str:
    """The path of a meeting's files without extension, relative to the output folder."""
    raw = pattern.format(name=name, start=start)
    parts = []
    for part in PurePosixPath(raw).parts:
        clean = _UNSAFE.sub("_", part).lstrip(".")
        if clean and part not in ("/", ".", ".."):
            parts.append(clean)
    if not parts:
        raise ValueError(f"the pattern {pattern!r} makes no path of {name!r}")
    return "/".join(parts)


def check_pattern(pattern: str) -> str:
    """``pattern`` if it makes a path for any meeting; else ValueError saying why, for the
    config check at start-up (not at the first line of a meeting)."""
    sample = datetime(2026, 12, 31, 23, 59, tzinfo=UTC)
    try:
        made = basename("n" * MAX_NAME_IN_PATH, sample, pattern)
    except (KeyError, IndexError) as error:
        raise ValueError(
            f"{pattern!r} names {error} but only {{name}} and {{start}} exist"
        ) from None
    except (ValueError, AttributeError, TypeError) as error:
        raise ValueError(f"{pattern!r} cannot make a file name: {error}") from None
    if "{name" not in pattern:
        raise ValueError(f"{pattern!r} has no {{name}}: every meeting would get one file")
    longest = max(len(made.rsplit("/", 1)[-1] + ext) for ext in EXTENSIONS)
    if longest > 255:
        raise ValueError(f"{pattern!r} makes file names of {longest} characters (255 at most)")
    return pattern
