"""The event bus: chat events in per-room order, and plugins' domain events.

Chat events from transports enter a lane per room (or per network for network-wide events such
as nick changes). A lane hands its events to the dispatcher one at a time, so every handler sees
one room's lines in the order they arrived; different rooms proceed concurrently. A transport
that outpaces the handlers waits when its lane holds ``lane_limit`` events (back-pressure).

Domain events (what plugins tell each other) are delivered inline to every subscriber of the
event's type or a base type, in subscription order, before ``emit`` returns.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from .events import DomainEvent, Event

log = logging.getLogger("opsbot.bus")

LANE_LIMIT = 1_000
"""Events a lane holds before its transport waits: enough to keep the handlers busy, few enough
that a burst of a 20,000-line meeting waits in the socket, not in memory."""

Dispatcher = Callable[[Event], Awaitable[None]]
Subscriber = Callable[[Any], Awaitable[None]]


class _Lane:
    __slots__ = ("events", "ready", "space", "task", "urgent")

    def __init__(self) -> None:
        self.events: deque[Event] = deque()
        self.urgent: deque[Event] = deque()
        self.ready = asyncio.Event()
        self.space = asyncio.Event()
        self.space.set()
        self.task: asyncio.Task[None] | None = None


class Bus:
    def __init__(self, dispatch: Dispatcher, *, lane_limit: int = LANE_LIMIT) -> None:
        self._dispatch = dispatch
        self._lane_limit = lane_limit
        self._lanes: dict[str, _Lane] = {}
        self._subscribers: dict[type, list[Subscriber]] = {}
        self._closed = False
        self._pending = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def pending(self) -> int:
        """Chat events queued or being handled."""
        return self._pending

    def offer(self, event: Event) -> bool:
        """Queue an event without waiting, if its lane has room; False if the caller must
        :meth:`publish` it instead (bus closed or lane full)."""
        if self._closed:
            return False
        key = event.lane
        lane = self._lanes.get(key)
        if lane is not None and len(lane.events) >= self._lane_limit:
            return False
        self._queue(event, urgent=False, key=key)
        return True

    def _queue(self, event: Event, *, urgent: bool, key: str | None = None) -> _Lane:
        if key is None:
            key = event.lane
        lane = self._lanes.get(key)
        if lane is None:
            lane = self._lanes[key] = _Lane()
            lane.task = asyncio.create_task(self._work(lane), name=f"lane {key}")
        (lane.urgent if urgent else lane.events).append(event)
        lane.ready.set()
        self._pending += 1
        self._idle.clear()
        return lane

    async def publish(self, event: Event, *, wait: bool = True, urgent: bool = False) -> None:
        """Queue a chat event in its lane. With ``wait`` (transports), wait while the lane is
        full; without (the bot's own lines, queued from inside a handler), never wait.
        ``urgent`` events (what the bot just said) are handled right after the event being
        handled, before anything queued behind it: a log shows an answer after its command."""
        if self._closed and (wait or not self._lanes):
            log.warning("bus closed, dropping %r", event)
            return
        lane = self._queue(event, urgent=urgent)
        if wait and len(lane.events) >= self._lane_limit:
            lane.space.clear()
            await lane.space.wait()

    async def _work(self, lane: _Lane) -> None:
        events, urgent = lane.events, lane.urgent
        while True:
            if urgent:
                event = urgent.popleft()
            elif events:
                event = events.popleft()
                if len(events) <= self._lane_limit // 2:  # a waiting transport goes on in bulk
                    lane.space.set()
            else:
                lane.ready.clear()
                await lane.ready.wait()
                continue
            try:
                await self._dispatch(event)
            except Exception:
                log.exception("dispatch failed for %r", event)
            finally:
                self._pending -= 1
                if not self._pending:
                    self._idle.set()

    async def drain(self) -> None:
        """Wait until every queued chat event has been handled, including ones queued meanwhile."""
        await self._idle.wait()

    def subscribe(self, event_type: type[DomainEvent], handler: Subscriber) -> None:
        self._subscribers.setdefault(event_type, []).append(handler)

    def heard(self, event_type: type[DomainEvent]) -> bool:
        """Whether anyone subscribed to ``event_type`` itself (one listening to every event is
        not taken to deliver this one)."""
        return bool(self._subscribers.get(event_type))

    async def emit(self, event: DomainEvent) -> None:
        """Deliver a domain event to its subscribers; a failing subscriber is logged, not fatal."""
        for cls in type(event).__mro__:
            for handler in tuple(self._subscribers.get(cls, ())):
                try:
                    await handler(event)
                except Exception:
                    log.exception("subscriber %r failed on %r", handler, event)

    async def close(self, grace: float = 10.0) -> None:
        """Stop taking events from transports, handle what is queued (up to ``grace`` seconds)
        along with the bot's own lines it produces, then stop the lanes."""
        self._closed = True
        try:
            await asyncio.wait_for(self.drain(), grace)
        except TimeoutError:
            log.error("bus closed with %d events unhandled after %.0f s", self._pending, grace)
        tasks = [lane.task for lane in self._lanes.values() if lane.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._lanes.clear()
