"""``announce_raised``: asks raised since the last pass get their audit event and messages.

Raising an ask writes only the ask before Slack's ack (bot.services.asks.raise_ask); the drain
runs this first on every pass, so the ask's messages are in the outbox before it claims rows.
"""

from __future__ import annotations

from datetime import datetime

from bot.ports import UnitOfWorkFactory
from bot.services.asks import ANNOUNCE_BATCH, announce_pending

__all__ = ["announce_raised"]


async def announce_raised(uow_factory: UnitOfWorkFactory, *, now: datetime, link_base: str) -> int:
    """Announce every ask still to announce, a batch per transaction; how many were. A batch
    that fails is rolled back whole and tried again by the next pass."""
    total = 0
    while True:
        async with uow_factory() as uow:
            announced = await announce_pending(uow, now=now, link_base=link_base)
            await uow.commit()
        total += announced
        if announced < ANNOUNCE_BATCH:
            return total
