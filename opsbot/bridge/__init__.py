"""Rooms bridged between IRC and Matrix: each bridged pair is one room for every plugin, each
bridge puppet stands for the person it relays, and a line is logged once (see README, "Rooms
bridged between IRC and Matrix").

The inbound stage runs :class:`~opsbot.bridge.step.BridgeStep` on every room event; the bot asks
:class:`~opsbot.bridge.rooms.BridgedRooms` where to say what it says in a bridged room.
"""

from .rooms import BridgedRooms, Pair
from .step import BridgeStep

__all__ = ["BridgeStep", "BridgedRooms", "Pair"]
