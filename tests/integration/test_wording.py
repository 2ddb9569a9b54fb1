"""Issue 13 §2: every label and sentence a user reads, asserted exactly, on the demo
organization through Core (the replies) and the outbox (cards and thread posts as queued)."""

from __future__ import annotations

from datetime import timedelta

from bot.clock import ManualClock
from bot.dispatch import Core
from bot.messages import Message, from_json
from bot.model import Platform
from bot.services import blockers
from bot.services.snooze import snooze
from cadence.announce import announce_raised


async def run(core: Core, handle: str, line: str) -> list[Message]:
    caller = await core.caller_for_handle(handle, platform=Platform.CONSOLE)
    assert caller is not None
    reply = await core.command(caller, line)
    return list(reply.messages)


def said(messages: list[Message]) -> list[str]:
    return [line for m in messages for line in (m.title, *m.sections) if line]


def number(line: str) -> int:
    return int(line.split("#", 1)[1].split()[0])


async def queued(core: Core, key_prefix: str) -> list[Message]:
    async with core.uow() as uow:
        rows = await uow.outbox.find(key__gte=key_prefix, key__lt=key_prefix + "\uffff")
    return [from_json(r.payload) for r in sorted(rows, key=lambda r: r.id)]


async def thread_posts(core: Core, blocker_id: int) -> list[str]:
    return [
        m.sections[0]
        for m in await queued(core, f"blocker:{blocker_id}:")
        if m.thread_key == f"blocker:{blocker_id}"
    ]


async def climb_after(core: Core, clock: ManualClock, blocker: int, *, hours: int) -> None:
    """Let ``hours`` pass and run the tick's climb on the blocker, as the scheduler would."""
    clock.advance(timedelta(hours=hours))
    async with core.uow() as uow:
        row = await uow.blockers.get(blocker)
        assert row is not None
        await blockers.climb(uow, blocker=row, now=clock.now(), link_base="")
        await uow.commit()


async def test_ladder_labels_come_from_the_roles_not_the_positions(core: Core) -> None:
    # On FALLS, Dana is both the staffing Accountable and the sponsor: one rung, both roles;
    # Eve is the executive, not "sponsor".
    reply = said(await run(core, "ben", "blocker no bank staff #FALLS area:staffing"))
    assert "Ladder: Dana Lee (Accountable and sponsor) → Eve Martin (executive)." in reply


async def test_a_project_with_no_accountable_labels_its_sponsor_sponsor(core: Core) -> None:
    await run(core, "ana", "raci set @carmen C * #SEPSIS")
    reply = said(await run(core, "ana", "blocker no porters #SEPSIS area:porters"))
    assert "Ladder: Dr Carmen Diaz (sponsor) → Eve Martin (executive)." in reply


async def test_escalation_names_the_rung_by_its_role(core: Core, clock: ManualClock) -> None:
    blocker = number(said(await run(core, "ben", "blocker no cover #FALLS severity:critical"))[0])
    await climb_after(core, clock, blocker, hours=5)
    assert (await thread_posts(core, blocker))[-1].startswith(
        "Not resolved in time: escalated to Eve Martin (executive). Next deadline "
    )


async def test_a_title_is_not_taken_for_a_first_name(core: Core) -> None:
    blocker = number(said(await run(core, "ana", "blocker no beds #SEPSIS severity:high"))[0])
    await run(core, "carmen", f"ack {blocker}")
    assert (await thread_posts(core, blocker))[-1] == (
        "Dr Carmen Diaz acknowledged this blocker. It climbs the ladder if not resolved by "
        "Tue 24 Nov 10:00 (Dr Carmen Diaz's time, GMT)."
    )


async def test_acknowledging_at_the_top_rung_does_not_promise_a_climb(
    core: Core, clock: ManualClock
) -> None:
    reply = said(await run(core, "ben", "blocker no cover #FALLS severity:critical"))
    blocker = number(reply[0])
    await climb_after(core, clock, blocker, hours=5)
    await run(core, "eve", f"ack {blocker}")
    assert (await thread_posts(core, blocker))[-1] == (
        "Eve Martin acknowledged this blocker. It is at the top of the ladder: Eve Martin is "
        "reminded if it is not resolved by Mon 23 Nov 19:00 (Eve Martin's time, GMT)."
    )
    card = (await queued(core, f"blocker:{blocker}:rung:1:"))[-1]
    assert [f.label for f in card.facts] == ["Raised by", "Reminder if unresolved"]


