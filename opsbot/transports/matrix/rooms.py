"""Rooms and the people in them: the configured rooms (by ID or alias) joined and invitations
answered, who answers to a nick, and the roles power levels and room creators give."""

from __future__ import annotations

import logging
from typing import Any

import nio

from ... import matrix_ids
from ...events import (
    Identity,
    Role,
    Room,
)
from ..base import TransportError
from .ids import _server_of, localpart
from .state import MatrixState

log = logging.getLogger("opsbot.transports.matrix")


class Rooms(MatrixState):
    async def _resolve_configured(self, client: nio.AsyncClient) -> None:
        """The room IDs of configured aliases, so an invitation to such a room (which names
        it by ID) is known for one the operator configured."""
        for room in self.config.rooms:
            if not matrix_ids.is_alias(room):
                continue
            answer = await client.room_resolve_alias(room)
            if isinstance(answer, nio.RoomResolveAliasResponse):
                self._configured.add(answer.room_id)
                self._aliases[room] = answer.room_id
            else:
                log.warning("%s: cannot resolve %s: %s", self.name, room, answer.message)

    async def _join_configured(self) -> None:
        assert self.client is not None
        joined = set(self.client.rooms)
        for room in self.config.rooms:
            if room in joined or any(r.canonical_alias == room for r in self.client.rooms.values()):
                continue
            try:
                await self.join(room)
            except TransportError as why:
                log.error("%s: %s", self.name, why)

    async def _invited(self, room_id: str, invite: Any) -> None:
        """Accept an invitation to a configured room from anyone (configuring it is the
        operator's consent), to other rooms from the users and servers of ``invites``."""
        assert self.client is not None
        inviter = None
        aliases: set[str] = set()
        for event in invite.invite_state:
            if (
                isinstance(event, nio.InviteMemberEvent)
                and event.state_key == self.user_id
                and event.membership == "invite"
            ):
                inviter = event.sender
            elif isinstance(event, nio.InviteAliasEvent):
                content = event.source.get("content") or {}
                named = [event.canonical_alias, *(content.get("alt_aliases") or ())]
                aliases.update(alias for alias in named if isinstance(alias, str))
        rules = self.config.invites
        configured = room_id in self._configured or bool(aliases & self._configured)
        if configured or (
            inviter is not None and (inviter in rules.users or _server_of(inviter) in rules.servers)
        ):
            why = "a configured room" if configured else "an allowed inviter"
            log.info("%s: invited to %s by %s (%s); joining", self.name, room_id, inviter, why)
            response: Any = await self.client.join(room_id)
        else:
            log.info("%s: declined the invitation to %s from %s", self.name, room_id, inviter)
            response = await self.client.room_leave(room_id)
        if isinstance(response, nio.ErrorResponse):
            log.warning("%s: answering the invitation to %s: %s", self.name, room_id, response)

    async def room_id_of(self, room: str) -> str:
        """The room ID of an ID or alias (a reminder may name a room by its alias); raises
        TransportError when the homeserver knows no such alias."""
        if not matrix_ids.is_alias(room):
            return room
        known = self._aliases.get(room) or next(
            (i for i, r in (self.client.rooms if self.client else {}).items()
             if r.canonical_alias == room),
            None,
        )  # fmt: skip
        if known is None:
            if self.client is None:
                raise TransportError("not connected to the homeserver")
            client = self.client
            answer = await self._request(
                f"find the room {room}", lambda: client.room_resolve_alias(room)
            )
            known = str(answer.room_id)
        self._aliases[room] = known
        return known

    async def role(self, room: Room, who: Identity) -> Role:
        matrix_room = self.client.rooms.get(room.id) if self.client is not None else None
        if matrix_room is None or who.account is None:
            return Role.NONE
        levels = matrix_room.power_levels
        if who.account not in levels.users and who.account in self._creators.get(room.id, ()):
            level = 100  # room version 12 on: creators outrank everyone, unlisted
        else:
            level = levels.get_user_level(who.account)
        if level >= 100:
            return Role.ADMIN
        if level >= 50:
            return Role.OP
        return Role.VOICE if level > 0 else Role.NONE

    async def join(self, room_id: str, key: str | None = None) -> Room:
        if not matrix_ids.is_room(room_id):
            raise TransportError(f"{room_id} is not {matrix_ids.WHAT}")
        if self.client is None:
            raise TransportError("not connected to the homeserver")
        client = self.client
        response = await self._request(f"join {room_id}", lambda: client.join(room_id))
        return self._room_of(str(response.room_id))

    async def part(self, room: Room, reason: str | None = None) -> None:
        if self.client is None or room.id not in self.client.rooms:
            raise TransportError(f"I am not in {room.id}")
        client = self.client
        await self._request(f"leave {room.id}", lambda: client.room_leave(room.id))

    def rooms(self) -> list[Room]:
        if self.client is None:
            return []
        return [self._room_of(room_id) for room_id in self.client.rooms]

    def room(self, room_id: str) -> Room:
        return self._room_of(room_id)

    def _room_of(self, room_id: str) -> Room:
        matrix_room = self.client.rooms.get(room_id) if self.client is not None else None
        if matrix_room is None:
            return Room(self.name, room_id)
        # A direct chat: one the bot opened, or an unnamed room of the bot and one person.
        direct = room_id in self._direct.values() or (
            matrix_room.is_group and matrix_room.member_count <= 2
        )
        return Room(
            self.name,
            room_id,
            name=matrix_room.canonical_alias or matrix_room.name,
            is_direct=direct,
        )

    def member(self, room: Room, nick: str) -> Identity | None:
        matrix_room = self.client.rooms.get(room.id) if self.client is not None else None
        if matrix_room is None:
            return None
        wanted = nick.casefold()
        for user_id, user in matrix_room.users.items():
            if (
                user_id == nick
                or localpart(user_id).casefold() == wanted
                or (user.display_name or "").casefold() == wanted
            ):
                return Identity(self.name, user_id, localpart(user_id), user.display_name)
        return None

    def _identity(self, room_id: str, user_id: str) -> Identity:
        display = None
        if self.client is not None and (room := self.client.rooms.get(room_id)) is not None:
            user = room.users.get(user_id)
            display = user.display_name if user is not None else None
        return Identity(self.name, user_id, localpart(user_id), display)
