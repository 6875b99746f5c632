"""The core durable outbox on a real SQLite file: stored before attempted, in order per target,
retried with backoff, once per idempotency key, never past its expiry, held until a person acts,
and still there after a restart."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

from opsbot.events import utcnow
from opsbot.outbox import Entry, Held, Outbox
from opsbot.state import OpsbotBase
from opsbot.storage import Storage
from opsbot.testing import BotFactory


async def storage_at(tmp_path: Path) -> Storage:
    storage = Storage(f"sqlite+aiosqlite:///{tmp_path}/bot.db", spool_dir=tmp_path / "spool")
    await storage.connect()
    async with storage.engine.begin() as conn:
        await conn.run_sync(OpsbotBase.metadata.create_all)
    return storage


class Target:
    """A delivery target that fails the first ``failures`` attempts."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.got: list[str] = []
        self.attempts: list[list[int]] = []

    async def deliver(self, entries: list[Entry]) -> int:
        self.attempts.append([entry.attempts for entry in entries])
        if self.failures:
            self.failures -= 1
            raise ConnectionError("target away")
        self.got += [entry.payload["text"] for entry in entries]
        return len(entries)


async def test_entries_arrive_in_order_once_after_failures(tmp_path: Path) -> None:
    storage = await storage_at(tmp_path)
    outbox = Outbox(storage, first_delay=0.01, most_delay=0.05)
    await outbox.start()
    target = Target(failures=2)
    await outbox.register("test", target.deliver, batch=10)
    for n in range(5):
        outbox.add("test", "room", {"text": f"line {n}"})
    await asyncio.wait_for(outbox.idle(), 10)
    assert target.got == [f"line {n}" for n in range(5)]
    assert len(target.attempts) >= 3 and target.attempts[-1][0] >= 2, "attempts are counted"
    assert (await outbox.status("test", "room")).waiting == 0
    await outbox.stop()
    await storage.close()


async def test_one_key_is_delivered_once_and_an_expired_entry_never(tmp_path: Path) -> None:
    storage = await storage_at(tmp_path)
    outbox = Outbox(storage, first_delay=0.01)
    await outbox.start()
    outbox.add("test", "room", {"text": "reminder"}, key="remind:1")
    outbox.add("test", "room", {"text": "reminder again"}, key="remind:1")
    outbox.add("test", "room", {"text": "too late"}, expires_at=utcnow() - timedelta(seconds=1))
    outbox.add("test", "room", {"text": "after"})
    await outbox.writer.flush()
    target = Target()
    await outbox.register("test", target.deliver)
    await asyncio.wait_for(outbox.idle(), 10)
    assert target.got == ["reminder", "after"]
    await outbox.stop()
    await storage.close()


async def test_new_entries_do_not_cut_short_the_wait_of_a_target_that_is_away(
    tmp_path: Path,
) -> None:
    storage = await storage_at(tmp_path)
    outbox = Outbox(storage, first_delay=0.5, most_delay=0.5)
    await outbox.start()
    target = Target(failures=1)
    await outbox.register("test", target.deliver, batch=100)
    outbox.add("test", "room", {"text": "first"})
    for _ in range(100):
        if target.attempts:
            break
        await asyncio.sleep(0.01)
    for n in range(20):  # while the target is away: each would have been an attempt
        outbox.add("test", "room", {"text": f"more {n}"})
        await asyncio.sleep(0.01)
    await asyncio.wait_for(outbox.idle(), 10)
    assert len(target.attempts) == 2, target.attempts
    assert target.got == ["first", *[f"more {n}" for n in range(20)]]
    await outbox.stop()
    await storage.close()


async def test_what_waits_survives_a_restart(tmp_path: Path) -> None:
    storage = await storage_at(tmp_path)
    first = Outbox(storage)
    await first.start()
    first.add("test", "pad", {"text": "kept"})
    await first.stop()  # nobody registered the channel: nothing was attempted
    await storage.close()

    storage = await storage_at(tmp_path)
    again = Outbox(storage)
    await again.start()
    target = Target()
    await again.register("test", target.deliver)
    await asyncio.wait_for(again.idle(), 10)
    assert target.got == ["kept"]
    await again.stop()
    await storage.close()


async def test_held_is_told_once_and_delivery_resumes(tmp_path: Path) -> None:
    storage = await storage_at(tmp_path)
    outbox = Outbox(storage, first_delay=0.01, most_delay=0.02)
    await outbox.start()
    told: list[str] = []
    refusals = {"left": 3}
    got: list[str] = []

    async def deliver(entries: list[Entry]) -> int:
        if refusals["left"]:
            refusals["left"] -= 1
            raise Held("wrong API key")
        got.extend(entry.payload["text"] for entry in entries)
        return len(entries)

    async def held(entry: Entry, error: Exception) -> None:
        told.append(f"{entry.target}: {error}")

    await outbox.register("test", deliver, held=held)
    outbox.add("test", "pad", {"text": "line"})
    await asyncio.wait_for(outbox.idle(), 10)
    assert told == ["pad: wrong API key"] and got == ["line"]
    await outbox.stop()
    await storage.close()


