"""Organizations, workspaces, people and their chat identities.

A person may have a Slack and a Teams identity; a user seen for the first time is matched to an
existing person by email before a new person is created, so one leader stays one leader.
"""

from __future__ import annotations

import re
from datetime import datetime

from bot.calendar import valid_timezone
from bot.context import Caller, Profile
from bot.model import Identity, Organization, Person, Platform, Workspace
from bot.ports import UnitOfWork
from bot.services.audit import record

_HANDLE_CHARS = re.compile(r"[^a-z0-9._-]+")


async def link_workspace(
    uow: UnitOfWork,
    *,
    platform: Platform,
    external_id: str,
    name: str,
    organization_id: int | None,
    now: datetime,
) -> Workspace:
    """Find or create the workspace and tie it to an organization (the given one, else the first
    one, else a new one named after the workspace)."""
    existing = await uow.workspaces.first(platform=platform, external_id=external_id)
    if existing is not None:
        return existing
    if organization_id is None:
        first = await uow.organizations.first(order_by="id")
        if first is None:
            first = await uow.organizations.add(Organization(name=name or external_id))
        organization_id = first.id
    workspace = await uow.workspaces.add(
        Workspace(
            organization_id=organization_id,
            platform=platform,
            external_id=external_id,
            name=name,
        )
    )
    await record(
        uow,
        organization_id=organization_id,
        actor_id=None,
        action="workspace.linked",
        subject=f"workspace:{workspace.id}",
        detail=f"{platform.value} {external_id}",
        at=now,
        platform=platform.value,
    )
    return workspace


def caller_of(person: Person, *, platform: Platform, workspace_id: int | None) -> Caller:
    return Caller(
        person_id=person.id,
        organization_id=person.organization_id,
        handle=person.handle,
        timezone=person.timezone,
        platform=platform,
        workspace_id=workspace_id,
    )


async def identify(
    uow: UnitOfWork,
    *,
    workspace: Workspace,
    user_id: str,
    profile: Profile | None,
    now: datetime,
) -> Person | None:
    """The person behind a platform user; creates identity (and person) from ``profile``."""
    identity = await uow.identities.first(workspace_id=workspace.id, user_id=user_id)
    if identity is not None:
        return await uow.people.get(identity.person_id)
    if profile is None:
        return None
    person = None
    if profile.email:
        person = await uow.people.first(
            organization_id=workspace.organization_id, email=profile.email.lower()
        )
    if person is None:
        person = await uow.people.add(
            Person(
                organization_id=workspace.organization_id,
                handle=await unique_handle(
                    uow,
                    organization_id=workspace.organization_id,
                    wanted=profile.handle or profile.name or user_id,
                ),
                name=profile.name or profile.handle or user_id,
                email=profile.email.lower(),
                timezone=profile.timezone if valid_timezone(profile.timezone) else "UTC",
            )
        )
    await uow.identities.add(
        Identity(
            person_id=person.id,
            workspace_id=workspace.id,
            platform=workspace.platform,
            user_id=user_id,
        )
    )
    await record(
        uow,
        organization_id=workspace.organization_id,
        actor_id=person.id,
        action="identity.linked",
        subject=f"person:{person.id}",
        detail=f"{workspace.platform.value} {user_id}",
        at=now,
        platform=workspace.platform.value,
    )
    return person


async def unique_handle(uow: UnitOfWork, *, organization_id: int, wanted: str) -> str:
    """A handle like ``dana.lee`` derived from a name, made unique with a number if taken."""
    base = _HANDLE_CHARS.sub(".", wanted.strip().lower()).strip(".") or "user"
    base = base[:30]
    handle, n = base, 1
    while await uow.people.first(organization_id=organization_id, handle=handle):
        n += 1
        handle = f"{base}{n}"
    return handle


async def remember_conversation(
    uow: UnitOfWork, *, workspace: Workspace, user_id: str, conversation_ref: str
) -> bool:
    """Store where to DM this user; False when the user has no identity yet."""
    identity = await uow.identities.first(workspace_id=workspace.id, user_id=user_id)
    if identity is None:
        return False
    if identity.conversation_ref != conversation_ref or identity.unreachable:
        identity.conversation_ref = conversation_ref
        identity.unreachable = False
        await uow.identities.save(identity)
    return True
