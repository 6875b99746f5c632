"""What a sync brings, into the bot's events in order: history skipped where it is not the bot's
to act on (a first sync, a room just joined), a limited timeline completed by paging back, each
event once, messages, edits, reactions, redactions, joins and parts."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import nio

from ...events import (
    Edit,
    Event,
    Join,
    Message,
    Part,
    Reaction,
    Redaction,
    Room,
)
from ..matrix_format import strip_reply_fallback
from .state import GAP_PAGES, TIMELINE_LIMIT, MatrixState, _Retry

log = logging.getLogger("opsbot.transports.matrix")


class Syncing(MatrixState):
    async def _handle_sync(self, response: nio.SyncResponse, *, history: bool) -> None:
        for room_id, invite in response.rooms.invite.items():
            await self._invited(room_id, invite)
        for room_id, info in response.rooms.join.items():
            for event in (*info.state, *info.timeline.events):
                if isinstance(event, nio.RoomCreateEvent):
                    extra = (event.source.get("content") or {}).get("additional_creators")
                    self._creators[room_id] = {event.sender, *(extra or ())}
            events = list(info.timeline.events)
            if not history:
                for event in events:
                    self._seen.add(event.event_id)
                continue
            timeline = info.timeline
            if timeline.limited and timeline.prev_batch and self._own_join(events) is None:
                events = await self._gap(room_id, timeline.prev_batch) + events
            joined = self._own_join(events)
            if joined is not None:  # a room new to the bot: what came before is history
                for event in events[: joined + 1]:
                    self._seen.add(event.event_id)
                events = events[joined + 1 :]
            room = self._room_of(room_id)
            for event in events:
                await self._deliver(room, event)

    def _own_join(self, events: list[Any]) -> int | None:
        """Where in a timeline the bot itself joined the room (the room is new to it)."""
        for index in range(len(events) - 1, -1, -1):
            event = events[index]
            if (
                isinstance(event, nio.RoomMemberEvent)
                and event.state_key == self.user_id
                and event.membership == "join"
                and event.prev_membership != "join"
            ):
                return index
        return None

    async def _gap(self, room_id: str, prev_batch: str) -> list[Any]:
        """The events a limited sync left out: from its start back to the previous token."""
        assert self.client is not None
        found: list[Any] = []
        start = prev_batch
        for _ in range(GAP_PAGES):
            page = await self.client.room_messages(
                room_id, start=start, end=self._token, limit=TIMELINE_LIMIT
            )
            if isinstance(page, nio.RoomMessagesError):
                raise _Retry(f"cannot page back in {room_id}: {page.message}")
            found.extend(page.chunk)
            if not page.chunk or not page.end or page.end == start:
                break
            start = page.end
        else:
            log.warning("%s: gap in %s longer than %d events", self.name, room_id, len(found))
        found.reverse()
        log.info("%s: fetched %d events a limited sync left out", self.name, len(found))
        return found

    async def _deliver(self, room: Room, event: Any) -> None:
        event_id = getattr(event, "event_id", None)
        if event_id is None or event_id in self._seen:
            return
        self._seen.add(event_id)
        source = getattr(event, "source", {}) or {}
        if event.sender == self.user_id and (source.get("unsigned") or {}).get("transaction_id"):
            return  # sent by this very device: the bot logged it when it said it
        converted = self._convert(room, event, source)
        if converted is not None:
            await self._publish(converted)

    def _convert(self, room: Room, event: Any, source: dict[str, Any]) -> Event | None:
        ts = datetime.fromtimestamp(event.server_timestamp / 1000, UTC)
        sender = self._identity(room.id, event.sender)
        common: dict[str, Any] = {"network": self.name, "room": room, "ts": ts}
        if isinstance(event, nio.RedactionEvent):
            return Redaction(
                **common, sender=sender, target_id=event.redacts, reason=event.reason,
                id=event.event_id,
            )  # fmt: skip
        if isinstance(event, nio.ReactionEvent):
            return Reaction(
                **common, sender=sender, target_id=event.reacts_to, key=event.key,
                id=event.event_id,
            )  # fmt: skip
        if isinstance(event, nio.RoomMemberEvent):
            who = self._identity(room.id, event.state_key)
            if event.membership == "join" and event.prev_membership != "join":
                return Join(**common, who=who)
            if event.membership in ("leave", "ban") and event.prev_membership == "join":
                return Part(**common, who=who, reason=event.content.get("reason"))
            return None
        if isinstance(event, nio.MegolmEvent):
            log.warning(
                "%s: cannot decrypt %s from %s in %s (no room key for this device yet)",
                self.name, event.event_id, event.sender, room.id,
            )  # fmt: skip
            return None
        if not isinstance(event, nio.RoomMessage):
            return None
        content = source.get("content") or {}
        relates = content.get("m.relates_to") or {}
        if relates.get("rel_type") == "m.replace" and isinstance(relates.get("event_id"), str):
            new = content.get("m.new_content") or {}
            return Edit(
                **common, sender=sender, target_id=relates["event_id"],
                text=_text(new.get("body")), html=_html(new), id=event.event_id,
            )  # fmt: skip
        body, formatted = _text(content.get("body")), _html(content)
        reply_to = (relates.get("m.in_reply_to") or {}).get("event_id")
        if reply_to is not None:
            body, formatted = strip_reply_fallback(body, formatted)
        msgtype = content.get("msgtype")
        return Message(
            **common,
            sender=sender,
            text=body,
            html=formatted,
            id=event.event_id,
            reply_to=reply_to if isinstance(reply_to, str) else None,
            is_action=msgtype == "m.emote",
            is_notice=msgtype == "m.notice",
            raw=source,
        )


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _html(content: dict[str, Any]) -> str | None:
    if content.get("format") != "org.matrix.custom.html":
        return None
    value = content.get("formatted_body")
    return value if isinstance(value, str) else None
