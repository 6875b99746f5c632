"""The meetings plugin's config, and what a meeting's :class:`~.engine.Settings` are made of it.

The live plugin and the command-line tools (import, regenerate, show) read a meeting's settings
the same way, from the same place: the config section with the room's overrides, the command
prefix of the network, and where the archive is on the web.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, Field

from opsbot.plugin_config import PluginConfig, RoomConfigs

from .engine import Settings
from .paths import DEFAULT_PATTERN, check_pattern

if TYPE_CHECKING:
    from opsbot.events import Room

RESERVED = frozenset({"help", "actions", "commands"})
"""Meeting commands that, after the bot's own prefix, stay the bot's commands (``!help``)."""
LINK_LABELS = (("Minutes", ".html"), ("Minutes (text)", ".txt"), ("Log", ".log.html"))


class MeetingsConfig(PluginConfig):
    output_dir: Path = Path("var/meetings")
    url_prefix: str | None = None
    """Public URL of ``output_dir``, in the links the bot posts and the files hold (default:
    the bot's web site, ``web.base_url`` + ``/meetings``; none when the site is off)."""
    filename_pattern: Annotated[str, AfterValidator(check_pattern)] = DEFAULT_PATTERN
    """Where a meeting's files go under ``output_dir``: ``{name}`` and ``{start:%Y...}``."""
    duration_minutes: int = Field(default=60, ge=1)
    """Anyone may #endmeeting once a meeting has run this long."""
    set_topic: bool = False
    """Set the channel topic on #topic and #meetingtopic, as MeetBot can."""
    announce_open_actions: bool = True
    """At #startmeeting, list the open action items of the last meeting of that name."""
    live_follow: Literal["notify", "poll"] = "notify"
    """How a process standing by follows the meetings in progress for its live pages: woken by
    the bot's PostgreSQL NOTIFY after each batch of lines (falling back to the timer), or
    reading on the timer alone."""
    live_poll_seconds: float = Field(default=2.0, gt=0, le=60)
    """The follower's timer (with ``poll``, its only clock: 0.25 is a good value there)."""


class MeetingSettings:
    """A meeting's settings from the config: for one starting now, or as stored with one."""

    def __init__(
        self,
        configs: RoomConfigs[MeetingsConfig],
        prefix_for: Callable[[str], str],
        site_url: Callable[[str], str] | None,
    ) -> None:
        self.configs = configs
        self._prefix_for = prefix_for
        """The command prefix people use on a network."""
        self._site_url = site_url
        """The public URL of a path of the bot's site (None: the site is off)."""

    def url_prefix(self, config: MeetingsConfig) -> str:
        """Where the archive is on the web: the configured prefix, else the bot's site."""
        if config.url_prefix is not None:
            return config.url_prefix
        return self._site_url("/meetings") if self._site_url is not None else ""

    def now(self, room: Room) -> Settings:
        """The settings a meeting starting in ``room`` now is read by (from the config)."""
        config = self.configs.for_room(room)
        prefixes = ("#", self._prefix_for(room.network))
        url_prefix = self.url_prefix(config)
        return Settings(
            prefixes=tuple(dict.fromkeys(prefixes)),
            reserved=RESERVED,
            duration=timedelta(minutes=config.duration_minutes),
            pattern=config.filename_pattern,
            links=tuple(
                (label, f"{url_prefix.rstrip('/')}/{{path}}{ext}") for label, ext in LINK_LABELS
            ),
            url_prefix=url_prefix,
        )

    def stored(self, stored: dict[str, Any] | None, room: Room) -> Settings:
        """The settings a meeting started with, as stored with it; a meeting stored before
        they were (0.10 and older) is read by today's."""
        return Settings.from_json(stored) if stored is not None else self.now(room)
