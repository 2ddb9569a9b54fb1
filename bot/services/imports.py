"""Bulk set-up: load what :func:`bot.imports.check` compares a file with, and apply its plan.

Both run in the caller's unit of work, bound to the organization (``bot.tenancy``), so the
check sees exactly what the write changes, and a change a service refuses (a permission, an
invariant) rolls the whole file back. Every change goes through the service that owns it, which
writes its own audit event; one more event records the import itself: who, which file, how many
changes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.errors import NotAllowed
from bot.imports import (
    AddAdmin,
    AddPerson,
    AddProject,
    Change,
    EditPerson,
    EditProject,
    Plan,
    SetCadence,
    SetExecutive,
    SetLetter,
    SetRole,
    Snapshot,
)
from bot.model import Organization, Person, Project
from bot.ports import UnitOfWork
from bot.services import org as org_service
from bot.services import preferences, projects, raci
from bot.services.audit import record
from bot.wording import plural


async def snapshot(uow: UnitOfWork, *, organization: Organization) -> Snapshot:
    """The organization's people, projects, roles, RACI and cadence preferences."""
    people = await uow.people.find(organization_id=organization.id, order_by="id")
    found = await uow.projects.find(organization_id=organization.id, order_by="id")
    project_ids = [p.id for p in found]
    person_ids = [p.id for p in people]
    return Snapshot(
        organization=organization,
        people=people,
        projects=found,
        stakeholders=await uow.stakeholders.find(project_id=project_ids) if project_ids else [],
        raci=await uow.raci.find(project_id=project_ids) if project_ids else [],
        preferences=await uow.preferences.find(person_id=person_ids) if person_ids else [],
    )


@dataclass(kw_only=True)
class _Applying:
    uow: UnitOfWork
    organization: Organization
    now: datetime
    as_handle: str | None
    people: dict[str, Person] = field(default_factory=dict)
    projects: dict[str, Project] = field(default_factory=dict)

    def actor(self) -> Person | None:
        """Who the changes are recorded as: ``--as``, else the organization's first admin
        (None until it has one: the operator at the keyboard founding it)."""
        if self.as_handle:
            return self.people.get(self.as_handle)
        by_id = {p.id: p for p in self.people.values()}
        return next((by_id[i] for i in self.organization.admin_ids if i in by_id), None)

    def steward(self) -> Person:
        """The actor, for the changes the permission table guards (charter, roles, RACI)."""
        actor = self.actor()
        if actor is None:
            raise NotAllowed(
                f"{self.organization.name} has no admin to record these changes as: list one "
                "under organization: admins: in org.yaml, or name who imports with --as <handle>. "
                "Nothing was changed."
            )
        return actor


async def _add_person(a: _Applying, change: AddPerson) -> None:
    person = await a.uow.people.add(
        Person(
            organization_id=a.organization.id,
            handle=change.handle,
            name=change.name,
            email=change.email,
            timezone=change.timezone,
        )
    )
    a.people[person.handle] = person
    await _audit(a, "person.added", f"person:{person.id}", str(change))


async def _edit_person(a: _Applying, change: EditPerson) -> None:
    person = a.people[change.handle]
    for name, value in change.changes.items():
        setattr(person, name, value)
    await a.uow.people.save(person)
    await _audit(a, "person.changed", f"person:{person.id}", str(change))


async def _add_admin(a: _Applying, change: AddAdmin) -> None:
    await org_service.add_admin(
        a.uow,
        organization=a.organization,
        person=a.people[change.handle],
        actor=a.actor(),
        now=a.now,
    )


async def _set_executive(a: _Applying, change: SetExecutive) -> None:
    await org_service.set_executive(
        a.uow,
        organization=a.organization,
        person=a.people[change.handle],
        actor=a.actor(),
        now=a.now,
    )


async def _add_project(a: _Applying, change: AddProject) -> None:
    a.projects[change.key] = await projects.create(
        a.uow,
        organization_id=a.organization.id,
        key=change.key,
        name=change.name,
        creator=a.people[change.lead],
        now=a.now,
    )


async def _edit_project(a: _Applying, change: EditProject) -> None:
    project = a.projects[change.key]
    if change.field != "name":
        await projects.set_charter(
            a.uow,
            project=project,
            field=change.field,
            text=change.value,
            actor=a.steward(),
            now=a.now,
        )
        return
    project.name = change.value
    await a.uow.projects.save(project)
    await _audit(a, "project.renamed", f"project:{project.id}", change.value)


async def _set_role(a: _Applying, change: SetRole) -> None:
    await projects.set_role(
        a.uow,
        project=a.projects[change.project],
        person=a.people[change.person],
        role=change.role,
        note=change.note,
        actor=a.steward(),
        now=a.now,
    )


async def _set_letter(a: _Applying, change: SetLetter) -> None:
    await raci.set_letter(
        a.uow,
        project=a.projects[change.project],
        person=a.people[change.person],
        letter=change.letter,
        area=change.area,
        actor=a.steward(),
        now=a.now,
    )


async def _set_cadence(a: _Applying, change: SetCadence) -> None:
    await preferences.set_preference(
        a.uow,
        person=a.people[change.person],
        frequency=change.frequency,
        weekday=change.weekday,
        local_time=change.local_time,
        detail=change.detail,
        now=a.now,
    )


_APPLY: dict[type[Any], Callable[[_Applying, Any], Awaitable[None]]] = {
    AddPerson: _add_person,
    EditPerson: _edit_person,
    AddAdmin: _add_admin,
    SetExecutive: _set_executive,
    AddProject: _add_project,
    EditProject: _edit_project,
    SetRole: _set_role,
    SetLetter: _set_letter,
    SetCadence: _set_cadence,
}
"""Each kind of change → the service call that makes it."""


async def _audit(a: _Applying, action: str, subject: str, detail: str) -> None:
    actor = a.actor()
    await record(
        a.uow,
        organization_id=a.organization.id,
        actor_id=actor.id if actor else None,
        action=action,
        subject=subject,
        detail=detail,
        at=a.now,
    )


async def apply(
    uow: UnitOfWork,
    *,
    organization: Organization,
    plan: Plan,
    source: str,
    as_handle: str | None,
    now: datetime,
) -> list[Change]:
    """Make a checked plan's changes (none when it has problems), recorded as ``as_handle``
    or the organization's admin, and one ``import`` audit event naming ``source``."""
    if plan.problems or not plan.changes:
        return []
    applying = _Applying(
        uow=uow,
        organization=organization,
        now=now,
        as_handle=as_handle,
        people={p.handle: p for p in await uow.people.find(organization_id=organization.id)},
        projects={p.key: p for p in await uow.projects.find(organization_id=organization.id)},
    )
    for change in plan.changes:
        await _APPLY[type(change)](applying, change)
    await _audit(
        applying,
        "import.applied",
        f"organization:{organization.id}",
        f"{source}: {plural(len(plan.changes), 'change')}",
    )
    return list(plan.changes)


async def found(uow: UnitOfWork, *, name: str, now: datetime) -> Organization:
    """A new organization for an ``org.yaml`` that founds one (in the import's own unit of
    work, so a file with problems founds nothing); its admins come from the file."""
    organization = await uow.organizations.add(Organization(name=" ".join(name.split())))
    await record(
        uow,
        organization_id=organization.id,
        actor_id=None,
        action="organization.founded",
        subject=f"organization:{organization.id}",
        detail="by leaderbot import",
        at=now,
    )
    return organization