async def test_a_revision_scrubs_every_copy_and_follows_up_the_first(tmp_path: Path) -> None:
    storage = await storage_at(tmp_path)
    outbox = Outbox(storage)
    await outbox.start()
    target = Target()
    await outbox.register("test", target.deliver)
    outbox.add("test", "pad", {"text": "the key is hunter2", "replaces": None}, ref="m1:4")
    await asyncio.wait_for(outbox.idle(), 10)
    outbox.revise("test", "m1:4", {"text": "[removed]"}, scrub=True, follow_up=True)
    await asyncio.wait_for(outbox.idle(), 10)
    assert target.got == ["the key is hunter2", "[removed]"]
    async with storage.engine.connect() as conn:
        kept = (await conn.exec_driver_sql("SELECT payload FROM opsbot_outbox")).all()
    assert kept and not [row for row in kept if "hunter2" in row[0]]
    await outbox.stop()
    await storage.close()


async def test_said_later_goes_once_at_once_when_its_network_is_back(
    bot_factory: BotFactory,
) -> None:
    """Through a real bot: a reminder-like line for a room whose network is away waits in the
    outbox, goes the moment the network reconnects (not after its backoff), and goes once."""
    from opsbot.events import Connected
    from opsbot.transports import TransportError

    bot = await bot_factory(plugins=["core"])
    matrix = bot.bot.transports["matrix"]
    real_send = matrix.send
    away = {"now": True}

    async def flaky(room: Any, text: str, **kwargs: Any) -> str | None:
        if away["now"]:
            raise TransportError("homeserver unreachable")
        return await real_send(room, text, **kwargs)

    matrix.send = flaky  # type: ignore[method-assign]
    room = bot.bot.room("matrix", bot.matrix.room)
    for _ in range(2):
        bot.bot.say_later(room, "the meeting starts in 15 minutes", key="remind:ops:1")
    await asyncio.sleep(1.3)  # tried at once, and again after about a second: waits ~2 s now
    assert await bot.matrix.settle() == []
    away["now"] = False
    began = asyncio.get_running_loop().time()
    await bot.matrix.transport.deliver(Connected(network="matrix", me=matrix.me))
    for _ in range(100):
        said = await bot.matrix.settle()
        if said:
            break
        await asyncio.sleep(0.02)
    assert [s.text for s in said] == ["the meeting starts in 15 minutes"]
    assert asyncio.get_running_loop().time() - began < 0.3, "at once, not after the backoff"
    await asyncio.sleep(0.2)
    assert await bot.matrix.settle() == [], "once"


async def test_what_never_went_is_told_to_the_admins(bot_factory: BotFactory) -> None:
    bot = await bot_factory(plugins=["core"])
    gone = bot.bot.room("matrix", "!nowhere:example.org")

    async def refuse(room: Any, text: str, **kwargs: Any) -> str | None:
        raise ConnectionError("not in that room")

    bot.bot.transports["matrix"].send = refuse  # type: ignore[method-assign]
    bot.bot.say_later(
        gone, "reminder", key="remind:x", expires_at=utcnow() + timedelta(seconds=0.5),
        undelivered="The reminder of x could not be delivered to matrix:!nowhere:example.org",
    )  # fmt: skip
    await asyncio.sleep(0.8)
    bot.bot.retry_deliveries()
    told: list[str] = []
    for _ in range(100):
        told += [s.text for s in await bot.irc.settle() if s.to is not None]
        if told:
            break
        await asyncio.sleep(0.02)
    assert told and told[0].startswith(
        "The reminder of x could not be delivered to matrix:!nowhere:example.org: "
    )


def test_the_backoff_doubles_up_to_its_cap_with_jitter() -> None:
    from opsbot.retry import Backoff

    backoff = Backoff(1.0, 8.0)
    waits = [backoff.next() for _ in range(6)]
    for wait, expected in zip(waits, [1, 2, 4, 8, 8, 8], strict=True):
        assert expected * 0.75 <= wait <= expected * 1.25
    backoff.reset()
    assert backoff.failures == 0 and backoff.next() <= 1.25


async def test_a_failure_is_kept_with_what_waits_for_opsbot_status(tmp_path: Path) -> None:
    from opsbot.status import report

    storage = await storage_at(tmp_path)
    outbox = Outbox(storage, first_delay=5, most_delay=5)
    await outbox.start()
    target = Target(failures=100)
    await outbox.register("test", target.deliver)
    outbox.add("test", "room", {"text": "stuck"})
    for _ in range(200):
        if target.attempts:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.2)
    lines = await report(storage, "sqlite+aiosqlite:///x")
    assert lines[1].startswith("Outbox test: 1 waiting, the oldest for ")
    assert lines[1].endswith("; last error: target away")
    await outbox.stop()
    await storage.close()
