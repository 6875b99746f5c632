"""Registering: CAP negotiation, SASL (PLAIN and EXTERNAL) or NickServ, the nick and its regain,
and joining the configured channels once welcomed."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import logging

import irc.client

from ...events import Connected
from ..base import TransportError
from .state import IrcState

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


class Login(IrcState):
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
            # Client tags (TAGMSG, +draft/react): reactions come, where the server relays them.
            self.capabilities = dataclasses.replace(
                self.capabilities, reactions="message-tags" in self.caps
            )
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
            self.capabilities = dataclasses.replace(
                self.capabilities, reactions="message-tags" in self.caps
            )

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
