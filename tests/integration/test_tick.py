"""The tick and the drain on every storage backend: idempotent writes, SKIP LOCKED claims."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, time, timedelta

import pytest

from bot.model import CadencePreference, OutboxState
from bot.ports import UnitOfWorkFactory
from bot.services import tick as tick_service
from bot.services.tick import DIGEST
from cadence.drain import drain_once
from cadence.scheduler import build_scheduler
from cadence.tick import run_tick
from tests.fakes import make_memory_uow_factory
from tests.scenario.cadence_world import LINK, World, make_world, no_digest

MONDAY = datetime(2026, 11, 23, 8, 31, tzinfo=UTC)


async def _leaders(uow_factory: UnitOfWorkFactory, n: int) -> World:
    world = await make_world(uow_factory, MONDAY)
    lead = await world.person("lee", preference=no_digest())
    for i in range(n):
        leader = await world.person(
            f"l{i}", tz="UTC", preference=CadencePreference(person_id=0, local_time=time(8, 30))
        )
        await world.project(f"P{i}", sponsor=leader, lead=lead)
    return world


async def test_repeated_and_concurrent_ticks_write_each_digest_once(
    uow_factory: UnitOfWorkFactory,
) -> None:
    world = await _leaders(uow_factory, 4)
    first = await run_tick(uow_factory, now=MONDAY, link_base=LINK)
    assert first.digests == 4
    again = await asyncio.gather(
        *(
            run_tick(uow_factory, now=MONDAY + timedelta(minutes=m), link_base=LINK)
            for m in range(3)
        )
    )
    assert [r.digests for r in again] == [0, 0, 0]
    rows = await world.outbox(category=DIGEST)
    assert len(rows) == 4
    assert len({r.key for r in rows}) == 4
    assert all(r.memo.startswith("{") for r in rows)
    assert all(r.next_attempt_at == MONDAY for r in rows)


async def test_drain_records_results_and_the_next_tick_sees_the_previous_digest(
    uow_factory: UnitOfWorkFactory,
) -> None:
    world = await _leaders(uow_factory, 2)
    await world.tick()
    report = await world.drain()
    assert report.sent == 2
    rows = await world.outbox(category=DIGEST)
    assert {r.state for r in rows} == {OutboxState.SENT}
    assert all(r.platform_ref and r.sent_at == MONDAY for r in rows)
    world.clock.advance(timedelta(days=7))
    await world.tick()
    await world.drain()
    second = [s for s in world.sender.sent if s.key.startswith("digest:") and "W49" in s.key]
    assert len(second) == 2


@pytest.mark.parametrize("drains", [2, 3])
async def test_concurrent_drains_never_send_a_row_twice(
    uow_factory: UnitOfWorkFactory, drains: int
) -> None:
    world = await _leaders(uow_factory, 12)
    await world.tick()
    senders = {world.sender.platform: world.sender}
    for _ in range(4):
        await asyncio.gather(
            *(
                drain_once(uow_factory, senders=senders, clock=world.clock, limit=5)
                for _ in range(drains)
            )
        )
    assert Counter(world.sender.calls.values()) == Counter({1: 12})


async def test_the_scheduler_ticks_and_drains_then_stops_gracefully() -> None:
    world = await _leaders(make_memory_uow_factory(), 3)

    class Settings:
        tick_seconds = 0.02
        drain_seconds = 0.02
        link_base = LINK

    scheduler = build_scheduler(
        uow_factory=world.uow,
        clock=world.clock,
        senders={world.sender.platform: world.sender},
        settings=Settings(),
    )
    assert {job.id for job in scheduler.get_jobs()} == {"cadence.tick", "cadence.drain"}
    scheduler.start()
    try:
        for _ in range(50):
            if len(world.sender.sent) >= 3:
                break
            await asyncio.sleep(0.01)
    finally:
        await scheduler.stop()
    assert sorted(s.key.partition("@")[0] for s in world.sender.sent) == [
        f"digest:{p.id}:2026-W48" for p in sorted(world.people.values(), key=lambda p: p.id)[1:]
    ]


async def test_a_tick_over_many_leaders_gives_requests_a_turn_meanwhile(
    uow_factory: UnitOfWorkFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tick plans for every leader each minute; a request arriving meanwhile runs between
    its steps (``LEADERS_PER_STEP``), not after the whole plan, and the digests are the same."""
    monkeypatch.setattr(tick_service, "LEADERS_PER_STEP", 2)
    await _leaders(uow_factory, 8)
    turns: list[int] = []
    ticking = asyncio.ensure_future(run_tick(uow_factory, now=MONDAY, link_base=LINK))
    while not ticking.done():
        turns.append(len(turns))
        await asyncio.sleep(0)
    assert (await ticking).digests == 8
    assert len(turns) >= 8  # nine people (the lead too) twice over, two at a time
