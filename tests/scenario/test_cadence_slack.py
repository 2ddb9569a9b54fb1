"""The drain through the real Slack sender against the local fake Slack Web API.

A digest fan-out and a blocker's thread go out while the fake answers 429 with Retry-After and
5xx: every message is posted exactly once, replies land in their thread.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from adapters.slack import SlackSender, build_slack_app
from adapters.slack.sender import split_ref
from bot.dispatch import Core
from bot.model import CadencePreference, OutboxState, Platform, Severity
from bot.services import blockers
from cadence.drain import DrainPolicy, drain_once
from tests.fakes import make_memory_uow_factory
from tests.fakes_slack import TEAM_ID, FakeSlack
from tests.scenario.cadence_world import LINK, make_world
from tests.scenario.slack.conftest import settings_for

MONDAY = datetime(2026, 11, 23, 8, 31, tzinfo=UTC)


async def test_fan_out_and_thread_through_slack_survive_429_and_5xx() -> None:
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
        lee = await world.person("lee")
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

        senders = {Platform.SLACK: SlackSender(bolt)}
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
        assert len(posts) == len(rows)  # each row posted once, none twice
        refused = [c for c in slack.calls if c.method == "chat.postMessage" and not c.answer]
        assert len(refused) == 6
        root = next(r for r in rows if r.key.startswith(f"blocker:{raised.blocker.id}:root"))
        replies = [c for c in posts if c.args.get("thread_ts")]
        assert root.platform_ref is not None
        _, root_ts = split_ref(root.platform_ref, channel=root.address)
        assert replies and {c.args["thread_ts"] for c in replies} == {root_ts}
        assert sum(r.key.startswith("digest:") for r in rows) == 6 + 1  # and the Accountable's
        # Every rung owner's DM (the first, and each escalation's) links to the thread's root.
        rungs = [r for r in rows if r.key.startswith(f"blocker:{raised.blocker.id}:rung:")]
        assert len(rungs) >= 2
        permalink = f"/archives/{root.address}/p{root_ts.replace('.', '')}"
        for rung in rungs:
            _, ts = split_ref(rung.platform_ref or "", channel=rung.address)
            (post,) = [c for c in posts if c.answer["ts"] == ts]
            assert permalink in str(post.args["blocks"]), rung.key
    finally:
        await slack.close()
