"""When a person may be pinged: quiet hours, a daily cap and snoozing (the reasons people mute
bots).

Pure policy, used by ``bot.services.delivery`` when it writes a DM to the outbox. Quiet hours
and the cap *defer*; they never drop (DESIGN §5). ``ping`` DMs (reminders, update prompts,
nudges) wait for working hours and count against a daily cap: past it they move to the next
working day with room. ``item`` DMs (an ask card, a blocker rung, a "Need info" question or its
answer: something waiting on its reader) wait for working hours and are never capped.
``urgent`` ones (critical blockers), direct answers and digests go at once (a digest at the time
its reader chose). Every reminder carries :func:`snooze_menu` (handled by ``bot.services.snooze``),
a bounded number of times.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.calendar import (
    add_business_days,
    local_date,
    next_working_time,
    valid_timezone,
    zone,
)
from bot.errors import UsageError
from bot.messages import Action
from bot.model import Person

__all__ = [
    "DAILY_CAP",
    "ITEM",
    "MAX_SNOOZES",
    "PING",
    "SNOOZE_ACTION",
    "SNOOZE_CHOICES",
    "URGENT",
    "plan_ping",
    "snooze_menu",
    "wake_at",
]

URGENT = "urgent"
PING = "ping"
ITEM = "item"
DAILY_CAP = 3
"""Reminders and nudges per person per local day; past it, they wait for the next working day
that has room (never an ask card, a rung or an answer: those are ``ITEM``)."""
_DAYS_AHEAD = 30
"""How far the cap may push a ping (a bound on the search, far beyond any real backlog)."""


def plan_ping(
    *,
    now: datetime,
    person: Person,
    category: str,
    pings_on: Mapping[date, int] | None = None,
    daily_cap: int = DAILY_CAP,
) -> datetime:
    """When to deliver a DM to ``person``: ``now`` during their working hours, else the start of
    their next working window (weekdays, ``work_start``–``work_end`` local). A ``ping`` also
    skips local days whose pings (``pings_on``: local date → pings due that day) reached
    ``daily_cap``; other categories ignore the cap, and only ``ping``/``item`` wait at all."""
    if category not in (PING, ITEM):
        return now
    tz, start, end = person.timezone, person.work_start, person.work_end
    at = next_working_time(now, tz, start, end)
    if category == ITEM:
        return at
    counts = pings_on or {}
    for _ in range(_DAYS_AHEAD):
        day = local_date(at, tz)
        if counts.get(day, 0) < daily_cap:
            return at
        midnight = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone(tz))
        at = next_working_time(midnight, tz, start, end)
    return at


SNOOZE_ACTION = "reminder.snooze"
SNOOZE_CHOICES: tuple[tuple[str, str], ...] = (
    ("1h", "In 1 hour"),
    ("tomorrow", "Tomorrow morning"),
    ("nextweek", "Next week"),
)
MAX_SNOOZES = 2
"""Snoozes per person and item; the next click escalates the item instead."""


def snooze_menu(item: str) -> Action:
    """The menu to put on a reminder about ``item`` (``ask:12``, ``blocker:5``). A menu's chosen
    value replaces the action's value, so each choice carries the item: ``ask:12:tomorrow``."""
    return Action(
        id=SNOOZE_ACTION,
        label="Snooze",
        value=item,
        choices=tuple((f"{item}:{choice}", label) for choice, label in SNOOZE_CHOICES),
    )


def wake_at(choice: str, *, person: Person, now: datetime) -> datetime:
    """When a snoozed reminder comes back: in an hour, the next working morning, or Monday
    morning of next week (the person's ``work_start``, in their timezone)."""
    if choice == "1h":
        return now + timedelta(hours=1)
    today = local_date(now, person.timezone)
    if choice == "tomorrow":
        day = add_business_days(today, 1)
    elif choice == "nextweek":
        day = today + timedelta(days=7 - today.weekday())
    else:
        raise UsageError("Snooze for 1h, until tomorrow, or until next week.")
    zone = ZoneInfo(person.timezone if valid_timezone(person.timezone) else "UTC")
    return datetime.combine(day, person.work_start).replace(tzinfo=zone, fold=0).astimezone(UTC)
