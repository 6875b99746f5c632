"""What a plugin may use of the bot: one small typed interface, and nothing else.

Plugins and their handlers' :class:`~opsbot.context.Context` hold a :class:`Services`, never the
:class:`~opsbot.bot.Bot` (which implements it). Everything a plugin does outside its own tables
goes through here: saying things, the role of someone in a room and who is in it, who is who
across networks, domain events, the database, jobs in the plugin's own namespace, its own part of
the web site and the durable outbox. A plugin's scoped parts (:class:`Jobs`, :class:`Site`) are
asked for once, by the plugin's name.

These are types: nothing imports this module at run time (a bot that runs carries none of it),
only type checkers and readers do.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any, Protocol

from aiohttp import web

from .audit import Audit
from .events import DomainEvent, Event, Identity, Message, Role, Room
from .outbox import Outbox
from .people import People
from .rules import CommandInfo
from .storage import Storage
from .transports.base import Capabilities

JobFunc = Callable[[], Awaitable[None]]
WebHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Jobs(Protocol):
    """A plugin's scheduled jobs, named within its own namespace (``<plugin>:<name>``)."""

    def add(self, name: str, func: JobFunc, trigger: Any, **options: Any) -> str:
        """Schedule ``func`` (replacing a job of that name); returns the job's full id."""
        ...

    def remove(self, name: str) -> bool:
        """Unschedule a job; False if there was none of that name."""
        ...

    def names(self) -> list[str]:
        """The full ids of the plugin's jobs, sorted."""
        ...


class Site(Protocol):
    """A plugin's part of the web site: only the paths it declared (``Plugin.web_paths``)."""

    def add(self, path: str, handler: WebHandler, *, name: str | None = None) -> None:
        """Serve GET ``path``; raises ValueError for a path outside the plugin's own."""
        ...

    def section(self, title: str, path: str) -> None:
        """A link in the site's navigation."""
        ...

    def templates(self, folder: Path) -> None:
        """The plugin's templates, named ``<plugin>:file.html``."""
        ...

    def api(self, fragment: Path) -> None:
        """The plugin's OpenAPI fragment (YAML with ``paths`` and ``components.schemas``)."""
        ...

    def page(
        self, request: web.Request, template: str, *, status: int = 200, **context: Any
    ) -> web.Response: ...

    def url(self, path: str) -> str:
        """The public URL of a path of the site (for links the bot posts)."""
        ...

    @property
    def person_pages(self) -> bool:
        """Whether the site has ``/people/<network>:<account>`` pages to link to."""
        ...

    def serve_person_pages(self) -> None:
        """Say that this plugin serves the person pages (others link to them then)."""
        ...

    def allow_style(self, css_hash: str) -> None:
        """Let pages carry an inline style block of this hash (CSP)."""
        ...

    @property
    def csp(self) -> str: ...

    def on_cleanup(self, callback: Callable[[web.Application], Awaitable[None]]) -> None:
        """Run ``callback`` when the site stops (close streams that would hold it open)."""
        ...


