"""Blockers and their escalation ladder: Accountable(area) → sponsor → executive.

Each rung has an SLA by severity in business days of the rung owner's timezone (bot.calendar).
Acknowledging stops the current rung's clock and gives its owner one fresh SLA window to resolve;
no resolution by then climbs a rung. Everything about a blocker is a reply in one thread, anchored
by the root post in the project channel (thread key ``blocker:{id}``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.attention import ITEM, URGENT, snooze_menu
from bot.buttons import blocker_buttons
from bot.calendar import as_read_by, sla_deadline
from bot.errors import InvalidState, NotFound, RoutingError
from bot.messages import Fact, Message, Target
from bot.model import Blocker, BlockerState, Decision, Person, Project, Severity
from bot.permissions import Action, require
from bot.ports import UnitOfWork
from bot.routing import LadderRoles, ladder_roles, rung_label
from bot.services import org
from bot.services.audit import record
from bot.services.delivery import deliver
from bot.services.lookup import names_of
from bot.services.raci import DEFAULT_AREA, load_matrix

LIVE = (BlockerState.OPEN, BlockerState.ACKNOWLEDGED)


@dataclass(frozen=True, kw_only=True)
class Raised:
    blocker: Blocker
    ladder_names: tuple[str, ...]
    first_owner: Person


def seen(blocker: Blocker) -> Mapping[str, object]:
    """The guard of every change of a blocker (``Repository.save_if``): its state, rung and
    last change as this unit read them. Every transition moves ``updated_at``, so of two
    concurrent ones (an ack and a resolve, a resolve and the tick's escalation, a handover)
    the second finds the row changed and writes nothing."""
    return {"state": blocker.state, "level": blocker.level, "updated_at": blocker.updated_at}


async def _late(uow: UnitOfWork, blocker_id: int) -> None:
    """A guarded change lost to a concurrent one: refuse with the blocker's state now (the unit
    of work then rolls back, so the loser leaves nothing behind)."""
    blocker = await uow.blockers.get(blocker_id)
    assert blocker is not None
    if blocker.state in LIVE:
        raise InvalidState(
            f"Blocker #{blocker.id} changed meanwhile (it is {blocker.state.value}, with "
            f"rung {blocker.level + 1} of its ladder). Nothing was changed."
        )
    raise InvalidState(f"Blocker #{blocker.id} is already {blocker.state.value}. {_NOTHING}")


_NOTHING = "Nothing was changed."


def thread_key(blocker_id: int) -> str:
    return f"blocker:{blocker_id}"


def describe_deadline(blocker: Blocker, owner: Person) -> str:
    """When the blocker climbs, in the rung owner's time."""
    if blocker.next_escalation_at is None:
        return "no deadline (top of the ladder)"
    return as_read_by(blocker.next_escalation_at, owner)


async def raise_blocker(
    uow: UnitOfWork,
    *,
    project: Project,
    reporter: Person,
    text: str,
    area: str | None,
    severity: Severity | None,
    now: datetime,
    link_base: str,
    platform: str = "",
) -> Raised:
    """Create a blocker with its ladder and first deadline; post the thread root in the project
    channel and DM the first rung owner."""
    if project.status.value != "active":
        raise InvalidState(f"#{project.key} is {project.status.value}; it takes no new blockers.")
    matrix = await load_matrix(uow, project)
    organization = await uow.organizations.get(project.organization_id)
    area = (area or DEFAULT_AREA).lower()
    roles = ladder_roles(
        area=area,
        raci=matrix.raci,
        stakeholders=matrix.stakeholders,
        executive_id=organization.escalation_contact_id if organization else None,
    )
    rungs = roles.rungs()
    if not rungs:
        raise RoutingError(
            f"#{project.key} has no Accountable, sponsor or executive to escalate to.",
            hint=f"Ask an admin: role @person sponsor #{project.key}",
        )
    owner = await uow.people.get(rungs[0])
    assert owner is not None
    severity = severity or Severity.MEDIUM
    blocker = await uow.blockers.add(
        Blocker(
            organization_id=project.organization_id,
            project_id=project.id,
            reporter_id=reporter.id,
            area=area,
            severity=severity,
            text=text,
            ladder=rungs,
            next_escalation_at=sla_deadline(now, severity, owner.timezone),
            created_at=now,
            updated_at=now,
        )
    )
    await record(
        uow,
        organization_id=project.organization_id,
        actor_id=reporter.id,
        action="blocker.raised",
        subject=f"blocker:{blocker.id}",
        detail=f"{severity.value}; ladder {rungs}",
        at=now,
        platform=platform,
    )
    names = await names_of(uow, [*rungs, reporter.id])
    ladder_names = tuple(f"{names.get(pid, '?')} ({rung_label(pid, roles)})" for pid in rungs)
    await deliver(
        uow,
        Message(
            title=f"Blocker #{blocker.id} · #{project.key} · {severity.value}",
            sections=(text,),
            facts=(
                Fact(label="Raised by", value=reporter.name),
                Fact(label="Ladder", value=" → ".join(ladder_names)),
                Fact(label="With", value=names.get(rungs[0], "?")),
            ),
            target=Target(project_id=project.id),
            key=f"blocker:{blocker.id}:root",
            anchors_thread=thread_key(blocker.id),
            link=_link(link_base, blocker.id),
        ),
        organization_id=project.organization_id,
        now=now,
    )
    await _notify_owner(uow, blocker, project=project, now=now, link_base=link_base, note="")
    return Raised(blocker=blocker, ladder_names=ladder_names, first_owner=owner)


