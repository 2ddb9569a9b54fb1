"""Organizations, workspaces, people and their chat identities.

A person may have a Slack and a Teams identity; a user seen for the first time is matched to an
existing person of the same organization by email before a new person is created, so one leader
stays one leader. Never across organizations: the same email in another organization is another
person. A workspace joins an organization only by an explicit act (:func:`configured_workspace`,
:func:`install_workspace`); a request never creates one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime

from bot.calendar import valid_timezone
from bot.context import Caller, Profile
from bot.errors import Conflict
from bot.messages import Message, Target
from bot.model import Identity, Organization, Person, Platform, Workspace
from bot.ports import UnitOfWork
from bot.services.audit import record
from bot.services.delivery import deliver

_HANDLE_CHARS = re.compile(r"[^a-z0-9._-]+")


async def link_workspace(
    uow: UnitOfWork,
    *,
    platform: Platform,
    external_id: str,
    name: str,
    organization_id: int,
    now: datetime,
) -> Workspace:
    """The workspace, created in ``organization_id`` when new. Only an explicit act calls this
    (the server's configuration, an installation, a partner's link code), never a request on its
    own: a request links a workspace only where the configuration serves it (a Teams tenant,
    ``bot.inbound.Configured``)."""
    existing = await uow.workspaces.first(platform=platform, external_id=external_id)
    if existing is not None:
        return existing
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


async def configured_workspace(
    uow: UnitOfWork,
    *,
    platform: Platform,
    external_id: str,
    name: str,
    now: datetime,
    join_sole: bool = True,
) -> Workspace:
    """The workspace this server is configured to serve (the single Slack token's team, a
    Teams tenant). A new one joins the only organization when the database has exactly one and
    it has no workspace on this platform yet — a fresh install, so ``make run`` plus a token just
    works — and otherwise gets an organization of its own. ``join_sole=False`` (a multi-tenant
    Teams bot, which any tenant can reach) always founds a new organization: a stranger's tenant
    must never land in the one organization there is.

    Raises:
        Conflict: another unit of work linked it meanwhile; a new try finds it.
    """
    existing = await uow.workspaces.first(platform=platform, external_id=external_id)
    if existing is not None:
        return existing
    organizations = await uow.organizations.find(limit=2, order_by="id")
    if (
        join_sole
        and len(organizations) == 1
        and not await uow.workspaces.count(organization_id=organizations[0].id, platform=platform)
    ):
        organization = organizations[0]
    else:
        organization = await uow.organizations.add(Organization(name=name or external_id))
    workspace = await link_workspace(
        uow,
        platform=platform,
        external_id=external_id,
        name=name,
        organization_id=organization.id,
        now=now,
    )
    if workspace.organization_id != organization.id:
        # Another request linked it to an organization between the first look and now: the
        # one founded here must not stay behind, empty (the caller's unit is rolled back).
        raise Conflict(f"{platform.value} workspace {external_id} was linked meanwhile")
    return workspace


@dataclass(frozen=True, kw_only=True)
class Installation:
    """What an installation did: its workspace, and the admin it made (None on a reinstall)."""

    workspace: Workspace
    admin: Person | None


async def seat_installer(
    uow: UnitOfWork,
    *,
    platform: Platform,
    external_id: str,
    name: str,
    organization_id: int,
    installer_id: str,
    installer: Profile,
    now: datetime,
) -> tuple[Workspace, Person]:
    """A newly installed workspace joined to ``organization_id``, and its installer as a person
    there: what every installation does, whether it founds an organization or joins one."""
    workspace = await link_workspace(
        uow,
        platform=platform,
        external_id=external_id,
        name=name,
        organization_id=organization_id,
        now=now,
    )
    person = await identify(
        uow, workspace=workspace, user_id=installer_id, profile=installer, now=now
    )
    assert person is not None  # a profile was given
    return workspace, person


async def install_workspace(
    uow: UnitOfWork,
    *,
    platform: Platform,
    external_id: str,
    name: str,
    installer_id: str,
    installer: Profile,
    now: datetime,
    not_joined: str = "",
) -> Installation:
    """An installation (Slack OAuth): a new workspace founds its own organization, whose
    installer becomes a person, gets an identity and is its admin, and is greeted with the
    set-up steps (and ``not_joined``: why the invitation it was made with was not used).
    Reinstalling in a known workspace changes nothing here."""
    existing = await uow.workspaces.first(platform=platform, external_id=external_id)
    if existing is not None:
        return Installation(workspace=existing, admin=None)
    organization = await uow.organizations.add(Organization(name=name or external_id))
    workspace, admin = await seat_installer(
        uow,
        platform=platform,
        external_id=external_id,
        name=name,
        organization_id=organization.id,
        installer_id=installer_id,
        installer=installer,
        now=now,
    )
    organization.admin_ids = [admin.id]
    await uow.organizations.save(organization)
    await record(
        uow,
        organization_id=organization.id,
        actor_id=admin.id,
        action="organization.founded",
        subject=f"organization:{organization.id}",
        detail=f"installed in {platform.value} {external_id}",
        at=now,
        platform=platform.value,
    )
    greeting = welcome(organization, admin)
    if not_joined:
        greeting = replace(
            greeting,
            sections=(
                f"{not_joined} So {organization.name} is an organization of its own; to join "
                "the partner's, type org join with a new invitation code.",
                *greeting.sections,
            ),
        )
    await deliver(uow, greeting, organization_id=organization.id, now=now)
    return Installation(workspace=workspace, admin=admin)


def welcome(organization: Organization, admin: Person) -> Message:
    """The installer's greeting: the three steps that make the organization work."""
    return Message(
        title=f"Welcome to Leaderbot, {admin.name}",
        sections=(
            f"You installed Leaderbot, so you are the admin of {organization.name}. "
            "Three steps set it up:",
            "1. Create a project: project new KEY Name (for example: project new SEPSIS Sepsis "
            "screening in the ED). You become its lead.",
            "2. Name who decides: role @person sponsor #KEY, and raci set @person A <area> #KEY "
            "for the Accountable of an area (* for every area).",
            "3. Bring people in: invite your leaders to the channel or a DM with Leaderbot; for a "
            "partner organization on Slack or Teams, org invite gives a one-time code to join.",
            "Type help for every command.",
        ),
        target=Target(person_id=admin.id),
        key=f"welcome:{organization.id}",
    )


