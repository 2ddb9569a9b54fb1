"""Who may do what: the one permission table (DESIGN §2, "one permission table in the core").

Read :data:`TABLE` as action × role: each row names the roles that may do the action and the
roles that never may, whatever else they are (a requester never decides their own ask, even as
its Accountable or an admin). A person's roles are relative to one project or item; the service
asks :func:`require` before it reads or changes anything else, so a refusal changes nothing and
says who may.

The organization's own set-up (``org invite|join|admin|executive|name``) has rows too, held
against the organization rather than a project (:func:`require_org`). Actions anyone in the
organization may do (raise an ask or a blocker, comment on an ask, post ``status``, create a
project, ``org show``, ``me …``) have no row: the tenancy boundary is their only check. The CLI
(``leaderbot org …``) is the operator at the database and is not asked: it is how the first
admin is named.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from bot.errors import NotAllowed, NotFound
from bot.model import Ask, Blocker, Letter, Organization, Person, Project, Role
from bot.ports import UnitOfWork
from bot.routing import DEFAULT_AREA, deciders

__all__ = [
    "TABLE",
    "Action",
    "Party",
    "Rule",
    "allows",
    "is_admin",
    "parties_of",
    "refusal",
    "require",
    "require_org",
]


class Party(StrEnum):
    """A role a person can hold with respect to one project or item."""

    DECIDER = "decider"
    """The ask's assignee (its Accountable, or the person it was asked of by name)."""
    DELEGATE = "active delegate"
    """An active delegate of the ask's decider (bot.routing.deciders)."""
    REQUESTER = "requester"
    REPORTER = "reporter"
    """Who raised the blocker."""
    RUNG_HOLDER = "current rung holder"
    """The owner of the blocker's current rung of the escalation ladder."""
    LEAD = "lead"
    RESPONSIBLE = "R for *"
    """Holds the project's default-area R in its RACI."""
    SPONSOR = "sponsor"
    ADMIN = "admin"
    """An administrator of the project's (or the caller's) organization (:func:`is_admin`)."""
    NAMED = "named on it"
    """Consulted on the ask, or on any rung of the blocker's ladder (past, present or next)."""
    MEMBER = "anyone in the organization"
    INVOLVED = "part of the project"
    """Has a role, a RACI letter, an ask or a blocker on the project: whom its dashboard page
    opens for (``bot.services.lookup.projects_involving``), so its item pages open for them too.
    Only the dashboard works it out; no chat command needs it."""


class Action(StrEnum):
    """What the table guards; the value completes "Only … can <value>." """

    DECIDE_ASK = "decide ask #{ask}"
    ANSWER_ASK = "answer the question on ask #{ask}"
    WITHDRAW_ASK = "withdraw ask #{ask}"
    POST_UPDATE = "post its weekly update"
    EDIT_CHARTER = "change its charter"
    SET_STATUS = "pause, resume or close it"
    SET_ROLES = "change its roles"
    SET_RACI = "change its RACI"
    EDIT_KPIS = "add or record its KPIs"
    LINK_CHANNEL = "set its home channel"
    HANDOVER = "hand over its roles"
    ACK_BLOCKER = "acknowledge blocker #{blocker}"
    RESOLVE_BLOCKER = "resolve blocker #{blocker}"
    WITHDRAW_BLOCKER = "withdraw blocker #{blocker}"
    VIEW_ASK = "see ask #{ask}"
    VIEW_BLOCKER = "see blocker #{blocker}"
    ORG_INVITE = "invite a partner"
    ORG_JOIN = "move this workspace"
    ORG_ADMINS = "change the admins"
    ORG_EXECUTIVE = "name the executive"
    ORG_NAME = "rename the organization"


@dataclass(frozen=True, kw_only=True)
class Rule:
    """One row: who may, who never may, and how the refusal names who may."""

    allowed: frozenset[Party]
    never: frozenset[Party] = frozenset()
    who: str
    """Completes "Only <who> can …"; ``{decider}``, ``{requester}``, ``{reporter}``,
    ``{holder}`` and ``{project}`` are filled in from the item."""


def _rule(*allowed: Party, who: str, never: tuple[Party, ...] = ()) -> Rule:
    return Rule(allowed=frozenset(allowed), never=frozenset(never), who=who)


