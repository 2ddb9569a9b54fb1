"""The drain through the real Slack sender against the local fake Slack Web API.

A digest fan-out and a blocker's thread go out while the fake answers 429 with Retry-After and
5xx: every message is posted exactly once, replies land in their thread. An answer slower than
the sender waits, or a send its process died in, is found in the channel instead of posted
again; a 429 in one channel holds the whole workspace's posts for its Retry-After.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, time, timedelta

import pytest

from adapters.slack import SlackSender, build_slack_app
from adapters.slack.app import SlackBolt
from adapters.slack.sender import split_ref
from bot.dispatch import Core
from bot.messages import Message, from_json, to_json
from bot.model import CadencePreference, OutboxMessage, OutboxState, Platform, Severity, Workspace
from bot.ports import Delivery, UnitOfWorkFactory
from bot.services import blockers
from cadence.drain import IN_FLIGHT, DrainPolicy, drain_once
from cadence.limiter import Limiter
from tests.fakes import make_memory_uow_factory
from tests.fakes_slack import TEAM_ID, FakeSlack
from tests.scenario.cadence_world import LINK, World, make_world, no_digest
from tests.scenario.slack.conftest import settings_for

MONDAY = datetime(2026, 11, 23, 8, 31, tzinfo=UTC)


async def test_fan_out_and_thread_through_slack_survive_429_and_5xx(
    slack_sender: Callable[..., SlackSender],
) -> None:
    slack = await FakeSlack().start()
    try:
        world = await make_world(
            make_memory_uow_factory(), MONDAY, platform=Platform.SLACK, external_id=TEAM_ID
        )
        bolt = build_slack_app(
            core=Core(uow=world.uow, clock=world.clock), settings=settings_for(slack)
        )
        assert bolt is not None
        world.policy = DrainPolicy(base_delay=1.0)
        lee = await world.person("lee", preference=no_digest())
        leaders = [
            await world.person(
                f"l{n}", tz="UTC", preference=CadencePreference(person_id=0, local_time=time(8, 30))
            )
            for n in range(6)
        ]
        accountable = await world.person("acc")
        for n, leader in enumerate(leaders):
            await world.project(f"P{n}", sponsor=leader, lead=lee, accountable=accountable)
        async with world.uow() as uow:
            raised = await blockers.raise_blocker(
                uow,
                project=world.projects["P0"],
                reporter=lee,
                text="Theatre lists cancelled",
                area=None,
                severity=Severity.CRITICAL,
                now=world.clock.now(),
                link_base=LINK,
            )
            await uow.commit()
        for _ in range(3):
            slack.fail_next("chat.postMessage", status=429, retry_after=2)
            slack.fail_next("chat.postMessage", status=503)

        senders = {Platform.SLACK: slack_sender(bolt)}
        await world.tick()
        for _ in range(3):
            for _ in range(60):
                await drain_once(world.uow, senders=senders, clock=world.clock, policy=world.policy)
                world.clock.advance(timedelta(seconds=1))
            world.clock.advance(timedelta(hours=2))  # the critical blocker climbs after 4 h
            await world.tick()

        rows = await world.outbox()
        assert {r.state for r in rows} == {OutboxState.SENT}
        posts = [c for c in slack.calls if c.method == "chat.postMessage" and c.answer]
        # Each row sent once, none twice: posted, or (the blocker's copies following its
        # escalations) updated in place.
        updates = [c for c in slack.calls if c.method == "chat.update" and c.answer]
        assert updates and len(posts) + len(updates) == len(rows)
        refused = [c for c in slack.calls if c.method == "chat.postMessage" and not c.answer]
        assert len(refused) == 6
        root = next(r for r in rows if r.key.startswith(f"blocker:{raised.blocker.id}:root"))
        replies = [c for c in posts if c.args.get("thread_ts")]
        assert root.platform_ref is not None
        _, root_ts = split_ref(root.platform_ref, channel=root.address)
        assert replies and {c.args["thread_ts"] for c in replies} == {root_ts}
        assert sum(r.key.startswith("digest:") for r in rows) == 6 + 1  # and the Accountable's
        # Every rung owner's DM (the first, and each escalation's) links to the thread's root.
        rungs = [r for r in rows if re.match(rf"blocker:{raised.blocker.id}:rung:\d+:\d+@", r.key)]
        assert len(rungs) >= 2
        permalink = f"/archives/{root.address}/p{root_ts.replace('.', '')}"
        for rung in rungs:
            _, ts = split_ref(rung.platform_ref or "", channel=rung.address)
            (post,) = [c for c in posts if c.answer["ts"] == ts]
            assert permalink in str(post.args["blocks"]), rung.key
    finally:
        await slack.close()


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    fake = await FakeSlack().start()
    yield fake
    await fake.close()


async def _slack_world(uow_factory: UnitOfWorkFactory, slack: FakeSlack) -> World:
    world = await make_world(uow_factory, MONDAY, platform=Platform.SLACK, external_id=TEAM_ID)
    slack.clock = lambda: world.clock.now().timestamp()
    return world


def _bolt(world: World, slack: FakeSlack) -> SlackBolt:
    bolt = build_slack_app(
        core=Core(uow=world.uow, clock=world.clock), settings=settings_for(slack)
    )
    assert bolt is not None
    return bolt


async def _queue(world: World, *addresses: tuple[int, str], error: str = "") -> None:
    async with world.uow() as uow:
        for n, (workspace_id, address) in enumerate(addresses):
            message = Message(title=f"Note {n}", key=f"note:{n}")
            await uow.outbox.add(
                OutboxMessage(
                    organization_id=world.org.id,
                    key=f"note:{n}:{address}",
                    platform=Platform.SLACK,
                    workspace_id=workspace_id,
                    address=address,
                    payload=to_json(message),
                    next_attempt_at=world.clock.now() - timedelta(seconds=1, microseconds=-n),
                    created_at=world.clock.now(),
                    error=error,
                )
            )
        await uow.commit()


async def test_an_answer_slower_than_the_timeout_is_recorded_not_posted_twice(
    uow_factory: UnitOfWorkFactory, slack: FakeSlack, slack_sender: Callable[..., SlackSender]
) -> None:
    world = await _slack_world(uow_factory, slack)
    senders = {Platform.SLACK: slack_sender(_bolt(world, slack), timeout=1)}
    await _queue(world, (world.workspace.id, "C0SLOW"))
    answered = slack.answer_late("chat.postMessage")
    first = await drain_once(world.uow, senders=senders, clock=world.clock)
    assert (first.sent, first.retried) == (0, 1)  # Slack posted it, its answer came too late
    answered.set()
    world.clock.advance(timedelta(minutes=1))
    second = await drain_once(world.uow, senders=senders, clock=world.clock)
    assert second.sent == 1
    (row,) = await world.outbox()
    (posted,) = slack.keyed(row.key)
    assert len(slack.of("chat.postMessage")) == 1
    assert (row.state, row.platform_ref) == (OutboxState.SENT, f"C0SLOW:{posted['ts']}")


async def test_a_send_whose_process_died_is_found_in_the_channel_after_the_lease(
    uow_factory: UnitOfWorkFactory, slack: FakeSlack, slack_sender: Callable[..., SlackSender]
) -> None:
    world = await _slack_world(uow_factory, slack)
    sender = slack_sender(_bolt(world, slack))
    # What a killed drain leaves: one row posted, one not, both leased and never recorded.
    await _queue(world, (world.workspace.id, "C0A"), (world.workspace.id, "C0B"), error=IN_FLIGHT)
    async with world.uow() as uow:
        (landed,) = await uow.outbox.find(key="note:0:C0A")
    await sender.send(_delivery(landed))
    await drain_once(world.uow, senders={Platform.SLACK: sender}, clock=world.clock)
    rows = {r.address: r for r in await world.outbox()}
    assert {r.state for r in rows.values()} == {OutboxState.SENT}
    assert [len(slack.keyed(rows[a].key)) for a in ("C0A", "C0B")] == [1, 1]
    assert rows["C0A"].platform_ref == f"C0A:{slack.keyed(rows['C0A'].key)[0]['ts']}"


def _delivery(row: OutboxMessage) -> Delivery:
    return Delivery(outbox=row, message=from_json(row.payload))


async def test_a_429_in_one_channel_holds_the_workspace_not_another(
    uow_factory: UnitOfWorkFactory, slack: FakeSlack, slack_sender: Callable[..., SlackSender]
) -> None:
    world = await _slack_world(uow_factory, slack)
    async with world.uow() as uow:
        other = await uow.workspaces.add(
            Workspace(organization_id=world.org.id, platform=Platform.SLACK, external_id="T0OTHER")
        )
        await uow.commit()
    held = [f"C0HELD{n}" for n in range(6)]
    free = [f"C0FREE{n}" for n in range(3)]
    await _queue(world, *((world.workspace.id, c) for c in held), *((other.id, c) for c in free))
    slack.fail_next("chat.postMessage", status=429, retry_after=30)
    senders = {Platform.SLACK: slack_sender(_bolt(world, slack))}
    limiter = Limiter(world.clock)
    policy = DrainPolicy(concurrency=1)  # each send starts after the one before it answered

    def calls_to(channels: list[str]) -> int:
        return sum(a["channel"] in channels for a in slack.of("chat.postMessage"))

    for _ in range(29):
        await drain_once(
            world.uow, senders=senders, clock=world.clock, limiter=limiter, policy=policy
        )
        assert calls_to(held) == 1  # the one refused with 429: nothing else inside the window
        world.clock.advance(timedelta(seconds=1))
    assert calls_to(free) == 3  # the other workspace carried on
    world.clock.advance(timedelta(seconds=1))
    for _ in range(5):
        await drain_once(
            world.uow, senders=senders, clock=world.clock, limiter=limiter, policy=policy
        )
        world.clock.advance(timedelta(seconds=3))
    assert {r.state for r in await world.outbox()} == {OutboxState.SENT}
    assert [len(slack.posts(c)) for c in held + free] == [1] * 9
