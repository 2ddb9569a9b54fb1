"""Digests on each leader's own rhythm: timezones, DST, exactly once, feedback, prompts."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.digest import CHANGED, NEW, STILL_OPEN
from bot.errors import UsageError
from bot.model import Ask, CadencePreference, Detail, FeedbackKind, Frequency, Rag, Update
from bot.services.feedback import give_feedback
from bot.services.tick import DIGEST
from tests.fakes import make_memory_uow_factory
from tests.scenario.cadence_world import LINK, World, make_world


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


async def _three_zones(start: datetime) -> World:
    world = await make_world(make_memory_uow_factory(), start)
    lead = await world.person("lee")
    for handle, tz in (
        ("ana", "Europe/London"),
        ("bo", "America/New_York"),
        ("cy", "Asia/Kolkata"),
    ):
        leader = await world.person(
            handle,
            tz=tz,
            preference=CadencePreference(person_id=0, weekday=0, local_time=time(8, 30)),
        )
        await world.project(handle.upper(), sponsor=leader, lead=lead)
    return world


async def test_one_digest_per_leader_and_week_across_dst_in_three_timezones() -> None:
    # Two weeks around the European spring change (Sunday 29 March 2026); New York changed
    # on 8 March, Kolkata never does. Every step ticks twice, as two processes would.
    world = await _three_zones(utc(2026, 3, 21))
    await world.run_until(utc(2026, 4, 4), step=timedelta(minutes=15), ticks=2)

    digests = [s for s in world.sender.sent if s.message.key.startswith("digest:")]
    per_leader = Counter((s.person_id, s.message.key) for s in digests)
    assert set(per_leader.values()) == {1}
    for handle in ("ana", "bo", "cy"):
        person = world.people[handle]
        mine = [s for s in digests if s.person_id == person.id]
        assert [s.message.key for s in mine] == [
            f"digest:{person.id}:2026-W13",
            f"digest:{person.id}:2026-W14",
        ]
        for sent in mine:
            local = sent.at.astimezone(ZoneInfo(person.timezone))
            assert (local.weekday(), local.hour, local.minute) == (0, 8, 30), (handle, local)
    assert world.sender.calls.most_common(1)[0][1] == 1  # nothing was ever sent twice


async def test_daily_and_biweekly_leaders_over_a_week() -> None:
    world = await make_world(make_memory_uow_factory(), utc(2026, 11, 22))  # Sunday
    lead = await world.person("lee")
    daily = await world.person(
        "dee",
        preference=CadencePreference(
            person_id=0, frequency=Frequency.DAILY_DURING_ACTIVE_CYCLE, local_time=time(9)
        ),
    )
    biweekly = await world.person(
        "bea", preference=CadencePreference(person_id=0, frequency=Frequency.BIWEEKLY, weekday=2)
    )
    off = await world.person(
        "oz", preference=CadencePreference(person_id=0, frequency=Frequency.OFF)
    )
    for n, leader in enumerate((daily, biweekly, off)):
        await world.project(f"P{n}", sponsor=leader, lead=lead)
    await world.run_until(utc(2026, 12, 6), step=timedelta(minutes=30))

    days = ["2026-11-23", "2026-11-24", "2026-11-25", "2026-11-26", "2026-11-27", "2026-11-30"]
    days += ["2026-12-01", "2026-12-02", "2026-12-03", "2026-12-04"]
    assert world.sender.keys(f"digest:{daily.id}:") == [f"digest:{daily.id}:{d}" for d in days]
    # Pairs start on odd weeks: 47+48 was due on Wednesday 18th (more than a day late when
    # the world starts, so skipped), 49+50 on Wednesday 2 December.
    assert world.sender.keys(f"digest:{biweekly.id}:") == [f"digest:{biweekly.id}:2026-W49+50"]
    assert world.sender.keys(f"digest:{off.id}:") == []


async def test_markers_carry_forward_and_feedback_adapts_the_next_digests() -> None:
    world = await make_world(make_memory_uow_factory(), utc(2026, 11, 20))
    lead = await world.person("lee")
    ana = await world.person("ana", preference=CadencePreference(person_id=0))
    project = await world.project("SEPSIS", sponsor=ana, lead=lead)
    async with world.uow() as uow:
        ask = await uow.asks.add(
            Ask(
                organization_id=world.org.id,
                project_id=project.id,
                requester_id=lead.id,
                assignee_id=ana.id,
                area="*",
                text="Approve 0.5 FTE for the pilot",
                created_at=world.clock.now(),
            )
        )
        other = await uow.asks.add(
            Ask(
                organization_id=world.org.id,
                project_id=project.id,
                requester_id=lead.id,
                assignee_id=ana.id,
                area="*",
                text="Sign the data sharing agreement",
                created_at=world.clock.now(),
            )
        )
        await uow.commit()

    await world.run_until(utc(2026, 11, 24), step=timedelta(hours=1))
    first = world.sender.to(ana)[-1].message
    assert first.key == f"digest:{ana.id}:2026-W48"
    body = "\n".join(first.sections)
    assert f"Ask #{ask.id} on SEPSIS ({NEW}" in body and f"Ask #{other.id} on SEPSIS ({NEW}" in body

    async with world.uow() as uow:
        changed = await uow.asks.get(other.id)
        assert changed is not None
        changed.text = "Sign the data sharing agreement (v2)"
        await uow.asks.save(changed)
        reply = await give_feedback(
            uow, person=ana, value=f"2026-W48:{FeedbackKind.TOO_OFTEN.value}", now=world.clock.now()
        )
        again = await give_feedback(
            uow, person=ana, value=f"2026-W48:{FeedbackKind.TOO_OFTEN.value}", now=world.clock.now()
        )
        await uow.commit()
    assert (
        "every two weeks" in reply.messages[0].sections[1]
        or "biweekly" in reply.messages[0].sections[1]
    )
    assert "Already noted" in again.messages[0].sections[0]

    # Biweekly now: week 49 starts the pair 49+50, so the next digest is Monday 30 November.
    await world.run_until(utc(2026, 12, 1), step=timedelta(hours=1))
    second = world.sender.to(ana)[-1].message
    assert second.key == f"digest:{ana.id}:2026-W49+50"
    body = "\n".join(second.sections)
    assert f"Ask #{ask.id} on SEPSIS ({STILL_OPEN}" in body
    assert f"Ask #{other.id} on SEPSIS ({CHANGED}" in body

    async with world.uow() as uow:
        pref = await uow.preferences.first(person_id=ana.id)
        assert pref is not None and pref.frequency is Frequency.BIWEEKLY
        reply = await give_feedback(
            uow,
            person=ana,
            value=f"2026-W49+50:{FeedbackKind.TOO_LONG.value}",
            now=world.clock.now(),
        )
        await uow.commit()
        pref = await uow.preferences.first(person_id=ana.id)
        assert pref is not None and pref.max_lines == 9
    assert "at most 9 lines" in reply.messages[0].sections[1]
    digests = await world.outbox(category=DIGEST, person_id=ana.id)
    assert len(digests) == 2 and all(d.memo for d in digests)


async def test_leads_are_prompted_once_the_day_before_unless_they_posted() -> None:
    world = await make_world(make_memory_uow_factory(), utc(2026, 11, 27))  # Friday
    lee, max_ = await world.person("lee"), await world.person("max")
    ana = await world.person("ana", preference=CadencePreference(person_id=0))
    quiet = await world.project("QUIET", sponsor=ana, lead=lee)
    busy = await world.project("BUSY", sponsor=ana, lead=max_)
    async with world.uow() as uow:
        await uow.updates.add(
            Update(
                project_id=busy.id,
                author_id=max_.id,
                period="2026-W48",
                rag=Rag.GREEN,
                progress="on track",
                created_at=world.clock.now(),
            )
        )
        await uow.commit()
    await world.run_until(utc(2026, 12, 1), step=timedelta(minutes=30), ticks=2)

    prompts = world.sender.keys("prompt:")
    assert prompts == [f"prompt:{quiet.id}:{lee.id}:2026-W48"]
    prompt = next(s for s in world.sender.sent if s.message.key.startswith("prompt:"))
    # Due Sunday 08:30, a weekend: it waits for Monday 08:00, before the 08:30 digest.
    assert prompt.at.astimezone(ZoneInfo("Europe/London")).strftime("%a %H:%M") == "Mon 08:00"
    digest = next(s for s in world.sender.to(ana) if s.message.key.startswith("digest:"))
    assert prompt.at < digest.at
    assert LINK in digest.message.footer


async def test_feedback_kinds_each_say_what_changed() -> None:
    world = await make_world(make_memory_uow_factory(), utc(2026, 11, 23, 9))
    ana = await world.person(
        "ana", preference=CadencePreference(person_id=0, detail=Detail.DETAILED)
    )
    daily = await world.person(
        "dee",
        preference=CadencePreference(person_id=0, frequency=Frequency.DAILY_DURING_ACTIVE_CYCLE),
    )
    now = world.clock.now()
    async with world.uow() as uow:
        useful = await give_feedback(uow, person=ana, value="2026-W48:useful", now=now)
        relevant = await give_feedback(uow, person=ana, value="2026-W48:not_relevant", now=now)
        shorter = await give_feedback(uow, person=ana, value="2026-W48:too_long", now=now)
        weekly = await give_feedback(uow, person=daily, value="2026-11-23:too_often", now=now)
        with pytest.raises(UsageError):
            await give_feedback(uow, person=ana, value="2026-W48:boring", now=now)
        pref = await uow.preferences.first(person_id=ana.id)
        pref_daily = await uow.preferences.first(person_id=daily.id)
        stored = await uow.feedback.count(person_id=ana.id)
        await uow.commit()
    assert useful.changed == () and "Nothing changes" in useful.messages[0].sections[0]
    assert relevant.changed == () and "raci" in relevant.messages[0].sections[0]
    assert shorter.changed == (f"cadence:{ana.id}",)
    assert pref is not None and (pref.detail, pref.max_lines) == (Detail.CONCISE, 12)
    assert pref_daily is not None and pref_daily.frequency is Frequency.WEEKLY
    assert weekly.messages[0].sections[1].startswith("You will now get it weekly on Monday")
    assert stored == 3
