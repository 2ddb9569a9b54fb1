"""Measures (KPIs) with threshold rules; a crossing raises a review item for the sponsor."""

from __future__ import annotations

from datetime import date, datetime
from itertools import pairwise

from bot.errors import Conflict, NotFound, UsageError
from bot.model import (
    Direction,
    Measure,
    Observation,
    Person,
    Project,
    Review,
    Role,
    ThresholdLevel,
)
from bot.permissions import Action, require
from bot.ports import UnitOfWork
from bot.services.audit import record

SEVERITY = {ThresholdLevel.OK: 0, ThresholdLevel.WARN: 1, ThresholdLevel.ALERT: 2}


def level_of(measure: Measure, value: float) -> ThresholdLevel:
    """Where a value stands against the measure's warn/alert thresholds."""

    def past(limit: float | None) -> bool:
        if limit is None:
            return False
        return value < limit if measure.direction is Direction.HIGHER else value > limit

    if past(measure.alert):
        return ThresholdLevel.ALERT
    if past(measure.warn):
        return ThresholdLevel.WARN
    return ThresholdLevel.OK


def threshold_order(
    direction: Direction, target: float | None, warn: float | None, alert: float | None
) -> str | None:
    """Why the given thresholds are in the wrong order for ``direction``, or None when they
    are right: from best to worst, target, then warn, then alert (missing ones are skipped)."""
    given = [
        (name, v)
        for name, v in (("target", target), ("warn", warn), ("alert", alert))
        if v is not None
    ]
    higher = direction is Direction.HIGHER
    if all((a >= b) if higher else (a <= b) for (_, a), (_, b) in pairwise(given)):
        return None
    sign = "≥" if higher else "≤"
    order = f" {sign} ".join(name for name, _ in given)
    example = "target:90 warn:80 alert:70" if higher else "target:2 warn:3 alert:4"
    return (
        f"When {direction.value} is better, the thresholds go {order} (like {example}). "
        "Nothing was changed."
    )


async def add_measure(
    uow: UnitOfWork,
    *,
    project: Project,
    name: str,
    unit: str,
    direction: Direction,
    target: float | None,
    warn: float | None,
    alert: float | None,
    actor: Person,
    now: datetime,
) -> Measure:
    await require(uow, Action.EDIT_KPIS, person=actor, project=project, today=now.date())
    wrong = threshold_order(direction, target, warn, alert)
    if wrong:
        raise UsageError(wrong, hint="kpi add <name> [higher|lower] [target:N] [warn:N] [alert:N]")
    if await uow.measures.first(project_id=project.id, name=name):
        raise Conflict(f"#{project.key} already measures '{name}'.", hint=f"kpi #{project.key}")
    measure = await uow.measures.add(
        Measure(
            project_id=project.id,
            name=name,
            unit=unit,
            direction=direction,
            target=target,
            warn=warn,
            alert=alert,
        )
    )
    await record(
        uow,
        organization_id=project.organization_id,
        actor_id=actor.id,
        action="kpi.added",
        subject=f"measure:{measure.id}",
        detail=name,
        at=now,
    )
    return measure


async def find_measure(uow: UnitOfWork, *, project: Project, name: str) -> Measure:
    measures = await uow.measures.find(project_id=project.id, order_by="id")
    for measure in measures:
        if measure.name.lower() == name.lower():
            return measure
    known = ", ".join(m.name for m in measures) or "none yet"
    raise NotFound(
        f"#{project.key} has no KPI called '{name}'.",
        hint=f"Its KPIs: {known}. Add one with: kpi add <name> #{project.key}",
    )


async def record_observation(
    uow: UnitOfWork,
    *,
    project: Project,
    measure: Measure,
    value: float,
    observed_on: date,
    actor: Person,
    now: datetime,
) -> tuple[Observation, Review | None]:
    """Store a value; when it crosses into a worse threshold band than the previous value, raise
    one review for the sponsor (once per crossing, not once per bad value). A value back within
    its thresholds closes the measure's open reviews. A back-dated value (one older than the
    latest) is history: it neither raises nor closes a review over the newer value."""
    await require(uow, Action.EDIT_KPIS, person=actor, project=project, today=now.date())
    if observed_on > now.date():
        raise UsageError(
            "That date is in the future.", hint="kpi record <name> <value> [on <date>]"
        )
    previous = await uow.observations.first(measure_id=measure.id, order_by="-observed_on")
    level = level_of(measure, value)
    observation = await uow.observations.add(
        Observation(
            measure_id=measure.id,
            observed_on=observed_on,
            value=value,
            level=level,
            recorded_at=now,
        )
    )
    await record(
        uow,
        organization_id=project.organization_id,
        actor_id=actor.id,
        action="kpi.recorded",
        subject=f"measure:{measure.id}",
        detail=f"{value} {level.value}",
        at=now,
    )
    if previous is not None and previous.observed_on > observed_on:
        return observation, None
    before = previous.level if previous else ThresholdLevel.OK
    if level is ThresholdLevel.OK:
        for review in await uow.reviews.find(measure_id=measure.id, closed_at=None):
            # Guarded: a concurrent recording closes it too, and only one of them does.
            await uow.reviews.set_if(review.id, "closed_at", now, expected=None)
    if SEVERITY[level] <= SEVERITY[before]:
        return observation, None
    sponsor = await uow.stakeholders.first(project_id=project.id, role=Role.SPONSOR)
    if sponsor is None:
        return observation, None
    review = await uow.reviews.add(
        Review(
            project_id=project.id,
            measure_id=measure.id,
            observation_id=observation.id,
            sponsor_id=sponsor.person_id,
            level=level,
            created_at=now,
        )
    )
    return observation, review


def describe(measure: Measure, latest: Observation | None) -> str:
    """``Time to antibiotics: 74 min (target 60, lower is better) — alert``."""
    unit = f" {measure.unit}" if measure.unit else ""
    value = f"{latest.value:g}{unit}" if latest else "no value yet"
    target = f"target {measure.target:g}, " if measure.target is not None else ""
    state = f" — {latest.level.value}" if latest and latest.level is not ThresholdLevel.OK else ""
    return f"{measure.name}: {value} ({target}{measure.direction.value} is better){state}"
