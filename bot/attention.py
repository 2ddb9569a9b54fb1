"""When a person may be pinged: quiet hours, a daily cap and snoozing (the reasons people mute
bots).

Pure policy, used by ``bot.services.delivery`` when it writes a DM to the outbox. Only ``ping``
DMs (reminders, prompts, rung notices) are held or capped; ``urgent`` ones (critical blockers)
and direct answers go at once, and a digest goes at the time its reader chose. Every reminder
carries :func:`snooze_menu` (handled by ``bot.services.snooze``), a bounded number of times.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.calendar import add_business_days, local_date, next_working_time, valid_timezone
from bot.errors import UsageError
from bot.messages import Action
from bot.model import Person

__all__ = [
    "DAILY_CAP",
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
DAILY_CAP = 3
"""Non-critical pings per person per local day; past it, items wait for the next digest (which
lists every open ask and blocker anyway)."""


def plan_ping(
    *, now: datetime, person: Person, pings_today: int, category: str, daily_cap: int = DAILY_CAP
) -> datetime | None:
    """When to deliver a DM to ``person``: ``now`` during their working hours, else the start of
    their next working window (weekdays, ``work_start``–``work_end`` local); None to fold it into
    the next digest because ``pings_today`` already reached ``daily_cap``."""
    if category != PING:
        return now
    if pings_today >= daily_cap:
        return None
    return next_working_time(now, person.timezone, person.work_start, person.work_end)


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