P = Party
_STEWARDS = _rule(P.LEAD, P.SPONSOR, P.ADMIN, who="the lead or sponsor of #{project}, or an admin,")
_BLOCKER_HANDLERS = _rule(
    P.RUNG_HOLDER,
    P.REPORTER,
    P.LEAD,
    P.SPONSOR,
    P.ADMIN,
    who="{holder} (whose rung it is), {reporter} (who raised it), the lead or sponsor of "
    "#{project}, or an admin,",
)
_ADMINS = _rule(P.ADMIN, who="an admin of {organization}{admins}")

TABLE: Mapping[Action, Rule] = {
    Action.DECIDE_ASK: _rule(
        P.DECIDER, P.DELEGATE, never=(P.REQUESTER,), who="{decider} or their active delegate"
    ),
    Action.ANSWER_ASK: _rule(P.REQUESTER, who="{requester}, who raised it,"),
    Action.WITHDRAW_ASK: _rule(P.REQUESTER, who="{requester}, who raised it,"),
    Action.POST_UPDATE: _rule(
        P.LEAD,
        P.RESPONSIBLE,
        P.SPONSOR,
        P.ADMIN,
        who="the lead, the R for * or the sponsor of #{project}, or an admin,",
    ),
    Action.EDIT_CHARTER: _STEWARDS,
    Action.SET_STATUS: _STEWARDS,
    Action.SET_ROLES: _STEWARDS,
    Action.SET_RACI: _STEWARDS,
    Action.EDIT_KPIS: _STEWARDS,
    Action.LINK_CHANNEL: _STEWARDS,
    Action.HANDOVER: _STEWARDS,
    Action.ACK_BLOCKER: _BLOCKER_HANDLERS,
    Action.RESOLVE_BLOCKER: _BLOCKER_HANDLERS,
    Action.WITHDRAW_BLOCKER: _rule(P.REPORTER, who="{reporter}, who raised it,"),
    # The dashboard's item pages: the people on the item and whoever may open its project's page.
    Action.VIEW_ASK: _rule(
        P.REQUESTER,
        P.DECIDER,
        P.DELEGATE,
        P.NAMED,
        P.INVOLVED,
        P.LEAD,
        P.RESPONSIBLE,
        P.SPONSOR,
        P.ADMIN,
        who="the people on it, anyone on #{project}, or an admin,",
    ),
    Action.VIEW_BLOCKER: _rule(
        P.REPORTER,
        P.RUNG_HOLDER,
        P.NAMED,
        P.INVOLVED,
        P.LEAD,
        P.RESPONSIBLE,
        P.SPONSOR,
        P.ADMIN,
        who="the people on it, anyone on #{project}, or an admin,",
    ),
    Action.ORG_INVITE: _ADMINS,
    Action.ORG_JOIN: _ADMINS,
    Action.ORG_ADMINS: _ADMINS,
    Action.ORG_EXECUTIVE: _ADMINS,
    Action.ORG_NAME: _ADMINS,
}
"""Action × role. Everything a service refuses for want of a role is decided here."""


def allows(action: Action, parties: frozenset[Party]) -> bool:
    """True when someone holding ``parties`` may do ``action`` (pure: the table alone)."""
    rule = TABLE[action]
    return not (parties & rule.never) and bool(parties & rule.allowed)


def is_admin(organization: Organization | None, person: Person) -> bool:
    """Whether ``person`` administers ``organization`` (the one place that knows how)."""
    return organization is not None and person.id in organization.admin_ids


async def parties_of(
    uow: UnitOfWork,
    *,
    person: Person,
    project: Project,
    ask: Ask | None = None,
    blocker: Blocker | None = None,
    today: date,
) -> frozenset[Party]:
    """The roles ``person`` holds on ``project`` and on the ask or blocker in it."""
    held = {Party.MEMBER} if person.organization_id == project.organization_id else set()
    if is_admin(await uow.organizations.get(project.organization_id), person):
        held.add(Party.ADMIN)
    roles = {
        s.role for s in await uow.stakeholders.find(project_id=project.id, person_id=person.id)
    }
    held |= {party for role, party in _ROLE_PARTIES.items() if role in roles}
    if await uow.raci.first(
        project_id=project.id, area=DEFAULT_AREA, person_id=person.id, letter=Letter.R
    ):
        held.add(Party.RESPONSIBLE)
    if ask is not None:
        if ask.requester_id == person.id:
            held.add(Party.REQUESTER)
        if ask.assignee_id == person.id:
            held.add(Party.DECIDER)
        else:
            delegations = await uow.delegations.find(delegator_id=ask.assignee_id)
            if person.id in deciders(
                assignee_id=ask.assignee_id, delegations=delegations, today=today
            ):
                held.add(Party.DELEGATE)
        if person.id in ask.consulted_ids:
            held.add(Party.NAMED)
    if blocker is not None:
        if blocker.reporter_id == person.id:
            held.add(Party.REPORTER)
        if blocker.ladder and blocker.ladder[blocker.level] == person.id:
            held.add(Party.RUNG_HOLDER)
        if person.id in blocker.ladder:
            held.add(Party.NAMED)
    return frozenset(held)


