"""The shared scheduler: decorated jobs run in the plugin's namespace; failures are logged."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC

import pytest

from opsbot.plugin import Plugin, cron, interval
from opsbot.testing import BotFactory


class Ticker(Plugin):
    """Counts ticks."""

    async def setup(self) -> None:
        self.ticks = 0
        self.failures = 0

    @interval(seconds=0.02)
    async def tick(self) -> None:
        self.ticks += 1

    @interval(seconds=0.02)
    async def flaky(self) -> None:
        self.failures += 1
        raise RuntimeError("job bug")

    @cron(hour=9, minute=30)
    async def morning(self) -> None: ...


async def test_jobs_run_in_their_namespace_and_survive_failures(
    bot_factory: BotFactory, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await bot_factory(extra={"ticker": Ticker})
    ticker = bot.bot.plugins["ticker"]
    assert isinstance(ticker, Ticker)
    scheduler = bot.bot.scheduler
    assert ticker.jobs.names() == ["ticker:flaky", "ticker:morning", "ticker:tick"]
    next_morning = scheduler.next_run("ticker:morning")
    assert (next_morning.astimezone(UTC).hour, next_morning.minute) == (9, 30)
    with caplog.at_level(logging.ERROR, logger="opsbot.scheduler"):
        for _ in range(200):
            await asyncio.sleep(0.01)
            if ticker.ticks >= 3 and ticker.failures >= 2:
                break
    assert ticker.ticks >= 3 and ticker.failures >= 2
    assert any("job ticker:flaky failed" in r.getMessage() for r in caplog.records)


async def test_plugins_add_and_remove_their_own_jobs(bot_factory: BotFactory) -> None:
    bot = await bot_factory(extra={"ticker": Ticker})
    ticker = bot.bot.plugins["ticker"]
    fired = asyncio.Event()

    async def remind() -> None:
        fired.set()

    from apscheduler.triggers.date import DateTrigger

    job_id = ticker.jobs.add("remind-42", remind, DateTrigger())
    assert job_id == "ticker:remind-42"
    await asyncio.wait_for(fired.wait(), 2)
    assert ticker.jobs.remove("remind-42") is False  # a one-off job is gone once run


async def test_the_scheduler_stops_with_the_bot(bot_factory: BotFactory) -> None:
    bot = await bot_factory(extra={"ticker": Ticker})
    assert bot.bot.scheduler.running
    await bot.bot.stop()
    await asyncio.sleep(0.01)
    assert not bot.bot.scheduler.running
