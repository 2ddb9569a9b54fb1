"""The server's clockwork: an APScheduler ``AsyncIOScheduler`` running ``tick`` and ``drain``
(which first announces the asks raised since its last pass, then sends).

Both jobs derive everything from the database, so the scheduler keeps no state worth saving (an
in-memory job store), and several server processes may run it side by side: ticks write under
unique keys, drains claim rows with ``SKIP LOCKED``. In one process a pass never overlaps the
next of its kind: a run that finds one still going returns at once (a drain under a backlog
keeps going by itself), where APScheduler's own ``max_instances=1`` would log a warning every
interval; ``coalesce`` folds missed runs into one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.links import Links
from bot.model import Platform
from bot.ports import Clock, Sender, UnitOfWorkFactory
from cadence.drain import DrainPolicy, drain_once
from cadence.limiter import Limiter
from cadence.tick import run_tick

__all__ = ["CadenceScheduler", "CadenceSettings", "build_scheduler"]

log = logging.getLogger(__name__)


class CadenceSettings(Protocol):
    """What the scheduler reads from the server settings."""

    @property
    def tick_seconds(self) -> float: ...

    @property
    def drain_seconds(self) -> float: ...

    @property
    def link_base(self) -> str: ...


class CadenceScheduler(AsyncIOScheduler):  # type: ignore[misc]
    """An ``AsyncIOScheduler`` whose passes finish even when it stops.

    APScheduler cancels running coroutine jobs on shutdown; a drain cancelled between sending
    and committing would send its messages again after the restart. Each pass therefore runs
    in its own task, shielded from that cancellation, and :meth:`stop` waits for it.
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._passes: dict[str, asyncio.Task[None]] = {}

    async def run_pass(self, name: str, work: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Run ``work()`` as the pass ``name``, unless that pass is still going."""
        if name in self._passes:
            return
        task = asyncio.ensure_future(work())
        self._passes[name] = task
        task.add_done_callback(lambda _: self._passes.pop(name, None))
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            if task.cancelled():
                raise
            # The scheduler is stopping and cancelled the job, not the pass: the pass goes on
            # (or has just finished) and :meth:`stop` waits for it, so the job ends quietly
            # (APScheduler would log the cancellation as the job's failure, with a traceback).

    async def stop(self) -> None:
        """Stop scheduling, then wait for the passes under way (graceful server shutdown)."""
        if self.running:
            self.shutdown(wait=False)
        await asyncio.gather(*self._passes.values(), return_exceptions=True)


def build_scheduler(
    *,
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    senders: Mapping[Platform, Sender],
    settings: CadenceSettings,
    policy: DrainPolicy | None = None,
    links: Links | None = None,
) -> CadenceScheduler:
    """The scheduler with its two jobs, not started (``start()`` needs the running loop)."""
    limiter = Limiter(clock)
    scheduler = CadenceScheduler(
        # Two instances: the second finds the pass still going and returns (see run_pass).
        job_defaults={"coalesce": True, "max_instances": 2, "misfire_grace_time": None}
    )

    async def tick() -> None:
        report = await run_tick(
            uow_factory,
            now=clock.now(),
            link_base=settings.link_base,
            links=links,
        )
        if any(vars(report).values()):
            log.info("%s", report)

    async def drain() -> None:
        # Keep going while passes come back full and send something: a backlog (a digest
        # fan-out) drains at the platforms' pace, not one batch per DRAIN_SECONDS.
        batch = (policy or DrainPolicy()).batch
        while True:
            report = await drain_once(
                uow_factory,
                senders=senders,
                clock=clock,
                limiter=limiter,
                policy=policy,
                link_base=settings.link_base,
                links=links,
            )
            if report.claimed or report.announced:
                log.info("%s", report)
            if report.claimed < batch or not report.sent or not scheduler.running:
                return

    async def tick_job() -> None:
        await scheduler.run_pass("tick", tick)

    async def drain_job() -> None:
        await scheduler.run_pass("drain", drain)

    scheduler.add_job(tick_job, "interval", seconds=settings.tick_seconds, id="cadence.tick")
    scheduler.add_job(drain_job, "interval", seconds=settings.drain_seconds, id="cadence.drain")
    return scheduler
