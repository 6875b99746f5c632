"""Who is in each channel, with their accounts (extended-join, account-notify, WHOX) and their
modes, the roles those give, and the joins, parts, quits and nick changes people see."""

from __future__ import annotations

import asyncio
from typing import Any

import irc.client

from ...events import Identity, Join, NickChange, Part, Role, Room
from ..base import TransportError
from .state import IrcState, Member

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


class Membership(IrcState):
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
                self._raw(f"WHO {channel} %tcnfar,42")
            return
        members = self._members.setdefault(channel.casefold(), {})
        member = members.setdefault(nick.casefold(), Member(nick))
        member.nick = nick
        if account is not None or "extended-join" in self.caps:
            member.account = account
        if "extended-join" in self.caps and len(event.arguments) > 1:
            member.realname = event.arguments[1]
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
            if len(args) >= 6:
                member.realname = args[5]

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
