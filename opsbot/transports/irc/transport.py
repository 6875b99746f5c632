"""The IRC transport, over the ``irc`` library's asyncio client.

The library does the socket, the line parsing (with IRCv3 tags), CTCP quoting and PING replies;
this package adds what a bot that lives for months in busy channels needs, one job per module:
connecting and reconnecting (:mod:`.connection`), CAP negotiation and SASL before registration
(:mod:`.login`), accounts and roles of the people in each channel (:mod:`.members`), pacing
against flood kills (:mod:`.pacing`) and turning lines into events (:mod:`.convert`). This
module joins them and hands events to the bot in the order they arrived.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Coroutine, Sequence
from typing import Any

import irc.client

from ...config import IrcNetwork
from ...events import Disconnected, Identity, Message, Room
from ..base import Capabilities, EventSink, Transport, TransportError
from .bucket import TokenBucket
from .client import _Connection, _Reactor
from .connection import Connecting
from .convert import Conversion
from .login import Login
from .members import JOIN_ERRORS, Membership
from .pacing import Sending
from .state import Member

log = logging.getLogger("opsbot.transports.irc")


INBOX_HIGH = 200
"""Events waiting in the inbox at which reading from the server pauses."""
INBOX_LOW = 20
"""... and at which it goes on."""


class IrcTransport(Conversion, Membership, Login, Sending, Connecting, Transport):
    type = "irc"

    def __init__(self, config: IrcNetwork, bot_nick: str) -> None:
        super().__init__(config.name, prefix=config.prefix)
        self.config = config
        self.capabilities = Capabilities(accounts=True, topic=True, max_line_bytes=512)
        self.nicks = [config.nick or bot_nick, *config.alt_nicks]
        self.nick = self.nicks[0]
        self.account: str | None = None
        self.caps: set[str] = set()
        self.registered = asyncio.Event()
        self.sasl_result: str | None = None
        """"ok", or the server's reason when SASL failed (for the log and the tests)."""
        self._sink: EventSink | None = None
        self._reactor: _Reactor | None = None
        self._conn: _Connection | None = None
        self._inbox: asyncio.Queue[irc.client.Event | None] = asyncio.Queue()
        self._outbox: asyncio.Queue[str] = asyncio.Queue()
        self._bucket = TokenBucket(config.flood.burst, config.flood.per_second)
        self._members: dict[str, dict[str, Member]] = {}
        self._rooms: dict[str, Room] = {}
        self._pending_joins: dict[str, asyncio.Future[Room]] = {}
        self._offered: dict[str, str] = {}
        self._nick_index = 0
        self._last_seen = time.monotonic()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._closed = asyncio.Event()
        self._host_estimate = 63
        self._in_flight = False
        self._busy = False
        """The inbox task is handling an event (a line arriving now must queue behind it)."""
        self._paused = False
        """Reading from the server is paused until the inbox drains (see :meth:`_reading`)."""
        self.read_pauses = 0
        """How often a burst paused reading (the log says so too, at debug level)."""
        self._background: set[asyncio.Task[None]] = set()

    @property
    def me(self) -> Identity:
        return Identity(self.name, self.account, self.nick)

    # lifecycle

    async def start(self, sink: EventSink) -> None:
        self._sink = sink
        loop = asyncio.get_running_loop()
        self._reactor = _Reactor(loop=loop)
        self._reactor.add_global_handler("all_events", self._on_event, -10)
        self._tasks = [
            asyncio.create_task(self._run(), name=f"irc {self.name}"),
            asyncio.create_task(self._process(), name=f"irc {self.name} inbox"),
            asyncio.create_task(self._send_loop(), name=f"irc {self.name} outbox"),
        ]

    async def stop(self) -> None:
        self._stopping = True
        if self._conn is not None and self._conn.connected:
            with contextlib.suppress(Exception):
                self._conn.quit("opsbot stopping")
                await asyncio.sleep(0.05)
                self._conn.disconnect()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._sink = None

    def _on_event(self, connection: Any, event: irc.client.Event) -> None:
        self._last_seen = time.monotonic()
        if (
            event.type in ("pubmsg", "privmsg")
            and not self._busy
            and self._inbox.empty()
            and self._sink is not None
        ):
            # The common case, a chat line with nothing before it, skips the inbox task.
            message = self._to_message(event)
            if message is None or self._sink.offer(message):
                return
        self._inbox.put_nowait(event)
        if self._inbox.qsize() >= INBOX_HIGH:
            self._reading(False)

    def _reading(self, on: bool) -> None:
        """Read from the server again, or not until the inbox has drained: a burst waits in
        the kernel's socket buffer and the server's send queue, not in this process's memory."""
        transport = getattr(self._conn, "transport", None)
        if transport is None or self._paused is not on:  # already as asked
            return
        try:
            if on:
                transport.resume_reading()
            else:
                transport.pause_reading()
                self.read_pauses += 1
                log.debug("%s: %d events waiting; reading paused", self.name, self._inbox.qsize())
        except (RuntimeError, AttributeError):  # closed meanwhile
            return
        self._paused = not on

    async def _process(self) -> None:
        while True:
            event = await self._inbox.get()
            if self._paused and self._inbox.qsize() <= INBOX_LOW:
                self._reading(True)
            if event is None:
                continue
            self._busy = True
            try:
                await self._handle(event)
            except Exception:
                log.exception("%s: could not handle %s %r", self.name, event.type, event.arguments)
            finally:
                self._busy = self._inbox.qsize() > 0

    async def _publish(self, event: Any) -> None:
        if self._sink is not None:
            await self._sink.publish(event)

    async def _handle(self, event: irc.client.Event) -> None:
        kind = event.type
        handler = getattr(self, f"_on_{kind}", None)
        if handler is not None:
            await handler(event)
        elif kind in JOIN_ERRORS and len(event.arguments) >= 1:
            channel = event.arguments[0]
            waiter = self._pending_joins.get(channel.casefold())
            if waiter is not None and not waiter.done():
                waiter.set_exception(TransportError(JOIN_ERRORS[kind]))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _on_disconnect(self, event: irc.client.Event) -> None:
        was = self.registered.is_set()
        self.registered.clear()
        self._closed.set()
        if was:
            await self._publish(Disconnected(network=self.name, reason=" ".join(event.arguments)))

    # sending

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
        command = "NOTICE" if notice or self.config.notice_replies else "PRIVMSG"
        self._queue_text(command, room.id, text)
        return None

    async def send_private(self, who: Identity, text: str) -> None:
        self._queue_text("NOTICE" if self.config.notice_replies else "PRIVMSG", who.nick, text)

    async def set_topic(self, room: Room, topic: str) -> None:
        self._enqueue(f"TOPIC {room.id} :{topic[:300]}")
