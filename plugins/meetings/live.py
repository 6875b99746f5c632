"""The meetings in progress: one :class:`Live` per room with a meeting running, kept by the
plugin and read (never changed) by the web site's live pages."""

from __future__ import annotations

from dataclasses import dataclass

from opsbot.events import Room

from .engine import Meeting
from .render import Context as RenderContext


@dataclass(slots=True)
class Live:
    id: int
    meeting: Meeting
    room: Room
    rows: RenderContext
    """Renders log rows as lines arrive, so #endmeeting only joins them."""

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
