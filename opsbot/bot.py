"""The bot: wires transports, bus, router, storage, scheduler and plugins, and runs their lifecycle.

Start-up order: plugin classes and their config sections are validated, the database is reached
and migrated, plugins are set up and registered, the scheduler starts, then the transports
connect. Stopping goes the other way and loses nothing queued: transports stop taking input,
the bus handles what it holds, plugins tear down, and the database is closed last.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from .bus import Bus
from .config import Config
from .domain import DatabaseAvailability, ReloadRequested
from .events import Identity, Message, Role, Room, utcnow
from .loader import build_configs, load_classes
from .people import People
from .plugin import Plugin, handlers_of
from .router import Router
from .scheduler import Scheduler
from .state import MIGRATIONS as STATE_MIGRATIONS
from .state import State
from .storage import Storage
from .text import fit
from .transports import Transport, build_transport
from .web import Web

log = logging.getLogger("opsbot")


class StartupError(Exception):
    """The bot cannot start for a reason outside the config (the message says which)."""


class Bot:
    def __init__(
        self,
        config: Config,
        *,
        transports: Sequence[Transport] | None = None,
        extra_plugins: Mapping[str, type[Plugin]] | None = None,
    ) -> None:
        """``extra_plugins`` offers plugin classes that are not installed (tests, embedding);
        like installed ones, they load only when ``plugins.enabled`` names them."""
        self.config = config
        self._extra_plugins = dict(extra_plugins or {})
        self.timezone = ZoneInfo(config.bot.timezone)
        self.router = Router(self)
        self.bus = Bus(self.router.dispatch)
        self.storage = Storage(
            config.database.url,
            connect_timeout=config.database.connect_timeout,
            spool_dir=config.database.spool_dir,
        )
        self.storage.health.listener = self._database_changed
        self.people = People(self.storage)
        """Who is who across networks (linked identities)."""
        self.scheduler = Scheduler(self.timezone)
        self.web: Web | None = Web(config.web) if config.web.enabled else None
        """The web site, where plugins add their pages at set-up (None when switched off)."""
        if transports is None:
            transports = [
                build_transport(i, net, config.bot) for i, net in enumerate(config.networks)
            ]
        self.transports: dict[str, Transport] = {t.name: t for t in transports}
        self.plugins: dict[str, Plugin] = {}
        self.started_at: datetime | None = None
        self._admins = {tuple(admin.split(":", 1)) for admin in config.bot.admins}
        self._started: list[Transport] = []
        self._stopped = False
        self._wants_own_messages = False
        self._reloads: set[asyncio.Future[None]] = set()
        """Domain events emitted from signal handlers and callbacks, until delivered."""

    # lifecycle

    async def start(self) -> None:
        """Bring everything up; raises ConfigError or StorageUnavailable, having undone the rest."""
        classes = load_classes(self.config.plugins, self._extra_plugins)
        configs = build_configs(classes, self.config.plugins, self.config.networks)
        await self.storage.connect()
        try:
            await self.storage.migrate(
                [("opsbot", STATE_MIGRATIONS)]
                + [(name, cls.migrations_dir()) for name, cls in classes.items()]
            )
            for name, cls in classes.items():
                plugin = cls(self, name, configs[name])
                try:
                    await plugin.setup()
                except Exception as error:
                    log.exception("plugin %s failed to set up", name)
                    raise StartupError(f"plugin {name} failed to set up: {error}") from error
                self.plugins[name] = plugin
                self.router.register(plugin)
                self.scheduler.register(plugin)
                for fn, rules in handlers_of(plugin):
                    for event_type in rules.subscribe:
                        self.bus.subscribe(event_type, fn)
                    self._wants_own_messages |= rules.own_messages
            self.scheduler.start()
            if self.web is not None:
                try:
                    await self.web.start()
                except OSError as error:
                    raise StartupError(
                        f"cannot serve the web site on {self.config.web.listen}: {error.strerror}"
                    ) from error
            for transport in self.transports.values():
                transport.state = State(self.storage, f"network:{transport.name}")
                await transport.start(self.bus)
                self._started.append(transport)
        except BaseException:
            await self.stop()
            raise
        self.started_at = utcnow()
        log.info(
            "opsbot ready: networks %s, plugins %s",
            ", ".join(self.transports),
            ", ".join(self.plugins),
        )

    async def stop(self) -> None:
        """Stop cleanly: handle everything queued, then tear down; safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        if self.web is not None:
            await self.web.stop()
        await self.bus.close()
        for transport in reversed(self._started):
            try:
                await transport.stop()
            except Exception:
                log.exception("stopping network %s failed", transport.name)
        self.scheduler.shutdown()
        for name, plugin in reversed(self.plugins.items()):
            try:
                await plugin.teardown()
            except Exception:
                log.exception("plugin %s failed to tear down", name)
        await self.storage.close()
        log.info("opsbot stopped")

    async def run(self) -> None:
        """Start, then run until SIGINT/SIGTERM or until a transport has no more input."""
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        signals = (signal.SIGINT, signal.SIGTERM)
        for sig in signals:
            loop.add_signal_handler(sig, stop.set)
        loop.add_signal_handler(signal.SIGHUP, self._reload)
        try:
            await self.start()
            # What start-up loaded (modules, plugins, config) lives as long as the process: keep
            # it out of the cyclic collector's full passes, which otherwise walk it every time
            # (a 50 ms pause in the middle of #endmeeting on a long meeting, measured).
            gc.freeze()
            waiters: list[asyncio.Future[Any]] = [asyncio.ensure_future(stop.wait())]
            waiters += [t.finished for t in self.transports.values() if t.finished is not None]
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            waiters[0].cancel()
            log.info("stopping (%s)", "signal" if stop.is_set() else "end of input")
        finally:
            await self.stop()
            for sig in (*signals, signal.SIGHUP):
                loop.remove_signal_handler(sig)

    def _database_changed(self, up: bool) -> None:
        """The storage found the database gone or back: tell the plugins (meetings tell
        their rooms)."""
        task = asyncio.ensure_future(self.bus.emit(DatabaseAvailability(up=up)))
        self._reloads.add(task)
        task.add_done_callback(self._reloads.discard)

    def _reload(self) -> None:
        """SIGHUP: plugins that read files (the meeting calendar) read them again."""
        log.info("SIGHUP: asking plugins to reload")
        task = asyncio.ensure_future(self.bus.emit(ReloadRequested()))
        self._reloads.add(task)
        task.add_done_callback(self._reloads.discard)

    # services for plugins

    def prefix_for(self, network: str) -> str:
        """The command prefix people use on ``network``: its own, else the bot's."""
        transport = self.transports.get(network)
        return (transport.prefix if transport is not None else None) or self.config.bot.prefix

    def is_admin(self, who: Identity) -> bool:
        """A bot admin is listed in config by ``network:account``; a nick alone never is."""
        return who.account is not None and (who.network, who.account) in self._admins

    async def tell_admins(self, text: str) -> int:
        """Tell every bot admin privately (something went wrong that a person must know);
        returns how many were reached. Never raises."""
        reached = 0
        for network, account in sorted(self._admins):
            transport = self.transports.get(network)
            if transport is None:
                continue
            nick = account.removeprefix("@").split(":", 1)[0]
            try:
                await transport.send_private(Identity(network, account, nick), text)
                reached += 1
            except Exception as error:
                log.warning("could not tell the admin %s:%s: %s", network, account, error)
        if not reached:
            log.error("no bot admin could be told: %s", text)
        return reached

    async def role_of(self, room: Room, who: Identity) -> Role:
        if self.is_admin(who):
            return Role.BOT_ADMIN
        try:
            return await self.transports[room.network].role(room, who)
        except Exception:  # a role lookup must never cost a command or a meeting line
            log.exception("could not learn the role of %s in %s", who, room)
            return Role.NONE

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
        """Say something in a room; the bot's own line is then delivered to handlers that asked
        for own messages (``@on(Message, own=True)``), in the room's order. ``mentions`` are the
        people the text names, for networks that link or notify them (Matrix pills). A text
        over :data:`~opsbot.text.MOST_SAID` characters is cut, saying so."""
        text = fit(text)
        transport = self.transports[room.network]
        msg_id = await transport.send(
            room, text, html=html, reply_to=reply_to, notice=notice, mentions=mentions
        )
        if self._wants_own_messages and not transport.capabilities.echoes_own:
            own = Message(
                network=room.network,
                room=room,
                sender=transport.me,
                text=text,
                html=html,
                id=msg_id,
                reply_to=reply_to.id if reply_to else None,
                is_notice=notice,
            )
            await self.bus.publish(own, wait=False, urgent=True)
        return msg_id
