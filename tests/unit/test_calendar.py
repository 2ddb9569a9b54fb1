"""Business-day deadlines and working hours, in the person's own timezone and across DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from bot.calendar import (
    BUSINESS_DAYS,
    add_business_days,
    is_working_time,
    iso_week,
    local_date,
    next_working_time,
    sla_deadline,
    valid_timezone,
)
from bot.model import Severity

LONDON, NEW_YORK, TOKYO = "Europe/London", "America/New_York", "Asia/Tokyo"
NINE, SIX = time(8, 0), time(18, 0)


def at(tz: str, year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A local wall-clock time in ``tz`` as aware UTC (how the core holds every instant)."""
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(tz)).astimezone(UTC)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# --- business days --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        (date(2026, 11, 25), 0, date(2026, 11, 25)),  # Wed
        (date(2026, 11, 25), 1, date(2026, 11, 26)),
        (date(2026, 11, 25), 3, date(2026, 11, 30)),  # over the weekend to Mon
        (date(2026, 11, 27), 1, date(2026, 11, 30)),  # Fri → Mon
        (date(2026, 11, 28), 1, date(2026, 11, 30)),  # Sat → Mon
        (date(2026, 11, 29), 5, date(2026, 12, 4)),  # Sun → Fri
        (date(2026, 11, 25), 10, date(2026, 12, 9)),
    ],
)
def test_add_business_days(start: date, days: int, expected: date) -> None:
    assert add_business_days(start, days) == expected


def test_add_business_days_refuses_negative() -> None:
    with pytest.raises(ValueError, match="zero or more"):
        add_business_days(date(2026, 11, 25), -1)


# --- SLA deadlines ---------------------------------------------------------------------------


def test_friday_evening_high_blocker_is_due_monday_same_time() -> None:
    raised = at(LONDON, 2026, 11, 27, 18, 30)  # Fri
    assert sla_deadline(raised, Severity.HIGH, LONDON) == at(LONDON, 2026, 11, 30, 18, 30)


@pytest.mark.parametrize(
    ("severity", "expected"),
    [
        (Severity.CRITICAL, at(LONDON, 2026, 11, 25, 14, 0)),
        (Severity.HIGH, at(LONDON, 2026, 11, 26, 10, 0)),
        (Severity.MEDIUM, at(LONDON, 2026, 11, 30, 10, 0)),
        (Severity.LOW, at(LONDON, 2026, 12, 2, 10, 0)),
    ],
)
def test_sla_by_severity_from_a_wednesday(severity: Severity, expected: datetime) -> None:
    assert sla_deadline(at(LONDON, 2026, 11, 25, 10, 0), severity, LONDON) == expected


@pytest.mark.parametrize("weekend_day", [28, 29])
def test_weekend_start_counts_from_monday_nine(weekend_day: int) -> None:
    raised = at(LONDON, 2026, 11, weekend_day, 14, 0)
    assert sla_deadline(raised, Severity.HIGH, LONDON) == at(LONDON, 2026, 12, 1, 9, 0)
    assert sla_deadline(raised, Severity.LOW, LONDON) == at(LONDON, 2026, 12, 7, 9, 0)


def test_critical_runs_on_the_clock_even_on_a_weekend() -> None:
    raised = at(LONDON, 2026, 11, 28, 23, 0)  # Sat night
    assert sla_deadline(raised, Severity.CRITICAL, LONDON) == raised + timedelta(hours=4)


def test_critical_is_four_elapsed_hours_across_the_spring_change() -> None:
    raised = utc(2026, 3, 29, 0, 30)  # London clocks jump 01:00 → 02:00 GMT→BST
    assert sla_deadline(raised, Severity.CRITICAL, LONDON) == utc(2026, 3, 29, 4, 30)


@pytest.mark.parametrize(
    ("tz", "raised", "severity", "expected_local", "expected_utc"),
    [
        # London: clocks go forward Sun 29 Mar 2026, back Sun 25 Oct 2026.
        (
            LONDON,
            (2026, 3, 27, 10, 0),
            Severity.HIGH,
            (2026, 3, 30, 10, 0),
            utc(2026, 3, 30, 9, 0),
        ),
        (
            LONDON,
            (2026, 10, 22, 10, 0),
            Severity.MEDIUM,
            (2026, 10, 27, 10, 0),
            utc(2026, 10, 27, 10, 0),
        ),
        # New York: forward Sun 8 Mar 2026, back Sun 1 Nov 2026.
        (
            NEW_YORK,
            (2026, 3, 6, 17, 0),
            Severity.HIGH,
            (2026, 3, 9, 17, 0),
            utc(2026, 3, 9, 21, 0),
        ),
        (
            NEW_YORK,
            (2026, 10, 30, 9, 0),
            Severity.HIGH,
            (2026, 11, 2, 9, 0),
            utc(2026, 11, 2, 14, 0),
        ),
    ],
)
def test_dst_change_keeps_the_local_wall_clock(
    tz: str,
    raised: tuple[int, ...],
    severity: Severity,
    expected_local: tuple[int, ...],
    expected_utc: datetime,
) -> None:
    deadline = sla_deadline(at(tz, *raised), severity, tz)
    assert deadline == expected_utc
    assert deadline.tzinfo is UTC
    local = deadline.astimezone(ZoneInfo(tz))
    assert (local.year, local.month, local.day, local.hour, local.minute) == expected_local


