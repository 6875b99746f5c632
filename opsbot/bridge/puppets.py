"""Who a bridge's puppet stands for: a Matrix person relayed onto IRC (by nick suffix, host or
relay nick; their Matrix ID from the realname or heisenbridge's hashed ident) or an IRC person
relayed onto Matrix (by the puppet user-ID pattern; their IRC account where the bot's own IRC
connection knows it)."""

from __future__ import annotations

import fnmatch
import hashlib
import re
from base64 import b32encode
from collections.abc import Callable
from dataclasses import dataclass

from ..config import BridgeConfig
from ..events import Identity, Message, Room

MemberOf = Callable[[Room, str], Identity | None]
"""The identity behind a nick in a room the bot is in (None: unknown, or not there)."""

_RELAYED = re.compile(r"<([^<>\s][^<>]{0,99})> ?(.*)", re.DOTALL)
_MXID = re.compile(r"@[^:\s]+:\S+")


def heisenbridge_ident(user_id: str) -> str:
    """The ident heisenbridge gives a Matrix user's IRC connection: ``m-`` and six letters of
    the base-32 SHA-1 of the user ID."""
    digest = b32encode(hashlib.sha1(user_id.encode("utf-8")).digest()).decode("ascii")
    return "m-" + digest.replace("=", "")[:6].lower()


def fold(name: str) -> str:
    """A name as bridges may mangle it (case, zero-width spaces, ``[m]``): letters and digits."""
    return "".join(c for c in name.casefold() if c.isalnum())


@dataclass(frozen=True, slots=True)
class Relayed:
    """A puppet's line: whom it stands for and what they said (a relay's ``<name>`` removed)."""

    person: Identity
    text: str
    is_action: bool = False
    bridge_bot: bool = False
    """Said by the bridge itself (notices of joins, topic changes): nobody's line."""

    @property
    def names(self) -> frozenset[str]:
        return names_of(self.person)


def names_of(person: Identity) -> frozenset[str]:
    """The names a person goes by, folded, to match a bridge's copy with the line it copies."""
    names = {fold(person.nick)}
    if person.display:
        names.add(fold(person.display))
    if person.account:
        names.add(fold(person.account))
        if person.account.startswith("@"):
            names.add(fold(person.account[1:].split(":", 1)[0]))
    names.discard("")
    return frozenset(names)


class Puppets:
    """Recognises one bridge's puppets on either side."""

    def __init__(self, bridge: BridgeConfig, member_of: MemberOf) -> None:
        self.bridge = bridge
        self._member_of = member_of
        irc = bridge.irc_puppets
        self._relays = {nick.casefold() for nick in irc.relay_nicks}
        before, _, after = bridge.matrix_puppets.user.partition("{nick}")
        self._matrix_user = re.compile(re.escape(before) + r"(.+?)" + re.escape(after))
        self._realname: re.Pattern[str] | None = None
        if irc.realname is not None:
            pattern = re.escape(irc.realname)
            pattern = pattern.replace(re.escape("{mxid}"), r"(?P<mxid>@[^:\s]+:\S+)")
            pattern = pattern.replace(re.escape("{localpart}"), r"(?P<localpart>[^:\s]+)")
            self._realname = re.compile(pattern)

    # IRC side

    def on_irc(self, msg: Message, matrix_room: Room) -> Relayed | None:
        """Whom an IRC line stands for, if a puppet or relay of this bridge said it."""
        irc = self.bridge.irc_puppets
        nick = msg.sender.nick
        if nick.casefold() in self._relays:
            return self._from_relay(msg, matrix_room)
        base = nick
        puppet = False
        if irc.nick_suffix and nick.endswith(irc.nick_suffix) and len(nick) > len(irc.nick_suffix):
            base, puppet = nick[: -len(irc.nick_suffix)], True
        address = msg.address
        if address is not None and any(fnmatch.fnmatch(address.host, h) for h in irc.hosts):
            puppet = True
        if not puppet:
            return None
        person = Identity(self.bridge.matrix_network, self._mxid(msg, base, matrix_room), base)
        return Relayed(person, msg.text, msg.is_action)

    def _mxid(self, msg: Message, nick: str, matrix_room: Room) -> str | None:
        """The Matrix ID the bridge vouches for, or None."""
        irc = self.bridge.irc_puppets
        address = msg.address
        if address is None:
            return None
        if self._realname is not None and address.realname:
            found = self._realname.fullmatch(address.realname)
            if found is not None:
                groups = found.groupdict()
                if groups.get("mxid"):
                    return groups["mxid"]
                if groups.get("localpart") and irc.matrix_server:
                    return f"@{groups['localpart']}:{irc.matrix_server}"
        if irc.hashed_ident:
            guesses = []
            member = self._member_of(matrix_room, nick)
            if member is not None and member.account:
                guesses.append(member.account)
            if irc.matrix_server:
                guesses += [f"@{nick.lower()}:{irc.matrix_server}"]
                if address.realname:
                    guesses.append(f"@{address.realname.lower()}:{irc.matrix_server}")
            for guess in guesses:
                if heisenbridge_ident(guess) == address.user.lstrip("~"):
                    return guess
        return None

    def _from_relay(self, msg: Message, matrix_room: Room) -> Relayed | None:
        """A relay's ``<name> text`` (or, for an action, ``name text``)."""
        text = msg.text
        if msg.is_action:
            name, _, said = text.partition(" ")
        else:
            found = _RELAYED.fullmatch(text)
            if found is None:
                return Relayed(Identity(self.bridge.matrix_network, None, ""), text)
            name, said = found.group(1), found.group(2)
        name = name.replace("\u200b", "")
        if _MXID.fullmatch(name):
            person = Identity(self.bridge.matrix_network, name, name[1:].split(":", 1)[0])
        else:
            member = self._member_of(matrix_room, name)
            person = (
                member if member is not None else Identity(self.bridge.matrix_network, None, name)
            )
        return Relayed(person, said, msg.is_action)

    # Matrix side

    def on_matrix(self, sender: Identity, text: str, irc_room: Room) -> Relayed | None:
        """Whom a Matrix line stands for, if a puppet of this bridge (or the bridge) said it."""
        user_id = sender.account
        if user_id is None:
            return None
        if user_id == self.bridge.matrix_puppets.bot:
            return Relayed(sender, text, bridge_bot=True)
        found = self._matrix_user.fullmatch(user_id)
        if found is None:
            return None
        nick = _unescape(found.group(1))
        member = self._member_of(irc_room, nick)
        if member is not None:
            return Relayed(member, text)
        return Relayed(Identity(self.bridge.irc_network, None, nick), text)


def _unescape(localpart: str) -> str:
    """A nick from a puppet's localpart: matrix-appservice-irc writes ``=xx`` for characters a
    user ID may not hold (upper case among them)."""
    return re.sub(r"=([0-9a-f]{2})", lambda m: chr(int(m.group(1), 16)), localpart)
