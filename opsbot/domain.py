"""Domain events plugins publish to each other: the contract between, e.g., meetings and etherpad.

They live in the core so that a plugin can subscribe to another plugin's events without importing
that plugin. Identities are plain ``(nick, account)`` data; times are aware UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from .events import DomainEvent


@dataclass(frozen=True, slots=True, kw_only=True)
class MeetingEvent(DomainEvent):
    meeting_id: int
    network: str
    room: str
    meeting_name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class MeetingStarted(MeetingEvent):
    owner: str
    owner_account: str | None = None
    chairs: tuple[str, ...] = ()
    log_url: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class LineLogged(MeetingEvent):
    seq: int
    kind: str
    nick: str
    account: str | None
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TopicChanged(MeetingEvent):
    topic: str
    nick: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemRecorded(MeetingEvent):
    """A minute item (``kind`` in MeetBot's names: INFO, ACTION, AGREED...)."""

    seq: int
    kind: str
    nick: str
    text: str
    restricted: bool = False
    """Made under ``#restrictlogs``: nothing of it may be shown publicly."""
    account: str | None = None
    """The account of whoever said it, where the network proves one."""
    link: str = ""
    """Where its line is in the meeting's log on the bot's site (empty: no site)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionItemRecorded(ItemRecorded):
    owners: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemUndone(MeetingEvent):
    seq: int
    kind: str
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemRevised(MeetingEvent):
    """The line that made an item was edited (``text`` is the item's new text) or redacted
    (``redacted``; ``text`` is empty and the item is gone from the minutes). Whatever holds a
    copy of the item (the pad) must follow: nothing a person redacted stays anywhere."""

    seq: int
    kind: str
    text: str
    redacted: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class MeetingEnded(MeetingEvent):
    attendees: dict[str, int] = field(default_factory=dict)
    """Nick to lines said."""
    accounts: dict[str, str | None] = field(default_factory=dict)
    """Nick to the account it was seen with, where the network proved one."""
    links: dict[str, str] = field(default_factory=dict)
    actions: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """``(text, owners)`` of every action item."""
    chairs: tuple[tuple[str, str | None], ...] = ()
    """``(nick, account)`` of the chairs at the end."""
    action_ids: tuple[int, ...] = ()
    """The stored ID of each action item, in the order of ``actions`` (``!done ID``)."""
    restricted: bool = False
    """Held under ``#restrictlogs``: nothing of it may be shown publicly."""
    imported: bool = False
    """Read from an archive (``opsbot meetings import``), not held live: nobody's account was
    seen, and it ended long ago."""
    title: str = ""
    """The meeting's name as the chair wrote it (``Ops Meetup Team``; ``meeting_name`` is the
    archive's ``ops_meetup_team``)."""
    topics: tuple[str, ...] = ()
    """The ``#topic`` of each part, in order."""
    minutes_text: str = ""
    """The plain-text minutes (MeetBot's ``.txt``) as written at the end."""
    started_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PadChosen(MeetingEvent):
    """The pad a running meeting writes to (from config at the start, or ``#pad URL``)."""

    url: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionItemClosed(MeetingEvent):
    """An action item of an ended meeting marked done (``!done``); the meeting fields are the
    item's meeting."""

    action_id: int
    text: str
    owners: tuple[tuple[str, str | None], ...] = ()
    """``(nick, account)`` of each owner, the account as seen in that meeting."""
    closed_by: tuple[str, str | None]
    """``(nick, account)`` of whoever closed it."""
    restricted: bool = False
    """Its meeting was held under ``#restrictlogs``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ChairsChanged(MeetingEvent):
    chairs: tuple[tuple[str, str | None], ...] = ()
    """``(nick, account)`` of every chair now."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AgendaProposed(MeetingEvent):
    """A meeting's agenda from elsewhere (the pad): ``#topic next`` walks through it."""

    items: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class KudosGiven(DomainEvent):
    kudos_id: int
    network: str
    room: str
    giver: tuple[str, str]
    """(network, account) — or (network, ``~nick``) where accounts are not required."""
    receiver: tuple[str, str]
    receiver_nick: str
    category: str
    reason: str
    evidence: tuple[tuple[str, str], ...] = ()
    """(kind, link) of each evidence link in the reason."""


@dataclass(frozen=True, slots=True, kw_only=True)
class KudosWithdrawn(DomainEvent):
    """Undone by the giver, or revoked by an admin."""

    kudos_id: int
    how: str
    """undone or revoked."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PeopleLinked(DomainEvent):
    """Identities became one person (``!link``): credit between them stops counting."""

    identities: tuple[tuple[str, str], ...]
    """Every (network, account) of the person now."""
    by: str


@dataclass(frozen=True, slots=True, kw_only=True)
class LeaderboardOptOut(DomainEvent):
    """Someone left (``opted_out``) or rejoined the public leaderboards and digests."""

    person: tuple[str, str]
    """(network, account) as the kudos plugin keys people."""
    opted_out: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class FollowUpDue(DomainEvent):
    """The owner of an open action item is to hear of it before the next meeting of its series.
    A plugin that delivers follow-ups another way (mail, to a verified address) takes it; the
    schedule plugin emits it only when one listens, and tells the owner in chat otherwise."""

    network: str
    account: str | None
    nick: str
    action_id: int
    action_text: str
    meeting_name: str
    text: str
    """The follow-up as the owner would read it in chat."""
    key: str
    """Once per key, whoever delivers it."""
    expires_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DatabaseAvailability(DomainEvent):
    """The database went away (``up`` false: what is written waits in the local spool) or came
    back (``up`` true: what waited is being stored). Said once per outage."""

    up: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class ReloadRequested(DomainEvent):
    """Reload configuration-like files now (the process got SIGHUP)."""
