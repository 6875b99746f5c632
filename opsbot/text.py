"""Text the bot says back: what a person typed is shown short and harmless, and nothing the
bot says is longer than a chat line can reasonably be."""

from __future__ import annotations

import unicodedata

ECHO = 60
"""Characters of a person's own text shown back to them (``No meeting named '...'``)."""
MOST_SAID = 1_500
"""Characters one line the bot says may have; a longer one is cut, saying so."""


def shorten(text: str, limit: int = ECHO) -> str:
    """``text`` fit to be shown back: control and bidirectional-override characters as ``?``
    (a terminal escape or a reversed line cannot ride along), cut at ``limit`` with ``…``."""
    clean = "".join(
        "?" if unicodedata.category(ch) in ("Cc", "Cf") and ch not in "\t" else ch for ch in text
    )
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


def fit(text: str, limit: int = MOST_SAID) -> str:
    """What the bot says, each line at most ``limit`` characters (an echo of 5,000 typed
    characters would otherwise flood the room over several lines); a plugin that means to say
    many lines says them as lines."""
    if len(text) <= limit:
        return text
    return "\n".join(_cut(line, limit) for line in text.split("\n"))


def _cut(line: str, limit: int) -> str:
    if len(line) <= limit:
        return line
    return f"{line[: limit - 30]}… ({len(line) - limit + 30:,} characters cut)"
