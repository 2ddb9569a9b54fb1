"""The server's clockwork: an APScheduler ``AsyncIOScheduler`` running ``tick`` and ``drain``.

Both jobs derive everything from the database, so the scheduler keeps no state worth saving (an
in-memory job store), and several server processes may run it side by side: ticks write under
unique keys, drains claim rows with ``SKIP LOCKED``. ``max_instances=1`` keeps a slow pass from
overlapping the next in one process; ``coalesce`` folds missed runs into one.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.model import Platform
from bot.ports import Clock, Sender, UnitOfWorkFactory
from cadence.drain import DrainPolicy, drain_once
from cadence.limiter import Limiter
from cadence.tick import run_tick

__all__ = ["CadenceSettings", "build_scheduler"]

log = logging.getLogger(__name__)


class CadenceSettings(Protocol):
    """What the scheduler reads from the server settings."""

    @property
    def tick_seconds(self) -> float: ...

    @property
    def drain_seconds(self) -> float: ...

    @property
    def link_base(self) -> str: ...


def build_scheduler(
    *,
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    senders: Mapping[Platform, Sender],
    settings: CadenceSettings,
    policy: DrainPolicy | None = None,
) -> AsyncIOScheduler:
    """The scheduler with its two jobs, not started (``start()`` needs the running loop)."""
    limiter = Limiter(clock)

    async def tick_job() -> None:
        report = await run_tick(uow_factory, now=clock.now(), link_base=settings.link_base)
        if any(vars(report).values()):
            log.info("%s", report)

    async def drain_job() -> None:
        report = await drain_once(
            uow_factory, senders=senders, clock=clock, limiter=limiter, policy=policy
        )
        if report.claimed:
            log.info("%s", report)

    scheduler = AsyncIOScheduler(
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None}
    )
    scheduler.add_job(tick_job, "interval", seconds=settings.tick_seconds, id="cadence.tick")
    scheduler.add_job(drain_job, "interval", seconds=settings.drain_seconds, id="cadence.drain")
    return scheduler
