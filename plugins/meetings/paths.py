"""Where a meeting's files go: MeetBot's layout, built safely from user-supplied names.

``<name>/<YYYY>/<name>.<YYYY-MM-DD-HH.MM>`` plus ``.html``, ``.txt``, ``.log.html``,
``.log.txt``, ``.md`` and ``.json``. The pattern is configurable; whatever it makes of the
meeting's name, the result stays inside the output folder.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import PurePosixPath

DEFAULT_PATTERN = "{name}/{start:%Y}/{name}.{start:%Y-%m-%d-%H.%M}"
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
