"""The bus: per-room order, rooms in parallel, back-pressure, draining, domain events."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass

from opsbot.bus import Bus
from opsbot.events import DomainEvent, Event, Identity, Message, Room


def line(room: str, text: str) -> Message:
    return Message(
        network="irc", room=Room("irc", room), sender=Identity("irc", "a", "a"), text=text
    )


async def test_one_room_is_handled_in_arrival_order_even_when_handlers_sleep() -> None:
    seen: list[str] = []
    rng = random.Random(7)

    async def handle(event: Event) -> None:
        await asyncio.sleep(rng.random() / 1000)
        assert isinstance(event, Message)
        seen.append(event.text)

    bus = Bus(handle)
    for i in range(200):
        await bus.publish(line("#a", str(i)))
    await bus.drain()
    assert seen == [str(i) for i in range(200)]


async def test_rooms_proceed_concurrently() -> None:
    gate = asyncio.Event()
    seen: list[str] = []

    async def handle(event: Event) -> None:
        assert isinstance(event, Message)
        if event.room.id == "#slow":
            await gate.wait()
        seen.append(event.text)
        if event.room.id == "#fast":
            gate.set()

    bus = Bus(handle)
    await bus.publish(line("#slow", "slow"))
    await bus.publish(line("#fast", "fast"))
    await asyncio.wait_for(bus.drain(), 2)
    assert seen == ["fast", "slow"]


async def test_a_full_lane_makes_the_publisher_wait() -> None:
    release = asyncio.Event()

    async def handle(event: Event) -> None:
        await release.wait()

    bus = Bus(handle, lane_limit=3)
    await bus.publish(line("#a", "0"))
    await asyncio.sleep(0.01)  # the lane takes "0" and is busy with it
    await bus.publish(line("#a", "1"))
    await bus.publish(line("#a", "2"))
    blocked = asyncio.create_task(bus.publish(line("#a", "3")))
    await asyncio.sleep(0.01)
    assert not blocked.done()
    assert bus.pending == 4
    release.set()
    await asyncio.wait_for(blocked, 2)
    await bus.drain()
    assert bus.pending == 0


async def test_a_failing_dispatch_does_not_stop_the_lane() -> None:
    seen: list[str] = []

    async def handle(event: Event) -> None:
        assert isinstance(event, Message)
        if event.text == "bad":
            raise RuntimeError("no")
        seen.append(event.text)

    bus = Bus(handle)
    for text in ("a", "bad", "b"):
        await bus.publish(line("#a", text))
    await bus.drain()
    assert seen == ["a", "b"]


async def test_close_handles_what_is_queued_and_then_refuses_input() -> None:
    seen: list[str] = []

    async def handle(event: Event) -> None:
        await asyncio.sleep(0)
        assert isinstance(event, Message)
        seen.append(event.text)

    bus = Bus(handle)
    for i in range(50):
        await bus.publish(line("#a", str(i)))
    await bus.close()
    await bus.publish(line("#a", "late"))
    assert seen == [str(i) for i in range(50)]


@dataclass(frozen=True, kw_only=True)
class ItemAdded(DomainEvent):
    text: str


@dataclass(frozen=True, kw_only=True)
class ActionAdded(ItemAdded):
    owner: str


async def test_domain_events_reach_subscribers_of_their_type_and_bases() -> None:
    got: list[str] = []

    async def items(event: ItemAdded) -> None:
        got.append(f"item {event.text}")

    async def actions(event: ActionAdded) -> None:
        got.append(f"action {event.owner}")

    async def broken(event: ItemAdded) -> None:
        raise RuntimeError("subscriber bug")

    bus = Bus(lambda e: asyncio.sleep(0))
    bus.subscribe(ItemAdded, broken)
    bus.subscribe(ItemAdded, items)
    bus.subscribe(ActionAdded, actions)
    await bus.emit(ActionAdded(text="fix it", owner="bob"))
    await bus.emit(ItemAdded(text="note"))
    assert got == ["action bob", "item fix it", "item note"]


async def test_urgent_events_go_before_what_is_queued() -> None:
    seen: list[str] = []
    bus: Bus

    async def handle(event: Event) -> None:
        assert isinstance(event, Message)
        seen.append(event.text)
        if event.text == "!cmd":
            await bus.publish(line("#a", "answer 1"), wait=False, urgent=True)
            await bus.publish(line("#a", "answer 2"), wait=False, urgent=True)

    bus = Bus(handle)
    for text in ("!cmd", "next", "after"):
        await bus.publish(line("#a", text))
    await bus.drain()
    assert seen == ["!cmd", "answer 1", "answer 2", "next", "after"]


async def test_offer_queues_in_order_and_refuses_when_the_lane_is_full_or_closed() -> None:
    release = asyncio.Event()
    seen: list[str] = []

    async def handle(event: Event) -> None:
        await release.wait()
        assert isinstance(event, Message)
        seen.append(event.text)

    bus = Bus(handle, lane_limit=2)
    await bus.publish(line("#a", "0"))
    assert bus.offer(line("#a", "1"))
    await asyncio.sleep(0)  # the lane takes "0" and waits on it; "1" is queued
    assert bus.offer(line("#a", "2"))
    assert not bus.offer(line("#a", "3")), "the lane holds its limit"
    release.set()
    await bus.drain()
    assert seen == ["0", "1", "2"]
    await bus.close()
    assert not bus.offer(line("#a", "4"))
