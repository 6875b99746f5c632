"""The Transport protocol: what every network (IRC, Matrix, the console, the test memory) offers.

A transport turns network traffic into events from :mod:`opsbot.events`, handed to the sink it
was started with, in the order they arrived; and it sends, reacts and answers role questions.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Protocol

from ..events import Event, Identity, Message, Role, Room

if TYPE_CHECKING:
    from ..state import State


class EventSink(Protocol):
    """Where a transport hands its events: the bot's bus."""

    async def publish(self, event: Event, *, wait: bool = True) -> None:
        """Queue an event; waits while the bot is behind (back-pressure)."""

    def offer(self, event: Event) -> bool:
        """Queue an event at once if that needs no waiting; False if it must be published."""

    async def drain(self) -> None:
        """Wait until every event published so far has been handled."""

    async def durable(self) -> None:
        """Wait until every event published so far has been handled and what its handlers
        stored is committed (a network's saved position may then move past them)."""


class TransportError(Exception):
    """A network operation failed; the message is fit to show a person."""


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a network can do, so plugins degrade gracefully instead of guessing."""

    accounts: bool = False
    """The network proves accounts (IRC services, Matrix user IDs)."""
    html: bool = False
    reactions: bool = False
    edits: bool = False
    threads: bool = False
    """Replies can point at the message they answer."""
    topic: bool = False
    echoes_own: bool = False
    """The network itself delivers the bot's own messages back (IRCv3 echo-message, Matrix sync)."""
    max_line_bytes: int | None = None
    replays: bool = False
    """The network may deliver a message again (Matrix, syncing from the position saved before
    a restart or a takeover); its message IDs are unique for good, so a repeat can be told."""


class Transport(ABC):
    """One connection to one network, named by the config's ``networks[].name``."""

    type: ClassVar[str]
    capabilities: Capabilities = Capabilities()
    state: State | None = None
    """Durable key/value state of this network (sync tokens and the like), set by the bot."""

    def __init__(self, name: str, *, prefix: str | None = None) -> None:
        self.name = name
        self.prefix = prefix
        """This network's command prefix, where it differs from the bot's."""
        self._finished: asyncio.Future[None] | None = None

    @property
    @abstractmethod
    def me(self) -> Identity:
        """The bot's own identity on this network."""

    @abstractmethod
    async def start(self, sink: EventSink) -> None:
        """Connect, and from now on publish every event to ``sink`` in arrival order."""

    @abstractmethod
    async def stop(self) -> None:
        """Disconnect cleanly; no event reaches the sink afterwards."""

    @abstractmethod
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
        """Say ``text`` (may hold newlines) in ``room``; returns the network's message id if any."""

    @abstractmethod
    async def send_private(self, who: Identity, text: str) -> None:
        """Say ``text`` to one person only."""

    async def react(self, room: Room, target_id: str, key: str) -> None:
        raise TransportError(f"{self.name} does not support reactions")

    async def set_topic(self, room: Room, topic: str) -> None:
        raise TransportError(f"{self.name} does not support room topics")

    @abstractmethod
    async def role(self, room: Room, who: Identity) -> Role:
        """What ``who`` may do in ``room`` according to the network (modes, power levels)."""

    @abstractmethod
    async def join(self, room_id: str, key: str | None = None) -> Room:
        """Join a room; raises TransportError with a reason a person can read."""

    @abstractmethod
    async def part(self, room: Room, reason: str | None = None) -> None:
        """Leave a room."""

    @abstractmethod
    def rooms(self) -> list[Room]:
        """The rooms the bot is in now."""

    @abstractmethod
    def member(self, room: Room, nick: str) -> Identity | None:
        """The identity behind ``nick`` in ``room`` (case-insensitive on IRC), if known."""

    def is_me(self, who: Identity) -> bool:
        me = self.me
        if who.account is not None and me.account is not None:
            return who.account == me.account
        return who.nick.casefold() == me.nick.casefold()

    def room(self, room_id: str) -> Room:
        """The Room object for an id the bot is in, or a fresh one."""
        for room in self.rooms():
            if room.id == room_id:
                return room
        return Room(self.name, room_id)

    @property
    def finished(self) -> asyncio.Future[None] | None:
        """Resolved when the transport has no more input and the bot should stop (console at end
        of input); None for networks that run until stopped."""
        return self._finished
