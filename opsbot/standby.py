"""What a process standing by serves while another process of the group is the bot: the web
site and the API, read from the shared database (and the shared minutes folder).

At once, ``/healthz`` and ``/readyz`` (503: waiting for the bot to migrate the database). Once
every enabled plugin's tables are at the revision this version declares, the plugins' pages
(:meth:`opsbot.plugin.Plugin.serve_site`), ``/metrics`` and ``/readyz`` (200) on the same
listener. People's preferences (leaving the public pages) and links are read again every
second, so a person who opts out on the bot disappears from the standby's pages within one.
Nothing here writes to the database or speaks on a network. When the process takes the lease,
this site stops and the bot's own starts on the same port.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from .config import Config
from .metrics import serve_standing_by
from .people import People
from .web import Web

log = logging.getLogger("opsbot.standby")
REFRESH_SECONDS = 1.0


class SiteOnly(Protocol):
    """A bot made to serve the site alone (``opsbot.bot.Bot`` with no network)."""

    web: Web | None

    @property
    def people(self) -> People: ...

    async def wait_migrated(self, every: float) -> None: ...

    async def start_site(self) -> None: ...

    async def stop_site(self) -> None: ...


class Standby:
    def __init__(self, config: Config, make_site: Callable[[], SiteOnly]) -> None:
        self.config = config
        self.make_site = make_site
        self.serving = asyncio.Event()
        """Set once the plugins' pages are served."""
        self.site: SiteOnly | None = None
        """The site-only bot, once made."""
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="standby site")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        web = self.config.web
        health: Callable[[], Awaitable[None]] = await serve_standing_by(web.host, web.port)
        close: Callable[[], Awaitable[None]] | None = health
        site = self.site = self.make_site()
        try:
            await site.wait_migrated(REFRESH_SECONDS)
            close = None
            await health()
            await site.start_site()
            self.serving.set()
            log.info("standing by: serving the site from the shared database")
            while True:
                await asyncio.sleep(REFRESH_SECONDS)
                try:
                    await site.people.load()
                except Exception as error:  # the database away: the pages say so themselves
                    log.debug("people not read again: %s", error)
        finally:
            if close is not None:
                await close()
            await site.stop_site()
