"""One APScheduler AsyncIOScheduler for the whole bot; plugins' jobs live in their own namespace.

Methods marked ``@cron(...)`` or ``@interval(...)`` become jobs named ``<plugin>:<method>``
(``<plugin>:<method>.<n>`` for a method with several triggers) when the plugin loads; plugins add further jobs with :meth:`Scheduler.add`. A job that raises is
logged and runs again at its next time.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import tzinfo
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from .plugin import Plugin, handlers_of

log = logging.getLogger("opsbot.scheduler")

JobFunc = Callable[[], Awaitable[None]]


class Scheduler:
    def __init__(self, timezone: tzinfo) -> None:
        self.timezone = timezone
        self.aps = AsyncIOScheduler(
            timezone=timezone,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60},
        )

    @property
    def running(self) -> bool:
        return bool(self.aps.running)

    def start(self) -> None:
        self.aps.start()

    def shutdown(self) -> None:
        if self.aps.running:
            self.aps.shutdown(wait=False)

    def add(self, plugin: Plugin, name: str, func: JobFunc, trigger: Any, **options: Any) -> str:
        """Schedule ``func`` as job ``<plugin>:<name>`` (replacing one of that id); returns the id."""
        job_id = plugin.job_id(name)
        self.aps.add_job(
            _guarded(job_id, func),
            trigger,
            id=job_id,
            name=job_id,
            replace_existing=True,
            **options,
        )
        return job_id

    def remove(self, plugin: Plugin, name: str) -> bool:
        job_id = plugin.job_id(name)
        if self.aps.get_job(job_id) is None:
            return False
        self.aps.remove_job(job_id)
        return True

    def jobs(self, plugin: Plugin | None = None) -> list[str]:
        prefix = "" if plugin is None else plugin.job_id("")
        return sorted(job.id for job in self.aps.get_jobs() if job.id.startswith(prefix))

    def next_run(self, job_id: str) -> Any:
        job = self.aps.get_job(job_id)
        return None if job is None else job.next_run_time

    def register(self, plugin: Plugin) -> None:
        """Schedule the plugin's ``@cron`` and ``@interval`` methods."""
        for func, rules in handlers_of(plugin):
            triggers = [CronTrigger(timezone=self.timezone, **f) for f in rules.cron]
            triggers += [IntervalTrigger(timezone=self.timezone, **f) for f in rules.interval]
            for i, trigger in enumerate(triggers):
                name = func.__name__ if len(triggers) == 1 else f"{func.__name__}.{i}"
                self.add(plugin, name, func, trigger)


def _guarded(job_id: str, func: JobFunc) -> JobFunc:
    async def run() -> None:
        try:
            await func()
        except Exception:
            log.exception("job %s failed", job_id)

    run.__name__ = run.__qualname__ = job_id
    return run
