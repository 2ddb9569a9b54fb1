"""Core services through Core, on every storage implementation (memory, SQLite, PostgreSQL)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.clock import ManualClock
from bot.context import Caller, Profile
from bot.dispatch import Core
from bot.messages import Message, from_json
from bot.model import Ask, AskState, BlockerState, Platform, Role, ThresholdLevel
from bot.services import asks, blockers
from bot.services.demo import seed_demo
from cadence.announce import announce_raised
from storage.database import Database

MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


async def who(core: Core, handle: str) -> Caller:
    caller = await core.caller_for_handle(handle, platform=Platform.CONSOLE)
    assert caller is not None
    return caller


async def run(core: Core, handle: str, line: str) -> str:
    reply = await core.command(await who(core, handle), line)
    return "\n".join("\n".join((m.title, *m.sections)) for m in reply.messages)


async def new_ask(core: Core, line: str = "ask two more nurses #SEPSIS area:staffing") -> int:
    """Raise an ask and announce it, as the drain's next pass does."""
    said = await run(core, "ana", line)
    await announce_raised(core.uow, now=core.clock.now(), link_base=core.settings.link_base)
    return int(said.split("#", 1)[1].split()[0])


async def test_ask_is_queued_for_the_assignee_and_the_project_channel(core: Core) -> None:
    number = await new_ask(core)
    async with core.uow() as uow:
        rows = await uow.outbox.find(key__gte=f"ask:{number}:card", order_by="id")
    keys = {r.key for r in rows if r.key.startswith(f"ask:{number}:card@")}
    assert keys == {f"ask:{number}:card@1:dana", f"ask:{number}:card@1:#sepsis"}
    card = from_json(next(r.payload for r in rows if r.key.endswith(":dana")))
    assert [a.id for a in card.actions] == ["ask.approve", "ask.decline", "ask.info"]


async def test_an_ask_is_written_alone_then_announced_once(core: Core) -> None:
    said = await run(core, "ana", "ask two more nurses #SEPSIS area:staffing")
    number = int(said.split("#", 1)[1].split()[0])
    subject = f"ask:{number}"
    async with core.uow() as uow:
        assert not await uow.outbox.find(key__gte=f"{subject}:", key__lt=f"{subject};")
        assert not await uow.audit.find(subject=subject)
    now = core.clock.now()
    assert await announce_raised(core.uow, now=now, link_base="") == 1
    assert await announce_raised(core.uow, now=now, link_base="") == 0
    async with core.uow() as uow:
        keys = [r.key for r in await uow.outbox.find(key__gte=f"{subject}:", key__lt=f"{subject};")]
        (raised,) = await uow.audit.find(subject=subject)
    raj = (await who(core, "raj")).person_id
    assert sorted(keys) == sorted(
        [f"{subject}:card@1:dana", f"{subject}:card@1:#sepsis", f"{subject}:consult:{raj}@1:raj"]
    )
    assert raised.action == "ask.raised" and "Accountable" in raised.detail


async def test_an_ask_that_cannot_be_announced_holds_up_no_other(
    core: Core, monkeypatch: pytest.MonkeyPatch
) -> None:
    numbers: list[int] = []
    for n in range(3):
        said = await run(core, "ana", f"ask item {n} #SEPSIS area:staffing")
        numbers.append(int(said.split("#", 1)[1].split()[0]))
    card = asks.ask_card

    def broken_for_the_second(ask: Ask, **kwargs: Any) -> Message:
        if ask.id == numbers[1]:
            raise RuntimeError("a bug")
        return card(ask, **kwargs)

    monkeypatch.setattr(asks, "ask_card", broken_for_the_second)
    now = core.clock.now()
    assert await announce_raised(core.uow, now=now, link_base="") == 2
    async with core.uow() as uow:
        raised = {e.subject for e in await uow.audit.find(action="ask.raised")}
    assert {f"ask:{n}" for n in numbers} & raised == {f"ask:{numbers[0]}", f"ask:{numbers[2]}"}
    monkeypatch.setattr(asks, "ask_card", card)
    assert await announce_raised(core.uow, now=now, link_base="") == 1


async def test_racing_announcers_announce_each_ask_once(
    sql_database: Database, clock: ManualClock
) -> None:
    first = sql_database.uow
    elsewhere = Database(sql_database.url)  # another server process's
    second = elsewhere.uow
    try:
        await seed_demo(first, clock)
        core = Core(uow=first, clock=clock)
        for n in range(30):
            await run(core, "ana", f"ask item {n} #SEPSIS area:staffing")
        now = clock.now()
        passes = [announce_raised(f, now=now, link_base="") for f in (first, second) * 2]
        assert sum(await asyncio.gather(*passes)) == 30
        async with second() as uow:
            raised = await uow.audit.find(action="ask.raised")
            keys = [r.key for r in await uow.outbox.find()]
        assert len(raised) == len({e.subject for e in raised}) == 32  # the demo's 2 and these
        posts = [k for k in keys if k.endswith(":card@1:#sepsis")]  # the channel posts
        assert len(posts) == 31  # the demo's SEPSIS ask and these
    finally:
        await elsewhere.close()


