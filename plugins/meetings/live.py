"""The meetings in progress: one :class:`Live` per room with a meeting running, kept by the
plugin and read (never changed) by the web site's live pages, and the feed of their lines to
whoever watches them."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from opsbot.events import Room

from .engine import Line, Meeting
from .livelog import LiveLog
from .render import Prepared


@dataclass(slots=True)
class Live:
    id: int
    meeting: Meeting
    room: Room
    log: LiveLog | None = None
    """The logs on disk as the lines arrive (on the bot; a standby's copy writes no files)."""
    prepared: Prepared = field(default_factory=dict)
    """Its items' rows of the minutes, rendered as each was recorded."""

    @property
    def watchable(self) -> bool:
        """Whether people may follow it on the web (started, and its log not restricted)."""
        return self.meeting.started and not self.meeting.restricted


class LiveMeetings(dict[str, Live]):
    """The meetings in progress by room key (``network:room``)."""

    def with_id(self, meeting_id: int) -> Live | None:
        return next((live for live in self.values() if live.id == meeting_id), None)

    def watchable(self) -> list[Live]:
        return [live for live in self.values() if live.watchable]


class LiveFeed:
    """Lines of meetings in progress, handed to whoever watches them (the live pages)."""

    def __init__(self) -> None:
        self._watchers: dict[int, set[asyncio.Queue[Line | None]]] = {}

    def publish(self, meeting_id: int, line: Line) -> None:
        for queue in self._watchers.get(meeting_id, ()):
            queue.put_nowait(line)

    def end(self, meeting_id: int) -> None:
        for queue in self._watchers.get(meeting_id, ()):
            queue.put_nowait(None)

    def subscribe(self, meeting_id: int) -> asyncio.Queue[Line | None]:
        queue: asyncio.Queue[Line | None] = asyncio.Queue()
        self._watchers.setdefault(meeting_id, set()).add(queue)
        return queue

    def unsubscribe(self, meeting_id: int, queue: asyncio.Queue[Line | None]) -> None:
        self._watchers.get(meeting_id, set()).discard(queue)

    def close(self) -> None:
        for meeting_id in list(self._watchers):
            self.end(meeting_id)
