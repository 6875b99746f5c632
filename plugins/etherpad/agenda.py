"""The agenda section of a pad: the items under a heading such as ``Agenda``."""

from __future__ import annotations

import re

_ITEM = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+(?P<text>.+?)\s*$")
_HEADING = re.compile(r"^\s*(?:=+|#+)?\s*(?P<title>.+?)\s*(?:=+)?\s*:?\s*$")


def agenda_items(text: str, heading: str = "Agenda") -> list[str]:
    """The list items after the first line that is the heading (``Agenda``, ``== Agenda ==``,
    ``# Agenda:``...), up to the first line that is neither an item nor blank."""
    lines = text.splitlines()
    wanted = heading.casefold()
    start = next(
        (
            i
            for i, line in enumerate(lines)
            if (found := _HEADING.match(line)) and found.group("title").casefold() == wanted
        ),
        None,
    )
    if start is None:
        return []
    items: list[str] = []
    for line in lines[start + 1 :]:
        if not line.strip():
            if items:
                break
            continue
        item = _ITEM.match(line)
        if item is None:
            break
        items.append(item.group("text"))
    return items
