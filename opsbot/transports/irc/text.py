"""IRC text: mIRC formatting stripped for parsing, and lines cut to the bytes a line may hold."""

from __future__ import annotations

import re

_FORMATTING = re.compile(
    r"\x03(?:\d{1,2}(?:,\d{1,2})?)?|\x04(?:[0-9a-fA-F]{6}(?:,[0-9a-fA-F]{6})?)?|[\x02\x0f\x11\x16\x1d\x1e\x1f]"
)


def strip_formatting(text: str) -> str:
    """Text without mIRC colours, bold, italics and the like (for command parsing)."""
    return _FORMATTING.sub("", text)


def split_utf8(text: str, limit: int) -> list[str]:
    """Pieces of ``text`` of at most ``limit`` bytes in UTF-8, split at spaces where possible
    and never inside a character."""
    pieces: list[str] = []
    while len(text.encode()) > limit:
        cut = len(text.encode()[:limit].decode("utf-8", errors="ignore"))
        space = text.rfind(" ", 0, cut)
        if space > cut // 2:
            cut = space
        pieces.append(text[:cut])
        text = text[cut:].lstrip(" ") if space > 0 and cut == space else text[cut:]
    pieces.append(text)
    return pieces
