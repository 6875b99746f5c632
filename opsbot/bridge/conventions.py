"""What bridges write on IRC for what Matrix people do there: an edit as ``s/old/new/`` or
``* new text`` (heisenbridge: ``* the changed words``), a long or many-line message as a link
to the whole text."""

from __future__ import annotations

import difflib
import re
from typing import Literal

_SUBSTITUTE = re.compile(r"s/((?:[^/\\]|\\.)+)/((?:[^/\\]|\\.)*)/(g?)")
_STARRED = re.compile(r"\* (\S.*)", re.DOTALL)
_PASTES = (
    re.compile(r"sent a long message:?\s*<?\s*(https?://\S+?)\s*>?\s*$"),
    # heisenbridge; "<media unavailable>" where it serves no media
    re.compile(r"^\.\.\. long message truncated: (.+?)(?: \(\d+ lines\))?\s*$"),
    re.compile(r"^(.+?) \(long message, \d+ lines\)\s*$"),
    re.compile(r"\(full message at <?(https?://\S+?)>?\)\s*$"),
)
SIMILAR = 0.5
"""How like the line it corrects a ``* new text`` must be to be taken for an edit (a Matrix
person may well start a line with ``* ``, a list's bullet)."""

EditStyle = Literal["whole", "words"]


def paste_link(text: str) -> str | None:
    """The link (or what the bridge wrote in its place), if ``text`` is a bridge's stand-in
    for a long message."""
    for pattern in _PASTES:
        found = pattern.search(text)
        if found is not None:
            return found.group(1)
    return None


def looks_like_edit(text: str) -> bool:
    return text.startswith("* ") or _SUBSTITUTE.fullmatch(text.strip()) is not None


def corrected(before: str, relayed: str, style: EditStyle) -> str | None:
    """The corrected text ``relayed`` makes of ``before``, or None when it is no edit of it."""
    relayed = relayed.strip()
    found = _SUBSTITUTE.fullmatch(relayed)
    if found is not None:
        old = re.sub(r"\\(.)", r"\1", found.group(1))
        new = re.sub(r"\\(.)", r"\1", found.group(2))
        if old not in before:
            return None
        return before.replace(old, new) if found.group(3) else before.replace(old, new, 1)
    starred = _STARRED.fullmatch(relayed)
    if starred is None:
        return None
    text = starred.group(1)
    if style == "words":
        return _changed_words(before, text)
    ratio = difflib.SequenceMatcher(None, before.casefold(), text.casefold()).ratio()
    return text if ratio >= SIMILAR and text != before else None


def _changed_words(before: str, added: str) -> str | None:
    """heisenbridge relays an edit as the words that replaced others (``* typo`` for ``tpyo
    here`` → ``typo here``): put them in place of the words they are most like."""
    old, new = before.split(), added.split()
    if not old or not new:
        return None
    if len(new) >= len(old):
        return added if _similar(before, added) else None
    best: tuple[float, int] | None = None
    for start in range(len(old) - len(new) + 1):
        span = " ".join(old[start : start + len(new)])
        ratio = difflib.SequenceMatcher(None, span.casefold(), added.casefold()).ratio()
        if span != added and (best is None or ratio > best[0]):
            best = (ratio, start)
    if best is None or best[0] < SIMILAR:
        return None
    start = best[1]
    return " ".join([*old[:start], *new, *old[start + len(new) :]])


def _similar(a: str, b: str) -> bool:
    return difflib.SequenceMatcher(None, a.casefold(), b.casefold()).ratio() >= SIMILAR
