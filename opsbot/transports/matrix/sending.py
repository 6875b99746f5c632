"""Saying things on Matrix: requests retried while the homeserver cannot be reached, m.notice
replies with Markdown rendered to HTML and threaded to what they answer, direct chats made on
demand, reactions and topics."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from typing import Any

import nio

from ...events import (
    Identity,
    Message,
    Room,
)
from ..base import TransportError
from ..matrix_format import render, sanitise
from .state import NETWORK_ERRORS, MatrixState

log = logging.getLogger("opsbot.transports.matrix")


class Sending(MatrixState):
    async def _request(self, what: str, call: Any) -> Any:
        """Run one homeserver request, again while the homeserver cannot be reached; an error
        answer becomes a TransportError a person can read."""
        attempts = self.config.retry.send_attempts
        for attempt in range(attempts):
            try:
                response = await call()
            except NETWORK_ERRORS as error:
                why = str(error) or type(error).__name__
                if attempt + 1 == attempts:
                    raise TransportError(f"cannot reach the homeserver to {what}: {why}") from None
                await asyncio.sleep(self.config.retry.min_delay * 2**attempt)
                continue
            if isinstance(response, nio.ErrorResponse):
                if response.status_code == "M_LIMIT_EXCEEDED":
                    raise TransportError(f"the homeserver keeps rate-limiting; could not {what}")
                raise TransportError(f"could not {what}: {response.message}")
            return response
        raise AssertionError("unreachable")

    async def _room_send(self, room_id: str, kind: str, content: dict[str, Any]) -> str:
        assert self.client is not None
        client = self.client
        room_id = await self.room_id_of(room_id)
        tx_id = f"opsbot-{uuid.uuid4().hex}"  # the same on every retry: never posted twice
        response = await self._request(
            f"send to {room_id}",
            lambda: client.room_send(
                room_id, kind, content, tx_id=tx_id, ignore_unverified_devices=True
            ),
        )
        event_id: str = response.event_id
        self._seen.add(event_id)
        return event_id

    async def send(
        self,
        room: Room,
        text: str,
        *,
        html: str | None = None,
        reply_to: Message | None = None,
        notice: bool = False,
        mentions: Sequence[Identity] = (),
    ) -> str | None:
        content: dict[str, Any] = {
            "msgtype": "m.notice" if notice or self.config.notice_replies else "m.text",
            "body": text,
            "format": "org.matrix.custom.html",
            "formatted_body": sanitise(html) if html is not None else render(text, mentions),
            "m.mentions": {"user_ids": sorted({m.account for m in mentions if m.account})},
        }
        if reply_to is not None and reply_to.id is not None and reply_to.room.id == room.id:
            content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to.id}}
        return await self._room_send(room.id, "m.room.message", content)

    async def send_private(self, who: Identity, text: str) -> None:
        if who.account is None:
            raise TransportError(f"{who.nick} has no Matrix ID")
        room_id = self._direct.get(who.account)
        if room_id is None or self.client is None or room_id not in self.client.rooms:
            assert self.client is not None
            client = self.client
            account = who.account
            created = await self._request(
                f"open a direct chat with {who.account}",
                lambda: client.room_create(
                    is_direct=True,
                    invite=[account],
                    preset=nio.RoomPreset.trusted_private_chat,
                ),
            )
            room_id = str(created.room_id)
            self._direct[who.account] = room_id
            await self._save()
        await self.send(Room(self.name, room_id, is_direct=True), text)

    async def react(self, room: Room, target_id: str, key: str) -> None:
        content = {"m.relates_to": {"rel_type": "m.annotation", "event_id": target_id, "key": key}}
        await self._room_send(room.id, "m.reaction", content)

    async def set_topic(self, room: Room, topic: str) -> None:
        assert self.client is not None
        client = self.client
        room_id = await self.room_id_of(room.id)
        await self._request(
            f"set the topic of {room.id}",
            lambda: client.room_put_state(room_id, "m.room.topic", {"topic": topic}),
        )