def _link(link_base: str, blocker_id: int) -> str:
    return f"{link_base}/dashboard#blocker-{blocker_id}"


def at_top(blocker: Blocker) -> bool:
    """The current rung is the last: no deadline climbs it any further, it only reminds."""
    return blocker.level + 1 >= len(blocker.ladder)


def _deadline_label(blocker: Blocker) -> str:
    return "Reminder if unresolved" if at_top(blocker) else "Climbs the ladder"


def rung_card(blocker: Blocker, *, project: Project, reporter: str, deadline: str) -> Message:
    """What a rung owner gets: the blocker, the deadline before it climbs, Acknowledge/Resolve."""
    return Message(
        title=f"Blocker #{blocker.id} · #{project.key} needs you ({blocker.severity.value})",
        sections=(blocker.text,),
        facts=(
            Fact(label="Raised by", value=reporter),
            Fact(label=_deadline_label(blocker), value=deadline),
        ),
        actions=blocker_buttons(blocker),
    )


async def _notify_owner(
    uow: UnitOfWork, blocker: Blocker, *, project: Project, now: datetime, link_base: str, note: str
) -> None:
    owner = await uow.people.get(blocker.ladder[blocker.level])
    reporter = await uow.people.get(blocker.reporter_id)
    if owner is None:
        return
    card = rung_card(
        blocker,
        project=project,
        reporter=reporter.name if reporter else "?",
        deadline=describe_deadline(blocker, owner),
    )
    sections = (*card.sections, note) if note else card.sections
    actions = card.actions
    if blocker.severity is not Severity.CRITICAL:
        actions = (*actions, snooze_menu(f"blocker:{blocker.id}"))
    await deliver(
        uow,
        Message(
            title=card.title,
            sections=sections,
            facts=card.facts,
            actions=actions,
            target=Target(person_id=owner.id),
            key=f"blocker:{blocker.id}:rung:{blocker.level}:{int(now.timestamp())}",
            links_thread=thread_key(blocker.id),
            link=_link(link_base, blocker.id),
            caused_by=blocker.reporter_id,
        ),
        organization_id=blocker.organization_id,
        now=now,
        category=URGENT if blocker.severity is Severity.CRITICAL else ITEM,
        # Retried until the next rung takes over (which has its own card).
        deadline=blocker.next_escalation_at,
    )


async def _thread_reply(
    uow: UnitOfWork, blocker: Blocker, *, text: str, kind: str, now: datetime
) -> None:
    await deliver(
        uow,
        Message(
            sections=(text,),
            target=Target(project_id=blocker.project_id),
            key=f"blocker:{blocker.id}:{kind}:{int(now.timestamp())}",
            thread_key=thread_key(blocker.id),
        ),
        organization_id=blocker.organization_id,
        now=now,
    )


