"""What the bot counts for Prometheus, and how it says it is alive and ready.

``/metrics`` (prometheus-client's text format, a registry of the bot's own so several bots in one
process never mix): events in per network and kind, lines said per network, command latency,
meeting lines logged, the outbox's depth and oldest entry per channel, connections and
reconnects per network, database errors. ``/healthz``: the process answers. ``/readyz``: every
network connected, the database reachable, migrations done (start-up finished); 503 with the
reasons otherwise.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from .events import Connected, Disconnected, Event, Message, utcnow
from .outbox import waiting_by_channel

if TYPE_CHECKING:
    from aiohttp import web

    from .stages import Outgoing
    from .storage import Storage

log = logging.getLogger("opsbot.web")
DATABASE_TIMEOUT = 2.0
"""Seconds /readyz waits for the database's answer."""
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class Metrics:
    def __init__(self) -> None:
        disable_created_metrics()  # type: ignore[no-untyped-call]  # no *_created series beside each counter: noise on a scrape
        self.registry = CollectorRegistry()
        r = self.registry
        self.events_in = Counter(
            "opsbot_events_in", "Events received, by network and kind.", ["network", "kind"],
            registry=r,
        )  # fmt: skip
        self.said = Counter(
            "opsbot_messages_out", "Lines the bot said, by network.", ["network"], registry=r
        )
        self.command_seconds = Histogram(
            "opsbot_command_seconds", "Time to handle a command, by command.", ["command"],
            buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.lines_logged = Counter(
            "opsbot_meeting_lines_logged", "Lines logged in meetings, by network.", ["network"],
            registry=r,
        )  # fmt: skip
        self.outbox_depth = Gauge(
            "opsbot_outbox_depth", "Entries waiting in the outbox, by channel.", ["channel"],
            registry=r,
        )  # fmt: skip
        self.outbox_age = Gauge(
            "opsbot_outbox_oldest_seconds", "Age of the oldest waiting entry, by channel.",
            ["channel"], registry=r,
        )  # fmt: skip
        self.connected = Gauge(
            "opsbot_network_connected", "1 while the network is connected.", ["network"],
            registry=r,
        )  # fmt: skip
        self.reconnects = Counter(
            "opsbot_reconnects", "Connections made again after the first, by network.",
            ["network"], registry=r,
        )  # fmt: skip
        self.database_errors = Counter(
            "opsbot_database_errors", "Failed database writes or reads (each try).", registry=r
        )
        self.database_up = Gauge("opsbot_database_up", "1 while the database answers.", registry=r)
        self.lease_held = Gauge(
            "opsbot_lease_held", "1 when this process holds the group's lease (is the bot).",
            registry=r,
        )  # fmt: skip
        self.database_up.set(1)
        self._seen_connected: set[str] = set()
        self._up: dict[str, bool] = {}
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}

    # what the bot tells it

    def heard(self, event: Event) -> Event:
        """An inbound step: count the event (and follow the networks' connections)."""
        network = event.network
        kind = "message" if isinstance(event, Message) else type(event).__name__.lower()
        self._child(self.events_in, network, kind).inc()
        if isinstance(event, Connected):
            if network in self._seen_connected:
                self.reconnects.labels(network).inc()
            self._seen_connected.add(network)
            self._up[network] = True
            self.connected.labels(network).set(1)
        elif isinstance(event, Disconnected):
            self._up[network] = False
            self.connected.labels(network).set(0)
        return event

    def saying(self, outgoing: Outgoing) -> Outgoing:
        """An outbound step: count the line."""
        self._child(self.said, outgoing.room.network).inc()
        return outgoing

    def logged(self, network: str) -> None:
        """A meeting line stored."""
        self._child(self.lines_logged, network).inc()

    def command_took(self, command: str, seconds: float) -> None:
        self._child(self.command_seconds, command).observe(seconds)

    def _child(self, metric: Any, *labels: str) -> Any:
        """``metric.labels(*labels)``, looked up once: it is on the path of every line."""
        key = (id(metric), labels)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*labels)
        return found

    def database_changed(self, up: bool) -> None:
        self.database_up.set(1 if up else 0)
        if not up:
            self.database_errors.inc()

    def not_connected(self, networks: list[str]) -> list[str]:
        """Those of ``networks`` not connected now."""
        return [name for name in networks if not self._up.get(name, False)]

    # serving

    def routes(
        self, app: web.Application, storage: Storage, ready: Callable[[], list[str]]
    ) -> None:
        """Add /metrics, /healthz and /readyz to ``app``. ``ready`` names what is not ready
        yet (besides the database, asked here)."""
        from aiohttp import web

        async def metrics(request: web.Request) -> web.Response:
            await self._read_outbox(storage)
            body = generate_latest(self.registry)
            return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

        async def readyz(request: web.Request) -> web.Response:
            return _readiness(list(ready()) + await _database_problems(storage))

        app.router.add_get("/metrics", metrics)
        app.router.add_get("/healthz", healthz)
        app.router.add_get("/readyz", readyz)

    async def _read_outbox(self, storage: Storage) -> None:
        try:
            waiting = await asyncio.wait_for(waiting_by_channel(storage), DATABASE_TIMEOUT)
        except Exception:
            self.database_errors.inc()
            return
        now = utcnow()
        self.outbox_depth.clear()
        self.outbox_age.clear()
        for each in waiting:
            self.outbox_depth.labels(each.channel).set(each.count)
            if each.oldest is not None:
                self.outbox_age.labels(each.channel).set((now - each.oldest).total_seconds())


async def healthz(request: web.Request) -> web.Response:
    """Alive: the process answers."""
    from aiohttp import web

    return web.Response(text="ok\n", content_type="text/plain")


def _readiness(problems: list[str]) -> web.Response:
    from aiohttp import web

    body = {"ready": not problems, "problems": problems}
    return web.Response(
        text=json.dumps(body) + "\n", status=503 if problems else 200,
        content_type="application/json",
    )  # fmt: skip


async def serve_standing_by(host: str, port: int) -> Callable[[], Awaitable[None]]:
    """While a process stands by (another is the bot), its web listener answers ``/healthz``
    and ``/readyz`` (503), so a load balancer sends people to the bot; returns how to stop it
    (before the bot's own site takes the port)."""
    from aiohttp import web

    async def readyz(request: web.Request) -> web.Response:
        return _readiness(["standing by: waiting for the bot to migrate the database"])

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port, reuse_address=True).start()
    except OSError as error:
        log.warning("standing by without a web listener on %s:%s: %s", host, port, error.strerror)
    return runner.cleanup


async def _database_problems(storage: Storage) -> list[str]:
    try:
        async with storage.engine.connect() as conn:
            await asyncio.wait_for(conn.execute(text("SELECT 1")), DATABASE_TIMEOUT)
    except Exception as error:
        return [f"database unreachable: {type(error).__name__}"]
    return []
