"""The two stages every chat event passes: inbound (transport → steps → bus) and outbound
(plugin → steps → transport).

Each stage is a list of small steps run in order. An inbound step takes an event and returns
it (or a changed copy, or None to drop it) before the event is queued in its room's lane, so it
runs in the network's arrival order; this is where the bot's own echo is recognised and where a
bridge's copy of a line belongs. An outbound step takes an :class:`Outgoing` and returns it (or
a changed copy, or None to say nothing) before the transport sends it; formatting is the first.
Pacing against flood limits stays in the IRC transport, whose token bucket must count every
protocol line it writes, not only what plugins say.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from .bus import Bus
from .events import Event, Identity, Message, Room
from .text import fit
from .transports.base import Transport

InboundStep = Callable[[Event], Event | None]


@dataclass(slots=True)
class Outgoing:
    """Something a plugin says in a room (a step returns it, or a changed copy of it)."""

    room: Room
    text: str
    html: str | None = None
    reply_to: Message | None = None
    notice: bool = False
    mentions: Sequence[Identity] = ()


OutboundStep = Callable[[Outgoing], Outgoing | None]


class Inbound:
    """The sink transports publish to: runs the steps, then queues what is left on the bus.

    A step sees the events of the types it is added for (every event by default); which steps
    an event type passes is worked out once per type, so a chat line pays only for its own."""

    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self.committed: Callable[[], Awaitable[None]] | None = None
        """Waits until what handlers stored is committed (the bot's storage writers)."""
        self._steps: list[tuple[InboundStep, tuple[type[Event], ...]]] = []
        self._by_type: dict[type[Event], tuple[InboundStep, ...]] = {}

    def add(self, step: InboundStep, *types: type[Event]) -> None:
        """Run ``step`` on events of ``types`` (every event if none), after the steps before."""
        self._steps.append((step, types or (Event,)))
        self._by_type.clear()

    def _through(self, event: Event) -> Event | None:
        kind = type(event)
        steps = self._by_type.get(kind)
        if steps is None:
            steps = self._by_type[kind] = tuple(
                step for step, types in self._steps if issubclass(kind, types)
            )
        for step in steps:
            found = step(event)
            if found is None:
                return None
            event = found
        return event

    def offer(self, event: Event) -> bool:
        passed = self._through(event)
        return True if passed is None else self.bus.offer(passed)

    async def publish(self, event: Event, *, wait: bool = True) -> None:
        passed = self._through(event)
        # Queued at once when its lane has room (the common case costs no further await).
        if passed is not None and not self.bus.offer(passed):
            await self.bus.publish(passed, wait=wait)

    async def drain(self) -> None:
        await self.bus.drain()

    async def durable(self) -> None:
        await self.bus.drain()
        if self.committed is not None:
            await self.committed()


def own_echo(transports: dict[str, Transport]) -> InboundStep:
    """Mark the bot's own lines (a network's echo of what it said, a bridge's copy of it):
    plugins see them only where they asked to (``@on(Message, own=True)``), and they are
    never taken for a command."""

    def step(event: Event) -> Event | None:
        if isinstance(event, Message) and not event.own:
            transport = transports.get(event.network)
            if transport is not None and transport.is_me(event.sender):
                return dataclasses.replace(event, own=True)
        return event

    return step


def formatting(outgoing: Outgoing) -> Outgoing:
    """No line longer than a chat line is fit to be (:func:`opsbot.text.fit`)."""
    text = fit(outgoing.text)
    return outgoing if text is outgoing.text else dataclasses.replace(outgoing, text=text)
