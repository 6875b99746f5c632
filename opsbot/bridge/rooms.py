"""Which IRC channel and which Matrix room are one room, and which of the two the bot is in.

The pair's one room is its IRC channel (``Room(irc_network, "#channel")``): the name MeetBot's
minutes, eavesdrop-like URLs and the archive already use, whichever side the bot sits on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..config import BridgeConfig
from ..events import Room


@dataclass(frozen=True, slots=True)
class Pair:
    """One bridged channel and room."""

    bridge: BridgeConfig
    channel: str
    matrix_room: str
    """As configured: an ID or an alias."""

    @property
    def room(self) -> Room:
        """The one room plugins see."""
        return Room(self.bridge.irc_network, self.channel)

    def side(self, network: str) -> Room | None:
        """The pair's room on ``network``, as configured (None: not a side of this pair)."""
        if network == self.bridge.irc_network:
            return Room(network, self.channel)
        if network == self.bridge.matrix_network:
            return Room(network, self.matrix_room)
        return None

    def other_network(self, network: str) -> str:
        bridge = self.bridge
        return bridge.matrix_network if network == bridge.irc_network else bridge.irc_network


RoomsOf = Callable[[str], Sequence[Room]]
"""The rooms the bot is in now on a network (none where it is not connected)."""


class BridgedRooms:
    """The bridged pairs, found by either side's room."""

    def __init__(self, bridges: Sequence[BridgeConfig], rooms_of: RoomsOf) -> None:
        self.pairs: list[Pair] = []
        self._by_key: dict[str, Pair] = {}
        self._rooms_of = rooms_of
        self._irc_networks = {bridge.irc_network for bridge in bridges}
        for bridge in bridges:
            for room in bridge.rooms:
                pair = Pair(bridge, room.irc, room.matrix)
                self.pairs.append(pair)
                self._by_key[f"{bridge.irc_network}:{room.irc.casefold()}"] = pair
                self._by_key[f"{bridge.matrix_network}:{room.matrix}"] = pair

    def __bool__(self) -> bool:
        return bool(self.pairs)

    def pair_of(self, room: Room) -> Pair | None:
        """The pair ``room`` is a side of (by ID, or a Matrix room by its alias), or the one
        room of."""
        if not self._by_key or room.is_direct:
            return None
        found = self._by_key.get(room.key)
        if found is None and room.network in self._irc_networks:  # channels: any case
            found = self._by_key.get(f"{room.network}:{room.id.casefold()}")
        if found is None and room.name:
            found = self._by_key.get(f"{room.network}:{room.name}")
        return found

    def one_room(self, room: Room) -> Room:
        """The room plugins see for ``room``: its pair's, else itself."""
        pair = self.pair_of(room)
        return room if pair is None else pair.room

    def present(self, pair: Pair, network: str) -> Room | None:
        """The pair's room on ``network`` as the bot is in it now, or None (not there, or not
        connected)."""
        side = pair.side(network)
        if side is None:
            return None
        for room in self._rooms_of(network):
            if room.id.casefold() == side.id.casefold() or (room.name and room.name == side.id):
                return room
        return None

    def sides(self, pair: Pair) -> list[Room]:
        """The pair's rooms the bot is in now, IRC's first."""
        found = (
            self.present(pair, pair.bridge.irc_network),
            self.present(pair, pair.bridge.matrix_network),
        )
        return [room for room in found if room is not None]

    def targets(self, room: Room, asked_on: str | None) -> list[Room]:
        """Where to say something in ``room``: itself when not bridged; else the side it was
        asked on (``asked_on``, a network), or the IRC side, or both sides when the bridge is
        configured to answer on both. Empty when the bot is in neither side now."""
        pair = self.pair_of(room)
        if pair is None:
            return [room]
        sides = self.sides(pair)
        if pair.bridge.answer == "both" or not sides:
            return sides
        asked = next((side for side in sides if side.network == asked_on), None)
        return [asked or sides[0]]
