"""The IRC transport, over the ``irc`` library's asyncio client.

The library does the socket, the line parsing (with IRCv3 tags), CTCP quoting and PING replies;
this module adds what a bot that lives for months in busy channels needs: CAP negotiation and
SASL before registration, accounts from account-tag, extended-join, account-notify and WHOX,
roles from channel modes, replies split by encoded bytes, a token bucket against flood kills,
and reconnection with capped, jittered backoff.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import random
import re
import ssl
import time
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import irc.client
import irc.client_aio
import irc.connection

from ..config import IrcNetwork
from ..events import Connected, Disconnected, Identity, Join, Message, NickChange, Part, Role, Room
from .base import Capabilities, EventSink, Transport, TransportError

log = logging.getLogger("opsbot.transports.irc")

WANTED_CAPS = (
    "sasl",
    "account-tag",
    "account-notify",
    "extended-join",
    "message-tags",
    "server-time",
    "multi-prefix",
    "cap-notify",
)
PREFIX_MODES = {"~": "q", "&": "a", "@": "o", "%": "h", "+": "v"}
MODE_ROLES = (
    ("q", Role.ADMIN),
    ("a", Role.ADMIN),
    ("o", Role.OP),
    ("h", Role.OP),
    ("v", Role.VOICE),
)
JOIN_ERRORS = {
    "403": "no such channel",
    "405": "joined too many channels",
    "471": "the channel is full",
    "473": "the channel is invite-only",
    "474": "the bot is banned there",
    "475": "wrong channel key",
    "477": "the channel needs a registered nick",
}
_FORMATTING = re.compile(
    r"\x03(?:\d{1,2}(?:,\d{1,2})?)?|\x04(?:[0-9a-fA-F]{6}(?:,[0-9a-fA-F]{6})?)?|[\x02\x0f\x11\x16\x1d\x1e\x1f]"
)
VERSION = "opsbot, a chat bot for the people who operate open-source clouds"


def strip_formatting(text: str) -> str:
    """Text without mIRC colours, bold, italics and the like (for command parsing)."""
    return _FORMATTING.sub("", text)


def split_utf8(text: str, limit: int) -> list[str]:
    """Pieces of ``text`` of at most ``limit`` bytes in UTF-8, split at spaces where possible
    and never inside a character."""
    pieces: list[str] = []
    while len(text.encode()) > limit:
        cut = len(text.encode()[:limit].decode("utf-8", errors="ignore"))
        space = text.rfind(" ", 0, cut)
        if space > cut // 2:
            cut = space
        pieces.append(text[:cut])
        text = text[cut:].lstrip(" ") if space > 0 and cut == space else text[cut:]
    pieces.append(text)
    return pieces


class TokenBucket:
    """``burst`` lines at once, then ``per_second``."""

    def __init__(self, burst: int, per_second: float) -> None:
        self.capacity = float(burst)
        self.rate = per_second
        self.tokens = float(burst)
        self.stamp = time.monotonic()

    def try_take(self) -> bool:
        """Take a token if one is there now."""
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False

    async def take(self) -> None:
        while True:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= 1:
                self.tokens -= 1
                return
            await asyncio.sleep((1 - self.tokens) / self.rate)


@dataclass(slots=True)
class Member:
    nick: str
    account: str | None = None
    modes: set[str] = field(default_factory=set)


class _Connection(irc.client_aio.AioConnection):  # type: ignore[misc]
    """Asks for capabilities before registering, so the server holds registration for SASL."""

    async def connect(
        self,
        server: str,
        port: int,
        nickname: str,
        username: str,
        ircname: str,
        connect_factory: Any,
    ) -> _Connection:
        self.buffer = self.buffer_class()
        self.handlers: dict[str, Any] = {}
        self.real_server_name = ""
        self.real_nickname = nickname
        self.server, self.port, self.server_address = server, port, (server, port)
        self.nickname, self.username, self.ircname = nickname, username, ircname
        self.password = None
        self.connect_factory = connect_factory
        protocol = self.protocol_class(self, self.reactor.loop)
        self.transport, self.protocol = await connect_factory(protocol, self.server_address)
        self.connected = True
        self.reactor._on_connect(self.protocol, self.transport)
        self.send_raw("CAP LS 302")
        self.nick(nickname)
        self.user(username, ircname)
        return self


class _Reactor(irc.client_aio.AioReactor):  # type: ignore[misc]
    connection_class = _Connection


class IrcTransport(Transport):
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
        self._background: set[asyncio.Task[None]] = set()

    # identity

    @property
    def me(self) -> Identity:
        return Identity(self.name, self.account, self.nick)

    def _identity(self, nick: str, tags: list[dict[str, Any]] | None = None) -> Identity:
        account = None
        for tag in tags or ():
            if tag.get("key") == "account":
                account = tag.get("value")
        member = self._find(nick)
        if account is None and member is not None:
            account = member.account
        return Identity(self.name, account, nick)

    def _find(self, nick: str) -> Member | None:
        key = nick.casefold()
        for members in self._members.values():
            if key in members:
                return members[key]
        return None

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
        if event.type == "all_raw_messages":  # the library's copy of every line, parsed again
            return
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

    async def _run(self) -> None:
        """Connect, and reconnect with exponential backoff and jitter while not stopping."""
        delay = self.config.reconnect.min_delay
        while True:
            started = time.monotonic()
            try:
                await self._connect_once()
            except (OSError, TimeoutError, irc.client.ServerConnectionError) as error:
                log.warning(
                    "%s: cannot connect to %s:%d: %s",
                    self.name,
                    self.config.host,
                    self.config.port,
                    error,
                )
            if self._stopping:
                return
            if time.monotonic() - started > 60:
                delay = self.config.reconnect.min_delay
            wait = min(delay, self.config.reconnect.max_delay) * random.uniform(0.75, 1.25)
            log.info("%s: reconnecting in %.1f s", self.name, wait)
            await asyncio.sleep(wait)
            delay = min(delay * 2, self.config.reconnect.max_delay)

    async def _connect_once(self) -> None:
        assert self._reactor is not None
        self.registered.clear()
        self._closed.clear()
        self.caps.clear()
        self._offered.clear()
        self._members.clear()
        self._nick_index = 0
        self.nick = self.nicks[0]
        kwargs: dict[str, Any] = {}
        if self.config.tls:
            context = ssl.create_default_context(
                cafile=str(self.config.tls_ca) if self.config.tls_ca else None
            )
            if not self.config.tls_verify:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            if self.config.client_cert is not None:
                context.load_cert_chain(self.config.client_cert)
            kwargs = {"ssl": context, "server_hostname": self.config.host}
        conn: _Connection = self._reactor.server()
        self._conn = conn
        await asyncio.wait_for(
            conn.connect(
                self.config.host,
                self.config.port,
                self.nick,
                self.config.username,
                self.config.realname,
                irc.connection.AioFactory(**kwargs),
            ),
            30,
        )
        if conn.transport is not None:
            sock = conn.transport.get_extra_info("socket")
            if sock is not None:
                import socket

                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._last_seen = time.monotonic()
        timeout = self.config.reconnect.ping_timeout
        while not self._closed.is_set():
            try:
                await asyncio.wait_for(self._closed.wait(), timeout / 4)
            except TimeoutError:
                idle = time.monotonic() - self._last_seen
                if idle > timeout:
                    log.warning(
                        "%s: no word from the server for %.0f s; reconnecting", self.name, idle
                    )
                    with contextlib.suppress(Exception):
                        conn.disconnect("ping timeout")
                    break
                if idle > timeout / 2:
                    self._raw(f"PING :opsbot-{int(time.time())}")

    # sending

    def _raw(self, line: str) -> None:
        """Send at once, bypassing the flood queue (protocol replies during registration)."""
        if self._conn is not None and self._conn.connected:
            self._conn.send_raw(line)

    async def _send_loop(self) -> None:
        while True:
            line = await self._outbox.get()
            self._in_flight = True
            try:
                await self.registered.wait()
                await self._bucket.take()
                self._raw(line)
            except irc.client.ServerNotConnectedError:
                log.warning("%s: not connected; dropped %r", self.name, line[:80])
            finally:
                self._in_flight = False

    def _enqueue(self, line: str) -> None:
        """Send now when nothing waits before this line and the bucket allows; else queue it."""
        if (
            not self._in_flight
            and self._outbox.empty()
            and self.registered.is_set()
            and self._bucket.try_take()
        ):
            try:
                self._raw(line)
                return
            except irc.client.ServerNotConnectedError:
                pass
        self._outbox.put_nowait(line)

    def _budget(self, command: str, target: str) -> int:
        prefix = (
            f":{self.nick}!{self.config.username}@{'x' * self._host_estimate} {command} {target} :"
        )
        return 510 - len(prefix.encode())

    def _queue_text(self, command: str, target: str, text: str) -> None:
        for line in text.replace("\r", "").split("\n"):
            if not line.strip():
                continue  # IRC has no empty messages
            for piece in split_utf8(line, self._budget(command, target)):
                self._enqueue(f"{command} {target} :{piece}")

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

    # rooms and people

    async def role(self, room: Room, who: Identity) -> Role:
        member = self._members.get(room.id.casefold(), {}).get(who.nick.casefold())
        if member is None or (member.account is not None and who.account != member.account):
            return Role.NONE
        for mode, role in MODE_ROLES:
            if mode in member.modes:
                return role
        return Role.NONE

    async def join(self, room_id: str, key: str | None = None) -> Room:
        if not room_id or room_id[0] not in "#&!+":
            raise TransportError(f"{room_id} is not a channel name")
        if room_id.casefold() in self._rooms:
            return self._rooms[room_id.casefold()]
        waiter: asyncio.Future[Room] = asyncio.get_running_loop().create_future()
        self._pending_joins[room_id.casefold()] = waiter
        self._outbox.put_nowait(f"JOIN {room_id} {key}" if key else f"JOIN {room_id}")
        try:
            return await asyncio.wait_for(waiter, 30)
        except TimeoutError:
            raise TransportError(f"no answer from the server joining {room_id}") from None
        finally:
            self._pending_joins.pop(room_id.casefold(), None)

    async def part(self, room: Room, reason: str | None = None) -> None:
        if room.id.casefold() not in self._rooms:
            raise TransportError(f"I am not in {room.id}")
        self._outbox.put_nowait(f"PART {room.id} :{reason}" if reason else f"PART {room.id}")

    def rooms(self) -> list[Room]:
        return list(self._rooms.values())

    def member(self, room: Room, nick: str) -> Identity | None:
        found = self._members.get(room.id.casefold(), {}).get(nick.casefold())
        return None if found is None else Identity(self.name, found.account, found.nick)

    def _room(self, channel: str) -> Room:
        return self._rooms.get(channel.casefold()) or Room(self.name, channel)

    # incoming

    async def _process(self) -> None:
        while True:
            event = await self._inbox.get()
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

    async def _on_cap(self, event: irc.client.Event) -> None:
        args = list(event.arguments)
        sub = args[0].upper() if args else ""
        if sub == "LS":
            more = len(args) > 2 and args[1] == "*"
            for cap in (args[-1] if args else "").split():
                name, _, value = cap.partition("=")
                self._offered[name] = value
            if more:
                return
            wanted = [c for c in WANTED_CAPS if c in self._offered]
            if not (
                self.config.sasl
                and (self.config.sasl.password or self.config.sasl.mechanism == "EXTERNAL")
            ):
                wanted = [c for c in wanted if c != "sasl"]
            if wanted:
                self._raw(f"CAP REQ :{' '.join(wanted)}")
            else:
                self._raw("CAP END")
        elif sub == "ACK":
            self.caps.update(args[-1].split())
            if "sasl" in args[-1].split() and self.config.sasl is not None:
                self._raw(f"AUTHENTICATE {self.config.sasl.mechanism}")
            elif not self.registered.is_set():
                self._raw("CAP END")
        elif sub == "NAK":
            if not self.registered.is_set():
                self._raw("CAP END")
        elif sub == "NEW" and self.registered.is_set():
            new = [c for c in args[-1].split() if c in WANTED_CAPS and c != "sasl"]
            if new:
                self._raw(f"CAP REQ :{' '.join(new)}")
        elif sub == "DEL":
            self.caps.difference_update(args[-1].split())

    async def _on_authenticate(self, event: irc.client.Event) -> None:
        sasl = self.config.sasl
        if sasl is None:
            return
        if sasl.mechanism == "EXTERNAL":
            self._raw("AUTHENTICATE +")
            return
        account = sasl.account or self.nicks[0]
        token = base64.b64encode(f"{account}\0{account}\0{sasl.password or ''}".encode()).decode()
        for i in range(0, len(token), 400):
            self._raw(f"AUTHENTICATE {token[i : i + 400]}")
        if len(token) % 400 == 0:
            self._raw("AUTHENTICATE +")

    async def _on_loggedin(self, event: irc.client.Event) -> None:
        if len(event.arguments) >= 2:
            self.account = event.arguments[1]

    async def _on_saslsuccess(self, event: irc.client.Event) -> None:
        self.sasl_result = "ok"
        log.info("%s: SASL login as %s succeeded", self.name, self.account)
        self._raw("CAP END")

    async def _sasl_failed(self, event: irc.client.Event) -> None:
        reason = event.arguments[-1] if event.arguments else "refused"
        account = self.config.sasl.account if self.config.sasl else "?"
        self.sasl_result = reason
        log.error(
            "%s: SASL login as %s failed: %s; continuing unidentified", self.name, account, reason
        )
        self._raw("CAP END")

    _on_saslfail = _sasl_failed
    _on_sasltoolong = _sasl_failed
    _on_saslaborted = _sasl_failed

    async def _on_nicknameinuse(self, event: irc.client.Event) -> None:
        if self.registered.is_set():
            return
        self._nick_index += 1
        self.nick = (
            self.nicks[self._nick_index]
            if self._nick_index < len(self.nicks)
            else f"{self.nicks[0]}{'_' * self._nick_index}"
        )
        self._raw(f"NICK {self.nick}")

    _on_erroneusnickname = _on_nicknameinuse
    _on_nickcollision = _on_nicknameinuse

    async def _on_welcome(self, event: irc.client.Event) -> None:
        assert self._conn is not None
        self.nick = self._conn.real_nickname
        text = event.arguments[-1] if event.arguments else ""
        if "@" in text:
            self._host_estimate = max(1, len(text.rsplit("@", 1)[1]))
        self.registered.set()
        if self.config.nickserv_password and self.account is None:
            self._raw(f"PRIVMSG NickServ :IDENTIFY {self.nicks[0]} {self.config.nickserv_password}")
        if self.nick.casefold() != self.nicks[0].casefold():
            self._spawn(self._regain_loop())
        await self._publish(Connected(network=self.name, me=self.me))
        wanted = [channel.partition(" ") for channel in self.config.channels]
        wanted += [(room.id, "", "") for room in self._rooms.values()]  # joined at runtime
        seen: set[str] = set()
        for name, _, key in wanted:
            if name.casefold() not in seen:
                seen.add(name.casefold())
                self._spawn(self._join_quietly(name, key or None))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _join_quietly(self, channel: str, key: str | None) -> None:
        self._rooms.pop(channel.casefold(), None)
        try:
            await self.join(channel, key)
        except TransportError as why:
            log.error("%s: cannot join %s: %s", self.name, channel, why)

    async def _regain_loop(self) -> None:
        """While on an alternate nick, ask every so often whether the real one is free."""
        while self.registered.is_set() and self.nick.casefold() != self.nicks[0].casefold():
            self._raw(f"ISON {self.nicks[0]}")
            await asyncio.sleep(self.config.regain_interval)

    async def _on_ison(self, event: irc.client.Event) -> None:
        online = {nick.casefold() for nick in " ".join(event.arguments).split()}
        if self.nicks[0].casefold() not in online:
            self._regain()

    def _regain(self) -> None:
        if self.registered.is_set() and self.nick.casefold() != self.nicks[0].casefold():
            self._raw(f"NICK {self.nicks[0]}")

    async def _on_disconnect(self, event: irc.client.Event) -> None:
        was = self.registered.is_set()
        self.registered.clear()
        self._closed.set()
        if was:
            await self._publish(Disconnected(network=self.name, reason=" ".join(event.arguments)))

    async def _on_join(self, event: irc.client.Event) -> None:
        channel = event.target
        nick = event.source.nick
        account = None
        if "extended-join" in self.caps and event.arguments:
            account = None if event.arguments[0] in ("*", "0") else event.arguments[0]
        if nick.casefold() == self.nick.casefold():
            room = self._rooms.setdefault(channel.casefold(), Room(self.name, channel))
            self._members[channel.casefold()] = {nick.casefold(): Member(nick, self.account)}
            waiter = self._pending_joins.get(channel.casefold())
            if waiter is not None and not waiter.done():
                waiter.set_result(room)
            if "account-notify" in self.caps or "extended-join" in self.caps:
                self._raw(f"WHO {channel} %tcnfa,42")
            return
        members = self._members.setdefault(channel.casefold(), {})
        member = members.setdefault(nick.casefold(), Member(nick))
        member.nick = nick
        if account is not None or "extended-join" in self.caps:
            member.account = account
        await self._publish(
            Join(network=self.name, room=self._room(channel), who=self._identity(nick, event.tags))
        )

    async def _on_namreply(self, event: irc.client.Event) -> None:
        channel, names = event.arguments[1], event.arguments[2]
        members = self._members.setdefault(channel.casefold(), {})
        for entry in names.split():
            modes = set()
            while entry and entry[0] in PREFIX_MODES:
                modes.add(PREFIX_MODES[entry[0]])
                entry = entry[1:]
            nick = entry.split("!")[0]
            member = members.setdefault(nick.casefold(), Member(nick))
            member.modes = modes

    async def _on_whospcrpl(self, event: irc.client.Event) -> None:
        args = event.arguments
        if len(args) >= 5 and args[0] == "42":
            channel, nick, flags, account = args[1], args[2], args[3], args[4]
            member = self._members.setdefault(channel.casefold(), {}).setdefault(
                nick.casefold(), Member(nick)
            )
            member.account = None if account in ("0", "*") else account
            member.modes |= {PREFIX_MODES[c] for c in flags if c in PREFIX_MODES}

    async def _on_account(self, event: irc.client.Event) -> None:
        account = event.target if event.target else (event.arguments[0] if event.arguments else "*")
        nick = event.source.nick
        for members in self._members.values():
            if nick.casefold() in members:
                members[nick.casefold()].account = None if account in ("*", "0") else account

    async def _on_mode(self, event: irc.client.Event) -> None:
        channel = event.target
        if not channel or channel[0] not in "#&!+":
            return
        members = self._members.get(channel.casefold(), {})
        args = list(event.arguments)
        if not args:
            return
        changes, params = args[0], args[1:]
        adding = True
        for char in changes:
            if char in "+-":
                adding = char == "+"
            elif char in "qaohv" and params:
                member = members.get(params.pop(0).casefold())
                if member is not None:
                    (member.modes.add if adding else member.modes.discard)(char)
            elif char in "beIkflj" and params and (adding or char in "beIk"):
                params.pop(0)

    async def _on_part(self, event: irc.client.Event) -> None:
        await self._leave(
            event.target, event.source.nick, " ".join(event.arguments), quit=False, tags=event.tags
        )

    async def _on_kick(self, event: irc.client.Event) -> None:
        reason = event.arguments[1] if len(event.arguments) > 1 else "kicked"
        await self._leave(
            event.target, event.arguments[0], f"kicked: {reason}", quit=False, tags=None
        )

    async def _leave(self, channel: str, nick: str, reason: str, *, quit: bool, tags: Any) -> None:
        room = self._room(channel)
        who = self._identity(nick, tags)
        if nick.casefold() == self.nick.casefold():
            self._rooms.pop(channel.casefold(), None)
            self._members.pop(channel.casefold(), None)
            return
        self._members.get(channel.casefold(), {}).pop(nick.casefold(), None)
        await self._publish(
            Part(network=self.name, room=room, who=who, reason=reason or None, is_quit=quit)
        )

    async def _on_quit(self, event: irc.client.Event) -> None:
        nick = event.source.nick
        who = self._identity(nick, event.tags)
        for channel, members in list(self._members.items()):
            if members.pop(nick.casefold(), None) is not None:
                room = self._rooms.get(channel) or Room(self.name, channel)
                await self._publish(
                    Part(
                        network=self.name,
                        room=room,
                        who=who,
                        reason=" ".join(event.arguments) or None,
                        is_quit=True,
                    )
                )
        if nick.casefold() == self.nicks[0].casefold():
            self._regain()

    async def _on_nick(self, event: irc.client.Event) -> None:
        old, new = event.source.nick, event.target
        if old.casefold() == self.nick.casefold():
            self.nick = new
            return
        before = self._identity(old, event.tags)
        for members in self._members.values():
            member = members.pop(old.casefold(), None)
            if member is not None:
                member.nick = new
                members[new.casefold()] = member
        await self._publish(
            NickChange(network=self.name, old=before, new=Identity(self.name, before.account, new))
        )
        if old.casefold() == self.nicks[0].casefold():
            self._regain()

    def _timestamp(self, event: irc.client.Event) -> datetime:
        for tag in event.tags or ():
            if tag.get("key") == "time" and tag.get("value"):
                with contextlib.suppress(ValueError):
                    return datetime.fromisoformat(str(tag["value"]).replace("Z", "+00:00"))
        return datetime.now(UTC)

    def _to_message(
        self, event: irc.client.Event, *, action: bool = False, notice: bool = False
    ) -> Message | None:
        nick = event.source.nick if event.source else ""
        if not nick or ("." in nick and "!" not in str(event.source)):
            return None  # server notices
        raw = event.arguments[0] if event.arguments else ""
        target = event.target
        if target and target[0] in "#&!+":
            room = self._room(target)
        else:
            room = Room(self.name, nick, is_direct=True)
        return Message(
            network=self.name,
            room=room,
            sender=self._identity(nick, event.tags),
            text=strip_formatting(raw),
            ts=self._timestamp(event),
            is_action=action,
            is_notice=notice,
            raw=raw,
        )

    async def _message(
        self, event: irc.client.Event, *, action: bool = False, notice: bool = False
    ) -> None:
        message = self._to_message(event, action=action, notice=notice)
        if message is not None:
            await self._publish(message)

    async def _on_pubmsg(self, event: irc.client.Event) -> None:
        await self._message(event)

    _on_privmsg = _on_pubmsg

    async def _on_pubnotice(self, event: irc.client.Event) -> None:
        await self._message(event, notice=True)

    _on_privnotice = _on_pubnotice

    async def _on_action(self, event: irc.client.Event) -> None:
        await self._message(event, action=True)

    async def _on_ctcp(self, event: irc.client.Event) -> None:
        query = event.arguments[0].upper() if event.arguments else ""
        nick = event.source.nick
        if query == "VERSION":
            self._outbox.put_nowait(f"NOTICE {nick} :\x01VERSION {VERSION}\x01")
        elif query == "PING":
            payload = event.arguments[1] if len(event.arguments) > 1 else ""
            self._outbox.put_nowait(f"NOTICE {nick} :\x01PING {payload}\x01")
