"""When things are due: digests, update prompts, ask reminders and expiry (pure, DESIGN §5).

Every function here takes the current time and the rows' own fields and answers "when": no I/O,
no clock. Times are planned in the person's local wall-clock time (IANA zone) and converted to UTC
with ``bot.calendar``'s rules, so "Monday 08:30" stays 08:30 on the clock the person looks at,
across DST changes (a time skipped by the spring change lands just after the gap; a repeated
autumn time is its first occurrence).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.calendar import add_business_days, iso_week, local_date
from bot.digest import digest_period
from bot.model import Ask, AskState, Blocker, BlockerState, CadencePreference, Frequency, Person

__all__ = [
    "ASK_GRACE",
    "DIGEST_GRACE",
    "PROMPT_LEAD",
    "Slot",
    "ask_expires_at",
    "ask_overdue_at",
    "ask_reminder_at",
    "digest_due",
    "digest_slot",
    "due_escalations",
    "is_expired",
    "is_overdue",
    "needs_reminder",
    "next_digest_slot",
    "prompt_window",
    "update_period",
]

ASK_GRACE = 5
"""Business days an undecided ask stays open after its needed-by day before it expires."""
DIGEST_GRACE = timedelta(days=1)
"""A digest not sent within this long of its time (the server was down) is skipped: the next
one covers the same items, and a leader should not get last Monday's digest on Thursday."""
PROMPT_LEAD = timedelta(days=1)
"""Leads are prompted for an update this long before a leader's digest."""
_DECIDABLE = (AskState.OPEN, AskState.INFO_REQUESTED)
_LIVE = (BlockerState.OPEN, BlockerState.ACKNOWLEDGED)
_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True, kw_only=True)
class Slot:
    """One scheduled digest: the period it covers (part of its idempotency key) and when it is
    due (UTC)."""

    period: str
    at: datetime


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError):
        return ZoneInfo("UTC")


def _at(day: date, clock: time, tz: str) -> datetime:
    """Local wall-clock ``day clock`` in ``tz`` as UTC (fold=0: see the module docstring)."""
    return datetime.combine(day, clock).replace(tzinfo=_zone(tz), fold=0).astimezone(UTC)


def _period_start(frequency: Frequency, day: date) -> date:
    """The Monday the weekly or biweekly period ``day`` belongs to begins on: its own week's,
    or for the second week of a biweekly pair (an even ISO week: see
    :func:`bot.digest.digest_period`; week 53, odd, stands alone) the week before's. Date
    arithmetic, no time zone: a tick asks this of every leader, every minute."""
    monday = day - timedelta(days=day.weekday())
    if frequency is Frequency.BIWEEKLY:
        week = day.isocalendar()[1]
        if week % 2 == 0:
            return monday - timedelta(days=7)
    return monday


def _slot_day(preference: CadencePreference, day: date) -> date | None:
    """The local date of the digest of the period ``day`` belongs to; None when there is
    none (frequency ``off``, a daily digest on a weekend)."""
    frequency = preference.frequency
    if frequency is Frequency.OFF:
        return None
    if frequency is Frequency.DAILY_DURING_ACTIVE_CYCLE:
        return day if day.weekday() < 5 else None
    return _period_start(frequency, day) + timedelta(days=preference.weekday)


def digest_slot(preference: CadencePreference, *, tz: str, now: datetime) -> Slot | None:
    """The digest of the period ``now`` falls in (in the person's zone), or None when there is
    none: frequency ``off``, or a daily digest on a weekend.

    Weekly: the preference's weekday of the ISO week. Biweekly: that weekday in the first week
    of the pair. Daily (during an active cycle): every weekday at the local time.
    """
    if preference.frequency is Frequency.OFF:
        return None
    today = local_date(now, tz)
    day = _slot_day(preference, today)
    if day is None:
        return None
    return Slot(
        period=digest_period(preference.frequency, today),
        at=_at(day, preference.local_time, tz),
    )