def test_the_same_instant_in_three_timezones() -> None:
    raised = utc(2026, 11, 27, 22, 0)  # Fri 22:00 London, Fri 17:00 New York, Sat 07:00 Tokyo
    assert sla_deadline(raised, Severity.HIGH, LONDON) == utc(2026, 11, 30, 22, 0)
    assert sla_deadline(raised, Severity.HIGH, NEW_YORK) == utc(2026, 11, 30, 22, 0)
    # Already the weekend in Tokyo: counts from Mon 09:00 JST, due Tue 09:00 JST.
    assert sla_deadline(raised, Severity.HIGH, TOKYO) == at(TOKYO, 2026, 12, 1, 9, 0)
    assert sla_deadline(raised, Severity.HIGH, TOKYO) == utc(2026, 12, 1, 0, 0)


def test_a_junk_timezone_falls_back_to_utc() -> None:
    raised = utc(2026, 11, 27, 22, 0)
    for junk in ("Mars/Olympus", "", "America", "../../etc/passwd", "Europe/London "):
        assert not valid_timezone(junk)
        assert sla_deadline(raised, Severity.HIGH, junk) == sla_deadline(
            raised, Severity.HIGH, "UTC"
        )
    assert valid_timezone(LONDON)


def test_naive_datetimes_are_read_as_utc() -> None:
    naive = datetime(2026, 11, 25, 10, 0)
    assert sla_deadline(naive, Severity.HIGH, "UTC") == utc(2026, 11, 26, 10, 0)
    assert local_date(naive, TOKYO) == date(2026, 11, 25)


TIMEZONES = st.sampled_from(
    [LONDON, NEW_YORK, TOKYO, "UTC", "Australia/Lord_Howe", "Asia/Kolkata", "America/St_Johns"]
)
INSTANTS = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
)


def _exists(wall: datetime, zone: ZoneInfo) -> bool:
    """False for wall-clock times skipped by a DST change."""
    there = wall.replace(tzinfo=zone)
    return there.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall


@given(INSTANTS, TIMEZONES, st.sampled_from([Severity.HIGH, Severity.MEDIUM, Severity.LOW]))
def test_business_day_deadline_properties(raised: datetime, tz: str, severity: Severity) -> None:
    zone = ZoneInfo(tz)
    deadline = sla_deadline(raised, severity, tz)
    start = raised.astimezone(zone).replace(tzinfo=None)
    if start.weekday() >= 5:
        start = datetime.combine(add_business_days(start.date(), 1), time(9, 0))
    wanted = datetime.combine(
        add_business_days(start.date(), BUSINESS_DAYS[severity]), start.time()
    )
    local = deadline.astimezone(zone)
    assert deadline.tzinfo is UTC
    assert deadline > raised
    assert local.weekday() < 5
    assert local.date() == wanted.date()
    assume(_exists(wanted, zone))
    assert local.replace(tzinfo=None) == wanted


# --- working hours ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("local", "working"),
    [
        ((2026, 11, 25, 7, 59), False),
        ((2026, 11, 25, 8, 0), True),
        ((2026, 11, 25, 17, 59), True),
        ((2026, 11, 25, 18, 0), False),
        ((2026, 11, 28, 12, 0), False),  # Saturday
    ],
)
def test_is_working_time(local: tuple[int, ...], working: bool) -> None:
    assert is_working_time(at(NEW_YORK, *local), NEW_YORK, NINE, SIX) is working


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        ((2026, 11, 25, 10, 0), (2026, 11, 25, 10, 0)),  # already working: itself
        ((2026, 11, 25, 6, 0), (2026, 11, 25, 8, 0)),  # before work: today
        ((2026, 11, 25, 19, 0), (2026, 11, 26, 8, 0)),  # after work: tomorrow
        ((2026, 11, 27, 18, 0), (2026, 11, 30, 8, 0)),  # Friday evening: Monday
        ((2026, 11, 28, 9, 0), (2026, 11, 30, 8, 0)),  # Saturday: Monday
        ((2026, 3, 7, 12, 0), (2026, 3, 9, 8, 0)),  # weekend of the spring change
    ],
)
def test_next_working_time(local: tuple[int, ...], expected: tuple[int, ...]) -> None:
    got = next_working_time(at(NEW_YORK, *local), NEW_YORK, NINE, SIX)
    assert got == at(NEW_YORK, *expected)
    assert got.tzinfo is UTC


def test_a_window_ending_before_it_starts_counts_the_whole_weekday() -> None:
    late = at(LONDON, 2026, 11, 25, 23, 0)
    assert is_working_time(late, LONDON, time(18, 0), time(8, 0))
    assert next_working_time(at(LONDON, 2026, 11, 28, 12, 0), LONDON, SIX, SIX) == at(
        LONDON, 2026, 11, 30, 0, 0
    )


@given(INSTANTS, TIMEZONES)
def test_next_working_time_is_working_and_never_earlier(moment: datetime, tz: str) -> None:
    got = next_working_time(moment, tz, NINE, SIX)
    assert got >= moment
    assert got - moment < timedelta(days=4)
    assert is_working_time(got, tz, NINE, SIX)


# --- dates -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "week"),
    [
        (date(2026, 11, 25), "2026-W48"),
        (date(2026, 1, 1), "2026-W01"),
        (date(2027, 1, 1), "2026-W53"),
        (date(2024, 12, 30), "2025-W01"),
    ],
)
def test_iso_week(day: date, week: str) -> None:
    assert iso_week(day) == week


def test_local_date_depends_on_the_timezone() -> None:
    moment = utc(2026, 11, 27, 23, 30)
    assert local_date(moment, TOKYO) == date(2026, 11, 28)
    assert local_date(moment, "America/Los_Angeles") == date(2026, 11, 27)
    assert local_date(moment, "No/Such_Zone") == date(2026, 11, 27)
