"""The inbound stage's bridge step: an event of a bridged room is put in the pair's one room; a
puppet's line becomes its person's; the bridge's copy of a line the bot also sees where it was
said is dropped (it waits ``window`` seconds for that line, and is logged as the person's if the
line does not come); relayed edits and long-message links become what the person did."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from ..events import Edit, Event, Identity, Join, Message, Part, Room, RoomEvent
from .conventions import EditStyle, corrected, looks_like_edit, paste_link
from .copies import Copies, Kind, Waiting
from .puppets import Puppets, Relayed, fold, names_of
from .rooms import BridgedRooms, Pair

if TYPE_CHECKING:
    from ..transports.base import Transport

KEEP = 3600.0
"""Seconds a line is remembered for its bridge copy. A bridge's own flood control can put
copies far behind: heisenbridge relays one line each 1.5 s after a burst, so 1,000 Matrix lines
said at 2 a second reached IRC up to 17 minutes late in bench/bridge.py (a 15-minute memory
logged 69 of them twice). A copy later than this is logged as a line of its own."""

Release = Callable[[Event], None]
"""Hands an event on to the bus after the steps (a copy whose line never came)."""


class BridgeStep:
    def __init__(
        self,
        rooms: BridgedRooms,
        transports: Mapping[str, Transport],
        release: Release,
        *,
        clock: Callable[[], float] = time.monotonic,
        loop: Callable[[], asyncio.AbstractEventLoop] | None = None,
    ) -> None:
        self.rooms = rooms
        self._transports = transports
        self._release = release
        self._clock = clock
        self._loop = loop
        self._puppets: dict[str, Puppets] = {}
        self._copies: dict[str, Copies] = {}
        self._last: dict[tuple[str, str], tuple[str, str]] = {}
        """(pair, person) to (id, text) of the person's last relayed line, for relayed edits."""
        self._last_relayed: dict[str, Identity] = {}
        self._spoke: dict[str, set[tuple[str, str]]] = {}
        """Pair to the handles of everyone heard in its room (natively or through the bridge)."""
        self._people: dict[tuple[str, str], Identity] = {}
        """(pair, name) to the person a bridge relayed under that name in the pair's room."""
        self._echoes: dict[tuple[str, str], deque[str]] = {}
        self._ids = itertools.count(1)
        self._epoch = int(time.time())

    def expect_echo(self, side: Room, text: str) -> None:
        """The bot is about to say ``text`` on a second side of a bridged room (``answer:
        both``): that side's echo of it is not the room's line again (the first side's is)."""
        self._echoes.setdefault((side.network, side.id), deque()).append(text)

    def person_of(self, pair: Pair, who: Identity) -> Identity:
        """The person a member of a side of ``pair`` is (a puppet stands for someone else)."""
        if who.network == pair.bridge.matrix_network:
            relayed = self._relayed_by_matrix(pair, who, "")
        else:
            relayed = self._irc_puppet(pair, who)
        if relayed is None or relayed.bridge_bot:
            return who
        return self.relayed(pair, relayed.person.nick) or relayed.person

    def relayed(self, pair: Pair, name: str) -> Identity | None:
        """Who the bridge has relayed as ``name`` in the pair's room (a Matrix person the bot
        knows only from the IRC side, by nick, display name or Matrix ID)."""
        return self._people.get((pair.channel, fold(name)))

    def sides_used(self, pair: Pair, handles: Sequence[tuple[str, str]]) -> list[str]:
        """The networks those identities spoke from in the pair's room, IRC's first."""
        heard = self._spoke.get(pair.channel, set())
        used = {network for network, key in handles if (network, key) in heard}
        order = (pair.bridge.irc_network, pair.bridge.matrix_network)
        return [network for network in order if network in used]

    def _heard(self, pair: Pair, person: Identity) -> None:
        self._spoke.setdefault(pair.channel, set()).add(person.handle)

    def _met(self, pair: Pair, person: Identity) -> None:
        known = self._people.get((pair.channel, fold(person.nick)))
        if known is not None and known.account is not None and person.account is None:
            return  # what the bridge proved once is not forgotten for an unproven line
        for name in names_of(person):
            self._people[(pair.channel, name)] = person

    # the step

    def __call__(self, event: Event) -> Event | None:
        if not isinstance(event, RoomEvent):
            return event
        pair = self.rooms.pair_of(event.room)
        if pair is None:
            return event
        if isinstance(event, Message):
            return self._message(event, pair)
        if isinstance(event, Edit):
            relayed = self._relayed_by_matrix(pair, event.sender, event.text)
            if relayed is None:
                edit = dataclasses.replace(event, room=pair.room)
                return self._native(pair, edit, event.sender, "edit", event.text, False)
            if self._home_present(pair, relayed.person):
                return None
            return self._emit(
                pair, dataclasses.replace(event, room=pair.room, sender=relayed.person)
            )
        if isinstance(event, Join | Part):
            return self._membership(event, pair)
        return self._emit(pair, dataclasses.replace(event, room=pair.room))

    def _emit(self, pair: Pair, event: Event) -> Event | None:
        """``event`` in its turn: at once, unless something before it waits."""
        copies = self._copies.get(pair.channel)
        if copies is None or not copies.queue:
            return event
        copies.queue.append(event)
        return None

    def _native(
        self, pair: Pair, event: Event, sender: Identity, kind: Kind, text: str, many: bool
    ) -> Event | None:
        """A line said where the bot sees it: in its turn, or in the place of its copy."""
        remember = self.rooms.present(pair, pair.other_network(sender.network)) is not None
        copies = self._copies.get(pair.channel)
        if copies is None and not remember:
            return event
        copies = self._copies_of(pair)
        placed = copies.said_here(
            self._clock(), names_of(sender), kind, text, event, many_lines=many, remember=remember
        )
        if not placed:
            return self._emit(pair, event)
        self._flush(copies)
        return None

    def _flush(self, copies: Copies) -> None:
        for event in copies.ready():
            self._release(event)

    def _membership(self, event: Join | Part, pair: Pair) -> Event | None:
        who = event.who
        relayed = (
            self._relayed_by_matrix(pair, who, "")
            if event.network == pair.bridge.matrix_network
            else self._irc_puppet(pair, who)
        )
        if relayed is None:
            return self._emit(pair, dataclasses.replace(event, room=pair.room))
        if relayed.bridge_bot or self._home_present(pair, relayed.person):
            return None
        if pair.bridge.style == "heisenbridge":
            return None  # it brings a puppet in when the person first speaks: not a join
        return self._emit(pair, dataclasses.replace(event, room=pair.room, who=relayed.person))

    def _irc_puppet(self, pair: Pair, who: Identity) -> Relayed | None:
        suffix = pair.bridge.irc_puppets.nick_suffix
        if suffix and who.nick.endswith(suffix) and len(who.nick) > len(suffix):
            nick = who.nick[: -len(suffix)]
            return Relayed(Identity(pair.bridge.matrix_network, None, nick), "")
        return None

    def _message(self, msg: Message, pair: Pair) -> Event | None:
        expected = self._echoes.get((msg.network, msg.room.id))
        if expected and msg.text in expected and self._is_me(msg.sender):
            expected.remove(msg.text)
            return None
        bridge = pair.bridge
        if msg.network == bridge.irc_network:
            matrix_side = self.rooms.present(pair, bridge.matrix_network) or pair.side(
                bridge.matrix_network
            )
            assert matrix_side is not None
            relayed = self.puppets(pair).on_irc(msg, matrix_side)
        else:
            irc_side = self.rooms.present(pair, bridge.irc_network) or pair.side(bridge.irc_network)
            assert irc_side is not None
            relayed = self.puppets(pair).on_matrix(msg.sender, msg.text, irc_side)
        if relayed is None:
            self._heard(pair, msg.sender)
            line = dataclasses.replace(msg, room=pair.room)
            return self._native(pair, line, msg.sender, "text", msg.text, "\n" in msg.text)
        if relayed.bridge_bot:
            # What the bridge itself says (a topic changed, someone joined on IRC): the bot sees
            # it happen where it is on IRC; else it is a notice of nobody's, credited to no one.
            if self.rooms.present(pair, bridge.irc_network) is not None:
                return None
            nobody = Identity(msg.network, None, msg.sender.nick, msg.sender.display)
            notice = dataclasses.replace(
                msg, room=pair.room, sender=nobody, is_notice=True, bridged=True
            )
            return self._emit(pair, notice)
        if not relayed.person.nick:
            # A relay's line without a <name>: the rest of the last relayed message, or the
            # relay's own line when it relayed nobody yet.
            last = self._last_relayed.get(pair.channel)
            if last is None:
                self._heard(pair, msg.sender)
                line = dataclasses.replace(msg, room=pair.room)
                return self._native(pair, line, msg.sender, "text", msg.text, False)
            relayed = dataclasses.replace(relayed, person=last)
        else:
            self._last_relayed[pair.channel] = relayed.person
        person = relayed.person
        self._met(pair, person)
        self._heard(pair, person)
        home = self._transports.get(person.network)
        if home is None or self.rooms.present(pair, person.network) is None:
            said = self._as_said(pair, msg, relayed)
            return None if said is None else self._emit(pair, said)
        if home.is_me(person):
            return None  # the bot's own line, which it has where it said it
        kind = self._kind(relayed.text)
        now = self._clock()
        copies = self._copies_of(pair)
        names = relayed.names
        if copies.copied(now, names, "text", relayed.text) or (
            kind != "text" and copies.copied(now, names, kind, relayed.text)
        ):
            return None
        waiting = copies.wait(names, kind, relayed.text)
        handle = self._event_loop().call_later(
            bridge.window, self._let_go, pair, waiting, msg, relayed
        )
        waiting.cancel = handle.cancel
        return None

    def _let_go(self, pair: Pair, waiting: Waiting, msg: Message, relayed: Relayed) -> None:
        copies = self._copies_of(pair)
        if copies.let_go(waiting, self._as_said(pair, msg, relayed)):
            self._flush(copies)

    def _as_said(self, pair: Pair, msg: Message, relayed: Relayed) -> Message | Edit | None:
        """A copy, as the person said it (nobody sees the line itself)."""
        person = relayed.person
        key = (pair.channel, fold(person.nick))
        last = self._last.get(key)
        if last is not None and looks_like_edit(relayed.text):
            style: EditStyle = "words" if pair.bridge.style == "heisenbridge" else "whole"
            text = corrected(last[1], relayed.text, style)
            if text is not None:
                self._last[key] = (last[0], text)
                return Edit(
                    network=msg.network,
                    ts=msg.ts,
                    room=pair.room,
                    sender=person,
                    target_id=last[0],
                    text=text,
                    id=msg.id,
                )
        msg_id = msg.id or f"bridged:{self._epoch}:{next(self._ids)}"
        self._last[key] = (msg_id, relayed.text)
        return dataclasses.replace(
            msg,
            room=pair.room,
            sender=person,
            text=relayed.text,
            is_action=relayed.is_action,
            id=msg_id,
            bridged=True,
        )

    # helpers

    def puppets(self, pair: Pair) -> Puppets:
        found = self._puppets.get(pair.bridge.name)
        if found is None:
            found = self._puppets[pair.bridge.name] = Puppets(pair.bridge, self._member)
        return found

    def _is_me(self, who: Identity) -> bool:
        transport = self._transports.get(who.network)
        return transport is not None and transport.is_me(who)

    def _member(self, room: Room, nick: str) -> Identity | None:
        transport = self._transports.get(room.network)
        return transport.member(room, nick) if transport is not None else None

    def _relayed_by_matrix(self, pair: Pair, who: Identity, text: str) -> Relayed | None:
        if who.network != pair.bridge.matrix_network:
            return None
        irc_side = self.rooms.present(pair, pair.bridge.irc_network) or pair.side(
            pair.bridge.irc_network
        )
        assert irc_side is not None
        return self.puppets(pair).on_matrix(who, text, irc_side)

    def _home_present(self, pair: Pair, person: Identity) -> bool:
        return (
            person.network in self._transports
            and self.rooms.present(pair, person.network) is not None
        )

    def _copies_of(self, pair: Pair) -> Copies:
        found = self._copies.get(pair.channel)
        if found is None:
            keep = max(6 * pair.bridge.window, KEEP)
            found = self._copies[pair.channel] = Copies(keep)
        return found

    @staticmethod
    def _kind(text: str) -> Kind:
        if paste_link(text) is not None:
            return "paste"
        return "edit" if looks_like_edit(text) else "text"

    def _event_loop(self) -> asyncio.AbstractEventLoop:
        return self._loop() if self._loop is not None else asyncio.get_running_loop()
