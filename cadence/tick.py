"""``run_tick``: one cadence tick in its own transaction (what the scheduler and
``leaderbot tick --now`` run)."""

from __future__ import annotations

from datetime import datetime

from bot.links import Links
from bot.ports import UnitOfWorkFactory
from bot.services.tick import TickReport, tick

__all__ = ["run_tick"]


async def run_tick(
    uow_factory: UnitOfWorkFactory,
    *,
    now: datetime,
    link_base: str,
    links: Links | None = None,
) -> TickReport:
    """Write everything due at ``now`` into the outbox and commit; rolled back whole on error,
    so the next tick simply does it again."""
    async with uow_factory() as uow:
        report = await tick(uow, now=now, link_base=link_base, links=links)
        await uow.commit()
    return report
