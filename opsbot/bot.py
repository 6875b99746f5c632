"""The bot: wires transports, stages, bus, router, storage, scheduler, outbox and plugins, runs
their lifecycle, and is the :class:`~opsbot.services.Services` every plugin is given.

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
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from . import logs
from .audit import Audit
from .bridge import BridgedRooms, BridgeStep
from .bus import Bus
from .config import Config, bridge_notes
from .context import handling
from .domain import DatabaseAvailability, LeaderboardOptOut, LineLogged, ReloadRequested
from .events import (
    Connected,
    DomainEvent,
    Event,
    Identity,
    Message,
    Role,
    Room,
    RoomEvent,
    utcnow,
)
from .later import CHANNEL as LATER
from .later import SayLater
from .lease import SCOPE as LEASE_SCOPE
from .lease import Lease
from .lease import me as lease_me
from .lease import wanted as lease_wanted
from .loader import build_configs, load_classes
from .memory import give_back
from .metrics import Metrics
from .outbox import Outbox
from .people import HIDDEN, LEADERBOARDS, People
from .personal import forget, personal_data
from .plugin import Plugin
from .router import Router
from .rules import CommandInfo, handlers_of
from .scheduler import PluginJobs, Scheduler
from .stages import Inbound, OutboundStep, Outgoing, formatting, own_echo
from .state import MIGRATIONS as STATE_MIGRATIONS
from .state import State
from .storage import Storage
from .transports import Capabilities, Transport, build_transport
from .webhooks import Webhooks

if TYPE_CHECKING:
    from .standby import Standby
    from .web import PluginSite, Web

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
        self._timezone = ZoneInfo(config.bot.timezone)
        if transports is None:
            transports = [
                build_transport(i, net, config.bot) for i, net in enumerate(config.networks)
            ]
        self.transports: dict[str, Transport] = {t.name: t for t in transports}
        self.router = Router(self, reply_unknown=config.bot.reply_unknown_command)
        self.bus = Bus(self.router.dispatch)
        self.metrics = Metrics()
        """What /metrics tells (the bot's own Prometheus registry)."""
        self.router.timed = self.metrics.command_took
        self.inbound = Inbound(self.bus)
        """Where transports hand their events: its steps run before the bus queues them."""
        self.inbound.add(self.metrics.heard)
        self.inbound.add(logs.heard)
        self.outbound: list[OutboundStep] = [formatting, self.metrics.saying]
        """The steps everything the bot says passes before its transport sends it."""
        self._storage = Storage(
            config.database.url,
            connect_timeout=config.database.connect_timeout,
            spool_dir=config.database.spool_dir,
        )
        self._storage.health.listener = self._database_changed
        self.inbound.committed = self._storage.flush_writers
        self._people = People(self._storage)
        self._audit = Audit(self._storage)
        self._outbox = Outbox(self._storage)
        self._later = SayLater(
            self._outbox,
            send=self.send,
            send_private=self.send_private,
            room_of=self.room,
            tell_admins=self.tell_admins,
        )
        self._webhooks = Webhooks(
            config.webhooks, self._outbox, self._storage, self._people, self.tell_admins
        )
        self.bridged = BridgedRooms(config.bridges, self._rooms_now)
        """The rooms bridged between IRC and Matrix (each pair one room for plugins)."""
        self._bridge_step = BridgeStep(self.bridged, self.transports, self._hand_on)
        if self.bridged:
            self.inbound.add(self._bridge_step)
        self.inbound.add(own_echo(self.transports), Message)
        self.inbound.add(self._later.network_back, Connected)
        self.scheduler = Scheduler(self._timezone)
        self.web: Web | None = None
        if config.web.enabled:  # the site's parts (aiohttp's server, Jinja2 later) only then
            from .web import Web

            self.web = Web(config.web)
        """The web site, where plugins add their pages at set-up (None when switched off)."""
        if self.web is not None:
            self.metrics.routes(self.web.app, self._storage, self._not_ready)
        self.bus.subscribe(LineLogged, self._line_logged)
        self._sites: dict[str, PluginSite] = {}
        self.plugins: dict[str, Plugin] = {}
        self._classes: dict[str, type[Plugin]] = {}
        self.started_at: datetime | None = None
        self._admins = {tuple(admin.split(":", 1)) for admin in config.bot.admins}
        self._started: list[Transport] = []
        self._stopped = False
        self._site_only = False
        self.migrate_apart = False
        """Run due migrations in a child process (``opsbot run`` does on SQLite: see
        :mod:`.migrate_apart`). On PostgreSQL the processes of a group migrate in-process, one at
        a time under an advisory lock: a child there made the first start of a test over a proxied
        link hang, a cause not yet found."""
        self._wants_own_messages = False
        self._reloads: set[asyncio.Future[None]] = set()
        """Domain events emitted from signal handlers and callbacks, until delivered."""

    # lifecycle

    async def start(self) -> None:
        """Bring everything up; raises ConfigError or StorageUnavailable, having undone the rest."""
        classes = self._classes = load_classes(self.config.plugins, self._extra_plugins)
        configs = build_configs(classes, self.config.plugins, self.config.networks)
        await self._storage.connect()
        try:
            wanted = [("opsbot", STATE_MIGRATIONS)] + [
                (name, cls.migrations_dir()) for name, cls in classes.items()
            ]
            if (
                self.migrate_apart
                and self._storage.engine.dialect.name == "sqlite"
                and await self._storage.behind(wanted)
            ):
                from .migrate_apart import migrate_apart

                await migrate_apart(self._storage.url, wanted)
            await self._storage.migrate(wanted)
            await self._people.load()
            await self._outbox.start()
            await self._later.start()
            await self._webhooks.start(self.bus.subscribe)
            for name, cls in classes.items():
                plugin = cls(self, name, configs[name])
                try:
                    await plugin.setup()
                except Exception as error:
                    log.exception("plugin %s failed to set up", name)
                    raise StartupError(f"plugin {name} failed to set up: {error}") from error
                self.plugins[name] = plugin
                self.router.register(plugin)
                self.scheduler.register(name, plugin)
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
                await transport.start(self.inbound)
                self._started.append(transport)
        except BaseException:
            await self.stop()
            raise
        for note in bridge_notes(self.config):
            log.warning("%s", note)
        self.started_at = utcnow()
        log.info(
            "opsbot ready: networks %s, plugins %s",
            ", ".join(self.transports),
            ", ".join(self.plugins),
        )

    def site_only(self) -> Bot:
        """A bot of the same config to serve the site alone while this process stands by."""
        return Bot(self.config, transports=[], extra_plugins=self._extra_plugins)

    async def wait_migrated(self, every: float) -> None:
        """Wait until the database answers and every enabled plugin's tables are at the
        revision this version declares (the bot of the group migrates them)."""
        classes = self._classes = load_classes(self.config.plugins, self._extra_plugins)
        wanted = [("opsbot", STATE_MIGRATIONS)] + [
            (name, cls.migrations_dir()) for name, cls in classes.items()
        ]
        told = ""
        while True:
            try:
                if self._storage.engine_or_none is None:
                    await self._storage.connect()
                behind = await self._storage.behind(wanted)
                if not behind:
                    return
                why = f"waiting for the bot to migrate {', '.join(behind)}"
            except Exception as error:
                why = f"waiting for the database: {error}"
            if why != told:
                log.info("standing by: %s", why)
                told = why
            await asyncio.sleep(every)

    async def start_site(self) -> None:
        """Serve the site alone, read from the shared database, while another process of the
        group is the bot (:mod:`opsbot.standby`); after :meth:`wait_migrated`."""
        configs = build_configs(self._classes, self.config.plugins, self.config.networks)
        await self._people.load()
        for name, cls in self._classes.items():
            plugin = cls(self, name, configs[name])
            await plugin.serve_site()
            self.plugins[name] = plugin
        self._site_only = True
        if self.web is not None:
            await self.web.start()
        self.started_at = utcnow()

    async def stop_site(self) -> None:
        if self.web is not None:
            await self.web.stop()
        await self._storage.close()

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
        await self._outbox.stop()
        await self._webhooks.stop()
        await self._storage.close()
        log.info("opsbot stopped")

    async def run(self) -> None:
        """Start, then run until SIGINT/SIGTERM or until a transport has no more input."""
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        signals = (signal.SIGINT, signal.SIGTERM)
        for sig in signals:
            loop.add_signal_handler(sig, stop.set)
        loop.add_signal_handler(signal.SIGHUP, self._reload)
        database = self.config.database
        lease = Lease(database.url) if database.lease and lease_wanted(database.url) else None
        try:
            if lease is not None:
                standby: Standby | None = None
                if self.config.web.enabled:
                    from .standby import Standby

                    standby = Standby(self.config, self.site_only)
                if standby is not None:
                    standby.start()
                try:
                    held = await lease.acquire(stop, give_up_after=database.connect_timeout)
                    if not held and stop.is_set():
                        log.info("stopping (signal) while standing by")
                        return
                    if not held:  # never reached: the storage's own words, as without a group
                        wait = database.connect_timeout
                        raise self._storage.unreachable(f"no answer within {wait:.0f} s")
                finally:
                    if standby is not None:
                        await standby.stop()
            self.metrics.lease_held.set(1)
            await self.start()
            if lease is not None:  # what `opsbot status` tells of the bot of the group
                await State(self.storage, LEASE_SCOPE).save(
                    {"holder": lease_me(), "since": utcnow().isoformat(),
                     "networks": ", ".join(self.transports)}
                )  # fmt: skip
            # What start-up loaded (modules, plugins, config) lives as long as the process: keep
            # it out of the cyclic collector's full passes, which otherwise walk it every time
            # (a 50 ms pause in the middle of #endmeeting on a long meeting, measured).
            gc.freeze()
            give_back()
            waiters: list[asyncio.Future[Any]] = [asyncio.ensure_future(stop.wait())]
            waiters += [t.finished for t in self.transports.values() if t.finished is not None]
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            waiters[0].cancel()
            log.info("stopping (%s)", "signal" if stop.is_set() else "end of input")
        finally:
            await self.stop()
            if lease is not None:
                await lease.release()  # after the bot is gone: the next one starts alone
            for sig in (*signals, signal.SIGHUP):
                loop.remove_signal_handler(sig)

    def _rooms_now(self, network: str) -> list[Room]:
        transport = self.transports.get(network)
        return transport.rooms() if transport is not None else []

    def _hand_on(self, event: Event) -> None:
        """Queue an event that has passed the inbound stage (a bridge's copy let go late)."""
        if not self.bus.offer(event):
            task = asyncio.ensure_future(self.bus.publish(event, wait=False))
            self._reloads.add(task)
            task.add_done_callback(self._reloads.discard)

    def _side(self, room: Room, network: str | None = None) -> Room:
        """Where to act for ``room``: itself, or for a bridged room its side on ``network``
        where the bot is there, else the first side the bot is in."""
        pair = self.bridged.pair_of(room) if self.bridged else None
        if pair is None:
            return room
        sides = self.bridged.sides(pair)
        found = next((side for side in sides if side.network == network), None)
        return found or (sides[0] if sides else self._configured_side(room))

    def _configured_side(self, room: Room) -> Room:
        pair = self.bridged.pair_of(room)
        if pair is None:
            return room
        for network in (pair.bridge.irc_network, pair.bridge.matrix_network):
            side = pair.side(network)
            if network in self.transports and side is not None:
                return side
        return room

    def _not_ready(self) -> list[str]:
        """What /readyz names as not ready, besides the database."""
        if self._site_only:
            return []  # standing by, serving the site: no network of its own to wait for
        if self.started_at is None:
            return ["starting: migrations and plugins not set up yet"]
        return [f"network {name} not connected" for name in
                self.metrics.not_connected(list(self.transports))]  # fmt: skip

    async def _line_logged(self, event: LineLogged) -> None:
        self.metrics.logged(event.network)

    def _database_changed(self, up: bool) -> None:
        """The storage found the database gone or back: tell the plugins (meetings tell
        their rooms)."""
        self.metrics.database_changed(up)
        task = asyncio.ensure_future(self.bus.emit(DatabaseAvailability(up=up)))
        self._reloads.add(task)
        task.add_done_callback(self._reloads.discard)

    def _reload(self) -> None:
        """SIGHUP: plugins that read files (the meeting calendar) read them again."""
        log.info("SIGHUP: asking plugins to reload")
        task = asyncio.ensure_future(self.bus.emit(ReloadRequested()))
        self._reloads.add(task)
        task.add_done_callback(self._reloads.discard)

    # services for plugins (opsbot.services.Services)

    @property
    def storage(self) -> Storage:
        return self._storage

    @property
    def timezone(self) -> ZoneInfo:
        return self._timezone

    @property
    def people(self) -> People:
        """Who is who across networks (linked identities and their preferences)."""
        return self._people

    @property
    def audit(self) -> Audit:
        return self._audit

    async def personal_data(self, key: tuple[str, str]) -> dict[str, Any]:
        return await personal_data(self._storage, self._classes, key)

    async def leave_public_pages(self, key: tuple[str, str], out: bool) -> None:
        await self._people.set_preference(key, LEADERBOARDS, HIDDEN if out else None)
        await self.bus.emit(LeaderboardOptOut(person=key, opted_out=out))

    async def forget(self, key: tuple[str, str], by: str) -> str:
        await self._storage.flush_writers()  # what is on its way is forgotten too
        pseudonym = await forget(self._storage, self._classes, key, by)
        await self._people.load()
        return pseudonym

    @property
    def outbox(self) -> Outbox:
        return self._outbox

    def networks(self) -> list[str]:
        return list(self.transports)

    def capabilities(self, network: str) -> Capabilities:
        transport = self.transports.get(network)
        return transport.capabilities if transport is not None else Capabilities()

    def prefix_for(self, network: str) -> str:
        """The command prefix people use on ``network``: its own, else the bot's."""
        transport = self.transports.get(network)
        return (transport.prefix if transport is not None else None) or self.config.prefix_for(
            network
        )

    def me(self, network: str) -> Identity:
        transport = self.transports.get(network)
        if transport is None:
            return Identity(network, None, self.config.bot.nick)
        return transport.me

    def is_me(self, who: Identity) -> bool:
        transport = self.transports.get(who.network)
        return transport is not None and transport.is_me(who)

    def room(self, network: str, room_id: str) -> Room:
        transport = self.transports.get(network)
        room = transport.room(room_id) if transport is not None else Room(network, room_id)
        return self.bridged.one_room(room) if self.bridged else room

    def rooms(self, network: str) -> list[Room]:
        transport = self.transports.get(network)
        return transport.rooms() if transport is not None else []

    def member(self, room: Room, nick: str) -> Identity | None:
        pair = self.bridged.pair_of(room) if self.bridged else None
        if pair is not None:
            for side in self.bridged.sides(pair):
                found = self.transports[side.network].member(side, nick)
                if found is not None:
                    return self._bridge_step.person_of(pair, found)
            return self._bridge_step.relayed(pair, nick)
        transport = self.transports.get(room.network)
        return transport.member(room, nick) if transport is not None else None

    def networks_of(self, room: Room) -> list[str]:
        pair = self.bridged.pair_of(room) if self.bridged else None
        if pair is None:
            return [room.network]
        return [pair.bridge.irc_network, pair.bridge.matrix_network]

    def sides_used(self, room: Room, handles: Sequence[tuple[str, str]]) -> list[str]:
        pair = self.bridged.pair_of(room) if self.bridged else None
        return [] if pair is None else self._bridge_step.sides_used(pair, handles)

    def is_admin(self, who: Identity) -> bool:
        """A bot admin is listed in config by ``network:account``; a nick alone never is."""
        return who.account is not None and (who.network, who.account) in self._admins

    async def role_of(self, room: Room, who: Identity) -> Role:
        if self.is_admin(who):
            return Role.BOT_ADMIN
        side = self._side(room, who.network)
        if side.network != who.network:
            return Role.NONE  # a bridged person: the bot cannot see their role where they are
        try:
            return await self.transports[side.network].role(side, who)
        except Exception:  # a role lookup must never cost a command or a meeting line
            log.exception("could not learn the role of %s in %s", who, room)
            return Role.NONE

    async def join(self, network: str, room_id: str, key: str | None = None) -> Room:
        return await self.transports[network].join(room_id, key)

    async def part(self, room: Room, reason: str | None = None) -> None:
        await self.transports[room.network].part(room, reason)

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
        """Say something in a room, through the outbound stage; the bot's own line is then
        delivered to handlers that asked for own messages (``@on(Message, own=True)``), in the
        room's order. ``mentions`` are the people the text names, for networks that link or
        notify them (Matrix pills). A text over :data:`~opsbot.text.MOST_SAID` characters is
        cut, saying so (the formatting step)."""
        out = Outgoing(room, text, html, reply_to, notice, mentions)
        for step in self.outbound:
            changed = step(out)
            if changed is None:
                return None
            out = changed
        targets = [out.room]
        if self.bridged:
            asked = out.reply_to or handling()
            asked_on = (
                asked.network if isinstance(asked, RoomEvent) and asked.room == out.room else None
            )
            targets = self.bridged.targets(out.room, asked_on) or [self._configured_side(out.room)]
        first: str | None = None
        for i, target in enumerate(targets):
            transport = self.transports[target.network]
            reply_to = out.reply_to
            if reply_to is not None and reply_to.network != target.network:
                reply_to = None
            if i and transport.capabilities.echoes_own:
                self._bridge_step.expect_echo(target, out.text)
            msg_id = await transport.send(
                target, out.text, html=out.html, reply_to=reply_to, notice=out.notice,
                mentions=out.mentions,
            )  # fmt: skip
            first = msg_id if not i else first
        transport = self.transports[targets[0].network]
        msg_id = first
        if self._wants_own_messages and not transport.capabilities.echoes_own:
            own = Message(
                network=transport.name,
                room=out.room,
                sender=transport.me,
                text=out.text,
                html=out.html,
                id=msg_id,
                reply_to=out.reply_to.id if out.reply_to else None,
                is_notice=out.notice,
                own=True,
            )
            await self.bus.publish(own, wait=False, urgent=True)
        return msg_id

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
        self._later.say(
            room, text, key=key, expires_at=expires_at, mentions=mentions, undelivered=undelivered
        )

    def tell_later(
        self, who: Identity, text: str, *, key: str, expires_at: datetime | None = None
    ) -> None:
        self._later.tell(who, text, key=key, expires_at=expires_at)

    def retry_deliveries(self) -> None:
        self._outbox.wake(LATER)

    async def send_private(self, who: Identity, text: str) -> None:
        await self.transports[who.network].send_private(who, text)

    async def react(self, room: Room, message_id: str, key: str) -> None:
        pair = self.bridged.pair_of(room) if self.bridged else None
        side = room if pair is None else self._side(room, pair.bridge.matrix_network)
        await self.transports[side.network].react(side, message_id, key)

    async def set_topic(self, room: Room, topic: str) -> None:
        side = self._side(room)
        await self.transports[side.network].set_topic(side, topic)

    def heard(self, event_type: type[DomainEvent]) -> bool:
        return self.bus.heard(event_type)

    async def emit(self, event: DomainEvent) -> None:
        await self.bus.emit(event)

    async def enqueue(self, event: Event) -> None:
        await self.bus.publish(event, wait=False, urgent=True)

    def jobs(self, plugin: str) -> PluginJobs:
        return self.scheduler.for_plugin(plugin)

    def site(self, plugin: str) -> PluginSite | None:
        if self.web is None:
            return None
        found = self._sites.get(plugin)
        if found is None:
            cls = self._classes.get(plugin)
            paths = cls.web_paths if cls is not None else ()
            found = self._sites[plugin] = self.web.mount(plugin, paths)
        return found

    def commands(self) -> list[CommandInfo]:
        return [self.router.info(handler) for handler in self.router.handlers()]

    def command(self, name: str) -> CommandInfo | None:
        handler = self.router.commands.get(name)
        return self.router.info(handler) if handler is not None else None

    def subcommands(self, name: str) -> list[CommandInfo]:
        return [self.router.info(h) for h in self.router.subcommands.get(name, ())]

    def plugins_described(self) -> list[tuple[str, str]]:
        return [(name, plugin.description()) for name, plugin in self.plugins.items()]

    def help_topic(self, topic: str, prefix: str) -> str | None:
        for plugin in self.plugins.values():
            told = plugin.help_topic(topic, prefix)
            if told is not None:
                return told
        return None
