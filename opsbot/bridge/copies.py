"""The bridge's copies of lines the bot also sees where they were said: remembered lines, and
copies that wait a short window for their line (a copy can arrive first: the bridge and the bot
read the same homeserver)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["text", "paste", "edit"]


def norm(text: str) -> str:
    """What a bridge keeps of a text whatever it does to spaces, case and formatting."""
    kept = "".join(c for c in text.casefold() if c.isalnum())
    return kept or "".join(text.split())


@dataclass(slots=True)
class Said:
    """A line where it was said, what of it the bridge has not yet copied."""

    at: float
    names: frozenset[str]
    kind: Kind
    rest: str
    many_lines: bool = False


@dataclass(slots=True)
class Held:
    """A copy waiting for its line; ``release`` hands it on when the line does not come."""

    at: float
    names: frozenset[str]
    kind: Kind
    fragment: str
    cancel: Callable[[], None] = field(default=lambda: None)


class Copies:
    """One bridged room's remembered lines and waiting copies."""

    def __init__(self, keep: float) -> None:
        self.keep = keep
        self.said: deque[Said] = deque()
        self.held: list[Held] = []

    def _prune(self, now: float) -> None:
        while self.said and now - self.said[0].at > self.keep:
            self.said.popleft()

    def copied(self, now: float, names: frozenset[str], kind: Kind, text: str) -> bool:
        """Whether a copy of ``kind`` with ``text`` copies a line remembered (and takes its part
        of that line)."""
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

    def hold(self, now: float, names: frozenset[str], kind: Kind, text: str) -> Held:
        held = Held(now, names, kind, norm(text) if kind == "text" else "")
        self.held.append(held)
        return held

    def release(self, held: Held) -> bool:
        """The window of ``held`` is over: whether it still waits (and is now let go)."""
        if held in self.held:
            self.held.remove(held)
            return True
        return False

    def said_here(
        self, now: float, names: frozenset[str], kind: Kind, text: str, *, many_lines: bool
    ) -> None:
        """A line said where the bot sees it: waiting copies of it are dropped, the rest of it
        remembered for copies still to come."""
        self._prune(now)
        said = Said(now, names, kind, norm(text) if kind == "text" else "", many_lines)
        edited = False
        for held in list(self.held):
            if not held.names & names:
                continue
            if held.kind == "paste" and many_lines:
                pass
            elif held.kind == "edit" and kind == "edit" and not edited:
                edited = True
            elif held.kind == "text" and kind == "text" and held.fragment in said.rest:
                at = said.rest.find(held.fragment)
                said.rest = said.rest[at + len(held.fragment) :]
            else:
                continue
            held.cancel()
            self.held.remove(held)
        if edited:
            return
        if kind != "text" or said.rest or many_lines:
            self.said.append(said)


def _fits(said: Said, kind: Kind, fragment: str) -> bool:
    if kind == "paste":
        return said.kind == "text" and said.many_lines
    if kind != said.kind:
        return False
    return kind == "edit" or not fragment or fragment in said.rest
