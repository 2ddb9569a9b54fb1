"""The demo organization on every storage backend, at a fixed Monday, for service tests."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.clock import ManualClock
from bot.dispatch import Core
from bot.ports import UnitOfWorkFactory
from bot.services.demo import seed_demo

MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.fixture
async def clock() -> ManualClock:
    return ManualClock(MONDAY)


@pytest.fixture
async def core(uow_factory: UnitOfWorkFactory, clock: ManualClock) -> Core:
    await seed_demo(uow_factory, clock)
    return Core(uow=uow_factory, clock=clock)
