"""Projects, their charter, home channels and stakeholder roles (the stakeholder map)."""

from __future__ import annotations

import re
from datetime import datetime

from bot.errors import Conflict, InvalidState, UsageError
from bot.model import Person, Project, ProjectChannel, ProjectStatus, Role, Stakeholder
from bot.permissions import Action, require
from bot.ports import UnitOfWork
from bot.services.audit import record

KEY_PATTERN = re.compile(r"^[A-Z][A-Z0-9_-]{1,19}$")
CHARTER_FIELDS = ("aim", "scope", "measures", "priority")


async def create(
    uow: UnitOfWork, *, organization_id: int, key: str, name: str, creator: Person, now: datetime
) -> Project:
    """A new project; its creator becomes its lead."""
    key = key.upper()
    if not KEY_PATTERN.match(key):
        raise UsageError(
            f"'{key}' can't be a project key.",
            hint="Use 2–20 letters, digits, - or _, starting with a letter: project new SEPSIS …",
        )
    if await uow.projects.first(organization_id=organization_id, key=key):
        raise Conflict(f"#{key} already exists.", hint=f"project show #{key}")
    if not name.strip():
        raise UsageError("The project needs a name.", hint=f"project new {key} <name>")
    project = await uow.projects.add(
        Project(organization_id=organization_id, key=key, name=name.strip())
    )
    await uow.stakeholders.add(
        Stakeholder(project_id=project.id, person_id=creator.id, role=Role.LEAD)
    )
    await record(
        uow,
        organization_id=organization_id,
        actor_id=creator.id,
        action="project.created",
        subject=f"project:{project.id}",
        at=now,
    )
    return project


async def set_charter(
    uow: UnitOfWork, *, project: Project, field: str, text: str, actor: Person, now: datetime
) -> None:
    await require(uow, Action.EDIT_CHARTER, person=actor, project=project, today=now.date())
    if field not in CHARTER_FIELDS:
        raise UsageError(
            f"The charter has no '{field}'.", hint=f"Fields: {', '.join(CHARTER_FIELDS)}."
        )
    setattr(project, field, text.strip())
    await uow.projects.save(project)
    await record(
        uow,
        organization_id=project.organization_id,
        actor_id=actor.id,
        action=f"project.charter.{field}",
        subject=f"project:{project.id}",
        detail=text,
        at=now,
    )


async def set_status(
    uow: UnitOfWork, *, project: Project, status: ProjectStatus, actor: Person, now: datetime
) -> None:
    await require(uow, Action.SET_STATUS, person=actor, project=project, today=now.date())
    if status is ProjectStatus.ACTIVE and project.status is not ProjectStatus.ACTIVE:
        sponsors = await uow.stakeholders.find(project_id=project.id, role=Role.SPONSOR)
        if len(sponsors) != 1:
            raise Conflict(
                f"#{project.key} needs exactly one sponsor to be active. Name one first: "
                f"role @person sponsor #{project.key}. Nothing was changed."
            )
    # Guarded on the status this unit read (one field, so a concurrent charter edit is kept):
    # of a concurrent pause and close, or a double click, one wins and the other is told.
    if not await uow.projects.set_if(project.id, "status", status, expected=project.status):
        now_ = await uow.projects.get(project.id)
        current = now_.status.value if now_ else "gone"
        raise InvalidState(
            f"#{project.key} was changed meanwhile: it is {current} now. Nothing was changed."
        )
    project.status = status
    await record(
        uow,
        organization_id=project.organization_id,
        actor_id=actor.id,
        action=f"project.{status.value}",
        subject=f"project:{project.id}",
        at=now,
    )


async def link_channel(
    uow: UnitOfWork,
    *,
    project: Project,
    workspace_id: int,
    channel_id: str,
    conversation_ref: str | None,
    actor: Person,
    now: datetime,
) -> None:
    """Make a channel the project's home channel in that workspace (one per workspace)."""
    await require(uow, Action.LINK_CHANNEL, person=actor, project=project, today=now.date())
    for existing in await uow.channels.find(project_id=project.id, workspace_id=workspace_id):
        await uow.channels.delete(existing.id)
    await uow.channels.add(
        ProjectChannel(
            project_id=project.id,
            workspace_id=workspace_id,
            channel_id=channel_id,
            conversation_ref=conversation_ref,
        )
    )
    await record(
        uow,
        organization_id=project.organization_id,
        actor_id=actor.id,
        action="project.channel",
        subject=f"project:{project.id}",
        detail=f"workspace:{workspace_id} {channel_id}",
        at=now,
    )


async def set_role(
    uow: UnitOfWork,
    *,
    project: Project,
    person: Person,
    role: Role,
    note: str,
    actor: Person,
    now: datetime,
) -> str:
    """Give ``person`` a role on the project; a new sponsor replaces the old one (exactly one)."""
    await require(uow, Action.SET_ROLES, person=actor, project=project, today=now.date())
    stakeholders = await uow.stakeholders.find(project_id=project.id)
    _keep_a_sponsor(project, stakeholders, person=person, role=role)
    replaced = ""
    for stakeholder in stakeholders:
        if stakeholder.person_id == person.id and stakeholder.role is not Role.LEAD:
            await uow.stakeholders.delete(stakeholder.id)
        elif role is Role.SPONSOR and stakeholder.role is Role.SPONSOR:
            previous = await uow.people.get(stakeholder.person_id)
            replaced = f" (replacing {previous.name if previous else 'the previous sponsor'})"
            await uow.stakeholders.delete(stakeholder.id)
    if not await uow.stakeholders.first(project_id=project.id, person_id=person.id, role=role):
        await uow.stakeholders.add(
            Stakeholder(project_id=project.id, person_id=person.id, role=role, note=note.strip())
        )
    await record(
        uow,
        organization_id=project.organization_id,
        actor_id=actor.id,
        action="project.role",
        subject=f"project:{project.id}",
        detail=f"{person.handle} {role.value}",
        at=now,
    )
    return f"{person.name} is now {role.value} of #{project.key}{replaced}."


def _keep_a_sponsor(
    project: Project, stakeholders: list[Stakeholder], *, person: Person, role: Role
) -> None:
    """An active project keeps its sponsor: the sole sponsor's role changes only once another
    sponsor is named (naming one replaces them)."""
    sponsors = [s.person_id for s in stakeholders if s.role is Role.SPONSOR]
    if (
        project.status is ProjectStatus.ACTIVE
        and role is not Role.SPONSOR
        and sponsors == [person.id]
    ):
        raise Conflict(
            f"{person.name} is the only sponsor of #{project.key}, which is active. Name another "
            f"sponsor first: role @person sponsor #{project.key}. Nothing was changed."
        )


def no_sponsor_note(project: Project, stakeholders: list[Stakeholder]) -> str | None:
    """What ``status`` and ``project show`` say about a project with no sponsor (None: it has
    one): it can receive no asks routed to a sponsor, and cannot be resumed until one is named."""
    if any(s.role is Role.SPONSOR for s in stakeholders):
        return None
    return f"No sponsor yet: name one with role @person sponsor #{project.key}"