def caller_of(
    person: Person,
    *,
    platform: Platform,
    workspace_id: int | None,
    reported_timezone: str = "",
    alias: str = "",
) -> Caller:
    return Caller(
        person_id=person.id,
        organization_id=person.organization_id,
        handle=person.handle,
        timezone=person.timezone,
        platform=platform,
        workspace_id=workspace_id,
        reported_timezone=reported_timezone,
        alias=alias,
    )


async def identify(
    uow: UnitOfWork,
    *,
    workspace: Workspace,
    user_id: str,
    profile: Profile | None,
    now: datetime,
) -> Person | None:
    """The person behind a platform user of ``workspace``; creates the identity (and, unless a
    person of the workspace's organization has the profile's email, the person) from
    ``profile``."""
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
            alias=profile.alias,
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


async def report_timezone(
    uow: UnitOfWork, *, workspace_id: int, user_id: str, timezone: str
) -> Person | None:
    """The platform reports ``timezone`` for this identity (Teams' ``localTimezone``). When it
    is a valid IANA zone other than the one it last reported (first contact, or the user's
    device moved), it is recorded and becomes the person's timezone; a zone the person chose
    since (``me timezone``) stays while the platform keeps reporting the same one. The person,
    changed or not; None for an unknown identity."""
    identity = await uow.identities.first(workspace_id=workspace_id, user_id=user_id)
    if identity is None:
        return None
    person = await uow.people.get(identity.person_id)
    if person is None or not valid_timezone(timezone) or identity.reported_timezone == timezone:
        return person
    identity.reported_timezone = timezone
    await uow.identities.save(identity)
    if person.timezone != timezone:
        person.timezone = timezone
        await uow.people.save(person)
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
    uow: UnitOfWork, *, workspace_id: int, user_id: str, conversation_ref: str, address: str
) -> bool:
    """Store how and where to DM this user (reachable again, if delivery had given up on them);
    whether anything changed (nothing does for a user with no identity yet)."""
    identity = await uow.identities.first(workspace_id=workspace_id, user_id=user_id)
    if identity is None or (
        identity.conversation_ref == conversation_ref
        and identity.address == address
        and not identity.unreachable
    ):
        return False
    identity.conversation_ref = conversation_ref
    identity.address = address
    identity.unreachable = False
    await uow.identities.save(identity)
    return True


async def remember_alias(uow: UnitOfWork, *, workspace_id: int, user_id: str, alias: str) -> bool:
    """Store the user's other platform id (``Identity.alias``), so a mention by it finds them;
    whether anything changed."""
    identity = await uow.identities.first(workspace_id=workspace_id, user_id=user_id)
    if identity is None or identity.alias == alias:
        return False
    identity.alias = alias
    await uow.identities.save(identity)
    return True


async def remember_channel(
    uow: UnitOfWork, *, workspace_id: int, channel_id: str, conversation_ref: str
) -> bool:
    """Store how to post proactively into a project's home channel (Teams needs the channel's
    conversation reference, which the adapter passes on every message seen there); whether
    anything changed."""
    changed = False
    for channel in await uow.channels.find(workspace_id=workspace_id, channel_id=channel_id):
        if channel.conversation_ref != conversation_ref:
            channel.conversation_ref = conversation_ref
            await uow.channels.save(channel)
            changed = True
    return changed
