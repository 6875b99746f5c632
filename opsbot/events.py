"""The events that transports produce and plugins consume: the contract between networks and plugins.

Every event is a frozen dataclass with an aware UTC timestamp. Plugins never see `irc` or `nio`
objects; anything network-specific they might need for a log is kept in ``raw``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any


def utcnow() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.now(UTC)


def _as_utc(ts: datetime) -> datetime:
    if ts.tzinfo is None or ts.utcoffset() is None:
        raise ValueError(f"event timestamps must be timezone-aware, got naive {ts!r}")
    return ts.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Identity:
    """Who someone is on one network.

    ``account`` is what the network can prove (a Matrix user ID, an IRC services account) or None.
    Anything that gives or counts credit keys on :attr:`key`, never on the nick.
    """

    network: str
    account: str | None
    nick: str
    display: str | None = None

    @property
    def key(self) -> tuple[str, str] | None:
        """``(network, account)``, or None when the network could not prove who this is."""
        return None if self.account is None else (self.network, self.account)

    @property
    def name(self) -> str:
        """The name to show people: the display name where there is one, else the nick."""
        return self.display or self.nick

    @property
    def handle(self) -> tuple[str, str]:
        """Who this is as far as the bot can tell: ``(network, account)`` where the network
        proves it, else ``(network, "~" + case-folded nick)``. The one identity key of the bot
        for what may be kept of someone unproven (rate limits, imported archives)."""
        if self.account is not None:
            return (self.network, self.account)
        return (self.network, "~" + self.nick.casefold())

    def is_seen_as(self, network: str, nick: str, account: str | None) -> bool:
        """Whether this is the person seen on ``network`` as ``nick``/``account`` (a chair, an
        action item's owner): by account where one was seen (kept as :func:`account_in` keeps
        it), else by nick on that network, case-folded. The one "who is WHO" rule."""
        if account is not None:
            return self.account is not None and account_key(network, account) == (
                self.network,
                self.account,
            )
        return network == self.network and self.nick.casefold() == nick.casefold()

    def __str__(self) -> str:
        return self.nick


def account_in(network: str, who: Identity) -> str | None:
    """``who``'s account as a room of ``network`` keeps it: as it is for its own network's
    people, ``their-network:account`` for someone from another (a room bridged between IRC and
    Matrix); None where no network proves one."""
    if who.account is None or who.network == network:
        return who.account
    return f"{who.network}:{who.account}"


def account_key(network: str, account: str) -> tuple[str, str]:
    """``(network, account)`` of an account kept by a room of ``network`` (see
    :func:`account_in`; a Matrix ID is ``@name:server``, an IRC account holds no colon)."""
    other, colon, rest = account.partition(":")
    if colon and rest and not account.startswith("@"):
        return (other, rest)
    return (network, account)


@dataclass(frozen=True, slots=True)
class Room:
    """A channel or room on one network; ``id`` is ``#channel`` on IRC or ``!id:server`` on Matrix."""

    network: str
    id: str
    name: str | None = None
    is_direct: bool = False

    @property
    def key(self) -> str:
        """``network:id``, the form config uses for per-room overrides."""
        return f"{self.network}:{self.id}"

    def __str__(self) -> str:
        return self.name or self.id


@dataclass(frozen=True, slots=True)
class Address:
    """Where an IRC line came from beyond the nick: ``user`` and ``host`` of ``nick!user@host``,
    and the realname where the bot has learned it (a bridge's puppets are told by these)."""

    user: str
    host: str
    realname: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Base of everything that happens on a network."""

    network: str
    ts: datetime = field(default_factory=utcnow)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ts", _as_utc(self.ts))

    @property
    def lane(self) -> str:
        """Events with the same lane are handled strictly in arrival order."""
        return self.network


@dataclass(frozen=True, slots=True, kw_only=True)
class RoomEvent(Event):
    """An event that happens in one room."""

    room: Room

    @property
    def lane(self) -> str:
        return self.room.key


@dataclass(frozen=True, slots=True, kw_only=True)
class Message(RoomEvent):
    """A line someone said. ``text`` is plain (formatting stripped); ``html`` is the rich form."""

    sender: Identity
    text: str
    html: str | None = None
    id: str | None = None
    reply_to: str | None = None
    is_action: bool = False
    is_notice: bool = False
    own: bool = False
    """The bot said it (set by the inbound stage's own-echo step, or by the bot itself)."""
    address: Address | None = None
    """The IRC sender's user, host and realname (None on other networks)."""
    bridged: bool = False
    """A bridge carried it from the other side (set by the inbound stage's bridge step)."""
    raw: Any = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Join(RoomEvent):
    who: Identity


@dataclass(frozen=True, slots=True, kw_only=True)
class Part(RoomEvent):
    """Someone left the room; ``is_quit`` when they left the whole network."""

    who: Identity
    reason: str | None = None
    is_quit: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class NickChange(Event):
    old: Identity
    new: Identity


@dataclass(frozen=True, slots=True, kw_only=True)
class Reaction(RoomEvent):
    sender: Identity
    target_id: str
    key: str
    id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Edit(RoomEvent):
    """A correction of an earlier message (Matrix ``m.replace``)."""

    sender: Identity
    target_id: str
    text: str
    html: str | None = None
    id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Redaction(RoomEvent):
    """An earlier message withdrawn; its text must vanish from every output."""

    sender: Identity
    target_id: str
    reason: str | None = None
    id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Connected(Event):
    """The transport is (again) connected and identified as ``me``."""

    me: Identity


@dataclass(frozen=True, slots=True, kw_only=True)
class Disconnected(Event):
    reason: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DomainEvent:
    """Base for events plugins publish to each other (e.g. an action item was recorded)."""

    ts: datetime = field(default_factory=utcnow)


class Role(IntEnum):
    """What someone may do in a room, from channel modes or power levels; bot admins outrank all."""

    NONE = 0
    VOICE = 1
    OP = 2
    ADMIN = 3
    BOT_ADMIN = 4

    @property
    def label(self) -> str:
        return {
            Role.NONE: "anyone",
            Role.VOICE: "voice",
            Role.OP: "op",
            Role.ADMIN: "room admin",
            Role.BOT_ADMIN: "bot admin",
        }[self]
