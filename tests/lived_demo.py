"""The demo organization lived through for three weeks with the real services: an ask decided,
a blocker escalated a rung and resolved, another ask left past its needed-by date. Shared by the
responsiveness, API and page tests, so each checks figures it did not have to build itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.clock import ManualClock
from bot.model import Person
from bot.ports import UnitOfWork, UnitOfWorkFactory
from bot.services import asks, blockers
from bot.services.demo import seed_demo

SEEDED = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
NOW = SEEDED + timedelta(days=20)


async def person(uow: UnitOfWork, handle: str) -> Person:
    found = await uow.people.first(handle=handle)
    assert found is not None
    return found


async def live_three_weeks(uow_factory: UnitOfWorkFactory) -> int:
    """Seed the demo at :data:`SEEDED`, live it; returns its organization id."""
    await seed_demo(uow_factory, ManualClock(SEEDED))
    async with uow_factory() as uow:
        org = await uow.organizations.first(order_by="id")
        assert org is not None
        raj, carmen = await person(uow, "raj"), await person(uow, "carmen")
        budget = await uow.asks.first(assignee_id=raj.id)
        blocker = await uow.blockers.first(organization_id=org.id)
        assert budget is not None and blocker is not None
        await asks.decide(
            uow,
            ask_id=budget.id,
            organization_id=org.id,
            decider=raj,
            outcome="approve",
            text="Funded from the safety budget",
            now=SEEDED + timedelta(days=2),
            link_base="",
        )
        assert await blockers.climb(
            uow, blocker=blocker, now=SEEDED + timedelta(days=3), link_base=""
        )
        await blockers.resolve(
            uow,
            blocker_id=blocker.id,
            organization_id=org.id,
            actor=carmen,
            text="IT granted access",
            now=SEEDED + timedelta(days=5),
        )
        await uow.commit()
        return org.id