async def test_a_decision_before_the_announcement_announces_first(core: Core) -> None:
    said = await run(core, "ana", "ask two more nurses #SEPSIS area:staffing")
    number = int(said.split("#", 1)[1].split()[0])
    assert "approved" in await run(core, "dana", f"approve {number}")
    async with core.uow() as uow:
        rows = await uow.outbox.find(key__gte=f"ask:{number}:", key__lt=f"ask:{number};")
        actions = [e.action for e in await uow.audit.find(subject=f"ask:{number}", order_by="id")]
    card = next(r for r in rows if r.key == f"ask:{number}:card@1:dana")
    outcome = next(r for r in rows if r.key.startswith(f"ask:{number}:approved"))
    assert card.id < outcome.id  # the card exists before the update that replaces it
    assert actions == ["ask.raised", "ask.approved"]
    assert await announce_raised(core.uow, now=core.clock.now(), link_base="") == 0


async def test_consulted_people_are_invited_to_comment(core: Core) -> None:
    number = await new_ask(core)
    async with core.uow() as uow:
        invite = await uow.outbox.first(
            key=f"ask:{number}:consult:{(await who(core, 'raj')).person_id}@1:raj"
        )
    assert invite is not None
    assert from_json(invite.payload).actions[0].id == "ask.comment"


async def test_delegate_decides_while_the_delegation_runs(core: Core, clock: ManualClock) -> None:
    number = await new_ask(core)
    assert "until Fri 27 Nov 2026" in await run(core, "dana", "delegate @ben until 2026-11-27")
    assert "approved" in await run(core, "ben", f"approve {number} covering for Dana")
    second = await new_ask(core, "ask weekend cover #SEPSIS area:staffing")
    clock.advance(timedelta(days=7))
    refused = await run(core, "ben", f"approve {second}")
    assert "Only Dana Lee or their active delegate can decide" in refused


async def test_info_request_then_answer_reopens_the_ask(core: Core) -> None:
    number = await new_ask(core)
    await run(core, "dana", f"info {number} which wards?")
    reply = await core.action(
        await who(core, "ana"), action="ask.answer", value=str(number), text="AMU and ED"
    )
    assert reply.ok
    async with core.uow() as uow:
        ask = await uow.asks.get(number)
    assert ask is not None and ask.state is AskState.OPEN
    assert ask.text == "two more nurses"  # the answer is the ask's conversation, not its text
    async with core.uow() as uow:
        turns = await uow.conversation.find(ask_id=number, order_by="id")
    assert [(t.kind.value, t.text) for t in turns] == [
        ("question", "which wards?"),
        ("answer", "AMU and ED"),
    ]


async def test_wrong_person_cannot_click_approve(core: Core) -> None:
    number = await new_ask(core)
    reply = await core.action(await who(core, "carmen"), action="ask.approve", value=str(number))
    assert not reply.ok and "Only Dana Lee" in reply.messages[0].sections[0]
    async with core.uow() as uow:
        ask = await uow.asks.get(number)
        assert ask is not None and ask.state is AskState.OPEN
        assert await uow.decisions.count() == 0


async def test_blocker_climbs_the_ladder_and_replies_in_its_thread(
    core: Core, clock: ManualClock
) -> None:
    said = await run(core, "ana", "blocker no pharmacy cover #SEPSIS area:budget severity:critical")
    number = int(said.split("#", 1)[1].split()[0])
    refused = await run(core, "dana", f"ack {number}")
    assert (
        f"Only Raj Patel (whose rung it is), Ana Silva (who raised it), the lead or sponsor "
        f"of #SEPSIS, or an admin, can acknowledge blocker #{number}. Nothing was changed."
        in refused
    )
    clock.advance(timedelta(hours=5))
    async with core.uow() as uow:
        blocker = await uow.blockers.get(number)
        assert blocker is not None and blocker.next_escalation_at is not None
        assert blocker.next_escalation_at <= clock.now()
        await blockers.climb(uow, blocker=blocker, now=clock.now(), link_base="")
        await uow.commit()
    async with core.uow() as uow:
        blocker = await uow.blockers.get(number)
        assert blocker is not None and blocker.level == 1
        replies = [
            from_json(r.payload)
            for r in await uow.outbox.find(address="#sepsis", order_by="id")
            if from_json(r.payload).thread_key == f"blocker:{number}"
        ]
    assert "escalated to Dr Carmen Diaz (sponsor)" in replies[-1].sections[0]
    assert "acknowledged" in await run(core, "carmen", f"ack {number}")
    assert "resolved" in await run(core, "carmen", f"resolve {number} pharmacy agreed cover")
    async with core.uow() as uow:
        blocker = await uow.blockers.get(number)
        assert blocker is not None and blocker.state is BlockerState.RESOLVED
        assert await uow.decisions.count(subject_kind="blocker") == 1


