"""RACI matrix: who is Accountable, Responsible, Consulted, Informed for each area of a project."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from difflib import get_close_matches

from bot.errors import RoutingError, UsageError
from bot.model import Letter, Person, Project, RaciEntry, Stakeholder
from bot.permissions import Action, require
from bot.ports import UnitOfWork
from bot.routing import Routing, route
from bot.services.audit import record

DEFAULT_AREA = "*"


@dataclass(frozen=True, kw_only=True)
class Matrix:
    """Everything routing needs about one project, loaded in two queries."""

    project: Project
    raci: list[RaciEntry]
    stakeholders: list[Stakeholder]

    @property
    def areas(self) -> list[str]:
        return sorted({e.area for e in self.raci})


async def load_matrix(uow: UnitOfWork, project: Project) -> Matrix:
    return Matrix(
        project=project,
        raci=await uow.raci.find(project_id=project.id, order_by="id"),
        stakeholders=await uow.stakeholders.find(project_id=project.id, order_by="id"),
    )


def route_in(matrix: Matrix, *, area: str, names: dict[int, str]) -> Routing:
    """Route within a loaded matrix.

    An area the RACI never mentions is refused unless there is a default (*) Accountable, so a
    typo like ``area:budgte`` does not silently land on the sponsor.
    """
    has_default = any(e.area == DEFAULT_AREA and e.letter is Letter.A for e in matrix.raci)
    if area != DEFAULT_AREA and area not in matrix.areas and not has_default:
        key = matrix.project.key
        known = ", ".join(a for a in matrix.areas if a != DEFAULT_AREA) or "none yet"
        raise RoutingError(
            f"#{key} has no area '{area}' in its RACI and no default (*) Accountable.",
            hint=f"Areas: {known}. Or ask an admin: raci set @person A {area} #{key}",
        )
    return route(
        project=matrix.project,
        area=area,
        raci=matrix.raci,
        stakeholders=matrix.stakeholders,
        names=names,
    )


async def set_letter(
    uow: UnitOfWork,
    *,
    project: Project,
    person: Person,
    letter: Letter,
    area: str,
    actor: Person,
    now: datetime,
) -> str:
    """Give ``person`` ``letter`` for ``area``; a new A replaces the previous A (one A per area).
    Returns a sentence describing the change."""
    await require(uow, Action.SET_RACI, person=actor, project=project, today=now.date())
    area = area.lower()
    entries = await uow.raci.find(project_id=project.id, area=area)
    own = [e for e in entries if e.person_id == person.id]
    if [e.letter for e in own] == [letter]:
        return (
            f"{person.name} is already {letter.value} for {area} on #{project.key}. "
            "Nothing was changed."
        )
    replaced = ""
    for entry in entries:
        if entry.person_id == person.id:
            await uow.raci.delete(entry.id)
        elif letter is Letter.A and entry.letter is Letter.A:
            previous = await uow.people.get(entry.person_id)
            replaced = f" (replacing {previous.name if previous else 'the previous A'} as A)"
            await uow.raci.delete(entry.id)
    await uow.raci.add(
        RaciEntry(project_id=project.id, area=area, person_id=person.id, letter=letter)
    )
    await record(
        uow,
        organization_id=project.organization_id,
        actor_id=actor.id,
        action="raci.set",
        subject=f"project:{project.id}",
        detail=f"{person.handle} {letter} {area}",
        at=now,
    )
    if own:
        was = "/".join(e.letter.value for e in own)
        return (
            f"On #{project.key}, {person.name} was {was} for {area}; now {letter.value}{replaced}."
        )
    return f"{person.name} is now {letter.value} for {area} on #{project.key}{replaced}."


async def check_new_area(
    uow: UnitOfWork, *, project: Project, area: str, confirmed: bool, retry: str
) -> None:
    """Refuse an area no project of the organization has used yet unless ``confirmed`` (the
    ``!`` of ``raci set``): ``staffng`` is far likelier a typo of ``staffing`` than a new area.
    ``retry`` is the command to send again, shown in the hint."""
    area = area.lower()
    if confirmed or area == DEFAULT_AREA:
        return
    projects = await uow.projects.find(organization_id=project.organization_id)
    used = sorted({e.area for e in await uow.raci.find(project_id=[p.id for p in projects])})
    if area in used:
        return
    close = get_close_matches(area, [a for a in used if a != DEFAULT_AREA], n=1)
    guess = f"did you mean {close[0]}?" if close else "no project uses it yet."
    raise UsageError(
        f"New area '{area}' — {guess} Send it again with `!` to create it. Nothing was changed.",
        hint=retry,
    )


def describe(matrix: Matrix, names: dict[int, str]) -> list[str]:
    """One line per area: ``staffing — A: Dana Lee · R: … · C: … · I: …``."""
    if not matrix.raci:
        raise RoutingError(
            f"#{matrix.project.key} has no RACI yet.",
            hint=f"raci set @person A <area> #{matrix.project.key}",
        )
    lines = []
    for area in matrix.areas:
        parts = []
        for letter in Letter:
            who = [
                names.get(e.person_id, "?")
                for e in matrix.raci
                if e.area == area and e.letter is letter
            ]
            if who:
                parts.append(f"{letter.value}: {', '.join(who)}")
        label = "default (*)" if area == DEFAULT_AREA else area
        lines.append(f"{label} — {' · '.join(parts)}")
    return lines
