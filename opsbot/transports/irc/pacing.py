"""Pacing against flood kills: a token bucket, and the queue of lines the bot writes.

Every line the bot sends (not only what plugins say: JOINs, WHOs, NOTICEs of CTCP answers) goes
through the bucket, so it lives here in the transport rather than in the outbound stage."""

from __future__ import annotations

import logging

import irc.client

from .state import IrcState
from .text import split_utf8

log = logging.getLogger("opsbot.transports.irc")


class Sending(IrcState):
    """The bot's outgoing lines: at once when the bucket allows and nothing waits, else queued
    in order; text cut into lines that fit, by encoded bytes."""

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