async def get_blocker(uow: UnitOfWork, *, organization_id: int, blocker_id: int) -> Blocker:
    blocker = await uow.blockers.get(blocker_id)
    if blocker is None or blocker.organization_id != organization_id:
        raise NotFound(f"There is no blocker #{blocker_id}.", hint="`status` lists open blockers.")
    return blocker


async def _require(
    uow: UnitOfWork, action: Action, *, blocker: Blocker, actor: Person, now: datetime
) -> None:
    project = await uow.projects.get(blocker.project_id)
    assert project is not None
    await require(uow, action, person=actor, project=project, blocker=blocker, today=now.date())


async def acknowledge(
    uow: UnitOfWork, *, blocker_id: int, organization_id: int, actor: Person, now: datetime
) -> Blocker:
    """Someone who may resolve it has seen it (the same people may do both: the rung's holder,
    the reporter, the lead, the sponsor, an admin): the current rung's clock restarts as a
    resolution window in its holder's time."""
    blocker = await get_blocker(uow, organization_id=organization_id, blocker_id=blocker_id)
    await _require(uow, Action.ACK_BLOCKER, blocker=blocker, actor=actor, now=now)
    if blocker.state not in LIVE:
        raise InvalidState(f"Blocker #{blocker.id} is already {blocker.state.value}. {_NOTHING}")
    if blocker.state is BlockerState.ACKNOWLEDGED:
        raise InvalidState(f"Blocker #{blocker.id} is already acknowledged. {_NOTHING}")
    holder = await uow.people.get(blocker.ladder[blocker.level])
    assert holder is not None
    guard = seen(blocker)
    blocker.state = BlockerState.ACKNOWLEDGED
    blocker.acknowledged_at = blocker.updated_at = now
    blocker.next_escalation_at = sla_deadline(now, blocker.severity, holder.timezone)
    if not await uow.blockers.save_if(blocker, expected=guard):
        await _late(uow, blocker.id)
    await record(
        uow,
        organization_id=organization_id,
        actor_id=actor.id,
        action="blocker.acknowledged",
        subject=f"blocker:{blocker.id}",
        at=now,
    )
    await _thread_reply(
        uow,
        blocker,
        text=f"{actor.name} acknowledged this blocker. {_after_ack(blocker, holder)}",
        kind="ack",
        now=now,
    )
    return blocker


def _after_ack(blocker: Blocker, holder: Person) -> str:
    """What happens next, told truthfully: the top rung has nowhere to climb."""
    assert blocker.next_escalation_at is not None
    when = as_read_by(blocker.next_escalation_at, holder)
    if at_top(blocker):
        return (
            f"It is at the top of the ladder: {holder.name} is reminded if it is not "
            f"resolved by {when}."
        )
    return f"It climbs the ladder if not resolved by {when}."


_CLOSED_VERB = {BlockerState.RESOLVED: "resolved", BlockerState.WITHDRAWN: "withdrew"}


async def resolve(
    uow: UnitOfWork,
    *,
    blocker_id: int,
    organization_id: int,
    actor: Person,
    text: str,
    now: datetime,
    withdraw: bool = False,
) -> Blocker:
    """Close a blocker (resolving: whoever may acknowledge it; withdrawing: its reporter).

    Resolutions go in the decision log; a withdrawal does not.
    """
    blocker = await get_blocker(uow, organization_id=organization_id, blocker_id=blocker_id)
    action = Action.WITHDRAW_BLOCKER if withdraw else Action.RESOLVE_BLOCKER
    await _require(uow, action, blocker=blocker, actor=actor, now=now)
    if blocker.state not in LIVE:
        raise InvalidState(f"Blocker #{blocker.id} is already {blocker.state.value}. {_NOTHING}")
    guard = seen(blocker)
    blocker.state = BlockerState.WITHDRAWN if withdraw else BlockerState.RESOLVED
    blocker.resolved_at = blocker.updated_at = now
    blocker.next_escalation_at = None
    blocker.resolution = text.strip()
    if not await uow.blockers.save_if(blocker, expected=guard):
        await _late(uow, blocker.id)
    await record(
        uow,
        organization_id=organization_id,
        actor_id=actor.id,
        action=f"blocker.{blocker.state.value}",
        subject=f"blocker:{blocker.id}",
        detail=blocker.resolution,
        at=now,
    )
    if not withdraw:
        await uow.decisions.add(
            Decision(
                organization_id=organization_id,
                project_id=blocker.project_id,
                subject_kind="blocker",
                subject_id=blocker.id,
                outcome=f"resolved: {blocker.text[:200]}",
                rationale=blocker.resolution,
                decided_by_id=actor.id,
                decided_at=now,
            )
        )
    how = f": {blocker.resolution}" if blocker.resolution else "."
    await _thread_reply(
        uow,
        blocker,
        text=f"{actor.name} {_CLOSED_VERB[blocker.state]} this blocker{how}",
        kind=blocker.state.value,
        now=now,
    )
    if actor.id != blocker.reporter_id:
        await deliver(
            uow,
            Message(
                title=f"Your blocker #{blocker.id} was resolved by {actor.name}",
                sections=(blocker.text, *((blocker.resolution,) if blocker.resolution else ())),
                target=Target(person_id=blocker.reporter_id),
                key=f"blocker:{blocker.id}:told",
            ),
            organization_id=organization_id,
            now=now,
        )
    return blocker


