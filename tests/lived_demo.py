"""The demo organization lived through for three weeks with the real services: an ask decided,
a blocker escalated a rung and resolved, another ask left past its needed-by date. Shared by the
responsiveness, API and page tests, so each checks figures it did not have to build itself."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from aiohttp.test_utils import TestClient, TestServer

from adapters.http import build_web_app
from adapters.web import sign_link
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


@asynccontextmanager
async def lived_site(
    uow_factory: UnitOfWorkFactory, *, key: bytes, handles: Sequence[str], admin_token: str = ""
) -> AsyncIterator[tuple[TestClient, dict[str, str]]]:
    """The real server on the lived demo at :data:`NOW`, and each of ``handles``' personal
    link (its query string, valid for a week)."""
    org = await live_three_weeks(uow_factory)
    app = build_web_app(
        uow=uow_factory, clock=ManualClock(NOW), admin_token=admin_token, dashboard_key=key
    )
    links = {}
    async with uow_factory() as uow:
        for handle in handles:
            link = sign_link(
                key=key,
                organization_id=org,
                person_id=(await person(uow, handle)).id,
                expires_at=NOW + timedelta(days=7),
            )
            links[handle] = urlsplit(link).query
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield client, links