async def test_every_copy_of_a_blocker_follows_it_up_the_ladder(
    core: Core, clock: ManualClock
) -> None:
    """After a climb the root post names the new holder and the previous holder's DM loses its
    buttons; after the new holder's acknowledgement their DM keeps Resolve only."""
    said = await run(core, "ana", "blocker no pharmacy cover #SEPSIS area:budget severity:critical")
    number = int(said.split("#", 1)[1].split()[0])
    clock.advance(timedelta(hours=5))
    async with core.uow() as uow:
        blocker = await uow.blockers.get(number)
        assert blocker is not None
        await blockers.climb(uow, blocker=blocker, now=clock.now(), link_base="")
        await uow.commit()
    await run(core, "carmen", f"ack {number}")

    async def latest(replaces: str) -> Message:
        async with core.uow() as uow:
            rows = await uow.outbox.find(order_by="id")
        updates = [m for m in (from_json(r.payload) for r in rows) if m.replaces_key == replaces]
        assert updates, replaces
        return updates[-1]

    async with core.uow() as uow:
        rows = await uow.outbox.find(order_by="id")
    rungs = [
        m.key
        for m in (from_json(r.payload) for r in rows)
        if m.key.startswith(f"blocker:{number}:rung:") and m.replaces_key is None
    ]
    first, second = rungs
    root = await latest(f"blocker:{number}:root")
    assert dict((f.label, f.value) for f in root.facts)["With"] == "Dr Carmen Diaz"
    assert root.footer == "Acknowledged by Dr Carmen Diaz."
    assert (await latest(first)).actions == ()  # Raj's rung is past
    assert [a.label for a in (await latest(second)).actions] == ["Resolve"]


async def test_kpi_review_once_per_crossing(core: Core) -> None:
    await run(
        core, "ana", "kpi add Screening rate unit:% higher target:95 warn:90 alert:80 #SEPSIS"
    )
    async with core.uow() as uow:
        before = await uow.reviews.count()
    assert "crossed the alert threshold" in await run(
        core, "ana", "kpi record Screening rate 70 #SEPSIS"
    )
    assert "crossed" not in await run(core, "ana", "kpi record Screening rate 75 #SEPSIS")
    await run(core, "ana", "kpi record Screening rate 97 #SEPSIS")
    assert "crossed the warn threshold" in await run(
        core, "ana", "kpi record Screening rate 85 #SEPSIS"
    )
    async with core.uow() as uow:
        reviews = await uow.reviews.find(id__gt=0, order_by="id")
    assert [r.level for r in reviews[before:]] == [ThresholdLevel.ALERT, ThresholdLevel.WARN]


async def test_handover_moves_roles_letters_and_open_asks(core: Core) -> None:
    number = await new_ask(core)
    said = await run(core, "ana", "handover @dana @eve #SEPSIS")
    assert "Handed over #SEPSIS from Dana Lee to Eve Martin" in said
    eve = await who(core, "eve")
    async with core.uow() as uow:
        ask = await uow.asks.get(number)
        assert ask is not None and ask.assignee_id == eve.person_id
        roles = await uow.stakeholders.find(person_id=eve.person_id, role=Role.CHAMPION)
        assert roles
        briefing = await uow.outbox.first(address="eve", key__gte="handover:")
        assert briefing is not None
    assert "approved" in await run(core, "eve", f"approve {number}")


async def test_first_seen_user_is_matched_by_email(core: Core) -> None:
    await core.configured_workspace(platform=Platform.SLACK, external_id="T123")
    caller = await core.identify(
        platform=Platform.SLACK,
        workspace_external_id="T123",
        user_id="U999",
        profile=Profile(
            name="Dana L.", email="DANA@northfield.example", timezone="America/New_York"
        ),
    )
    assert caller is not None and caller.handle == "dana"
    stranger = await core.identify(
        platform=Platform.SLACK,
        workspace_external_id="T123",
        user_id="U1000",
        profile=Profile(name="Ana Silva", email="other@x.example"),
    )
    assert stranger is not None and stranger.handle == "ana.silva"
    again = await core.identify(
        platform=Platform.SLACK, workspace_external_id="T123", user_id="U999"
    )
    assert again is not None and again.person_id == caller.person_id
    unknown = await core.identify(
        platform=Platform.SLACK, workspace_external_id="T123", user_id="U5"
    )
    assert unknown is None


async def test_cadence_preferences(core: Core) -> None:
    assert "weekly on Monday at 08:30" in await run(core, "carmen", "cadence")
    said = await run(core, "carmen", "cadence biweekly fri 07:45 detailed")
    assert "biweekly on Friday at 07:45 (Europe/London), detailed" in said
