"""The outbox drain against a fake platform: faults, pacing, threads, in-place updates, failures."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from bot.messages import Message, Target
from bot.model import OutboxState, Platform
from bot.services.delivery import deliver
from cadence.drain import DrainPolicy
from cadence.limiter import SLACK, Limiter
from tests.fakes import make_memory_uow_factory
from tests.scenario.cadence_world import World, make_world

START = datetime(2026, 11, 24, 10, tzinfo=UTC)


async def _send(world: World, *messages: Message) -> None:
    async with world.uow() as uow:
        for message in messages:
            await deliver(uow, message, organization_id=world.org.id, now=world.clock.now())
        await uow.commit()


async def _drain_for(world: World, span: timedelta, step: timedelta = timedelta(seconds=1)) -> None:
    end = world.clock.now() + span
    while world.clock.now() < end:
        await world.drain()
        world.clock.advance(step)


async def test_429_5xx_and_timeouts_every_message_once_none_lost() -> None:
    world = await make_world(make_memory_uow_factory(), START, fault_rate=0.3)
    world.policy = DrainPolicy(batch=20, base_delay=1.0, max_delay=30.0)
    people = [await world.person(f"p{n}") for n in range(40)]
    await _send(
        world,
        *(
            Message(title=f"hello {n}", target=Target(person_id=p.id), key=f"hello:{p.id}:{k}")
            for n, p in enumerate(people)
            for k in range(3)
        ),
    )
    await _drain_for(world, timedelta(minutes=10))

    delivered = Counter(s.key for s in world.sender.sent)
    rows = await world.outbox()
    assert len(rows) == 120
    assert all(r.state is OutboxState.SENT for r in rows)
    assert set(delivered) == {r.key for r in rows}
    assert set(delivered.values()) == {1}  # none duplicated
    assert sum(world.sender.calls.values()) > 120  # faults were injected and retried


async def test_a_reply_waits_for_its_thread_root_and_an_update_for_its_original() -> None:
    world = await make_world(make_memory_uow_factory(), START, fault_rate=0.0)
    lee = await world.person("lee")
    ana = await world.person("ana")
    project = await world.project("SEPSIS", sponsor=ana, lead=lee)
    root = Message(
        title="Blocker #1",
        target=Target(project_id=project.id),
        key="blocker:1:root",
        anchors_thread="blocker:1",
    )
    reply = Message(
        sections=("escalated",),
        target=Target(project_id=project.id),
        key="blocker:1:escalated1",
        thread_key="blocker:1",
    )
    update = Message(
        title="Blocker #1 (resolved)",
        target=Target(project_id=project.id),
        key="blocker:1:resolved",
        replaces_key="blocker:1:root",
    )
    world.sender.flaky["blocker:1:root"] = 2  # the root post fails twice first
    await _send(world, root, reply, update)
    await world.drain()
    assert world.sender.sent == []  # the reply and the update wait for the root
    await _drain_for(world, timedelta(minutes=2))

    by_key = {s.message.key: s for s in world.sender.sent}
    assert list(by_key) == ["blocker:1:root", "blocker:1:escalated1", "blocker:1:resolved"]
    root_ref = (await world.outbox(key=by_key["blocker:1:root"].key))[0].platform_ref
    assert by_key["blocker:1:escalated1"].thread_root == root_ref
    assert by_key["blocker:1:resolved"].replaces_ref == root_ref
    async with world.uow() as uow:
        thread = await uow.threads.first(key="blocker:1")
    assert thread is not None and thread.root_id == root_ref


async def test_a_permanent_failure_marks_the_identity_and_tells_the_admin_once() -> None:
    world = await make_world(make_memory_uow_factory(), START)
    admin = await world.person("adm")
    gone = await world.person("gone")
    async with world.uow() as uow:
        org = await uow.organizations.get(world.org.id)
        assert org is not None
        org.admin_ids = [admin.id]
        await uow.organizations.save(org)
        await uow.commit()
    world.sender.fail_addresses = {"gone"}
    await _send(
        world,
        *(Message(title="x", target=Target(person_id=gone.id), key=f"x:{n}") for n in range(2)),
    )
    await _drain_for(world, timedelta(seconds=5))

    rows = await world.outbox(person_id=gone.id)
    assert [r.state for r in rows] == [OutboxState.FAILED] * 2
    assert rows[0].error == "channel_not_found"
    notices = [s for s in world.sender.to(admin) if s.message.key.startswith("delivery-failed")]
    assert len(notices) == 1
    assert "Gone Example" in notices[0].message.sections[0]
    async with world.uow() as uow:
        identity = await uow.identities.first(person_id=gone.id)
    assert identity is not None and identity.unreachable


async def test_pacing_keeps_one_channel_near_one_message_per_second() -> None:
    world = await make_world(make_memory_uow_factory(), START)
    world.limiter = Limiter(world.clock, {Platform.CONSOLE: SLACK})
    ana = await world.person("ana")
    await _send(
        world,
        *(Message(title=f"m{n}", target=Target(person_id=ana.id), key=f"m:{n}") for n in range(20)),
    )
    await _drain_for(world, timedelta(seconds=40), step=timedelta(milliseconds=250))

    times = [s.at for s in world.sender.sent]
    assert len(times) == 20
    for start in times:
        assert sum(start <= t < start + timedelta(seconds=3) for t in times) <= 3
    assert times[-1] - times[0] <= timedelta(seconds=20)
