"""The races of ``test_races.py`` across two OS processes sharing one PostgreSQL database.

README's claim: several server processes may share PostgreSQL (SQLite is for one server
process). Each child process has its own database object and ``Core``, waits at a barrier with the
other, then fires its clicks at the same asks — one approves them all, the other declines them
all — and then drains the outbox into its own file. Exactly one decision per ask, and every
outbox row delivered by exactly one of them.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
from collections import Counter
from datetime import UTC, datetime
from multiprocessing.synchronize import Barrier
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.dispatch import Core
from bot.model import OutboxState, Platform
from bot.services.demo import seed_demo
from cadence.drain import DrainPolicy, drain_until_idle
from cadence.file_sender import FileSender
from storage.database import Database
from tests.conftest import POSTGRES_URL, _empty_used_tables
from tests.integration.test_races import LATE
from tests.integration.test_services import new_ask, who

pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason="LEADERBOT_TEST_POSTGRES_URL is unset")

MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
ASKS = 20


async def _clicks(url: str, action: str, numbers: list[int], barrier: Barrier, out: Path) -> None:
    db = Database(url)
    try:
        core = Core(uow=db.uow, clock=ManualClock(MONDAY))
        dana = await who(core, "dana")
        await asyncio.to_thread(barrier.wait)
        replies = await asyncio.gather(
            *(core.action(dana, action=action, value=str(n), text="no budget") for n in numbers)
        )
        lines = [" ".join((*m.sections,)) for r in replies for m in r.messages if not r.ok]
        (out / f"{action}.refusals").write_text("\n".join(lines))
        await asyncio.to_thread(barrier.wait)
        sender = FileSender(out / f"{action}.sent", Platform.CONSOLE)
        await drain_until_idle(
            core.uow,
            senders={Platform.CONSOLE: sender},
            clock=core.clock,
            policy=DrainPolicy(batch=5),
        )
    finally:
        await db.close()


def _child(url: str, action: str, numbers: list[int], barrier: Barrier, out: Path) -> None:
    asyncio.run(_clicks(url, action, numbers, barrier, out))


async def test_two_processes_decide_and_drain_each_ask_once(
    postgres_database: str, tmp_path: Path
) -> None:
    db = Database(postgres_database)
    try:
        async with db.engine.begin() as connection:
            await _empty_used_tables(connection)
        uow = db.uow
        clock = ManualClock(MONDAY)
        await seed_demo(uow, clock)
        core = Core(uow=uow, clock=clock)
        numbers = [await new_ask(core, f"ask item {n} #SEPSIS area:staffing") for n in range(ASKS)]
        spawn = multiprocessing.get_context("spawn")
        barrier = spawn.Barrier(2)
        children = [
            spawn.Process(target=_child, args=(postgres_database, a, numbers, barrier, tmp_path))
            for a in ("ask.approve", "ask.decline")
        ]
        for child in children:
            child.start()
        for child in children:
            await asyncio.to_thread(child.join, 120)
            assert child.exitcode == 0
        refusals = [
            line
            for a in ("ask.approve", "ask.decline")
            for line in (tmp_path / f"{a}.refusals").read_text().splitlines()
        ]
        assert len(refusals) == ASKS
        assert all(LATE.match(line) for line in refusals), refusals
        async with uow() as check:
            for number in numbers:
                assert await check.decisions.count(subject_kind="ask", subject_id=number) == 1
                assert (
                    await check.audit.count(
                        subject=f"ask:{number}", action=["ask.approved", "ask.declined"]
                    )
                    == 1
                )
            rows = await check.outbox.find(platform=Platform.CONSOLE)
        sent = Counter(
            json.loads(line)["key"]
            for a in ("ask.approve", "ask.decline")
            if (tmp_path / f"{a}.sent").exists()
            for line in (tmp_path / f"{a}.sent").read_text().splitlines()
        )
        # Pacing (one message a second per address, and the clock stands still) leaves some
        # rows for later passes; what went out went out once, by one process or the other.
        assert set(sent) == {row.key for row in rows if row.state is OutboxState.SENT}
        assert set(sent.values()) == {1}
        assert len(sent) >= ASKS
    finally:
        await db.close()
