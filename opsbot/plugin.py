"""The plugin base class: what a plugin is, and the public API plugins are written against.

A plugin holds the bot's :class:`~opsbot.services.Services` (never the bot), its validated
config section and its name. The declarations (``@command``, ``@on``, ...) live in
:mod:`opsbot.rules` and the handler's :class:`~opsbot.context.Context` in :mod:`opsbot.context`;
both are re-exported here, so a plugin imports everything from ``opsbot.plugin``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import tzinfo
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar, cast

from .context import Context
from .events import DomainEvent, Room
from .plugin_config import PluginConfig, RoomConfigs, room_config
from .rules import (
    CommandSpec,
    Handler,
    RateSpec,
    Rest,
    Rules,
    command,
    cron,
    handlers_of,
    interval,
    match,
    on,
    rate,
    require,
    require_account,
    rules_of,
    subscribe,
)

if TYPE_CHECKING:
    from .config import NetworkBase
    from .services import Jobs, Services, Site
    from .storage import Storage

Key = tuple[str, str]
"""(network, account)"""

__all__ = [
    "CommandSpec",
    "Context",
    "Handler",
    "Plugin",
    "PluginConfig",
    "RateSpec",
    "Rest",
    "RoomConfigs",
    "Rules",
    "command",
    "cron",
    "handlers_of",
    "interval",
    "match",
    "on",
    "rate",
    "require",
    "require_account",
    "room_config",
    "rules_of",
    "subscribe",
]

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

    web_paths: ClassVar[tuple[str, ...]] = ()
    """The paths of the web site this plugin serves (each with what lies below it, and the same
    under ``/api``); its :attr:`web` part refuses any other."""

    config: PluginConfig

    def __init__(self, services: Services, name: str, config: PluginConfig) -> None:
        self.services = services
        self.name = name
        self.config = config
        self.log = logging.getLogger(f"opsbot.plugins.{name}")
        self.room_configs = RoomConfigs(config)
        """This plugin's config for each room (what :meth:`config_for` reads)."""

    @classmethod
    def config_problems(
        cls, config: PluginConfig, networks: Sequence[NetworkBase]
    ) -> list[tuple[str, str]]:
        """Problems of this plugin's config that only the networks reveal (a room it names on
        a network the bot is not on): ``(key path within the section, reason)``. Checked by
        ``check-config`` and at start-up; use :func:`opsbot.config.room_problem`."""
        return []

    @classmethod
    async def personal_data(cls, storage: Storage, identities: list[Key]) -> dict[str, Any]:
        """Everything this plugin keeps about the person with these identities (``!mydata``,
        ``opsbot people export``): plain JSON values, keyed by what they are. Runs without an
        instance (the command line builds no plugin)."""
        return {}

    @classmethod
    async def forget(cls, storage: Storage, identities: list[Key], pseudonym: str) -> None:
        """Forget the person with these identities (``!forget me``): remove what is theirs
        alone (reasons they wrote, addresses, sightings) and put ``pseudonym`` where their name
        or account stands in what counts (totals, ledger), so counts stay and public minutes
        are untouched. Runs without an instance (``opsbot people forget`` builds no plugin)."""

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

        try:
            spec = importlib.util.find_spec(cls.__module__)
        except ValueError:  # defined in a script run as __main__: no migrations of its own
            return None
        if spec is None or spec.origin is None:
            return None
        folder = Path(spec.origin).parent / "migrations" / "versions"
        return str(folder) if folder.is_dir() else None

    def config_for(self: _Configured[C], room: Room | None) -> C:
        """This plugin's config with the room's overrides applied, typed as the plugin's own
        ``Config`` (declare ``config: Config`` in the class)."""
        return cast(C, cast(Plugin, self).room_configs.for_room(room))

    @property
    def storage(self) -> Storage:
        return self.services.storage

    @property
    def timezone(self) -> tzinfo:
        return self.services.timezone

    @property
    def jobs(self) -> Jobs:
        """This plugin's scheduled jobs (named within ``<plugin>:``)."""
        return self.services.jobs(self.name)

    @property
    def web(self) -> Site | None:
        """This plugin's part of the web site (its ``web_paths``); None when the site is off."""
        return self.services.site(self.name)

    async def emit(self, event: DomainEvent) -> None:
        """Publish a domain event to every plugin subscribed to its type."""
        await self.services.emit(event)

    def job_id(self, name: str) -> str:
        """A scheduler job id in this plugin's namespace."""
        return f"{self.name}:{name}"

    async def setup(self) -> None:
        """Called once the database is migrated, before any event arrives."""

    async def teardown(self) -> None:
        """Called at shutdown, after the last event was handled."""

    async def serve_site(self) -> None:
        """Called instead of :meth:`setup` in a process that stands by (another process of the
        group is the bot): add this plugin's pages, read from the shared database, and nothing
        else (no writes, no jobs, no networks). Background work it starts must end when the
        site stops (``web.on_cleanup``). Plugins without pages need not override it."""
