"""When digests, prompts, reminders, expiries and escalations are due (bot.schedule, pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.calendar import local_date
from bot.digest import digest_period
from bot.model import (
    Ask,
    AskState,
    Blocker,
    BlockerState,
    CadencePreference,
    Frequency,
    Person,
    Severity,
)
from bot.schedule import (
    Slot,
    ask_expires_at,
    ask_overdue_at,
    ask_reminder_at,
    digest_slot,
    due_escalations,
    is_expired,
    is_overdue,
    needs_reminder,
    next_digest_slot,
    prompt_window,
    update_period,
)

MONDAY_0830 = CadencePreference(person_id=1, weekday=0, local_time=time(8, 30))


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("tz", "now", "due_utc"),
    [
        # London: GMT in November, BST in April.
        ("Europe/London", utc(2026, 11, 25, 12), utc(2026, 11, 23, 8, 30)),
        ("Europe/London", utc(2026, 4, 1, 12), utc(2026, 3, 30, 7, 30)),
        # New York: EST in November (UTC-5), EDT in April (UTC-4).
        ("America/New_York", utc(2026, 11, 25, 12), utc(2026, 11, 23, 13, 30)),
        ("America/New_York", utc(2026, 4, 1, 12), utc(2026, 3, 30, 12, 30)),
        # Kolkata: no DST, UTC+5:30 all year.
        ("Asia/Kolkata", utc(2026, 11, 25, 12), utc(2026, 11, 23, 3, 0)),
        ("Asia/Kolkata", utc(2026, 4, 1, 12), utc(2026, 3, 30, 3, 0)),
    ],
)
def test_weekly_digest_is_at_local_monday_0830_in_three_timezones(
    tz: str, now: datetime, due_utc: datetime
) -> None:
    slot = digest_slot(MONDAY_0830, tz=tz, now=now)
    assert slot is not None
    assert slot.at == due_utc


def test_digest_on_the_monday_after_the_spring_change_keeps_local_time() -> None:
    # Europe changes on Sunday 29 March 2026: the Monday before is GMT, the Monday after BST.
    before = digest_slot(MONDAY_0830, tz="Europe/London", now=utc(2026, 3, 25, 12))
    after = digest_slot(MONDAY_0830, tz="Europe/London", now=utc(2026, 4, 1, 12))
    assert before is not None and after is not None
    assert before.at == utc(2026, 3, 23, 8, 30)
    assert after.at == utc(2026, 3, 30, 7, 30)
    assert after.at - before.at == timedelta(days=7, hours=-1)


def test_a_digest_in_the_skipped_hour_goes_just_after_the_gap() -> None:
    # US spring forward: Sunday 8 March 2026 02:00 → 03:00 in New York.
    sunday_0230 = CadencePreference(person_id=1, weekday=6, local_time=time(2, 30))
    slot = digest_slot(sunday_0230, tz="America/New_York", now=utc(2026, 3, 8, 12))
    assert slot is not None
    assert slot.at == utc(2026, 3, 8, 7, 30)  # 03:30 EDT


def test_a_digest_in_the_repeated_hour_goes_once_at_the_first() -> None:
    # US fall back: Sunday 1 November 2026 01:00–02:00 happens twice in New York.
    sunday_0130 = CadencePreference(person_id=1, weekday=6, local_time=time(1, 30))
    slot = digest_slot(sunday_0130, tz="America/New_York", now=utc(2026, 11, 1, 12))
    assert slot is not None
    assert slot.at == utc(2026, 11, 1, 5, 30)  # 01:30 EDT, the first of the two


def test_the_period_follows_the_local_date_not_utc() -> None:
    # Sunday 23:30 UTC is already Monday in Kolkata: week 48 there, week 47 in London.
    now = utc(2026, 11, 22, 23, 30)
    kolkata = digest_slot(MONDAY_0830, tz="Asia/Kolkata", now=now)
    london = digest_slot(MONDAY_0830, tz="Europe/London", now=now)
    assert kolkata is not None and london is not None
    assert (kolkata.period, london.period) == ("2026-W48", "2026-W47")


def test_biweekly_digest_is_in_the_first_week_of_the_pair() -> None:
    biweekly = CadencePreference(person_id=1, frequency=Frequency.BIWEEKLY, weekday=2)
    first = digest_slot(biweekly, tz="UTC", now=utc(2026, 11, 17, 12))  # week 47
    second = digest_slot(biweekly, tz="UTC", now=utc(2026, 11, 26, 12))  # week 48
    assert first == second
    assert first is not None
    assert first.period == "2026-W47+48"
    assert first.at == utc(2026, 11, 18, 8, 30)


def test_daily_digest_on_weekdays_only_and_off_means_none() -> None:
    daily = CadencePreference(person_id=1, frequency=Frequency.DAILY_DURING_ACTIVE_CYCLE)
    tuesday = digest_slot(daily, tz="UTC", now=utc(2026, 11, 24, 12))
    assert tuesday is not None
    assert (tuesday.period, tuesday.at) == ("2026-11-24", utc(2026, 11, 24, 8, 30))
    assert digest_slot(daily, tz="UTC", now=utc(2026, 11, 28, 12)) is None
    off = CadencePreference(person_id=1, frequency=Frequency.OFF)
    assert digest_slot(off, tz="UTC", now=utc(2026, 11, 24, 12)) is None
    assert next_digest_slot(off, tz="UTC", now=utc(2026, 11, 24, 12)) is None


def test_next_slot_and_the_prompt_window_the_day_before() -> None:
    now = utc(2026, 11, 23, 9)  # after this week's Monday digest
    upcoming = next_digest_slot(MONDAY_0830, tz="UTC", now=now)
    assert upcoming is not None
    assert (upcoming.period, upcoming.at) == ("2026-W49", utc(2026, 11, 30, 8, 30))
    assert prompt_window(MONDAY_0830, tz="UTC", now=now) is None
    sunday = utc(2026, 11, 29, 9)
    window = prompt_window(MONDAY_0830, tz="UTC", now=sunday)
    assert window == upcoming
    assert update_period(upcoming, tz="UTC") == "2026-W48"


def _person(tz: str = "Europe/London") -> Person:
    return Person(id=1, organization_id=1, handle="ana", name="Ana", timezone=tz)


def _ask(needed_by: date | None, **changes: object) -> Ask:
    ask = Ask(
        id=7,
        organization_id=1,
        project_id=1,
        requester_id=2,
        assignee_id=1,
        area="*",
        text="0.5 FTE",
        needed_by=needed_by,
        created_at=utc(2026, 11, 2),
    )
    for name, value in changes.items():
        setattr(ask, name, value)
    return ask


def test_ask_reminder_overdue_and_expiry_times() -> None:
    ana = _person("America/New_York")
    friday = date(2026, 11, 27)
    assert ask_reminder_at(friday, ana) == utc(2026, 11, 26, 13)  # Thu 08:00 EST
    assert ask_overdue_at(friday, ana) == utc(2026, 11, 28, 5)  # Sat 00:00 EST
    assert ask_expires_at(friday, ana) == utc(2026, 12, 4, 13)  # 5 business days: Fri 08:00


def test_reminder_is_due_once_between_reminder_time_and_deadline() -> None:
    ana = _person()
    ask = _ask(date(2026, 11, 27))
    assert not needs_reminder(ask, ana, now=utc(2026, 11, 26, 7, 59))
    assert needs_reminder(ask, ana, now=utc(2026, 11, 26, 8))
    assert not needs_reminder(ask, ana, now=utc(2026, 11, 28, 0))  # passed: overdue instead
    assert not needs_reminder(
        _ask(date(2026, 11, 27), reminded_at=utc(2026, 11, 26, 8)), ana, now=utc(2026, 11, 26, 9)
    )
    assert not needs_reminder(_ask(None), ana, now=utc(2026, 11, 26, 9))
    assert not needs_reminder(
        _ask(date(2026, 11, 27), state=AskState.APPROVED), ana, now=utc(2026, 11, 26, 9)
    )


def test_overdue_then_expired() -> None:
    ana = _person()
    ask = _ask(date(2026, 11, 27))
    assert not is_overdue(ask, ana, now=utc(2026, 11, 27, 23, 59))
    assert is_overdue(ask, ana, now=utc(2026, 11, 28, 0))
    assert not is_expired(ask, ana, now=utc(2026, 12, 4, 7, 59))
    assert is_expired(ask, ana, now=utc(2026, 12, 4, 8, 0))
    assert not is_expired(
        _ask(date(2026, 11, 27), state=AskState.WITHDRAWN), ana, now=utc(2026, 12, 9)
    )


def test_due_escalations_are_live_blockers_past_their_deadline() -> None:
    def blocker(id: int, at: datetime | None, state: BlockerState) -> Blocker:
        return Blocker(
            id=id,
            organization_id=1,
            project_id=1,
            reporter_id=2,
            area="*",
            severity=Severity.HIGH,
            text="x",
            state=state,
            ladder=[1, 2],
            next_escalation_at=at,
            created_at=utc(2026, 11, 1),
        )

    now = utc(2026, 11, 24, 12)
    due = due_escalations(
        [
            blocker(1, now - timedelta(hours=1), BlockerState.OPEN),
            blocker(2, now - timedelta(hours=2), BlockerState.ACKNOWLEDGED),
            blocker(3, now + timedelta(hours=1), BlockerState.OPEN),
            blocker(4, now - timedelta(hours=1), BlockerState.RESOLVED),
            blocker(5, None, BlockerState.OPEN),
        ],
        now=now,
    )
    assert [b.id for b in due] == [2, 1]


# The rule as first written, kept as the definition the fast arithmetic must match: a period's
# days are the days digest_period names alike; the slot is its first day on the chosen weekday;
# the next slot is found by looking at each day's noon for up to sixteen days.
def _defined_slot(preference: CadencePreference, *, tz: str, now: datetime) -> Slot | None:
    frequency = preference.frequency
    if frequency is Frequency.OFF:
        return None
    today = local_date(now, tz)
    if frequency is Frequency.DAILY_DURING_ACTIVE_CYCLE:
        if today.weekday() >= 5:
            return None
        day = today
    else:
        period = digest_period(frequency, today)
        monday = today - timedelta(days=today.weekday())
        days = [monday + timedelta(days=n) for n in range(-7, 14)]
        same = [d for d in days if digest_period(frequency, d) == period]
        day = next(d for d in same if d.weekday() == preference.weekday)
    at = datetime.combine(day, preference.local_time).replace(tzinfo=ZoneInfo(tz), fold=0)
    return Slot(period=digest_period(frequency, today), at=at.astimezone(UTC))


def _defined_next(preference: CadencePreference, *, tz: str, now: datetime) -> Slot | None:
    if preference.frequency is Frequency.OFF:
        return None
    day = local_date(now, tz)
    for offset in range(16):
        noon = datetime.combine(day + timedelta(days=offset), time(12), tzinfo=ZoneInfo(tz))
        slot = _defined_slot(preference, tz=tz, now=noon)
        if slot is not None and slot.at > now and local_date(slot.at, tz) == local_date(noon, tz):
            return slot
    return None


@pytest.mark.parametrize("tz", ["UTC", "Europe/London", "America/New_York", "Pacific/Auckland"])
def test_slots_match_their_definition_across_dst_changes_and_a_53_week_year(tz: str) -> None:
    """Every frequency, on a late and a DST-gap local time, every 29 hours through a
    spring and an autumn change and the turn of 2026 (ISO week 53) into 2027."""
    preferences = [
        CadencePreference(person_id=1, frequency=frequency, weekday=weekday, local_time=clock)
        for frequency in Frequency
        for weekday in (0, 6)
        for clock in (time(2, 30), time(23, 30))
    ]
    nows = [
        start + timedelta(hours=29 * n)
        for start in (utc(2026, 3, 20), utc(2026, 10, 20), utc(2026, 12, 10))
        for n in range(32)
    ]
    for preference in preferences:
        for now in nows:
            slot = digest_slot(preference, tz=tz, now=now)
            assert slot == _defined_slot(preference, tz=tz, now=now), (preference, now)
            if slot is not None:  # the tick asks for the one after, from the slot's own time
                following = next_digest_slot(preference, tz=tz, now=slot.at)
                assert following == _defined_next(preference, tz=tz, now=slot.at), slot
            assert next_digest_slot(preference, tz=tz, now=now) == _defined_next(
                preference, tz=tz, now=now
            ), (preference, now)
