"""Projects, their charter, home channels and stakeholder roles (the stakeholder map)."""

from __future__ import annotations

import re
from datetime import datetime

from bot.errors import Conflict, InvalidState, NotAllowed, UsageError
from bot.model import Person, Project, ProjectChannel, ProjectStatus, Role, Stakeholder
from bot.ports import UnitOfWork
from bot.services.audit import record

KEY_PATTERN = re.compile(r"^[A-Z][A-Z0-9_-]{1,19}$")
CHARTER_FIELDS = ("aim", "scope", "measures", "priority")


async def require_steward(uow: UnitOfWork, *, project: Project, person: Person) -> None:
    """Changing a project's set-up is for its lead, its sponsor, or the organization's admin."""
    organization = await uow.organizations.get(project.organization_id)
    if organization is not None and person.id in organization.admin_ids:
        return
    roles = await uow.stakeholders.find(project_id=project.id, person_id=person.id)
    if any(s.role in (Role.LEAD, Role.SPONSOR) for s in roles):
        return
    raise NotAllowed(
        f"Only the lead or sponsor of #{project.key}, or an admin, can change its set-up. "
        "Nothing was changed."
    )


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
    await require_steward(uow, project=project, person=actor)
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
    await require_steward(uow, project=project, person=actor)
    if status is ProjectStatus.ACTIVE and project.status is not ProjectStatus.ACTIVE:
        sponsors = await uow.stakeholders.find(project_id=project.id, role=Role.SPONSOR)
        if len(sponsors) != 1:
            raise Conflict(
                f"#{project.key} needs exactly one sponsor to be active.",
                hint=f"role @person sponsor #{project.key}",
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
    await require_steward(uow, project=project, person=actor)
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
    await require_steward(uow, project=project, person=actor)
    replaced = ""
    for stakeholder in await uow.stakeholders.find(project_id=project.id):
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
