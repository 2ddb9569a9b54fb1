"""Business-day deadlines and working hours in a person's timezone (pure).

Deadlines are computed in local wall-clock time and converted back to UTC, so "one business day
later" is the same time on the clock the person looks at, even across a DST change. People records
may hold junk timezones (a platform profile, a typo in an import): every function falls back to UTC
rather than failing, and ``valid_timezone`` lets callers refuse junk up front.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from bot.model import Person, Severity

__all__ = [
    "BUSINESS_DAYS",
    "CRITICAL_SLA",
    "WEEKEND_START",
    "add_business_days",
    "is_working_time",
    "iso_week",
    "local_date",
    "next_working_time",
    "sla_deadline",
    "valid_timezone",
    "zone",
]

CRITICAL_SLA = timedelta(hours=4)
"""Critical blockers run on the clock, weekends included: they cannot wait for Monday."""

BUSINESS_DAYS: dict[Severity, int] = {Severity.HIGH: 1, Severity.MEDIUM: 3, Severity.LOW: 5}

WEEKEND_START = time(9, 0)
"""A non-critical blocker raised on a weekend starts counting from Monday at this local time."""

_SATURDAY = 5


def valid_timezone(name: str) -> bool:
    """True when ``name`` is an IANA timezone this machine knows (``Europe/London``)."""
    return _load(name) is not None


def _load(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError):
        # ValueError: malformed key; KeyError (ZoneInfoNotFoundError): unknown;
        # OSError: a folder such as "America".
        return None


def zone(name: str) -> tzinfo:
    """The timezone called ``name``, or UTC when the name is junk (people records may hold it)."""
    return _load(name) or UTC


def _aware(at: datetime) -> datetime:
    """Naive datetimes are taken as UTC, the convention of every stored timestamp."""
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _to_utc(local_wall: datetime, where: tzinfo) -> datetime:
    """A naive local wall-clock time in ``where`` as an aware UTC datetime.

    ``fold=0`` picks the first of two repeated times (autumn) and reads a skipped time (spring)
    with the pre-change offset, which lands just after the gap: never earlier than intended.
    """
    return local_wall.replace(tzinfo=where, fold=0).astimezone(UTC)


def _is_weekday(day: date) -> bool:
    return day.weekday() < _SATURDAY


def add_business_days(day: date, days: int) -> date:
    """The date ``days`` business days (Monday–Friday) after ``day``; ``days=0`` returns ``day``.

    Starting on a weekend, the first business day counted is the Monday after it.
    """
    if days < 0:
        raise ValueError("days must be zero or more")
    while days:
        day += timedelta(days=1)
        if _is_weekday(day):
            days -= 1
    return day


def sla_deadline(start: datetime, severity: Severity, tz: str) -> datetime:
    """When a blocker rung raised at ``start`` escalates, as aware UTC (DESIGN §2, Routing).

    Critical: four hours later. Otherwise N business days later at the same local wall-clock
    time; a start on a weekend counts from Monday 09:00 local.
    """
    start = _aware(start)
    if severity is Severity.CRITICAL:
        return (start + CRITICAL_SLA).astimezone(UTC)
    where = zone(tz)
    local = start.astimezone(where).replace(tzinfo=None)
    if not _is_weekday(local.date()):
        monday = add_business_days(local.date(), 1)
        local = datetime.combine(monday, WEEKEND_START)
    due = add_business_days(local.date(), BUSINESS_DAYS[severity])
    return _to_utc(datetime.combine(due, local.time()), where)


def _window(work_start: time, work_end: time) -> tuple[time, time | None]:
    """The working window; one that ends before it starts is junk, so the whole weekday counts
    (``None`` = until midnight) rather than silently never being working time."""
    if work_end <= work_start:
        return time(0, 0), None
    return work_start, work_end


def is_working_time(at: datetime, tz: str, work_start: time, work_end: time) -> bool:
    """True when ``at`` falls on a weekday within ``[work_start, work_end)`` local time."""
    local = _aware(at).astimezone(zone(tz))
    begin, end = _window(work_start, work_end)
    clock = local.time()
    return _is_weekday(local.date()) and begin <= clock and (end is None or clock < end)


def next_working_time(at: datetime, tz: str, work_start: time, work_end: time) -> datetime:
    """``at`` itself if it is working time, else the start of the next working window (UTC)."""
    at = _aware(at)
    if is_working_time(at, tz, work_start, work_end):
        return at.astimezone(UTC)
    where = zone(tz)
    local = at.astimezone(where)
    begin, _ = _window(work_start, work_end)
    day = local.date()
    if not (_is_weekday(day) and local.time() < begin):
        day = add_business_days(day, 1)
    return _to_utc(datetime.combine(day, begin), where)


def iso_week(d: date) -> str:
    """The ISO week a date belongs to, ``2026-W48``: the period of an update."""
    year, week, _ = d.isocalendar()
    return f"{year}-W{week:02d}"


def local_date(at: datetime, tz: str) -> date:
    """The calendar date at ``at`` in timezone ``tz``: what "today" means to that person."""
    return _aware(at).astimezone(zone(tz)).date()


def moment_in(at: datetime, tz: str) -> str:
    """A moment in zone ``tz``, named: ``Wed 02 Dec 2026 14:05 GMT`` (what a card shows its
    reader, who knows their own zone but should see which one a time is in)."""
    local = _aware(at).astimezone(zone(tz))
    return f"{local:%a %d %b %Y %H:%M} {local.tzname()}"


def as_read_by(at: datetime, person: Person) -> str:
    """A moment as ``person`` reads it, in their own timezone: ``Wed 25 Nov 08:00 (Dr Carmen
    Diaz's time, GMT)``. The whole name: a first word may be a title ("Dr")."""
    local = _aware(at).astimezone(zone(person.timezone))
    return f"{local:%a %d %b %H:%M} ({person.name}'s time, {local.tzname()})"
