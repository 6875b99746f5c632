"""Transports: one per configured network, each type in its own module, imported when used."""

from __future__ import annotations

from ..config import (
    BotConfig,
    ConfigError,
    ConsoleNetwork,
    IrcNetwork,
    MatrixNetwork,
    MemoryNetwork,
    NetworkBase,
)
from .base import Capabilities, EventSink, Transport, TransportError

__all__ = ["Capabilities", "EventSink", "Transport", "TransportError", "build_transport"]


def build_transport(index: int, network: NetworkBase, bot: BotConfig) -> Transport:
    """The transport for ``networks[index]``; raises ConfigError for a type not available yet."""
    if isinstance(network, ConsoleNetwork):
        from .console import ConsoleTransport

        return ConsoleTransport(
            network.name,
            speaker=network.speaker,
            room=network.room,
            bot_nick=bot.nick,
            bot_prefix=bot.prefix,
            prefix=network.prefix,
        )
    if isinstance(network, MemoryNetwork):
        from .memory import MemoryTransport

        return MemoryTransport(
            network.name,
            style=network.style,
            nick=bot.nick,
            rooms=network.rooms or None,
            prefix=network.prefix,
        )
    if isinstance(network, IrcNetwork):
        from .irc import IrcTransport

        return IrcTransport(network, bot.nick)
    if isinstance(network, MatrixNetwork):
        from .matrix import MatrixTransport

        return MatrixTransport(network)
    kind = getattr(network, "type", "?")
    raise ConfigError(
        [(f"networks[{index}].type", f"the {kind} transport is not available in this version yet")]
    )
