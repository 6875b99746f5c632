"""What a handler gets when it runs: the event, where it came from, and ways to answer.

A Context is made by the router for each handler it calls; it holds the bot's
:class:`~opsbot.services.Services` (never the bot itself) and the plugin's room-aware config.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Protocol

from .events import Event, Identity, Message, Role, Room, RoomEvent
from .plugin_config import PluginConfig

if TYPE_CHECKING:
    from .services import Services


HANDLING: ContextVar[tuple[Event, asyncio.Task[Any] | None] | None] = ContextVar(
    "handling", default=None
)
"""The event whose handlers run now, and the task running them (set by the router): what the
bot says while handling it in a bridged room goes to the side it came from."""


def handling() -> Event | None:
    """The event being handled in this task (a task started by a handler inherits the context
    but handles nothing: a reminder sent later from it is no answer to that event)."""
    found = HANDLING.get()
    if found is None or found[1] is not asyncio.current_task():
        return None
    return found[0]


class ConfiguredByRoom(Protocol):
    """The part of a plugin a Context needs: its name and its config for a room."""

    name: str

    def config_for(self, room: Room | None) -> Any: ...


class Context:
    """What a handler gets: the event, where it came from, and ways to answer."""

    __slots__ = ("claimed", "command", "event", "groups", "plugin", "services")

    def __init__(
        self,
        services: Services,
        plugin: ConfiguredByRoom,
        event: Event,
        command: str | None = None,
        groups: dict[str, str | None] | None = None,
    ) -> None:
        self.services = services
        self.plugin = plugin
        self.event = event
        self.command = command
        self.groups = groups or {}
        self.claimed = False

    def claim(self) -> None:
        """Mark the message as handled by this passive handler (MeetBot's ``!startmeeting``), so
        the router does not also take it as a command and answer "unknown command"."""
        self.claimed = True

    @property
    def msg(self) -> Message:
        if not isinstance(self.event, Message):
            raise TypeError(f"{type(self.event).__name__} is not a message")
        return self.event

    @property
    def room(self) -> Room:
        if not isinstance(self.event, RoomEvent):
            raise TypeError(f"{type(self.event).__name__} happens in no room")
        return self.event.room

    @property
    def network(self) -> str:
        """The name of the network the event came from."""
        return self.event.network

    @property
    def prefix(self) -> str:
        """The command prefix people use where the event came from."""
        return self.services.prefix_for(self.event.network)

    @property
    def sender(self) -> Identity:
        return self.msg.sender

    @property
    def config(self) -> PluginConfig:
        config: PluginConfig = self.plugin.config_for(self.room)
        return config

    async def reply(
        self, text: str, *, html: str | None = None, mentions: Sequence[Identity] = ()
    ) -> None:
        """Answer in the room the message came from, threaded to it where the network can."""
        msg = self.msg
        await self.services.send(msg.room, text, html=html, reply_to=msg, mentions=mentions)

    async def reply_private(self, text: str) -> None:
        """Answer the sender alone."""
        await self.services.send_private(self.sender, text)

    async def react(self, key: str) -> None:
        msg = self.msg
        if msg.id is not None and self.services.capabilities(msg.network).reactions:
            await self.services.react(msg.room, msg.id, key)

    async def chair_or_moderator(self, chairs: Iterable[tuple[str, str | None]]) -> bool:
        """Whether the sender is one of ``chairs`` (``(nick, account)`` as seen in this room's
        network, see :meth:`Identity.is_seen_as`) or a moderator of the room (or a bot admin):
        the one rule for who may steer a meeting."""
        sender = self.sender
        networks = self.services.networks_of(self.room)  # a bridged room: either side's
        if any(
            sender.is_seen_as(network, nick, account)
            for nick, account in chairs
            for network in networks
        ):
            return True
        return await self.role() >= Role.OP

    async def role(self) -> Role:
        return await self.services.role_of(self.room, self.sender)
