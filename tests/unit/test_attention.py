"""Quiet hours and the daily cap (bot.attention), and the pacing limiter (cadence.limiter)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from bot.attention import (
    DAILY_CAP,
    ITEM,
    PING,
    SNOOZE_ACTION,
    URGENT,
    plan_ping,
    snooze_menu,
    wake_at,
)
from bot.clock import ManualClock
from bot.errors import UsageError
from bot.model import Person, Platform
from cadence.drain import DrainPolicy, backoff
from cadence.limiter import POST, SLACK, TEAMS, UPDATE, Limit, Limiter, Rule


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


ANA = Person(id=1, organization_id=1, handle="ana", name="Ana", timezone="America/New_York")


def test_a_ping_during_working_hours_goes_now() -> None:
    now = utc(2026, 11, 24, 15)  # Tue 10:00 in New York
    assert plan_ping(now=now, person=ANA, category=PING) == now


def test_a_ping_at_2100_local_waits_until_0800() -> None:
    now = utc(2026, 11, 25, 2)  # Tue 21:00 in New York
    assert plan_ping(now=now, person=ANA, category=PING) == utc(2026, 11, 25, 13)


def test_a_friday_evening_ping_waits_for_monday() -> None:
    now = utc(2026, 11, 27, 23)  # Fri 18:00 in New York
    assert plan_ping(now=now, person=ANA, category=PING) == utc(2026, 11, 30, 13)


def test_custom_working_hours_are_respected() -> None:
    early = Person(
        id=2, organization_id=1, handle="bo", name="Bo", work_start=time(6), work_end=time(14)
    )
    assert plan_ping(now=utc(2026, 11, 24, 5), person=early, category=PING) == utc(2026, 11, 24, 6)


def test_the_fourth_ping_of_a_day_waits_for_the_next_working_day_with_room() -> None:
    now = utc(2026, 11, 24, 15)  # Tue 10:00 in New York
    assert DAILY_CAP == 3
    tuesday, wednesday = date(2026, 11, 24), date(2026, 11, 25)
    assert plan_ping(now=now, person=ANA, pings_on={tuesday: 2}, category=PING) == now
    assert plan_ping(now=now, person=ANA, pings_on={tuesday: 3}, category=PING) == utc(
        2026, 11, 25, 13
    )  # Wed 08:00
    full = {tuesday: 3, wednesday: 3}
    assert plan_ping(now=now, person=ANA, pings_on=full, category=PING) == utc(2026, 11, 26, 13)


def test_an_item_waits_for_working_hours_but_never_for_the_cap() -> None:
    now = utc(2026, 11, 24, 15)
    assert plan_ping(now=now, person=ANA, pings_on={date(2026, 11, 24): 9}, category=ITEM) == now
    night = utc(2026, 11, 25, 7)  # Wed 02:00 in New York
    assert plan_ping(now=night, person=ANA, category=ITEM) == utc(2026, 11, 25, 13)


def test_urgent_and_direct_messages_ignore_quiet_hours_and_the_cap() -> None:
    night = utc(2026, 11, 25, 7)  # 02:00 in New York
    for category in (URGENT, "reply", "digest"):
        full = {date(2026, 11, 25): 9}
        assert plan_ping(now=night, person=ANA, pings_on=full, category=category) == night


def test_slack_pacing_is_one_per_second_per_channel_with_a_short_burst() -> None:
    clock = ManualClock(utc(2026, 11, 24, 12))
    limiter = Limiter(clock, {Platform.SLACK: SLACK})
    assert [limiter.reserve(Platform.SLACK, 1, "C1") for _ in range(4)] == [0, 0, 0, 3.0]
    assert limiter.reserve(Platform.SLACK, 1, "C2") == 0  # another channel is independent
    sent = 3
    for _ in range(60):
        clock.advance(timedelta(seconds=1))
        sent += limiter.reserve(Platform.SLACK, 1, "C1") == 0
    assert sent == 61  # the burst, a 3 s pause, then one per second (t=3..60)


def test_teams_per_conversation_and_per_tenant_windows() -> None:
    clock = ManualClock(utc(2026, 11, 24, 12))
    limiter = Limiter(clock, {Platform.TEAMS: TEAMS})
    taken = [limiter.reserve(Platform.TEAMS, 1, "conv") == 0 for _ in range(10)]
    assert taken.count(True) == 7  # 7 per second per conversation
    clock.advance(timedelta(seconds=1))
    assert [limiter.reserve(Platform.TEAMS, 1, "conv") == 0 for _ in range(3)].count(True) == 1
    # 50 per second per app and tenant, across conversations
    clock.advance(timedelta(seconds=5))
    across = [limiter.reserve(Platform.TEAMS, 2, f"c{n}") == 0 for n in range(60)]
    assert across.count(True) == 50


def test_a_retry_after_pauses_the_method_in_the_whole_workspace() -> None:
    clock = ManualClock(utc(2026, 11, 24, 12))
    limiter = Limiter(clock, {Platform.SLACK: (Rule(scope="conversation", limits=()),)})
    limiter.pause(Platform.SLACK, 1, 30, POST)
    assert limiter.reserve(Platform.SLACK, 1, "C1") == 30
    assert limiter.reserve(Platform.SLACK, 1, "C2") == 30  # every channel of the workspace
    assert limiter.reserve(Platform.SLACK, 1, "C2", UPDATE) == 0  # another method's limit
    assert limiter.reserve(Platform.SLACK, 2, "C1") == 0  # another workspace
    assert limiter.reserve(Platform.TEAMS, 1, "C1") == 0
    clock.advance(timedelta(seconds=10))
    limiter.pause(Platform.SLACK, 1, 5, POST)  # a shorter pause does not cut the longer one
    assert limiter.paused(Platform.SLACK, 1) == 20
    clock.advance(timedelta(seconds=20))
    assert limiter.reserve(Platform.SLACK, 1, "C1") == 0


def test_unlisted_platforms_are_not_paced() -> None:
    limiter = Limiter(ManualClock(utc(2026, 1, 1)), {Platform.SLACK: SLACK})
    assert all(limiter.reserve(Platform.CONSOLE, 1, "ana") == 0 for _ in range(100))


def test_a_custom_rule_is_a_sliding_window() -> None:
    clock = ManualClock(utc(2026, 11, 24, 12))
    rules = {Platform.SLACK: (Rule(scope="conversation", limits=(Limit(count=2, seconds=10),)),)}
    limiter = Limiter(clock, rules)
    assert [limiter.reserve(Platform.SLACK, 1, "C") for _ in range(3)] == [0, 0, 10]
    clock.advance(timedelta(seconds=4))
    assert limiter.reserve(Platform.SLACK, 1, "C") == 6


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    policy = DrainPolicy(base_delay=2.0, max_delay=60.0)
    assert backoff(1, policy, rand=lambda: 0.0) == 1.0
    assert backoff(1, policy, rand=lambda: 1.0) == 2.0
    assert backoff(4, policy, rand=lambda: 1.0) == 16.0
    assert backoff(20, policy, rand=lambda: 1.0) == 60.0


def test_snooze_menu_choices_carry_the_item_and_wake_at_working_mornings() -> None:
    menu = snooze_menu("ask:12")
    assert (menu.id, menu.value) == (SNOOZE_ACTION, "ask:12")
    assert [value for value, _ in menu.choices] == [
        "ask:12:1h",
        "ask:12:tomorrow",
        "ask:12:nextweek",
    ]
    friday_evening = utc(2026, 11, 27, 22)  # 17:00 in New York
    assert wake_at("1h", person=ANA, now=friday_evening) == utc(2026, 11, 27, 23)
    assert wake_at("tomorrow", person=ANA, now=friday_evening) == utc(2026, 11, 30, 13)
    assert wake_at("nextweek", person=ANA, now=utc(2026, 11, 24, 15)) == utc(2026, 11, 30, 13)
    with pytest.raises(UsageError):
        wake_at("someday", person=ANA, now=friday_evening)
