"""When a person may be pinged: quiet hours and a daily cap (the reasons people mute bots).

Pure policy, used by ``bot.services.delivery`` when it writes a DM to the outbox. Only ``ping``
DMs (reminders, prompts, rung notices) are held or capped; ``urgent`` ones (critical blockers)
and direct answers go at once, and a digest goes at the time its reader chose.
"""

from __future__ import annotations

from datetime import datetime

from bot.calendar import next_working_time
from bot.model import Person

__all__ = ["DAILY_CAP", "PING", "URGENT", "plan_ping"]

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
