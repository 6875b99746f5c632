"""The bridge's copies of lines the bot also sees where they were said, in one bridged room.

A copy that comes after its line takes its part of the remembered line and is dropped. A copy
that comes first (the bridge read the homeserver before the bot did) holds its place: what
arrives after it waits behind it, so the room keeps the order its people saw; its line takes
that place when it comes, or the copy itself does, as the person's line, when the window ends.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from ..events import Event

Kind = Literal["text", "paste", "edit"]


def norm(text: str) -> str:
    """What a bridge keeps of a text whatever it does to spaces, case and formatting."""
    kept = "".join(c for c in text.casefold() if c.isalnum())
    return kept or "".join(text.split())


@dataclass(slots=True)
class Said:
    """A line where it was said: what of it the bridge has not yet copied."""

    at: float
    names: frozenset[str]
    kind: Kind
    rest: str
    many_lines: bool = False


@dataclass(slots=True, eq=False)
class Waiting:
    """A copy holding its place until its line comes (or its window ends)."""

    names: frozenset[str]
    kind: Kind
    fragment: str
    cancel: Callable[[], None] = field(default=lambda: None)


class Copies:
    """One bridged room's remembered lines and the events waiting behind a copy."""

    def __init__(self, keep: float, most: int = 20_000) -> None:
        self.keep = keep
        self.said: deque[Said] = deque(maxlen=most)
        self.queue: deque[Waiting | Event] = deque()

    def _prune(self, now: float) -> None:
        while self.said and now - self.said[0].at > self.keep:
            self.said.popleft()

    def copied(self, now: float, names: frozenset[str], kind: Kind, text: str) -> bool:
        """Whether a copy of ``kind`` copies a line remembered (taking its part of it)."""
        self._prune(now)
        fragment = norm(text) if kind == "text" else ""
        for said in self.said:
            if not names & said.names or not _fits(said, kind, fragment):
                continue
            if kind == "text":
                at = said.rest.find(fragment)
                said.rest = said.rest[at + len(fragment) :]
                if said.rest and fragment:
                    return True
            self.said.remove(said)
            return True
        return False

    def wait(self, names: frozenset[str], kind: Kind, text: str) -> Waiting:
        waiting = Waiting(names, kind, norm(text) if kind == "text" else "")
        self.queue.append(waiting)
        return waiting

    def said_here(
        self,
        now: float,
        names: frozenset[str],
        kind: Kind,
        text: str,
        event: Event,
        *,
        many_lines: bool,
        remember: bool,
    ) -> bool:
        """A line said where the bot sees it: it takes the place of the first copy of it that
        waits (the others are dropped), and what the bridge has yet to copy is remembered.
        Returns whether it took a copy's place."""
        self._prune(now)
        said = Said(now, names, kind, norm(text) if kind == "text" else "", many_lines)
        placed = edited = False
        for i, entry in enumerate(list(self.queue)):
            if not isinstance(entry, Waiting) or not entry.names & names:
                continue
            if entry.kind == "paste" and many_lines:
                pass
            elif entry.kind == "edit" and kind == "edit" and not edited:
                edited = True
            elif entry.kind == "text" and kind == "text" and entry.fragment in said.rest:
                at = said.rest.find(entry.fragment)
                said.rest = said.rest[at + len(entry.fragment) :]
            else:
                continue
            entry.cancel()
            if placed:
                self.queue.remove(entry)
            else:
                self.queue[i] = event
                placed = True
        if remember and not edited and (kind != "text" or said.rest or many_lines):
            self.said.append(said)
        return placed

    def let_go(self, waiting: Waiting, event: Event | None) -> bool:
        """The window of ``waiting`` is over: it takes its place as ``event`` (or none)."""
        for i, entry in enumerate(self.queue):
            if entry is waiting:
                if event is None:
                    del self.queue[i]
                else:
                    self.queue[i] = event
                return True
        return False

    def ready(self) -> list[Event]:
        """The events at the head of the queue that wait for nothing now."""
        out: list[Event] = []
        while self.queue and not isinstance(self.queue[0], Waiting):
            entry = self.queue.popleft()
            assert not isinstance(entry, Waiting)
            out.append(entry)
        return out


def _fits(said: Said, kind: Kind, fragment: str) -> bool:
    if kind == "paste":
        return said.kind == "text" and said.many_lines
    if kind != said.kind:
        return False
    return kind == "edit" or not fragment or fragment in said.rest
