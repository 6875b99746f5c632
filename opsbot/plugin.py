"""The plugin base class, the decorators that carry a handler's rules, and the handler's Context.

A handler's rules (its command name, the role it needs, its rate limit, ...) are data attached to
the function, so the router, ``!help`` and the tests can all read them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import TYPE_CHECKING, Any, ClassVar, NewType, Protocol, TypeVar, cast

from pydantic import BaseModel, ConfigDict

from .events import DomainEvent, Event, Identity, Message, Role, Room, RoomEvent

if TYPE_CHECKING:
    from .bot import Bot
    from .config import NetworkBase
    from .storage import Storage
    from .transports.base import Transport

Rest = NewType("Rest", str)
"""Annotate the last command parameter with Rest to receive the rest of the line, unparsed."""

Handler = Callable[..., Awaitable[None]]
F = TypeVar("F", bound=Handler)


@dataclass(frozen=True, slots=True)
class CommandSpec:
    name: str
    aliases: tuple[str, ...] = ()
    usage: str | None = None
    help: str = ""


@dataclass(frozen=True, slots=True)
class RateSpec:
    """Seconds that must pass between two uses: by one person, in one room, anywhere."""

    user: float = 0
    room: float = 0
    everywhere: float = 0


@dataclass(slots=True)
class Rules:
    """Everything the decorators said about one handler."""

    command: CommandSpec | None = None
    on: list[type[Event]] = field(default_factory=list)
    match: list[re.Pattern[str]] = field(default_factory=list)
    own_messages: bool = False
    role: Role = Role.NONE
    account: bool = False
    rate: RateSpec | None = None
    cron: list[dict[str, Any]] = field(default_factory=list)
    interval: list[dict[str, Any]] = field(default_factory=list)
    subscribe: list[type[DomainEvent]] = field(default_factory=list)

    @property
    def is_passive(self) -> bool:
        return bool(self.on or self.match)


RULES_ATTR = "__opsbot_rules__"


def rules_of(fn: object) -> Rules | None:
    """The rules decorators attached to ``fn``, or None for a plain method."""
    rules = getattr(fn, RULES_ATTR, None)
    return rules if isinstance(rules, Rules) else None


def handlers_of(plugin: Plugin) -> Iterator[tuple[Handler, Rules]]:
    """Each decorated method of ``plugin``, bound, with its rules."""
    for attr in dir(type(plugin)):
        rules = rules_of(getattr(type(plugin), attr, None))
        if rules is not None:
            yield getattr(plugin, attr), rules


def _rules(fn: Callable[..., Any]) -> Rules:
    rules = rules_of(fn)
    if rules is None:
        rules = Rules()
        setattr(fn, RULES_ATTR, rules)
    return rules


_COMMAND_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")


def command(
    name: str,
    *,
    aliases: tuple[str, ...] | list[str] = (),
    usage: str | None = None,
    help: str = "",
) -> Callable[[F], F]:
    """Make the handler a command: ``!name ARGS``. Parameters after ``ctx`` are parsed from ARGS."""
    for word in (name, *aliases):
        if not _COMMAND_NAME.match(word):
            raise ValueError(f"invalid command name {word!r}: lower case letters, digits, - and _")

    def mark(fn: F) -> F:
        _rules(fn).command = CommandSpec(name, tuple(aliases), usage, help)
        return fn

    return mark


def on(*event_types: type[Event], own: bool = False) -> Callable[[F], F]:
    """Run the handler for every event of these types (passive: it runs beside any command).

    ``own=True`` also delivers the bot's own messages, so a log can record what the bot said.
    """

    def mark(fn: F) -> F:
        rules = _rules(fn)
        rules.on.extend(event_types)
        rules.own_messages = rules.own_messages or own
        return fn

    return mark


def match(pattern: str, flags: int = 0) -> Callable[[F], F]:
    """Run the handler for every message the regex matches (``search``); named groups become
    keyword arguments."""
    compiled = re.compile(pattern, flags)

    def mark(fn: F) -> F:
        _rules(fn).match.append(compiled)
        return fn

    return mark


def require(role: Role) -> Callable[[F], F]:
    """Only people with at least ``role`` in the room (or bot admins) may run this."""

    def mark(fn: F) -> F:
        _rules(fn).role = role
        return fn

    return mark


def require_account(fn: F) -> F:
    """Only people whose account the network proves may run this."""
    _rules(fn).account = True
    return fn


def rate(*, user: float = 0, room: float = 0, everywhere: float = 0) -> Callable[[F], F]:
    """Seconds between two uses, per person, per room and overall; bot admins are exempt."""

    def mark(fn: F) -> F:
        _rules(fn).rate = RateSpec(user, room, everywhere)
        return fn

    return mark


def cron(**fields: Any) -> Callable[[F], F]:
    """Run the method on a schedule (APScheduler CronTrigger fields, in the bot's time zone)."""

    def mark(fn: F) -> F:
        _rules(fn).cron.append(fields)
        return fn

    return mark


def interval(**fields: Any) -> Callable[[F], F]:
    """Run the method every so often (APScheduler IntervalTrigger fields: seconds=, minutes=...)."""

    def mark(fn: F) -> F:
        _rules(fn).interval.append(fields)
        return fn

    return mark


def subscribe(*event_types: type[DomainEvent]) -> Callable[[F], F]:
    """Receive other plugins' domain events of these types (the only way plugins meet)."""

    def mark(fn: F) -> F:
        _rules(fn).subscribe.extend(event_types)
        return fn

    return mark


class PluginConfig(BaseModel):
    """Base of every plugin's Config; unknown keys are errors, so typos are caught at start-up.

    ``rooms`` maps ``network:room`` to overrides of any other key for that room.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    rooms: dict[str, dict[str, Any]] = {}


C = TypeVar("C", bound="PluginConfig", covariant=True)


class _Configured(Protocol[C]):
    @property
    def config(self) -> C: ...


class Plugin:
    """Base class of plugins. Subclasses set a docstring, an optional nested ``Config`` (with a
    ``config: Config`` annotation for type checkers) and decorated handler methods."""

    Config: ClassVar[type[PluginConfig]] = PluginConfig
    hears_history: ClassVar[bool] = False
    """Whether the plugin wants the domain events of history loaded after the fact (``opsbot
    meetings import`` announces the archives it reads to such plugins, in a bot of its own with
    no networks). Only a plugin whose setup talks to nothing outside the database may say so."""

    config: PluginConfig

    def __init__(self, bot: Bot, name: str, config: PluginConfig) -> None:
        self.bot = bot
        self.name = name
        self.config = config
        self.log = logging.getLogger(f"opsbot.plugins.{name}")
        self._room_configs: dict[str, PluginConfig] = {}

    @classmethod
    def config_problems(
        cls, config: PluginConfig, networks: Sequence[NetworkBase]
    ) -> list[tuple[str, str]]:
        """Problems of this plugin's config that only the networks reveal (a room it names on
        a network the bot is not on): ``(key path within the section, reason)``. Checked by
        ``check-config`` and at start-up; use :func:`opsbot.config.room_problem`."""
        return []

    def help_topic(self, topic: str, prefix: str) -> str | None:
        """What ``!help TOPIC`` says of a topic this plugin knows that is no command of the
        router (the meetings plugin's ``#startmeeting``), or of the plugin itself when
        ``topic`` is its name; None: not this plugin's."""
        return None

    @classmethod
    def description(cls) -> str:
        doc = (cls.__doc__ or "").strip()
        return doc.splitlines()[0] if doc else ""

    @classmethod
    def migrations_dir(cls) -> str | None:
        """Folder of this plugin's Alembic revisions (``migrations/versions`` beside its module)."""
        import importlib.util
        from pathlib import Path

        spec = importlib.util.find_spec(cls.__module__)
        if spec is None or spec.origin is None:
            return None
        folder = Path(spec.origin).parent / "migrations" / "versions"
        return str(folder) if folder.is_dir() else None

    def config_for(self: _Configured[C], room: Room | None) -> C:
        """This plugin's config with the room's overrides applied, typed as the plugin's own
        ``Config`` (declare ``config: Config`` in the class)."""
        plugin = cast(Plugin, self)
        if room is None or not plugin.config.rooms:
            return self.config
        # A room is configured by its ID, or on Matrix by its alias (its name here).
        keys = (room.key, f"{room.network}:{room.name}") if room.name else (room.key,)
        key = next((k for k in keys if k in plugin.config.rooms), None)
        if key is None:
            return self.config
        cached = plugin._room_configs.get(key)
        if cached is None:
            cached = room_config(plugin.config, key)
            plugin._room_configs[key] = cached
        return cast(C, cached)

    @property
    def storage(self) -> Storage:
        return self.bot.storage

    @property
    def timezone(self) -> tzinfo:
        return self.bot.timezone

    async def emit(self, event: DomainEvent) -> None:
        """Publish a domain event to every plugin subscribed to its type."""
        await self.bot.bus.emit(event)

    def job_id(self, name: str) -> str:
        """A scheduler job id in this plugin's namespace."""
        return f"{self.name}:{name}"

    async def setup(self) -> None:
        """Called once the database is migrated, before any event arrives."""

    async def teardown(self) -> None:
        """Called at shutdown, after the last event was handled."""


def room_config(base: PluginConfig, room_key: str) -> PluginConfig:
    """Validate ``base`` with the overrides configured for ``room_key``."""
    merged = base.model_dump(exclude={"rooms"}, exclude_unset=True)
    merged.update(base.rooms[room_key])
    return type(base).model_validate(merged)


class Context:
    """What a handler gets: the event, where it came from, and ways to answer."""

    __slots__ = ("bot", "claimed", "command", "event", "groups", "plugin", "transport")

    def __init__(
        self,
        bot: Bot,
        plugin: Plugin,
        event: Event,
        transport: Transport,
        command: str | None = None,
        groups: dict[str, str | None] | None = None,
    ) -> None:
        self.bot = bot
        self.plugin = plugin
        self.event = event
        self.transport = transport
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
    def sender(self) -> Identity:
        return self.msg.sender

    @property
    def config(self) -> PluginConfig:
        return self.plugin.config_for(self.room)

    async def reply(
        self, text: str, *, html: str | None = None, mentions: Sequence[Identity] = ()
    ) -> None:
        """Answer in the room the message came from, threaded to it where the network can."""
        msg = self.msg
        await self.bot.send(msg.room, text, html=html, reply_to=msg, mentions=mentions)

    async def reply_private(self, text: str) -> None:
        """Answer the sender alone."""
        await self.transport.send_private(self.sender, text)

    async def react(self, key: str) -> None:
        msg = self.msg
        if msg.id is not None and self.transport.capabilities.reactions:
            await self.transport.react(msg.room, msg.id, key)

    async def role(self) -> Role:
        return await self.bot.role_of(self.room, self.sender)
