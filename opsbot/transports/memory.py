"""An in-process network for tests and benchmarks: people are simulated, sent lines are recorded.

``style="irc"`` behaves like an IRC network with services (``#channel`` rooms, accounts that may
be missing, nick-based lookups); ``style="matrix"`` like a homeserver (``!id:server`` rooms,
``@user:server`` accounts, threaded replies, HTML, reactions and edits).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from ..events import Connected, Event, Identity, Join, Message, Part, Role, Room
from .base import Capabilities, EventSink, Transport, TransportError

Style = Literal["irc", "matrix"]
SERVER = "example.org"


class _Default:
    pass


DEFAULT = _Default()
"""Stands for "the usual account for this nick" (None for ``account=None``: not identified)."""


@dataclass(frozen=True, slots=True)
class Sent:
    """One thing the bot sent: to a room, or privately to ``to``."""

    text: str
    room: Room | None = None
    to: Identity | None = None
    html: str | None = None
    reply_to: Message | None = None
    notice: bool = False
    id: str | None = None
    mentions: tuple[Identity, ...] = ()


class MemoryTransport(Transport):
    type = "memory"

    def __init__(
        self,
        name: str,
        *,
        style: Style = "irc",
        nick: str = "opsbot",
        rooms: list[str] | None = None,
        prefix: str | None = None,
    ) -> None:
        super().__init__(name, prefix=prefix)
        self.style = style
        if style == "matrix":
            self.capabilities = Capabilities(
                accounts=True, html=True, reactions=True, edits=True, threads=True, topic=True
            )
        else:
            self.capabilities = Capabilities(accounts=True, topic=True, max_line_bytes=512)
        self._me = self.identity(nick)
        self.sent: list[Sent] = []
        self.reactions: list[tuple[Room, str, str]] = []
        self.topics: dict[str, str] = {}
        self._sink: EventSink | None = None
        self._rooms: dict[str, Room] = {}
        self._members: dict[str, dict[str, Identity]] = {}
        self._roles: dict[tuple[str, str], Role] = {}
        self._initial_rooms = rooms if rooms is not None else [self.default_room_id]
        self._ids = itertools.count(1)

    @property
    def default_room_id(self) -> str:
        return f"!test:{SERVER}" if self.style == "matrix" else "#test"

    @property
    def me(self) -> Identity:
        return self._me

    def identity(self, nick: str, account: str | _Default | None = DEFAULT) -> Identity:
        """The identity someone called ``nick`` has here."""
        if isinstance(account, _Default):
            account = f"@{nick.lower()}:{SERVER}" if self.style == "matrix" else nick.lower()
        return Identity(self.name, account, nick)

    async def start(self, sink: EventSink) -> None:
        self._sink = sink
        await self.deliver(Connected(network=self.name, me=self.me))
        for room_id in self._initial_rooms:
            await self.join(room_id)

    async def stop(self) -> None:
        self._sink = None

    async def deliver(self, event: Event) -> None:
        """Hand an event to the bot as if the network had sent it."""
        if self._sink is None:
            raise TransportError(f"{self.name} is not started")
        await self._sink.publish(event)

    # simulating people

    async def say(
        self,
        nick: str,
        text: str,
        *,
        room: str | None = None,
        account: str | _Default | None = DEFAULT,
        action: bool = False,
        notice: bool = False,
        html: str | None = None,
        id: str | None = None,
    ) -> Message:
        """``nick`` says ``text`` in ``room`` (joining it first if they were not there)."""
        target = self.room(room or self.default_room_id)
        who = self._ensure_member(target, self.identity(nick, account))
        msg = Message(
            network=self.name,
            room=target,
            sender=who,
            text=text,
            html=html,
            id=id or f"${next(self._ids)}",
            is_action=action,
            is_notice=notice,
        )
        await self.deliver(msg)
        return msg

    async def say_private(
        self, nick: str, text: str, *, account: str | _Default | None = DEFAULT
    ) -> Message:
        """``nick`` writes to the bot directly."""
        who = self.identity(nick, account)
        room = Room(self.name, f"dm:{who.nick.lower()}", is_direct=True)
        msg = Message(network=self.name, room=room, sender=who, text=text, id=f"${next(self._ids)}")
        await self.deliver(msg)
        return msg

    async def user_joins(
        self, nick: str, room: str | None = None, *, account: str | _Default | None = DEFAULT
    ) -> Identity:
        target = self.room(room or self.default_room_id)
        who = self._ensure_member(target, self.identity(nick, account))
        await self.deliver(Join(network=self.name, room=target, who=who))
        return who

    async def user_parts(self, nick: str, room: str | None = None) -> None:
        target = self.room(room or self.default_room_id)
        who = self._members.get(target.id, {}).pop(nick.casefold(), None)
        if who is not None:
            await self.deliver(Part(network=self.name, room=target, who=who))

    def set_role(self, nick: str, role: Role, room: str | None = None) -> None:
        self._roles[(room or self.default_room_id, nick.casefold())] = role

    def _ensure_member(self, room: Room, who: Identity) -> Identity:
        members = self._members.setdefault(room.id, {})
        members[who.nick.casefold()] = who
        return who

    # the Transport protocol

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
        msg_id = f"$bot{next(self._ids)}"
        self.sent.append(
            Sent(
                text,
                room=room,
                html=html,
                reply_to=reply_to,
                notice=notice,
                id=msg_id,
                mentions=tuple(mentions),
            )
        )
        return msg_id

    async def send_private(self, who: Identity, text: str) -> None:
        self.sent.append(Sent(text, to=who))

    async def react(self, room: Room, target_id: str, key: str) -> None:
        if not self.capabilities.reactions:
            await super().react(room, target_id, key)
        self.reactions.append((room, target_id, key))

    async def set_topic(self, room: Room, topic: str) -> None:
        self.topics[room.id] = topic

    async def role(self, room: Room, who: Identity) -> Role:
        return self._roles.get((room.id, who.nick.casefold()), Role.NONE)

    async def join(self, room_id: str, key: str | None = None) -> Room:
        if self.style == "irc" and not room_id.startswith(("#", "&")):
            raise TransportError(f"{room_id} is not a channel name")
        room = self._rooms.setdefault(room_id, Room(self.name, room_id))
        self._members.setdefault(room_id, {})[self.me.nick.casefold()] = self.me
        return room

    async def part(self, room: Room, reason: str | None = None) -> None:
        if self._rooms.pop(room.id, None) is None:
            raise TransportError(f"I am not in {room.id}")
        self._members.pop(room.id, None)

    def rooms(self) -> list[Room]:
        return list(self._rooms.values())

    def room(self, room_id: str) -> Room:
        return self._rooms.get(room_id) or Room(self.name, room_id)

    def member(self, room: Room, nick: str) -> Identity | None:
        members = self._members.get(room.id, {})
        found = members.get(nick.casefold())
        if found is None and nick.startswith("@"):
            found = next((m for m in members.values() if m.account == nick), None)
        return found