_ROLE_PARTIES = {Role.LEAD: Party.LEAD, Role.SPONSOR: Party.SPONSOR}


async def require(
    uow: UnitOfWork,
    action: Action,
    *,
    person: Person,
    project: Project,
    ask: Ask | None = None,
    blocker: Blocker | None = None,
    today: date,
) -> None:
    """Raise :func:`refusal` unless ``person`` may do ``action``.

    Raises:
        NotAllowed: the sentence says who may, and that nothing was changed.
    """
    held = await parties_of(
        uow, person=person, project=project, ask=ask, blocker=blocker, today=today
    )
    if allows(action, held):
        return
    ids = _item_people(ask, blocker)
    names = {p.id: p.name for p in await uow.people.find(id=ids)} if ids else {}
    raise refusal(action, held=held, project=project, ask=ask, blocker=blocker, names=names)


async def require_org(uow: UnitOfWork, action: Action, *, person: Person) -> Organization:
    """``person``'s organization, if they may do the set-up ``action`` on it; else the refusal,
    which names its admins (or says it has none and how to name one).

    Raises:
        NotFound: the person's organization is gone.
        NotAllowed: the sentence says who may, and that nothing was changed.
    """
    organization = await uow.organizations.get(person.organization_id)
    if organization is None:
        raise NotFound("I don't know your organization. Nothing was changed.")
    held = frozenset({Party.MEMBER, *([Party.ADMIN] if is_admin(organization, person) else [])})
    if allows(action, held):
        return organization
    admins = organization.admin_ids
    names = {p.id: p.name for p in await uow.people.find(id=list(admins))} if admins else {}
    raise refusal(action, held=held, organization=organization, names=names)


def _item_people(ask: Ask | None, blocker: Blocker | None) -> list[int]:
    if ask is not None:
        return sorted({ask.assignee_id, ask.requester_id})
    if blocker is not None:
        return sorted({blocker.reporter_id, *blocker.ladder[blocker.level : blocker.level + 1]})
    return []


def refusal(
    action: Action,
    *,
    held: frozenset[Party],
    project: Project | None = None,
    organization: Organization | None = None,
    ask: Ask | None = None,
    blocker: Blocker | None = None,
    names: Mapping[int, str],
) -> NotAllowed:
    """The refusal a user sees: who may, and "Nothing was changed." (pure). ``names``: person
    id → name of the item's people, or of the organization's admins."""
    rule = TABLE[action]
    if organization is not None and not organization.admin_ids:
        return NotAllowed(
            f"Only an admin of {organization.name} can {action.value}, and it has none yet: the "
            "operator names one with `leaderbot org admin add @handle`. Nothing was changed."
        )
    admins = [names[i] for i in organization.admin_ids if i in names] if organization else []
    fill: dict[str, object] = {
        "project": project.key if project else "",
        "organization": organization.name if organization else "",
        "admins": f" ({', '.join(admins)})" if admins else "",
        "ask": ask.id if ask else "",
        "blocker": blocker.id if blocker else "",
        "decider": names.get(ask.assignee_id, "its decider") if ask else "",
        "requester": names.get(ask.requester_id, "the person") if ask else "",
        "reporter": names.get(blocker.reporter_id, "the person") if blocker else "",
        "holder": names.get(blocker.ladder[blocker.level], "its rung holder")
        if blocker and blocker.ladder
        else "",
    }
    if held & rule.never and action is Action.DECIDE_ASK and ask is not None:
        return NotAllowed(
            f"You raised ask #{ask.id}, and nobody decides their own ask: "
            f"{rule.who.format(**fill)} decides it. Nothing was changed."
        )
    return NotAllowed(
        f"Only {rule.who.format(**fill)} can {action.value.format(**fill)}. Nothing was changed."
    )
