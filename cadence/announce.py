"""``announce_raised``: asks raised since the last pass get their audit event and messages.

Raising an ask writes only the ask before Slack's ack (bot.services.asks.raise_ask); the drain
runs this first on every pass, so the ask's messages are in the outbox before it claims rows.
"""

from __future__ import annotations

import logging
from datetime import datetime

from bot.ports import UnitOfWorkFactory
from bot.services.asks import ANNOUNCE_BATCH, announce, announce_pending, unannounced

__all__ = ["announce_raised"]

log = logging.getLogger(__name__)


async def announce_raised(uow_factory: UnitOfWorkFactory, *, now: datetime, link_base: str) -> int:
    """Announce every ask still to announce, a batch per transaction; how many were. A batch
    that fails is rolled back whole and its asks are announced one per transaction, so an ask
    that cannot be announced (logged, and tried again by the next pass) holds up no other."""
    total = 0
    while True:
        try:
            async with uow_factory() as uow:
                announced = await announce_pending(uow, now=now, link_base=link_base)
                await uow.commit()
        except Exception:
            log.exception("announcing a batch of raised asks failed; announcing them one by one")
            return total + await _one_by_one(uow_factory, now=now, link_base=link_base)
        total += announced
        if announced < ANNOUNCE_BATCH:
            return total


async def _one_by_one(uow_factory: UnitOfWorkFactory, *, now: datetime, link_base: str) -> int:
    async with uow_factory() as uow:
        pending = await unannounced(uow)
    announced = 0
    for ask in pending:
        try:
            async with uow_factory() as uow:
                announced += await announce(uow, ask, now=now, link_base=link_base)
                await uow.commit()
        except Exception:
            log.exception("announcing ask #%s failed; the next pass tries again", ask.id)
    return announced