def digest_due(slot: Slot | None, *, now: datetime) -> bool:
    """True from the slot's time until :data:`DIGEST_GRACE` after it."""
    return slot is not None and slot.at <= now < slot.at + DIGEST_GRACE


def next_digest_slot(preference: CadencePreference, *, tz: str, now: datetime) -> Slot | None:
    """The first digest due strictly after ``now`` (this period's if still ahead, else the next
    period's), or None when digests are off. Looks at most a little over two weeks ahead."""
    if preference.frequency is Frequency.OFF:
        return None
    today = local_date(now, tz)
    for offset in range(16):
        day = today + timedelta(days=offset)
        if _slot_day(preference, day) != day:
            continue  # not the digest's day of its period: no time zone work for it
        at = _at(day, preference.local_time, tz)
        if at > now:
            return Slot(period=digest_period(preference.frequency, day), at=at)
    return None


def prompt_window(preference: CadencePreference, *, tz: str, now: datetime) -> Slot | None:
    """The upcoming digest whose update prompt is due now: from :data:`PROMPT_LEAD` before the
    digest until the digest itself. None outside that window."""
    slot = next_digest_slot(preference, tz=tz, now=now)
    if slot is None or now < slot.at - PROMPT_LEAD:
        return None
    return slot


def update_period(slot: Slot, *, tz: str) -> str:
    """The ISO week an update should be posted for, ahead of this digest (the week before the
    digest's day, since the digest shows the last seven days' updates)."""
    return iso_week(local_date(slot.at - PROMPT_LEAD, tz))


def ask_reminder_at(needed_by: date, person: Person) -> datetime:
    """When the decider is reminded: the working morning of the day before ``needed_by``."""
    return _at(needed_by - _ONE_DAY, person.work_start, person.timezone)


def ask_overdue_at(needed_by: date, person: Person) -> datetime:
    """When ``needed_by`` has passed: the end of that day (local midnight) for the decider."""
    return _at(needed_by + _ONE_DAY, time(0), person.timezone)


def ask_expires_at(needed_by: date, person: Person, grace: int = ASK_GRACE) -> datetime:
    """When an ask still undecided expires: at the start of the decider's working day
    ``grace`` business days after ``needed_by`` (so everyone hears about it in working hours)."""
    return _at(add_business_days(needed_by, grace), person.work_start, person.timezone)


def needs_reminder(ask: Ask, assignee: Person, *, now: datetime) -> bool:
    """An open ask with a deadline, not yet reminded, whose reminder time has come — and whose
    deadline has not passed yet (then the requester is told instead)."""
    if ask.state is not AskState.OPEN or ask.needed_by is None or ask.reminded_at is not None:
        return False
    return ask_reminder_at(ask.needed_by, assignee) <= now < ask_overdue_at(ask.needed_by, assignee)


def is_overdue(ask: Ask, assignee: Person, *, now: datetime) -> bool:
    """Undecided after its needed-by day: the requester should hear about it (once)."""
    if ask.state not in _DECIDABLE or ask.needed_by is None:
        return False
    return now >= ask_overdue_at(ask.needed_by, assignee)


def is_expired(ask: Ask, assignee: Person, *, now: datetime, grace: int = ASK_GRACE) -> bool:
    """Undecided ``grace`` after its needed-by day: it expires."""
    if ask.state not in _DECIDABLE or ask.needed_by is None:
        return False
    return now >= ask_expires_at(ask.needed_by, assignee, grace)


def due_escalations(blockers: list[Blocker], *, now: datetime) -> list[Blocker]:
    """Live blockers whose rung deadline has passed, oldest deadline first."""
    due = [
        b
        for b in blockers
        if b.state in _LIVE and b.next_escalation_at is not None and b.next_escalation_at <= now
    ]
    return sorted(due, key=lambda b: (b.next_escalation_at or now, b.id))
