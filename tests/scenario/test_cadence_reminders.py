"""Ask reminders and expiry, quiet hours, the daily cap, snooze, and escalation over a weekend."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.attention import MAX_SNOOZES, snooze_menu
from bot.errors import NotAllowed
from bot.model import Ask, AskState, BlockerState, Person, Severity
from bot.services import blockers
from bot.services.digests import compose_for
from bot.services.snooze import snooze
from tests.fakes import make_memory_uow_factory
from tests.scenario.cadence_world import LINK, World, make_world

LONDON = ZoneInfo("Europe/London")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def local(at: datetime) -> str:
    return at.astimezone(LONDON).strftime("%a %d %H:%M")


async def _world(start: datetime) -> tuple[World, Person, Person, Person]:
    world = await make_world(make_memory_uow_factory(), start)
    lee = await world.person("lee")
    ana = await world.person("ana")
    exec_ = await world.person("eve")
    await world.project("SEPSIS", sponsor=exec_, lead=lee, accountable=ana)
    return world, lee, ana, exec_


async def _ask(world: World, requester: Person, assignee: Person, needed_by: date) -> Ask:
    async with world.uow() as uow:
        ask = await uow.asks.add(
            Ask(
                organization_id=world.org.id,
                project_id=world.projects["SEPSIS"].id,
                requester_id=requester.id,
                assignee_id=assignee.id,
                area="*",
                text="Approve 0.5 FTE",
                needed_by=needed_by,
                created_at=world.clock.now(),
            )
        )
        await uow.commit()
    return ask


async def test_reminded_once_the_day_before_told_when_passed_then_expired() -> None:
    world, lee, ana, _ = await _world(utc(2026, 11, 23, 9))
    ask = await _ask(world, lee, ana, date(2026, 11, 27))  # Friday
    await world.run_until(utc(2026, 12, 7), step=timedelta(minutes=30), ticks=2)

    reminders = [s for s in world.sender.to(ana) if s.message.key == f"ask:{ask.id}:reminder"]
    assert [local(s.at) for s in reminders] == ["Thu 26 08:00"]
    told = [s for s in world.sender.to(lee) if s.message.key == f"ask:{ask.id}:overdue"]
    # Passed at Saturday 00:00; a weekend: the requester hears on Monday morning.
    assert [local(s.at) for s in told] == ["Mon 30 08:00"]
    expired = [s for s in world.sender.to(lee) if s.message.key == f"ask:{ask.id}:expired"]
    assert len(expired) == 1 and local(expired[0].at) == "Fri 04 08:00"
    async with world.uow() as uow:
        stored = await uow.asks.get(ask.id)
        assert stored is not None and stored.state is AskState.EXPIRED
    assert world.sender.calls.most_common(1)[0][1] == 1


async def test_a_ping_at_2100_waits_until_0800_and_the_fourth_waits_for_the_next_day() -> None:
    world, lee, ana, _ = await _world(utc(2026, 11, 24, 21))  # Tuesday 21:00 London
    asks = [await _ask(world, lee, ana, date(2026, 11, 25)) for _ in range(4)]
    await world.run_until(utc(2026, 11, 26, 12), step=timedelta(minutes=15))

    reminders = [s for s in world.sender.to(ana) if s.message.key.endswith(":reminder")]
    assert [local(s.at) for s in reminders] == ["Wed 25 08:00"] * 3 + ["Thu 26 08:00"]
    assert [s.message.key for s in reminders][3] == f"ask:{asks[3].id}:reminder"
    # The cap deferred the fourth reminder, never dropped it; and every card came at once.
    cards = [s for s in world.sender.to(ana) if s.message.key.endswith(":card")]
    assert [local(s.at) for s in cards] == ["Wed 25 08:00"] * 4
    # Still open, so the digest lists it too.
    async with world.uow() as uow:
        digest = await compose_for(uow, person_id=ana.id, now=world.clock.now(), link_base=LINK)
    assert f"Ask #{asks[3].id}" in "\n".join(digest.message.sections)


async def test_snooze_tomorrow_then_next_week_then_it_escalates_to_the_sponsor() -> None:
    world, lee, ana, eve = await _world(utc(2026, 11, 26, 10))  # Thursday
    ask = await _ask(world, lee, ana, date(2026, 12, 4))
    menu = snooze_menu(f"ask:{ask.id}")
    assert [c[0] for c in menu.choices] == [
        f"ask:{ask.id}:1h",
        f"ask:{ask.id}:tomorrow",
        f"ask:{ask.id}:nextweek",
    ]

    async def choose(choice: str, who: Person = ana) -> str:
        async with world.uow() as uow:
            reply = await snooze(
                uow,
                person=who,
                value=f"ask:{ask.id}:{choice}",
                now=world.clock.now(),
                link_base=LINK,
            )
            await uow.commit()
        return " ".join(reply.messages[0].sections)

    assert "Only the person" in await _refused(world, ask, lee)
    assert "until Fri 27 Nov 08:00" in await choose("tomorrow")
    await world.run_until(utc(2026, 11, 27, 9), step=timedelta(minutes=30))
    snoozed = [s for s in world.sender.to(ana) if s.message.key == f"ask:{ask.id}:snooze:1"]
    assert [local(s.at) for s in snoozed] == ["Fri 27 08:00"]
    assert any(a.id == "reminder.snooze" for a in snoozed[0].message.actions)

    assert "until Mon 30 Nov 08:00" in await choose("nextweek")
    assert MAX_SNOOZES == 2
    assert "Eve Example was told" in await choose("1h")
    await world.drain()
    escalated = [s for s in world.sender.to(eve) if s.message.key.endswith("snooze-escalated")]
    assert len(escalated) == 1


async def _refused(world: World, ask: Ask, who: Person) -> str:
    async with world.uow() as uow:
        try:
            await snooze(
                uow, person=who, value=f"ask:{ask.id}:1h", now=world.clock.now(), link_base=LINK
            )
        except NotAllowed as exc:
            return str(exc)
    return ""


async def test_escalation_waits_over_the_weekend_then_climbs_and_renotifies_daily() -> None:
    world, lee, ana, eve = await _world(utc(2026, 11, 27, 10))  # Friday 10:00
    async with world.uow() as uow:
        project = world.projects["SEPSIS"]
        raised = await blockers.raise_blocker(
            uow,
            project=project,
            reporter=lee,
            text="Lab IT access blocked",
            area=None,
            severity=Severity.HIGH,
            now=world.clock.now(),
            link_base=LINK,
        )
        await uow.commit()
    blocker = raised.blocker
    assert blocker.ladder[:2] == [ana.id, eve.id]
    await world.run_until(utc(2026, 11, 30, 9, 59), step=timedelta(minutes=30), ticks=2)
    async with world.uow() as uow:
        stored = await uow.blockers.get(blocker.id)
        assert stored is not None and stored.level == 0  # a business day: not over the weekend

    await world.run_until(utc(2026, 12, 3, 12), step=timedelta(minutes=30), ticks=2)
    async with world.uow() as uow:
        stored = await uow.blockers.get(blocker.id)
        events = await uow.audit.find(subject=f"blocker:{blocker.id}", action="blocker.escalated")
    assert stored is not None and stored.state is BlockerState.OPEN
    assert stored.level == len(stored.ladder) - 1
    assert len(events) == len(stored.ladder) - 1  # once per rung, despite two ticks per step
    climbed = [s for s in world.sender.sent if "escalated" in s.message.key]
    assert climbed and all(s.thread_root for s in climbed)  # replies in the blocker's thread
    to_eve = [s for s in world.sender.to(eve) if s.message.key.startswith(f"blocker:{blocker.id}:")]
    assert local(to_eve[0].at) == "Mon 30 10:00"
    assert {a.id for a in to_eve[0].message.actions} >= {"blocker.ack", "blocker.resolve"}
    assert world.sender.calls.most_common(1)[0][1] == 1


async def test_a_critical_blocker_climbs_at_night() -> None:
    world, lee, _, eve = await _world(utc(2026, 11, 28, 22))  # Saturday 22:00
    async with world.uow() as uow:
        await blockers.raise_blocker(
            uow,
            project=world.projects["SEPSIS"],
            reporter=lee,
            text="Ventilators offline",
            area=None,
            severity=Severity.CRITICAL,
            now=world.clock.now(),
            link_base=LINK,
        )
        await uow.commit()
    await world.run_until(utc(2026, 11, 29, 3), step=timedelta(minutes=15))
    to_eve = [s for s in world.sender.to(eve) if s.message.key.startswith("blocker:")]
    assert [local(s.at) for s in to_eve] == ["Sun 29 02:00"]


async def test_a_blocker_rung_owner_snoozes_twice_then_it_climbs() -> None:
    world, lee, ana, eve = await _world(utc(2026, 11, 24, 10))
    async with world.uow() as uow:
        raised = await blockers.raise_blocker(
            uow,
            project=world.projects["SEPSIS"],
            reporter=lee,
            text="Lab IT access blocked",
            area=None,
            severity=Severity.LOW,
            now=world.clock.now(),
            link_base=LINK,
        )
        await uow.commit()
    value = f"blocker:{raised.blocker.id}"
    replies = []
    for choice in ("1h", "1h", "1h"):
        async with world.uow() as uow:
            reply = await snooze(
                uow, person=ana, value=f"{value}:{choice}", now=world.clock.now(), link_base=LINK
            )
            await uow.commit()
        replies.append(" ".join(reply.messages[0].sections))
    assert "1 more time" in replies[0] and "escalates instead" in replies[1]
    assert "moved up its ladder" in replies[2]
    async with world.uow() as uow:
        stored = await uow.blockers.get(raised.blocker.id)
    assert stored is not None and stored.ladder[stored.level] == eve.id
    await world.run_until(utc(2026, 11, 24, 12), step=timedelta(minutes=30))
    assert len([s for s in world.sender.to(ana) if ":snooze:" in s.message.key]) == 2
