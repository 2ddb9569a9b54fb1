"""Never lost, never silent (issue 11 §3–4), on the in-memory fake, SQLite and PostgreSQL.

- An outage of the platform (30 minutes of 5xx) delays messages; it loses none, and each is
  posted once.
- A message is retried at least every 30 minutes until its own deadline; then it is given up,
  the admin hears about it on another identity, and ``outbox retry`` sends it again.
- The daily cap never holds back an ask card: six asks to one decider in a day reach them all,
  and every requester's reply is true.
- A decider the bot cannot message: the requester's reply and the admin's notice say so.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta

from adapters.slack import SlackSender, build_slack_app
from adapters.web.rows import load_undelivered
from bot.dispatch import Core
from bot.messages import Message, Target
from bot.model import (
    CadencePreference,
    Identity,
    OutboxState,
    Person,
    Platform,
    Role,
    Stakeholder,
    Workspace,
)
from bot.ports import Sender, UnitOfWorkFactory
from bot.schedule import ask_expires_at
from bot.services.delivery import deliver
from bot.services.people import caller_of
from bot.services.undelivered import requeue
from cadence.drain import drain_once, drain_until_idle
from tests.fakes_slack import TEAM_ID, FakeSlack
from tests.scenario.cadence_world import RecordingSender, World, make_world, no_digest
from tests.scenario.slack.conftest import settings_for

MONDAY = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
TUESDAY_EARLY = datetime(2026, 11, 24, 7, tzinfo=UTC)  # 07:00 in London: before working hours


async def _make_admin(world: World, handle: str = "adm") -> Person:
    admin = await world.person(handle)
    async with world.uow() as uow:
        org = await uow.organizations.get(world.org.id)
        assert org is not None
        org.admin_ids = [admin.id]
        await uow.organizations.save(org)
        await uow.commit()
    return admin


async def _say(core: Core, world: World, person: Person, line: str) -> str:
    caller = caller_of(person, platform=world.workspace.platform, workspace_id=world.workspace.id)
    reply = await core.command(caller, line)
    return " ".join(" ".join((m.title, *m.sections)).strip() for m in reply.messages)


async def _drain(world: World, senders: dict[Platform, Sender]) -> None:
    await drain_until_idle(world.uow, senders=senders, clock=world.clock, policy=world.policy)


async def test_a_30_minute_slack_outage_delays_every_message_and_loses_none(
    uow_factory: UnitOfWorkFactory, slack_sender: Callable[..., SlackSender]
) -> None:
    slack = await FakeSlack().start()
    try:
        world = await make_world(uow_factory, MONDAY, platform=Platform.SLACK, external_id=TEAM_ID)
        bolt = build_slack_app(
            core=Core(uow=world.uow, clock=world.clock), settings=settings_for(slack)
        )
        assert bolt is not None
        senders: dict[Platform, Sender] = {Platform.SLACK: slack_sender(bolt)}
        lead = await world.person("lee", preference=no_digest())
        for n in range(12):
            leader = await world.person(
                f"l{n}", tz="UTC", preference=CadencePreference(person_id=0, local_time=time(8, 30))
            )
            await world.project(f"P{n}", sponsor=leader, lead=lead)
        async with world.uow() as uow:
            for n in range(8):
                await deliver(
                    uow,
                    Message(title=f"note {n}", target=Target(person_id=lead.id), key=f"note:{n}"),
                    organization_id=world.org.id,
                    now=world.clock.now(),
                )
            await uow.commit()

        slack.down = True
        await world.tick()  # twelve digests join the eight notes
        outage_ends = world.clock.now() + timedelta(minutes=30)
        while world.clock.now() < outage_ends:
            await drain_once(world.uow, senders=senders, clock=world.clock, policy=world.policy)
            world.clock.advance(timedelta(seconds=20))
        rows = await world.outbox()
        assert len(rows) == 20
        assert {r.state for r in rows} == {OutboxState.PENDING}  # nothing given up
        assert min(r.attempts for r in rows) >= 5  # retried all along
        assert not [c for c in slack.calls if c.answer]

        slack.down = False
        until = world.clock.now() + timedelta(minutes=40)
        while world.clock.now() < until:
            await drain_once(world.uow, senders=senders, clock=world.clock, policy=world.policy)
            world.clock.advance(timedelta(seconds=20))

        rows = await world.outbox()
        assert {r.state for r in rows} == {OutboxState.SENT}
        posts = [c for c in slack.calls if c.method == "chat.postMessage" and c.answer]
        assert len(posts) == len(rows) == 20  # every message once, none twice
        digests = [r for r in rows if r.category == "digest"]
        assert len(digests) == 12
        # A digest is retried until the next one is due (weekly: next Monday 08:30).
        assert {r.deadline for r in digests} == {MONDAY + timedelta(days=7)}
    finally:
        await slack.close()


async def test_a_message_is_retried_until_its_deadline_then_given_up_and_retried_on_request(
    uow_factory: UnitOfWorkFactory,
) -> None:
    world = await make_world(uow_factory, MONDAY, platform=Platform.SLACK, external_id=TEAM_ID)
    slack = world.sender
    admin = await _make_admin(world)
    console = RecordingSender(world.clock, Platform.CONSOLE)
    async with world.uow() as uow:
        # The admin also has a console identity: the notice must not go down the broken Slack.
        here = await uow.workspaces.add(
            Workspace(organization_id=world.org.id, platform=Platform.CONSOLE, external_id="c")
        )
        await uow.identities.add(
            Identity(
                person_id=admin.id, workspace_id=here.id, platform=Platform.CONSOLE, user_id="adm"
            )
        )
        await uow.commit()
    gone = await world.person("gone")
    senders: dict[Platform, Sender] = {Platform.SLACK: slack, Platform.CONSOLE: console}
    message = Message(title="Your ask was approved", target=Target(person_id=gone.id), key="m:1")
    slack.flaky["m:1"] = 10**6  # Slack answers 500 to it, for ever
    async with world.uow() as uow:
        await deliver(uow, message, organization_id=world.org.id, now=world.clock.now())
        await uow.commit()
    [row] = await world.outbox(person_id=gone.id)
    assert row.deadline == MONDAY + timedelta(days=1)  # a reply's default: a day

    end = MONDAY + timedelta(days=1, hours=1)
    while world.clock.now() < end:
        await _drain(world, senders)
        world.clock.advance(timedelta(minutes=5))

    [row] = await world.outbox(person_id=gone.id)
    assert row.state is OutboxState.FAILED
    assert row.error.startswith("gave up at its deadline after ")
    assert row.error.endswith("HTTP 500")
    # Backoff is capped at 30 minutes: a day of tries is at least 48 of them.
    assert row.attempts >= 48
    assert slack.to(admin) == []
    [notice] = console.to(admin)
    assert "Gone Example (@gone) on slack fail" in notice.message.sections[0]
    async with world.uow() as uow:
        listed = await load_undelivered(uow, organization_id=world.org.id, now=world.clock.now())
    assert [(u.id, u.state, u.to, u.title) for u in listed] == [
        (row.id, "given up", "Gone Example", "Your ask was approved")
    ]

    slack.flaky["m:1"] = 0  # Slack is back
    async with world.uow() as uow:
        done = await requeue(uow, organization_id=world.org.id, ids=[row.id], now=world.clock.now())
        await uow.commit()
    assert [d.ok for d in done] == [True]
    await _drain(world, senders)
    assert [s.message.key for s in slack.to(gone)] == ["m:1"]
    [row] = await world.outbox(person_id=gone.id)
    assert row.state is OutboxState.SENT
    async with world.uow() as uow:
        assert (
            await load_undelivered(uow, organization_id=world.org.id, now=world.clock.now()) == []
        )


async def test_six_asks_to_one_decider_in_a_day_all_reach_them_and_every_reply_is_true(
    uow_factory: UnitOfWorkFactory,
) -> None:
    world = await make_world(uow_factory, TUESDAY_EARLY)
    core = Core(uow=world.uow, clock=world.clock)
    dana = await world.person("dana")
    lead = await world.person("lee")
    await world.project("SEPSIS", sponsor=dana, lead=lead)
    requesters = [await world.person(f"req{n}") for n in range(6)]
    async with world.uow() as uow:
        for person in requesters:
            await uow.stakeholders.add(
                Stakeholder(
                    project_id=world.projects["SEPSIS"].id, person_id=person.id, role=Role.MEMBER
                )
            )
        await uow.commit()
    replies = [
        await _say(core, world, person, f"ask @dana item {n} by fri #SEPSIS")
        for n, person in enumerate(requesters)
    ]
    await world.run_until(datetime(2026, 11, 24, 9, tzinfo=UTC), step=timedelta(minutes=5))

    cards = [s for s in world.sender.to(dana) if s.message.key.endswith(":card")]
    assert len(cards) == 6
    for reply, card in zip(replies, sorted(cards, key=lambda s: s.message.key), strict=True):
        number = card.message.title.split("#")[1].split()[0]
        assert reply.startswith(f"Ask #{number} sent to Dana Example — asked by name.")
        assert "reaches them at Tue 24 Nov 08:00 (Dana Example's time, GMT)" in reply
        assert card.at == datetime(2026, 11, 24, 8, tzinfo=UTC)
    async with world.uow() as uow:
        ask = await uow.asks.first(order_by="id")
        assert ask is not None and ask.needed_by is not None
        [row] = await uow.outbox.find(key=f"ask:{ask.id}:card@{world.workspace.id}:dana")
        assert row.deadline == ask_expires_at(ask.needed_by, dana)  # until the ask expires


async def test_a_decider_with_no_reachable_identity_is_reported_to_requester_and_admin(
    uow_factory: UnitOfWorkFactory,
) -> None:
    world = await make_world(uow_factory, MONDAY + timedelta(hours=1))
    core = Core(uow=world.uow, clock=world.clock)
    admin = await _make_admin(world)
    lead = await world.person("lee")
    teams = RecordingSender(world.clock, Platform.TEAMS)
    async with world.uow() as uow:
        tenant = await uow.workspaces.add(
            Workspace(organization_id=world.org.id, platform=Platform.TEAMS, external_id="t1")
        )
        nora = await uow.people.add(
            Person(organization_id=world.org.id, handle="nora", name="Nora Noinstall")
        )
        # Met through an @mention only: a Teams user id, no personal conversation yet.
        await uow.identities.add(
            Identity(
                person_id=nora.id, workspace_id=tenant.id, platform=Platform.TEAMS, user_id="29:n"
            )
        )
        await uow.commit()
    await world.project("SEPSIS", sponsor=admin, lead=lead)
    senders: dict[Platform, Sender] = {Platform.CONSOLE: world.sender, Platform.TEAMS: teams}

    first = await _say(core, world, lead, "ask @nora approve the pilot #SEPSIS")
    second = await _say(core, world, lead, "ask @nora and the rota #SEPSIS")
    for reply in (first, second):
        assert "sent to" not in reply
        assert reply.endswith(
            "Nora Noinstall hasn't opened a chat with Leaderbot yet, so I've told your admin."
        )
    await _drain(world, senders)

    notices = [s for s in world.sender.to(admin) if s.message.key.startswith("unreachable")]
    assert len(notices) == 1  # told once, however many messages wait
    assert (
        notices[0]
        .message.sections[0]
        .startswith(
            "Nora Noinstall hasn't opened a chat with Leaderbot yet, so messages for Nora Noinstall"
        )
    )
    waiting = await world.outbox(person_id=nora.id)
    assert [r.state for r in waiting] == [OutboxState.FAILED] * 2
    assert teams.sent == []

    # Nora opens a chat with the bot; the admin sends what waited.
    async with world.uow() as uow:
        identity = await uow.identities.first(person_id=nora.id)
        assert identity is not None
        identity.conversation_ref = json.dumps({"conversation": {"id": "a:nora"}})
        identity.address = "a:nora"
        await uow.identities.save(identity)
        done = await requeue(uow, organization_id=world.org.id, ids=None, now=world.clock.now())
        await uow.commit()
    assert [d.ok for d in done] == [True, True]
    await _drain(world, senders)
    assert sorted(s.address for s in teams.sent) == ["a:nora", "a:nora"]
    assert {r.state for r in await world.outbox(person_id=nora.id)} == {OutboxState.SENT}


async def test_need_info_for_an_unreachable_requester_tells_the_decider(
    uow_factory: UnitOfWorkFactory,
) -> None:
    world = await make_world(uow_factory, MONDAY + timedelta(hours=1))
    core = Core(uow=world.uow, clock=world.clock)
    await _make_admin(world)
    dana = await world.person("dana")
    lead = await world.person("lee")
    await world.project("SEPSIS", sponsor=dana, lead=lead)
    raised = await _say(core, world, lead, "ask two more nurses #SEPSIS")
    number = raised.split("#")[1].split()[0]
    async with world.uow() as uow:
        identity = await uow.identities.first(person_id=lead.id)
        assert identity is not None
        identity.unreachable = True  # a permanent error marked it
        await uow.identities.save(identity)
        await uow.commit()
    said = await _say(core, world, dana, f"info {number} which wards?")
    assert said == (
        f"Ask #{number} asked for more information. Leaderbot can no longer reach Lee Example "
        "(messages to them fail), so I've told your admin."
    )


async def test_an_ask_card_given_up_later_is_reported_to_its_requester(
    uow_factory: UnitOfWorkFactory,
) -> None:
    world = await make_world(uow_factory, MONDAY + timedelta(hours=1))
    core = Core(uow=world.uow, clock=world.clock)
    admin = await _make_admin(world)
    dana = await world.person("dana")
    lead = await world.person("lee")
    await world.project("SEPSIS", sponsor=dana, lead=lead)
    said = await _say(core, world, lead, "ask two more nurses #SEPSIS")
    assert said.startswith("Ask #1 sent to Dana Example")
    world.sender.fail_addresses = {"dana"}  # the platform then refuses her chat for good
    await world.drain()

    [told] = [s for s in world.sender.to(lead) if s.message.key.startswith("delivery-failed")]
    assert told.message.title == (
        "Leaderbot could not deliver “Ask #1 · #SEPSIS” to Dana Example (@dana)"
    )
    assert told.message.sections == (
        "It failed on console: channel_not_found. Your admin has been told and can send it "
        "again once the problem is fixed.",
    )
    assert [s.message.title for s in world.sender.to(admin)] == [
        "Leaderbot cannot deliver messages"
    ]