class Services(Protocol):
    """The bot as plugins see it."""

    # where and when

    @property
    def storage(self) -> Storage:
        """The database (``storage.session()``), shared by every plugin."""
        ...

    @property
    def timezone(self) -> tzinfo: ...

    @property
    def people(self) -> People:
        """Who is who across networks: linked identities and their preferences."""
        ...

    async def personal_data(self, key: tuple[str, str]) -> dict[str, Any]:
        """Everything the bot and its plugins keep about the person ``key`` is (JSON values)."""
        ...

    async def leave_public_pages(self, key: tuple[str, str], out: bool) -> None:
        """Take ``key``'s person off every public page and leaderboard (``out``), or back on;
        plugins hear ``LeaderboardOptOut``."""
        ...

    async def forget(self, key: tuple[str, str], by: str) -> str:
        """Forget the person ``key`` is (every plugin's part), at once on every page; returns
        the pseudonym they have now."""
        ...

    @property
    def audit(self) -> Audit:
        """The audit trail of refusals bot admins read (``opsbot audit``)."""
        ...

    @property
    def outbox(self) -> Outbox:
        """The durable outbox: deliveries committed before they are attempted."""
        ...

    def networks(self) -> list[str]:
        """The names of the networks the bot is on, in config order."""
        ...

    def capabilities(self, network: str) -> Capabilities: ...

    def prefix_for(self, network: str) -> str:
        """The command prefix people use on ``network``."""
        ...

    def me(self, network: str) -> Identity:
        """The bot's own identity on ``network``."""
        ...

    def is_me(self, who: Identity) -> bool: ...

    # rooms and people in them

    def room(self, network: str, room_id: str) -> Room:
        """The Room of an id (the one the bot is in, with its name, else a fresh one)."""
        ...

    def rooms(self, network: str) -> list[Room]:
        """The rooms the bot is in on ``network`` now."""
        ...

    def member(self, room: Room, nick: str) -> Identity | None:
        """Who answers to ``nick`` in ``room`` now, if anyone (in a bridged room: on either
        side, a puppet as the person it stands for)."""
        ...

    def networks_of(self, room: Room) -> list[str]:
        """The networks whose people speak in ``room``: its own, and for a room bridged
        between IRC and Matrix the other side's too."""
        ...

    def sides_used(self, room: Room, handles: Sequence[tuple[str, str]]) -> list[str]:
        """The networks from which the person with these identity keys (``Identity.handle``)
        has spoken in ``room`` since the bot started: for a bridged room, which sides they use
        (empty for other rooms)."""
        ...

    async def role_of(self, room: Room, who: Identity) -> Role: ...

    def is_admin(self, who: Identity) -> bool: ...

    async def join(self, network: str, room_id: str, key: str | None = None) -> Room: ...

    async def part(self, room: Room, reason: str | None = None) -> None: ...

    # saying things

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
        """Say something in a room, through the outbound stage."""
        ...

    async def send_private(self, who: Identity, text: str) -> None: ...

    def say_later(
        self,
        room: Room,
        text: str,
        *,
        key: str,
        expires_at: datetime | None = None,
        mentions: Sequence[Identity] = (),
        undelivered: str | None = None,
    ) -> None:
        """Say it through the durable outbox: stored before it is tried, once per ``key``,
        again until it lands or ``expires_at`` passes (then the admins hear ``undelivered``)."""
        ...

    def tell_later(
        self, who: Identity, text: str, *, key: str, expires_at: datetime | None = None
    ) -> None:
        """Tell one person through the durable outbox (as :meth:`say_later`)."""
        ...

    def retry_deliveries(self) -> None:
        """Try what waits in the outbox to be said now, whatever its backoff says."""
        ...

    async def react(self, room: Room, message_id: str, key: str) -> None: ...

    async def set_topic(self, room: Room, topic: str) -> None: ...

    async def tell_admins(self, text: str) -> int:
        """Tell every bot admin privately; how many were reached. Never raises."""
        ...

    # events

    def heard(self, event_type: type[DomainEvent]) -> bool:
        """Whether a plugin listens for ``event_type`` (one that delivers it, say)."""
        ...

    async def emit(self, event: DomainEvent) -> None:
        """Publish a domain event to every plugin subscribed to its type."""
        ...

    async def enqueue(self, event: Event) -> None:
        """Queue a room event behind what its room has queued (handled in the room's order)."""
        ...

    # the plugin's own parts, and the rest of the bot as help describes it

    def jobs(self, plugin: str) -> Jobs: ...

    def site(self, plugin: str) -> Site | None:
        """The plugin's part of the web site; None when the site is switched off."""
        ...

    def commands(self) -> list[CommandInfo]:
        """Every command once, in name order."""
        ...

    def command(self, name: str) -> CommandInfo | None:
        """The command of a name or alias (``kudos top`` for a subcommand)."""
        ...

    def subcommands(self, name: str) -> list[CommandInfo]:
        """The subcommands of a command (``kudos top``... of ``kudos``), in declaration order."""
        ...

    def plugins_described(self) -> list[tuple[str, str]]:
        """Each loaded plugin's name and one-line description, in load order."""
        ...

    def help_topic(self, topic: str, prefix: str) -> str | None:
        """What a plugin says of a topic that is no command (``#startmeeting``)."""
        ...


__all__ = ["CommandInfo", "Jobs", "Services", "Site"]
