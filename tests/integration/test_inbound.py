"""Inbound dedupe (issue 11 §5): a delivery key is recorded with the change it causes, on the
in-memory fake, SQLite and PostgreSQL alike."""

from __future__ import annotations

import asyncio
import contextvars
from datetime import UTC, datetime, timedelta

from bot.clock import ManualClock
from bot.dispatch import ALREADY_HANDLED, Core
from bot.model import Platform
from bot.ports import UnitOfWorkFactory
from bot.services.demo import seed_demo

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


async def test_a_key_is_recorded_once_and_only_when_committed(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        assert await uow.inbound.record("slack:Ev1", at=NOW)
        # rolled back: never processed, so it may be recorded again
    async with uow_factory() as uow:
        assert await uow.inbound.record("slack:Ev1", at=NOW)
        assert not await uow.inbound.record("slack:Ev1", at=NOW)
        await uow.commit()
    async with uow_factory() as uow:
        assert not await uow.inbound.record("slack:Ev1", at=NOW)
        assert await uow.inbound.record("slack:Ev2", at=NOW)


async def test_of_two_concurrent_units_one_records(uow_factory: UnitOfWorkFactory) -> None:
    first = uow_factory()
    async with first:
        assert await first.inbound.record("teams:a1", at=NOW)

        async def second() -> bool:
            async with uow_factory() as uow:
                recorded = await uow.inbound.record("teams:a1", at=NOW)
                await uow.commit()
                return recorded

        # Another request's task: its own context, as aiohttp gives each request.
        waiting = asyncio.create_task(second(), context=contextvars.Context())
        await asyncio.sleep(0.05)  # let the second reach the database and wait on the first
        await first.commit()
    assert await waiting is False


async def test_old_keys_are_pruned(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.inbound.record("old", at=NOW - timedelta(days=2))
        await uow.inbound.record("new", at=NOW)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.inbound.prune(before=NOW - timedelta(days=1)) == 1
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.inbound.record("old", at=NOW)
        assert not await uow.inbound.record("new", at=NOW)


async def test_a_replayed_command_creates_nothing_new(uow_factory: UnitOfWorkFactory) -> None:
    clock = ManualClock(NOW)
    await seed_demo(uow_factory, clock)
    core = Core(uow=uow_factory, clock=clock)
    ana = await core.caller_for_handle("ana", platform=Platform.CONSOLE)
    assert ana is not None
    async with uow_factory() as uow:
        before = await uow.asks.count()
    line = "ask two more nurses #SEPSIS area:staffing"

    first = await core.command(ana, line, delivery="slack:trigger:1.2.3")
    again = await core.command(ana, line, delivery="slack:trigger:1.2.3")

    assert first.ok and "sent to" in first.messages[0].sections[0]
    assert again.messages[0].sections == (ALREADY_HANDLED,)
    async with uow_factory() as uow:
        assert await uow.asks.count() == before + 1


async def test_a_refused_delivery_is_not_recorded(uow_factory: UnitOfWorkFactory) -> None:
    clock = ManualClock(NOW)
    await seed_demo(uow_factory, clock)
    core = Core(uow=uow_factory, clock=clock)
    ana = await core.caller_for_handle("ana", platform=Platform.CONSOLE)
    assert ana is not None
    refused = await core.command(ana, "ask #NOPE something", delivery="k")
    assert not refused.ok and refused.messages[0].sections != (ALREADY_HANDLED,)
    async with uow_factory() as uow:
        assert await uow.inbound.record("k", at=NOW)
