"""Concurrent transitions on every backend (memory, SQLite, PostgreSQL): exactly one wins.

Each race fires its clicks with ``asyncio.gather``, every click in its own unit of work through
``Core``, as concurrent requests to one server are. The winner's effects exist once (one
decision row, one audit row, one message to the requester); the loser wrote nothing and was
told what happened instead, as a late click is. ``tests/integration/test_race_processes.py``
runs the same races across two processes on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import ManualClock
from bot.context import Reply
from bot.dispatch import Core
from bot.model import AskState, ProjectStatus
from bot.ports import UnitOfWorkFactory
from bot.services import blockers
from bot.services.demo import seed_demo
from tests.integration.test_services import new_ask, run, who

MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
ASKS = 6
LATE = re.compile(
    r"^Ask #\d+ was already (approved|declined) by Dana Lee on \d\d \w{3} \d\d:\d\d \S+\. "
    r"Nothing was changed\.$"
)


@pytest.fixture
async def core(uow_factory: UnitOfWorkFactory) -> Core:
    clock = ManualClock(MONDAY)
    await seed_demo(uow_factory, clock)
    return Core(uow=uow_factory, clock=clock)


def said(reply: Reply) -> str:
    return " ".join(" ".join((m.title, *m.sections)).strip() for m in reply.messages)


async def click(core: Core, handle: str, action: str, value: int, text: str = "") -> Reply:
    return await core.action(await who(core, handle), action=action, value=str(value), text=text)


async def effects(core: Core, number: int) -> tuple[int, int, int]:
    """(decision rows, decision audit rows, messages telling the requester) of one ask."""
    subject = f"ask:{number}"
    async with core.uow() as uow:
        decisions = await uow.decisions.count(subject_kind="ask", subject_id=number)
        audit = await uow.audit.count(
            subject=subject, action=["ask.approved", "ask.declined", "ask.info_requested"]
        )
        told = await uow.outbox.count(key__gte=f"{subject}:told:", key__lt=f"{subject}:told;")
    return decisions, audit, told


@pytest.mark.parametrize("second", ["ask.decline", "ask.approve"])
async def test_two_decisions_of_one_ask_at_once_one_wins(core: Core, second: str) -> None:
    numbers = [await new_ask(core, f"ask item {n} #SEPSIS area:staffing") for n in range(ASKS)]
    pairs = [
        asyncio.gather(
            click(core, "dana", "ask.approve", n), click(core, "dana", second, n, "no budget")
        )
        for n in numbers
    ]
    for number, replies in zip(numbers, await asyncio.gather(*pairs), strict=True):
        won = [r for r in replies if r.ok]
        lost = [r for r in replies if not r.ok]
        assert len(won) == 1 and len(lost) == 1, [said(r) for r in replies]
        assert LATE.match(said(lost[0])), said(lost[0])
        assert await effects(core, number) == (1, 1, 1)
        async with core.uow() as uow:
            ask = await uow.asks.get(number)
        assert ask is not None and ask.state in (AskState.APPROVED, AskState.DECLINED)
        assert f"was already {ask.state.value}" in said(lost[0])


async def test_a_decision_racing_a_withdrawal_one_wins(core: Core) -> None:
    numbers = [await new_ask(core, f"ask item {n} #SEPSIS area:staffing") for n in range(ASKS)]
    pairs = [
        asyncio.gather(click(core, "dana", "ask.approve", n), run(core, "ana", f"withdraw {n}"))
        for n in numbers
    ]
    await asyncio.gather(*pairs)
    async with core.uow() as uow:
        for number in numbers:
            ask = await uow.asks.get(number)
            assert ask is not None
            changes = await uow.audit.count(
                subject=f"ask:{number}", action=["ask.approved", "ask.withdrawn"]
            )
            assert changes == 1
            decisions = await uow.decisions.count(subject_kind="ask", subject_id=number)
            assert decisions == (ask.state is AskState.APPROVED)


async def _blocker(core: Core) -> int:
    text = await run(core, "ana", "blocker no pharmacy cover #SEPSIS area:staffing")
    return int(text.split("#", 1)[1].split()[0])


async def test_ack_and_resolve_of_one_blocker_at_once_one_wins(core: Core) -> None:
    numbers = [await _blocker(core) for _ in range(ASKS)]
    pairs = [
        asyncio.gather(
            click(core, "dana", "blocker.ack", n),
            click(core, "dana", "blocker.resolve", n, "cover agreed"),
            click(core, "dana", "blocker.resolve", n, "cover agreed"),
        )
        for n in numbers
    ]
    for number, replies in zip(numbers, await asyncio.gather(*pairs), strict=True):
        won = sum(r.ok for r in replies)
        # The two resolves exclude each other; the ack excludes them unless it committed before
        # one of them read the blocker (then that resolve closes the acknowledged blocker).
        assert won in (1, 2) and sum(r.ok for r in replies[1:]) <= 1, [said(r) for r in replies]
        for lost in (r for r in replies if not r.ok):
            assert said(lost).startswith(f"Blocker #{number} ")
            assert said(lost).endswith("Nothing was changed.")
        async with core.uow() as uow:
            changes = await uow.audit.count(
                subject=f"blocker:{number}",
                action=["blocker.acknowledged", "blocker.resolved"],
            )
            decisions = await uow.decisions.count(subject_kind="blocker", subject_id=number)
            replies_in_thread = sum(
                [
                    await uow.outbox.count(
                        key__gte=f"blocker:{number}:{kind}:", key__lt=f"blocker:{number}:{kind};"
                    )
                    for kind in ("ack", "resolved")
                ]
            )
            blocker = await uow.blockers.get(number)
        assert blocker is not None
        assert changes == won
        assert decisions == (blocker.state.value == "resolved")
        assert replies_in_thread == won  # one ``ack`` or ``resolved`` reply per win


async def test_the_tick_escalating_while_the_owner_resolves_one_wins(core: Core) -> None:
    numbers = [await _blocker(core) for _ in range(ASKS)]
    core.clock.advance(timedelta(days=10))  # type: ignore[attr-defined]
    now = core.clock.now()

    async def escalate(number: int) -> bool:
        async with core.uow() as uow:
            blocker = await uow.blockers.get(number)
            assert blocker is not None
            climbed = await blockers.climb(uow, blocker=blocker, now=now, link_base="")
            await uow.commit()
            return climbed

    pairs = [
        asyncio.gather(escalate(n), click(core, "dana", "blocker.resolve", n, "done"))
        for n in numbers
    ]
    for number, (climbed, reply) in zip(numbers, await asyncio.gather(*pairs), strict=True):
        assert reply.ok or said(reply).endswith("Nothing was changed."), said(reply)
        async with core.uow() as uow:
            actions = [
                e.action for e in await uow.audit.find(subject=f"blocker:{number}", order_by="id")
            ]
            blocker = await uow.blockers.get(number)
        assert blocker is not None
        # Both may succeed one after the other (climbed, then resolved from the new rung), but
        # never both from the state they read: nothing climbs once resolved, and a resolve that
        # lost to the climb wrote nothing.
        assert actions[1:] == [
            *(["blocker.escalated"] if climbed else []),
            *(["blocker.resolved"] if reply.ok else []),
        ]
        assert climbed or reply.ok
        assert (blocker.state.value == "resolved") == reply.ok


async def test_two_status_changes_of_one_project_at_once_one_wins(core: Core) -> None:
    replies = await asyncio.gather(
        core.command(await who(core, "ana"), "project pause #SEPSIS"),
        core.command(await who(core, "ana"), "project close #SEPSIS"),
        core.command(await who(core, "ana"), "project pause #SEPSIS"),
    )
    won = sum(r.ok for r in replies)
    assert won >= 1, [said(r) for r in replies]
    async with core.uow() as uow:
        project = await uow.projects.first(key="SEPSIS")
        assert project is not None
        changes = await uow.audit.count(
            subject=f"project:{project.id}", action=["project.paused", "project.closed"]
        )
    assert changes == won  # a change that lost to one it had not seen wrote nothing
    assert project.status in (ProjectStatus.PAUSED, ProjectStatus.CLOSED)
    for lost in (r for r in replies if not r.ok):  # what it was when the loser looked
        assert re.fullmatch(
            r"#SEPSIS was changed meanwhile: it is (paused|closed) now\. Nothing was changed\.",
            said(lost),
        ), said(lost)


async def test_a_double_submitted_handover_moves_once(core: Core) -> None:
    number = await new_ask(core)
    replies = await asyncio.gather(
        core.command(await who(core, "ana"), "handover @dana @eve #SEPSIS"),
        core.command(await who(core, "ana"), "handover @dana @eve #SEPSIS"),
    )
    assert sum(r.ok for r in replies) == 1, [said(r) for r in replies]
    (lost,) = (r for r in replies if not r.ok)
    assert said(lost) == "Dana Lee's roles were already handed over meanwhile. Nothing was changed."
    eve = await who(core, "eve")
    async with core.uow() as uow:
        assert await uow.audit.count(action="handover") == 1
        ask = await uow.asks.get(number)
    assert ask is not None and ask.assignee_id == eve.person_id


async def test_two_recordings_close_a_review_once(uow_factory: UnitOfWorkFactory) -> None:
    core = Core(uow=uow_factory, clock=ManualClock(MONDAY))
    await seed_demo(uow_factory, core.clock)
    await run(core, "ana", "kpi add Screening rate unit:% higher warn:90 alert:80 #SEPSIS")
    await run(core, "ana", "kpi record Screening rate 70 #SEPSIS")
    async with core.uow() as uow:
        review = (await uow.reviews.find(closed_at=None, order_by="-id"))[0]

    async def close(at: datetime) -> bool:
        async with core.uow() as uow:
            closed = await uow.reviews.set_if(review.id, "closed_at", at, expected=None)
            await uow.commit()
            return closed

    results = await asyncio.gather(close(MONDAY), close(MONDAY + timedelta(seconds=1)))
    assert sorted(results) == [False, True]
    async with core.uow() as uow:
        stored = await uow.reviews.get(review.id)
    assert stored is not None
    assert stored.closed_at == [MONDAY, MONDAY + timedelta(seconds=1)][results.index(True)]
