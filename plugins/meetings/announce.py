"""What other plugins hear of a meeting: the domain events of each line and of its end.

Turns a line the engine folded (and the facts it returned) into :mod:`opsbot.domain` events, so
the pad, the records and the schedule follow the meeting without knowing the plugin.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from opsbot.domain import (
    ActionItemRecorded,
    ChairsChanged,
    ItemRecorded,
    ItemRevised,
    ItemUndone,
    LineLogged,
    MeetingEnded,
    TopicChanged,
)
from opsbot.events import DomainEvent, Room

from .engine import Effect, Line, Meeting, Recorded, Revised, Undone
from .live import Live

Emit = Callable[[DomainEvent], Awaitable[None]]


async def announce(
    emit: Emit, live: Live, line: Line, effects: list[Effect], link: str = ""
) -> None:
    """Tell other plugins what this line did; ``link``: where the line is on the site."""
    meeting = live.meeting
    common: dict[str, Any] = {
        "meeting_id": live.id,
        "network": live.room.network,
        "room": live.room.id,
        "meeting_name": meeting.name,
    }
    await emit(
        LineLogged(
            **common,
            seq=line.seq,
            kind=line.kind,
            nick=line.nick,
            account=line.account,
            text=line.text,
        )
    )
    for effect in effects:
        if isinstance(effect, Undone):
            item = effect.item
            await emit(ItemUndone(**common, seq=item.seq, kind=item.kind, text=item.text))
        elif isinstance(effect, Revised):
            item = effect.item
            text = "" if effect.redacted else item.text
            await emit(
                ItemRevised(
                    **common, seq=item.seq, kind=item.kind, text=text, redacted=effect.redacted
                )
            )
        elif isinstance(effect, Recorded):
            item = effect.item
            about = {
                **common,
                "seq": item.seq,
                "kind": item.kind,
                "nick": item.nick,
                "text": item.text,
                "restricted": meeting.restricted,
                "account": line.account,
                "link": "" if meeting.restricted else link,
            }
            if item.kind == "ACTION":
                await emit(ActionItemRecorded(**about, owners=tuple(meeting.owners(item))))
            else:
                await emit(ItemRecorded(**about))
            if item.kind == "TOPIC":
                await emit(TopicChanged(**common, topic=item.text, nick=item.nick))
    if line.kind == "message" and not line.is_bot:
        parsed = meeting.parse(line.text)
        if parsed is not None and parsed[0] in ("chair", "unchair"):
            chairs = tuple((chair.nick, chair.account) for chair in meeting.chairs)
            await emit(ChairsChanged(**common, chairs=chairs))


def ended_event(
    meeting_id: int,
    room: Room,
    meeting: Meeting,
    urls: dict[str, str],
    action_ids: list[int],
    *,
    imported: bool = False,
    minutes_text: str = "",
) -> MeetingEnded:
    """What other plugins hear of a meeting that ended (live, or read from an archive)."""
    return MeetingEnded(
        meeting_id=meeting_id,
        network=room.network,
        room=room.id,
        meeting_name=meeting.name,
        attendees=dict(meeting.people_present()),
        accounts={meeting.spelling.get(k, k): a for k, a in meeting.accounts.items()},
        links=urls,
        actions=tuple((a.text, tuple(meeting.owners(a))) for a in meeting.actions()),
        chairs=tuple((chair.nick, chair.account) for chair in meeting.chairs),
        action_ids=tuple(action_ids),
        restricted=meeting.restricted,
        imported=imported,
        title=meeting.meeting_topic or meeting.name,
        topics=tuple(meeting.topics()),
        minutes_text=minutes_text,
        started_at=meeting.started_at,
    )
