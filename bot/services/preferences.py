"""Cadence preferences: how often, when and how much each leader hears from the bot."""

from __future__ import annotations

from datetime import datetime, time

from bot.model import CadencePreference, Detail, Frequency, Person
from bot.ports import UnitOfWork
from bot.services.audit import record

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


async def preference_of(uow: UnitOfWork, *, person_id: int) -> CadencePreference:
    """The stored preference, or the default (weekly, Monday 08:30, concise) unsaved."""
    found = await uow.preferences.first(person_id=person_id)
    return found or CadencePreference(person_id=person_id)


async def set_preference(
    uow: UnitOfWork,
    *,
    person: Person,
    frequency: Frequency | None,
    weekday: int | None,
    local_time: time | None,
    detail: Detail | None,
    now: datetime,
) -> CadencePreference:
    preference = await preference_of(uow, person_id=person.id)
    if frequency is not None:
        preference.frequency = frequency
    if weekday is not None:
        preference.weekday = weekday
    if local_time is not None:
        preference.local_time = local_time
    if detail is not None:
        preference.detail = detail
    if preference.id:
        await uow.preferences.save(preference)
    else:
        preference = await uow.preferences.add(preference)
    await record(
        uow,
        organization_id=person.organization_id,
        actor_id=person.id,
        action="cadence.set",
        subject=f"person:{person.id}",
        detail=describe(preference, timezone=person.timezone),
        at=now,
    )
    return preference


def describe(preference: CadencePreference, *, timezone: str) -> str:
    """``weekly on Monday at 08:30 (Europe/London), concise``."""
    if preference.frequency is Frequency.OFF:
        return "off: no digests (you can still run `digest` any time)"
    when = f"{preference.local_time:%H:%M} ({timezone})"
    frequency = preference.frequency.value.replace("_", " ")
    if preference.frequency is Frequency.DAILY_DURING_ACTIVE_CYCLE:
        return f"{frequency} at {when}, {preference.detail.value}"
    return f"{frequency} on {WEEKDAYS[preference.weekday]} at {when}, {preference.detail.value}"


async def set_timezone(uow: UnitOfWork, *, person: Person, timezone: str, now: datetime) -> None:
    """Where the person's working hours, digests and dates are read (an IANA zone the grammar
    has checked)."""
    person.timezone = timezone
    await _save_working_time(uow, person=person, now=now)


async def set_hours(
    uow: UnitOfWork, *, person: Person, start: time, end: time, now: datetime
) -> None:
    """The person's working day: pings wait for it (bot.attention)."""
    person.work_start, person.work_end = start, end
    await _save_working_time(uow, person=person, now=now)


def describe_working_time(person: Person) -> str:
    """``08:00–18:00 Europe/Berlin``."""
    return f"{person.work_start:%H:%M}–{person.work_end:%H:%M} {person.timezone}"


async def _save_working_time(uow: UnitOfWork, *, person: Person, now: datetime) -> None:
    await uow.people.save(person)
    await record(
        uow,
        organization_id=person.organization_id,
        actor_id=person.id,
        action="working_time.set",
        subject=f"person:{person.id}",
        detail=describe_working_time(person),
        at=now,
    )