async def test_a_withdrawn_blocker_is_told_in_a_sentence(core: Core) -> None:
    blocker = number(said(await run(core, "ana", "blocker no beds #SEPSIS"))[0])
    await run(core, "ana", f"withdraw blocker {blocker}")
    assert (await thread_posts(core, blocker))[-1] == "Ana Silva withdrew this blocker."


async def ask(core: Core) -> int:
    reply = said(await run(core, "ana", "ask two more nurses #SEPSIS area:staffing"))
    await announce_raised(core.uow, now=core.clock.now(), link_base="")
    return number(reply[0])


async def test_a_withdrawn_card_says_by_whom_and_when_in_the_readers_zone(
    core: Core, clock: ManualClock
) -> None:
    asked = await ask(core)
    clock.advance(timedelta(hours=1))
    await run(core, "ana", f"withdraw ask {asked}")
    cards = [m for m in await queued(core, f"ask:{asked}:withdrawn") if m.footer]
    # To Dana (America/New_York) and the channel, in the decider's named zone.
    assert {m.footer for m in cards} == {"Withdrawn by Ana Silva on Mon 23 Nov 2026 06:00 EST"}
    assert len(cards) == 2


async def test_decision_times_on_cards_are_in_the_readers_zone(core: Core) -> None:
    asked = await ask(core)
    reply = await run(core, "dana", f"approve {asked}")
    assert said(reply) == [
        f"Ask #{asked} approved; logged in the decision log and the requester is told."
    ]
    cards = [m for m in await queued(core, f"ask:{asked}:approved") if m.footer]
    assert {m.footer for m in cards} == {"Approved by Dana Lee on Mon 23 Nov 2026 05:00 EST"}


async def test_the_decision_log_tells_each_reader_the_time_in_their_own_zone(
    core: Core,
) -> None:
    asked = await ask(core)
    await run(core, "dana", f"approve {asked} cover agreed")
    line = "· Dana Lee · approved: two more nurses — cover agreed"
    # Dana decided at 10:00 UTC; Raj reads the log in Kolkata, Dana in New York.
    assert said(await run(core, "raj", "decisions #SEPSIS"))[1].startswith(
        f"Mon 23 Nov 2026 15:30 IST {line}"
    )
    assert said(await run(core, "dana", "decisions #SEPSIS"))[1].startswith(
        f"Mon 23 Nov 2026 05:00 EST {line}"
    )


async def test_a_handover_counts_in_words(core: Core) -> None:
    reply = said(await run(core, "ana", "handover @eve @ben #FALLS"))
    assert reply == [
        "Handed over #FALLS from Eve Martin to Ben Okafor: 1 RACI letter. Ben Okafor has a "
        "briefing."
    ]


async def test_a_handover_briefing_dates_decisions_in_the_successors_zone(
    core: Core, clock: ManualClock
) -> None:
    clock.advance(timedelta(hours=15))  # Tue 24 Nov 01:00 UTC: still Monday in New York
    async with core.uow() as uow:
        (falls_ask,) = await uow.asks.find(area="staffing")
    await run(core, "dana", f"approve {falls_ask.id} two HCAs from the bank")
    await run(core, "ana", "handover @eve @dana #FALLS")
    (briefing,) = await queued(core, "handover:")
    assert briefing.sections[0].split("\n") == [
        "#FALLS — Fewer inpatient falls",
        "Aim: Cut inpatient falls with harm by 30% in a year",
        "Decided 23 Nov: approved: Release two healthcare assistants for the bay-watch pilot",
        "KPI Falls per 1000 bed days: 3.8 (target 3, lower is better)",
    ]


async def test_a_snooze_says_until_when_in_the_readers_named_zone(core: Core) -> None:
    asked = await ask(core)
    async with core.uow() as uow:
        dana = await uow.people.first(handle="dana")
        assert dana is not None
        reply = await snooze(
            uow, person=dana, value=f"ask:{asked}:tomorrow", now=core.clock.now(), link_base=""
        )
    assert said(list(reply.messages))[0] == f"Snoozed ask:{asked} until Tue 24 Nov 08:00 EST."
