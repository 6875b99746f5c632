"""IRC lines into the bot's events: messages, notices and actions (with server-time and the
account tag), and the answers to CTCP VERSION and PING."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

import irc.client

from ...events import Address, Message, Reaction, Room
from .state import IrcState
from .text import strip_formatting

VERSION = "opsbot, a chat bot for the people who operate open-source clouds"


class Conversion(IrcState):
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
            id=_tag(event, "msgid"),
            sender=self._identity(nick, event.tags),
            text=strip_formatting(raw),
            ts=self._timestamp(event),
            is_action=action,
            is_notice=notice,
            address=self._address(event.source),
            raw=raw,
        )

    def _address(self, source: irc.client.NickMask) -> Address | None:
        user, host = source.user, source.host
        if not user or not host:
            return None
        member = self._find(source.nick)
        return Address(user, host, member.realname if member is not None else None)

    async def _message(
        self, event: irc.client.Event, *, action: bool = False, notice: bool = False
    ) -> None:
        message = self._to_message(event, action=action, notice=notice)
        if message is not None:
            await self._publish(message)

    async def _on_tagmsg(self, event: irc.client.Event) -> None:
        """IRCv3 client tags: ``+draft/react`` with ``+draft/reply`` (the message's msgid) is
        a reaction to that message."""
        key, target_id = _tag(event, "+draft/react"), _tag(event, "+draft/reply")
        nick = event.source.nick if event.source else ""
        if not key or not target_id or not nick or not event.target:
            return
        if event.target[0] not in "#&!+":
            return
        await self._publish(
            Reaction(
                network=self.name, room=self._room(event.target),
                sender=self._identity(nick, event.tags), target_id=target_id, key=key,
                id=_tag(event, "msgid"), ts=self._timestamp(event),
            )
        )  # fmt: skip

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


def _tag(event: irc.client.Event, key: str) -> str | None:
    for tag in event.tags or ():
        if tag.get("key") == key and tag.get("value"):
            return str(tag["value"])
    return None
