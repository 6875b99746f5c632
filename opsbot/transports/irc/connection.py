"""Connecting to the server (TLS, client certificates, CAP before registration), watching that it
still answers, and reconnecting with the bot's one backoff (:mod:`opsbot.retry`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from typing import Any

import irc.client
import irc.client_aio
import irc.connection

from ...retry import Backoff
from .client import _Connection
from .state import IrcState

log = logging.getLogger("opsbot.transports.irc")


class Connecting(IrcState):
    async def _run(self) -> None:
        """Connect, and reconnect with the bot's backoff while not stopping (a connection that
        lasted a minute starts the waits afresh)."""
        backoff = Backoff(self.config.reconnect.min_delay, self.config.reconnect.max_delay)
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
                backoff.reset()
            wait = backoff.next()
            log.info("%s: reconnecting in %.1f s", self.name, wait)
            await asyncio.sleep(wait)

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
        self._paused = False  # a new connection reads from the start
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
