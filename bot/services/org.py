"""An organization's set-up: its admins and executive, its name, partner workspaces joining it
(``org invite`` / ``org join``), and a person's own identities joining them (``me link``).

Codes are one-time and short-lived: ``secrets`` makes them, only their SHA-256 is stored, a use
marks them used, and they expire :data:`CODE_LIFETIME` after they were made. A code is never
written to the log or the audit trail; the reply that hands it out is the only place it appears.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.calendar import moment_in
from bot.context import Profile
from bot.errors import Conflict, InvalidState, NotAllowed, NotFound, UsageError
from bot.messages import Message, Target
from bot.model import CodeKind, LinkCode, Organization, Person, Platform, Workspace
from bot.permissions import Action, require_org
from bot.ports import Repository, UnitOfWork
from bot.services.audit import record
from bot.services.delivery import deliver, tell_admin
from bot.services.people import (
    Installation,
    install_workspace,
    seat_installer,
    unique_handle,
)

CODE_LIFETIME = timedelta(hours=24)
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
"""No 0/O, 1/I: a code read aloud or retyped from a screen survives."""
_GROUPS, _GROUP = 4, 4
"""16 characters of 32 symbols: 80 bits, far beyond guessing within a day."""
NO_EXECUTIVE = "org:no-executive"


@dataclass(frozen=True, kw_only=True)
class Overview:
    organization: Organization
    workspaces: list[Workspace]
    admins: list[Person]
    executive: Person | None


async def overview(uow: UnitOfWork, *, organization_id: int) -> Overview:
    """What ``org show`` lists."""
    organization = await uow.organizations.get(organization_id)
    if organization is None:
        raise NotFound("I don't know your organization.")
    executive_id = organization.escalation_contact_id
    return Overview(
        organization=organization,
        workspaces=await uow.workspaces.find(organization_id=organization_id, order_by="id"),
        admins=await _people(uow, organization.admin_ids),
        executive=await uow.people.get(executive_id) if executive_id else None,
    )


async def _people(uow: UnitOfWork, ids: list[int]) -> list[Person]:
    found = {p.id: p for p in await uow.people.find(id=list(ids))} if ids else {}
    return [found[i] for i in ids if i in found]


async def _audit(
    uow: UnitOfWork,
    organization: Organization,
    actor: Person | None,
    action: str,
    detail: str,
    now: datetime,
) -> None:
    await record(
        uow,
        organization_id=organization.id,
        actor_id=actor.id if actor else None,
        action=action,
        subject=f"organization:{organization.id}",
        detail=detail,
        at=now,
    )


# --- admins, executive, name ---------------------------------------------------------------


async def add_admin(
    uow: UnitOfWork,
    *,
    organization: Organization,
    person: Person,
    actor: Person | None,
    now: datetime,
) -> bool:
    """Make ``person`` an admin; False when they already were."""
    if person.id in organization.admin_ids:
        return False
    organization.admin_ids = [*organization.admin_ids, person.id]
    await uow.organizations.save(organization)
    await _audit(uow, organization, actor, "org.admin_added", f"person:{person.id}", now)
    return True


async def remove_admin(
    uow: UnitOfWork,
    *,
    organization: Organization,
    person: Person,
    actor: Person | None,
    now: datetime,
) -> None:
    """Remove an admin, never the last one (someone must be able to change the set-up)."""
    if person.id not in organization.admin_ids:
        raise InvalidState(f"{person.name} is not an admin of {organization.name}. {_UNCHANGED}")
    if organization.admin_ids == [person.id]:
        raise Conflict(
            f"{person.name} is the only admin of {organization.name}; name another admin "
            f"first (org admin add @person). {_UNCHANGED}"
        )
    organization.admin_ids = [i for i in organization.admin_ids if i != person.id]
    await uow.organizations.save(organization)
    await _audit(uow, organization, actor, "org.admin_removed", f"person:{person.id}", now)


async def set_executive(
    uow: UnitOfWork,
    *,
    organization: Organization,
    person: Person,
    actor: Person | None,
    now: datetime,
) -> None:
    """The top rung of blockers raised from now on."""
    organization.escalation_contact_id = person.id
    await uow.organizations.save(organization)
    await _audit(uow, organization, actor, "org.executive_set", f"person:{person.id}", now)


MAX_NAME = 100


async def rename(
    uow: UnitOfWork, *, organization: Organization, name: str, actor: Person | None, now: datetime
) -> None:
    name = " ".join(name.split())
    if not name:
        raise UsageError(f"Give the organization a name, like: org name St Mary's. {_UNCHANGED}")
    if len(name) > MAX_NAME:
        raise UsageError(
            f"That name is {len(name)} characters; the most is {MAX_NAME}. {_UNCHANGED}"
        )
    organization.name = name
    await uow.organizations.save(organization)
    await _audit(uow, organization, actor, "org.renamed", name, now)


_UNCHANGED = "Nothing was changed."


# --- one-time codes ------------------------------------------------------------------------


def _hash(code: str) -> str:
    normal = "".join(ch for ch in code.upper() if ch.isalnum())
    return hashlib.sha256(normal.encode()).hexdigest()


async def issue_code(
    uow: UnitOfWork, *, kind: CodeKind, organization_id: int, created_by: Person, now: datetime
) -> tuple[str, LinkCode]:
    """A new one-time code (shown once, stored hashed) and its row."""
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(_GROUPS * _GROUP))
    code = "-".join(raw[i : i + _GROUP] for i in range(0, len(raw), _GROUP))
    row = await uow.codes.add(
        LinkCode(
            kind=kind,
            code_hash=_hash(code),
            organization_id=organization_id,
            created_by_id=created_by.id,
            created_at=now,
            expires_at=now + CODE_LIFETIME,
        )
    )
    return code, row


_WHAT = {CodeKind.ORG_INVITE: "invitation code", CodeKind.ME_LINK: "link code"}
_NEW = {
    CodeKind.ORG_INVITE: "Ask the inviting admin for a new one (org invite).",
    CodeKind.ME_LINK: "Type me link where you already use Leaderbot for a new one.",
}


async def usable(uow: UnitOfWork, *, kind: CodeKind, code: str, now: datetime, tz: str) -> LinkCode:
    """The code's row, if it can still be used; refuses an unknown, used or expired code
    (nothing is marked: :func:`redeem` does). An expiry is told in ``tz``, the zone of whoever
    typed the code."""
    what, new = _WHAT[kind], _NEW[kind]
    row = await uow.codes.first(code_hash=_hash(code), kind=kind)
    if row is None:
        raise NotFound(f"That is not a valid {what}. Check it for typos. {new} {_UNCHANGED}")
    if row.used_at is not None:
        raise InvalidState(f"That {what} was already used. {new} {_UNCHANGED}")
    if now >= row.expires_at:
        raise InvalidState(
            f"That {what} expired on {moment_in(row.expires_at, tz)}. {new} {_UNCHANGED}"
        )
    return row


async def redeem(
    uow: UnitOfWork, *, kind: CodeKind, code: str, by: Person, now: datetime
) -> LinkCode:
    """Mark the code used by ``by``; refuses an unknown, used or expired code."""
    what, new = _WHAT[kind], _NEW[kind]
    row = await usable(uow, kind=kind, code=code, now=now, tz=by.timezone)
    if not await uow.codes.set_if(row.id, "used_at", now, expected=None):
        raise InvalidState(f"That {what} was already used. {new} {_UNCHANGED}")
    row.used_at, row.used_by_id = now, by.id
    await uow.codes.save(row)
    return row


# --- a partner workspace joins ---------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Joined:
    organization: Organization
    previous: str
    people: int
    matched: int


async def join(
    uow: UnitOfWork, *, code: str, workspace: Workspace, admin: Person, now: datetime
) -> Joined:
    """``org join CODE``: the workspace ``admin`` types in moves into the inviting organization.

    Allowed only while the workspace's own organization has no projects (nothing of its work is
    lost or mixed in): its workspaces, people and identities move, each person matched by email
    with a person already in the inviting organization, and the emptied organization is removed.
    Its admins do not become admins of the inviting organization; an admin there can add them.
    """
    current = await require_org(uow, Action.ORG_JOIN, person=admin)
    invite = await redeem(uow, kind=CodeKind.ORG_INVITE, code=code, by=admin, now=now)
    target = await uow.organizations.get(invite.organization_id)
    if target is None:
        raise NotFound(f"The organization that invited you no longer exists. {_UNCHANGED}")
    if target.id == current.id:
        raise InvalidState(f"This workspace is already part of {target.name}. {_UNCHANGED}")
    projects = await uow.projects.find(organization_id=current.id, order_by="key")
    if projects:
        keys = ", ".join(f"#{p.key}" for p in projects[:5])
        raise Conflict(
            f"{current.name} already has projects ({keys}), so its workspaces cannot join "
            f"{target.name}: only an organization without projects can. {_UNCHANGED}"
        )
    moved, matched = await _move_people(uow, source=current, target=target)
    for row in await uow.workspaces.find(organization_id=current.id):
        row.organization_id = target.id
        await uow.workspaces.save(row)
    for delegation in await uow.delegations.find(organization_id=current.id):
        delegation.organization_id = target.id
        await uow.delegations.save(delegation)
    for message in await uow.outbox.find(organization_id=current.id):
        message.organization_id = target.id
        await uow.outbox.save(message)
    for event in await uow.audit.find(organization_id=current.id):
        event.organization_id = target.id
        await uow.audit.save(event)
    for link in await uow.codes.find(organization_id=current.id):
        if link.used_at is None:
            await uow.codes.delete(link.id)
        else:  # the record of who joined or linked when stays with the people it names
            link.organization_id = target.id
            await uow.codes.save(link)
    await uow.organizations.delete(current.id)
    await record(
        uow,
        organization_id=target.id,
        actor_id=moved.get(admin.id, admin.id),
        action="org.joined",
        subject=f"workspace:{workspace.id}",
        detail=f"from organization {current.id} ({current.name}); {len(moved)} people",
        at=now,
        platform=workspace.platform.value,
    )
    return Joined(organization=target, previous=current.name, people=len(moved), matched=matched)


async def _move_people(
    uow: UnitOfWork, *, source: Organization, target: Organization
) -> tuple[dict[int, int], int]:
    """Every person of ``source`` into ``target``: merged into the person with the same email
    there, else moved (with a handle that is free there). Returns old id → new id, and how
    many were merged."""
    moved: dict[int, int] = {}
    matched = 0
    for person in await uow.people.find(organization_id=source.id, order_by="id"):
        same = (
            await uow.people.first(organization_id=target.id, email=person.email)
            if person.email
            else None
        )
        if same is not None:
            await _merge(uow, source=person, into=same)
            matched += 1
            moved[person.id] = same.id
            continue
        person.organization_id = target.id
        person.handle = await unique_handle(uow, organization_id=target.id, wanted=person.handle)
        await uow.people.save(person)
        moved[person.id] = person.id
    for delegation in await uow.delegations.find(organization_id=source.id):
        delegation.delegator_id = moved.get(delegation.delegator_id, delegation.delegator_id)
        delegation.delegate_id = moved.get(delegation.delegate_id, delegation.delegate_id)
        await uow.delegations.save(delegation)
    return moved, matched


_SAME_HUMAN: tuple[tuple[str, str], ...] = (
    ("identities", "person_id"),
    ("codes", "created_by_id"),
    ("codes", "used_by_id"),
    ("audit", "actor_id"),
    ("outbox", "person_id"),
)
"""What names a merged person and follows them into the person they merge into: their chat
identities, the codes they made or used, what the audit trail says they did, the messages on
their way to them. (The schema's foreign keys refuse removing a person anything still names.)"""


async def _merge(uow: UnitOfWork, *, source: Person, into: Person) -> None:
    """``source``'s identities (and :data:`_SAME_HUMAN`) become ``into``'s, and ``source`` (who
    owns nothing else: see :func:`_owns_work`) is removed with its digest settings and
    feedback."""
    for name, field in _SAME_HUMAN:
        repository: Repository[Any] = getattr(uow, name)
        where: dict[str, object] = {field: source.id}
        for row in await repository.find(order_by=None, limit=None, **where):
            setattr(row, field, into.id)
            await repository.save(row)
    for preference in await uow.preferences.find(person_id=source.id):
        await uow.preferences.delete(preference.id)
    for feedback in await uow.feedback.find(person_id=source.id):
        await uow.feedback.delete(feedback.id)
    await uow.people.delete(source.id)


# --- an installation made with a partner's invitation ---------------------------------------


async def inviting(uow: UnitOfWork, *, code: str, now: datetime) -> Organization | None:
    """The organization an invitation code would join, while it can still be used (what the
    install page tells the installer before they install)."""
    try:
        # the refusal is not shown (the page only says whether it would join), so any zone
        row = await usable(uow, kind=CodeKind.ORG_INVITE, code=code, now=now, tz="UTC")
    except (NotFound, InvalidState):
        return None
    return await uow.organizations.get(row.organization_id)


async def install(
    uow: UnitOfWork,
    *,
    platform: Platform,
    external_id: str,
    name: str,
    installer_id: str,
    installer: Profile,
    code: str,
    now: datetime,
) -> Installation:
    """An installation (Slack OAuth), made with the partner invitation ``code`` when it is not
    "": a new workspace joins the inviting organization (its installer matched by email there,
    else a new person, not an admin of it), the code is used up, and both the installer and the
    inviting admins are told. With no code, or a code that cannot be used (unknown, used,
    expired), the installation founds its own organization as any other, and the installer's
    greeting says why it did not join. A reinstall changes nothing."""
    existing = await uow.workspaces.first(platform=platform, external_id=external_id)
    target = None
    refused = ""
    if code and existing is None:
        try:
            invite = await usable(
                uow, kind=CodeKind.ORG_INVITE, code=code, now=now, tz=installer.timezone
            )
        except (NotFound, InvalidState) as error:
            refused = error.message.replace(f" {_UNCHANGED}", "")
        else:  # claimed before anything is made, so a code used meanwhile founds an org instead
            if await uow.codes.set_if(invite.id, "used_at", now, expected=None):
                target = await uow.organizations.get(invite.organization_id)
            else:
                refused = f"That {_WHAT[CodeKind.ORG_INVITE]} was already used."
    if target is None:
        return await install_workspace(
            uow,
            platform=platform,
            external_id=external_id,
            name=name,
            installer_id=installer_id,
            installer=installer,
            now=now,
            not_joined=refused,
        )
    workspace, person = await seat_installer(
        uow,
        platform=platform,
        external_id=external_id,
        name=name,
        organization_id=target.id,
        installer_id=installer_id,
        installer=installer,
        now=now,
    )
    invite.used_at, invite.used_by_id = now, person.id
    await uow.codes.save(invite)
    await record(
        uow,
        organization_id=target.id,
        actor_id=person.id,
        action="org.joined",
        subject=f"workspace:{workspace.id}",
        detail=f"installed in {platform.value} {external_id} with an invitation",
        at=now,
        platform=platform.value,
    )
    place = name or external_id
    await deliver(
        uow,
        Message(
            title=f"Welcome to Leaderbot, {person.name}",
            sections=(
                f"You installed Leaderbot in {place} with an invitation from {target.name}, so "
                f"{place} is now part of {target.name}: its people see {target.name}'s projects "
                "and it sees theirs.",
                f"An admin of {target.name} can make you an admin there (org admin add @you). "
                "org show lists the workspaces; type help for every command.",
            ),
            target=Target(person_id=person.id),
            key=f"welcome:{target.id}:workspace:{workspace.id}",
        ),
        organization_id=target.id,
        now=now,
    )
    await tell_admin(
        uow,
        organization_id=target.id,
        title=f"{place} joined {target.name}",
        sections=(
            f"{person.name} installed Leaderbot in {place} ({platform.value}) with your "
            f"invitation, so it is now part of {target.name}.",
        ),
        key=f"org:joined:{workspace.id}",
        now=now,
    )
    return Installation(workspace=workspace, admin=None)


# --- a person's identities -------------------------------------------------------------------


async def link_identity(uow: UnitOfWork, *, code: str, person: Person, now: datetime) -> Person:
    """``me link CODE``: the identities of ``person`` (the one typing, newly seen on another
    platform) join the person who asked for the code, in the same organization."""
    row = await redeem(uow, kind=CodeKind.ME_LINK, code=code, by=person, now=now)
    owner = await uow.people.get(row.created_by_id)
    if owner is None or owner.organization_id != person.organization_id:
        raise NotAllowed(
            "That link code belongs to another organization: a person links identities within "
            f"one organization only. {_UNCHANGED}"
        )
    if owner.id == person.id:
        raise InvalidState(
            f"This identity is already yours. Type the code on your other platform. {_UNCHANGED}"
        )
    if await _owns_work(uow, person):
        raise Conflict(
            f"This identity ({person.name}, @{person.handle}) already has roles or items; "
            f"hand them over first (handover @{person.handle} @{owner.handle}). {_UNCHANGED}"
        )
    await _merge(uow, source=person, into=owner)
    await record(
        uow,
        organization_id=owner.organization_id,
        actor_id=owner.id,
        action="identity.linked_by_code",
        subject=f"person:{owner.id}",
        detail=f"identities of person:{person.id}",
        at=now,
    )
    return owner


async def _owns_work(uow: UnitOfWork, person: Person) -> bool:
    """True when the person holds anything a merge would have to move: a role, a RACI letter,
    an ask, a blocker, an update or a delegation."""
    held: tuple[tuple[Repository[Any], str], ...] = (
        (uow.stakeholders, "person_id"),
        (uow.raci, "person_id"),
        (uow.asks, "requester_id"),
        (uow.asks, "assignee_id"),
        (uow.blockers, "reporter_id"),
        (uow.updates, "author_id"),
        (uow.delegations, "delegator_id"),
        (uow.delegations, "delegate_id"),
    )
    for repository, field in held:
        if await repository.count(**{field: person.id}):
            return True
    return False


# --- telling the admins ----------------------------------------------------------------------


async def tell_no_executive(
    uow: UnitOfWork, *, organization_id: int, blocker_id: int, project_key: str, now: datetime
) -> None:
    """A blocker is at the top of its ladder and the organization has no executive above it:
    the admins hear it once per organization (the key), not once per blocker or per day."""
    organization = await uow.organizations.get(organization_id)
    if organization is None or organization.escalation_contact_id is not None:
        return
    await tell_admin(
        uow,
        organization_id=organization.id,
        title=f"{organization.name} has no executive to escalate to",
        sections=(
            f"Blocker #{blocker_id} on #{project_key} reached the top of its escalation "
            "ladder, and there is nobody above it.",
            "Name the executive who should receive unresolved blockers: "
            "org executive @person. You will not be told again.",
        ),
        key=f"{NO_EXECUTIVE}:{organization.id}",
        now=now,
    )