async def climb(uow: UnitOfWork, *, blocker: Blocker, now: datetime, link_base: str) -> bool:
    """The rung's deadline passed unresolved: move to the next rung (or re-notify the top).
    False when the blocker changed meanwhile (acknowledged, resolved, climbed by another
    tick): nothing written."""
    if blocker.state not in LIVE:
        return False
    if at_top(blocker):
        return await renotify_top(uow, blocker=blocker, now=now, link_base=link_base)
    guard = seen(blocker)
    blocker.level += 1
    blocker.state = BlockerState.OPEN
    blocker.updated_at = now
    owner = await uow.people.get(blocker.ladder[blocker.level])
    assert owner is not None
    blocker.next_escalation_at = sla_deadline(now, blocker.severity, owner.timezone)
    if not await uow.blockers.save_if(blocker, expected=guard):
        return False
    await record(
        uow,
        organization_id=blocker.organization_id,
        actor_id=None,
        action="blocker.escalated",
        subject=f"blocker:{blocker.id}",
        detail=f"to level {blocker.level} (person:{owner.id})",
        at=now,
    )
    rung = rung_label(owner.id, await _roles(uow, blocker))
    await _thread_reply(
        uow,
        blocker,
        text=f"Not resolved in time: escalated to {owner.name} ({rung}). Next deadline "
        f"{as_read_by(blocker.next_escalation_at, owner)}.",
        kind=f"escalated{blocker.level}",
        now=now,
    )
    project = await uow.projects.get(blocker.project_id)
    assert project is not None
    await _notify_owner(
        uow,
        blocker,
        project=project,
        now=now,
        link_base=link_base,
        note=f"Escalated to you as {rung}: the previous rung did not resolve it in time.",
    )
    return True


async def _roles(uow: UnitOfWork, blocker: Blocker) -> LadderRoles:
    """The ladder's roles as the project's matrix holds them now, to name a rung."""
    project = await uow.projects.get(blocker.project_id)
    organization = await uow.organizations.get(blocker.organization_id)
    assert project is not None
    matrix = await load_matrix(uow, project)
    return ladder_roles(
        area=blocker.area,
        raci=matrix.raci,
        stakeholders=matrix.stakeholders,
        executive_id=organization.escalation_contact_id if organization else None,
    )


async def renotify_top(uow: UnitOfWork, *, blocker: Blocker, now: datetime, link_base: str) -> bool:
    """At the top rung the ladder cannot climb: remind its owner daily until it is resolved.
    False (nothing written) when the blocker changed meanwhile."""
    guard = seen(blocker)
    blocker.next_escalation_at = now + timedelta(days=1)
    blocker.updated_at = now
    if not await uow.blockers.save_if(blocker, expected=guard):
        return False
    project = await uow.projects.get(blocker.project_id)
    assert project is not None
    await _notify_owner(
        uow,
        blocker,
        project=project,
        now=now,
        link_base=link_base,
        note="Still unresolved; you are the top of the escalation ladder.",
    )
    await org.tell_no_executive(
        uow,
        organization_id=blocker.organization_id,
        blocker_id=blocker.id,
        project_key=project.key,
        now=now,
    )
    return True
