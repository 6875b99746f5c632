"""One APScheduler AsyncIOScheduler for the whole bot; plugins' jobs live in their own namespace.

Methods marked ``@cron(...)`` or ``@interval(...)`` become jobs named ``<plugin>:<method>``
(``<plugin>:<method>.<n>`` for a method with several triggers) when the plugin loads; plugins add
further jobs through their :class:`PluginJobs` (``services.jobs(name)``), which keeps them in the
plugin's namespace. A job that raises is logged and runs again at its next time.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import tzinfo
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from .rules import handlers_of

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

    def add(self, job_id: str, func: JobFunc, trigger: Any, **options: Any) -> str:
        """Schedule ``func`` as job ``job_id`` (replacing one of that id); returns the id."""
        self.aps.add_job(
            _guarded(job_id, func),
            trigger,
            id=job_id,
            name=job_id,
            replace_existing=True,
            **options,
        )
        return job_id

    def remove(self, job_id: str) -> bool:
        if self.aps.get_job(job_id) is None:
            return False
        self.aps.remove_job(job_id)
        return True

    def jobs(self, namespace: str = "") -> list[str]:
        """The ids of the jobs in a namespace (``<plugin>:``), sorted; all of them by default."""
        return sorted(job.id for job in self.aps.get_jobs() if job.id.startswith(namespace))

    def next_run(self, job_id: str) -> Any:
        job = self.aps.get_job(job_id)
        return None if job is None else job.next_run_time

    def for_plugin(self, plugin: str) -> PluginJobs:
        return PluginJobs(self, plugin)

    def register(self, plugin: str, handlers: object) -> None:
        """Schedule the ``@cron`` and ``@interval`` methods of ``handlers`` (a plugin)."""
        for func, rules in handlers_of(handlers):
            triggers = [CronTrigger(timezone=self.timezone, **f) for f in rules.cron]
            triggers += [IntervalTrigger(timezone=self.timezone, **f) for f in rules.interval]
            for i, trigger in enumerate(triggers):
                name = func.__name__ if len(triggers) == 1 else f"{func.__name__}.{i}"
                self.add(f"{plugin}:{name}", func, trigger)


class PluginJobs:
    """One plugin's jobs: the names it gives are kept within ``<plugin>:``."""

    __slots__ = ("_namespace", "_scheduler")

    def __init__(self, scheduler: Scheduler, plugin: str) -> None:
        self._scheduler = scheduler
        self._namespace = f"{plugin}:"

    def add(self, name: str, func: JobFunc, trigger: Any, **options: Any) -> str:
        return self._scheduler.add(self._namespace + name, func, trigger, **options)

    def remove(self, name: str) -> bool:
        return self._scheduler.remove(self._namespace + name)

    def names(self) -> list[str]:
        return self._scheduler.jobs(self._namespace)


def _guarded(job_id: str, func: JobFunc) -> JobFunc:
    async def run() -> None:
        try:
            await func()
        except Exception:
            log.exception("job %s failed", job_id)

    run.__name__ = run.__qualname__ = job_id
    return run
