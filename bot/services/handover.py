"""Leadership handover: continuity when a leader moves on (DESIGN §1 "continuity through
leadership transitions"). Roles, RACI letters and open items move to the successor in one
transaction, and the successor gets a briefing so nothing has to be re-explained."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.calendar import local_date
from bot.errors import InvalidState, NotAllowed, NotFound, UsageError
from bot.messages import Fact, Message, Target
from bot.model import AskState, Person, Project
from bot.permissions import Action, is_admin, require
from bot.ports import UnitOfWork
from bot.services import asks as ask_service
from bot.services import blockers as blocker_service
from bot.services.audit import record
from bot.services.blockers import LIVE
from bot.services.delivery import deliver
from bot.services.kpis import describe as describe_kpi
from bot.services.lookup import names_of


@dataclass(frozen=True, kw_only=True)
class HandoverSummary:
    projects: tuple[str, ...]
    roles: int
    letters: int
    asks: int
    blockers: int


async def handover(
    uow: UnitOfWork,
    *,
    predecessor: Person,
    successor: Person,
    project: Project | None,
    actor: Person,
    now: datetime,
    link_base: str,
) -> HandoverSummary:
    """Move ``predecessor``'s roles, RACI letters, open asks and ladder rungs to ``successor``
    (on one project or all of theirs) and DM the successor a briefing.

    Who may is checked first, on every project concerned, so a refusal says the same whether
    or not anything would move; with nothing to move there is no change and no briefing."""
    projects = [project] if project else await _projects_of(uow, predecessor)
    for each in projects:
        await require(uow, Action.HANDOVER, person=actor, project=each, today=now.date())
    if not projects and not is_admin(await uow.organizations.get(actor.organization_id), actor):
        raise NotAllowed(
            f"{predecessor.name} has no roles on any project, so only an admin can hand over "
            "for them. Nothing was changed."
        )
    if predecessor.id == successor.id:
        raise UsageError("Hand over to someone else.", hint="handover @from @to [#PROJECT]")
    if not projects:
        raise _nothing(predecessor, project)
    ids = [p.id for p in projects]
    # Every move is guarded on the row still naming the predecessor (or, for asks and
    # blockers, on the state this unit read): of two concurrent handovers (a double submit)
    # the second finds everything moved and is refused before it writes its audit events.
    tried = roles = letters = moved_asks = moved_blockers = 0
    still_theirs = {"person_id": predecessor.id}
    for stakeholder in await uow.stakeholders.find(project_id=ids, person_id=predecessor.id):
        tried += 1
        taken = await uow.stakeholders.first(
            project_id=stakeholder.project_id, person_id=successor.id, role=stakeholder.role
        )
        stakeholder.person_id = successor.id
        if not await uow.stakeholders.save_if(stakeholder, expected=still_theirs):
            continue
        if taken:
            await uow.stakeholders.delete(stakeholder.id)
        roles += 1
    for entry in await uow.raci.find(project_id=ids, person_id=predecessor.id):
        tried += 1
        clashes = await uow.raci.find(
            project_id=entry.project_id, area=entry.area, person_id=successor.id
        )
        for clash in clashes:
            await uow.raci.delete(clash.id)
        entry.person_id = successor.id
        if not await uow.raci.save_if(entry, expected=still_theirs):
            continue
        letters += 1
    for ask in await uow.asks.find(
        project_id=ids, assignee_id=predecessor.id, state=list(ask_service.DECIDABLE)
    ):
        tried += 1
        guard = ask_service.seen(ask)
        ask.assignee_id, ask.updated_at = successor.id, now
        moved_asks += await uow.asks.save_if(ask, expected=guard)
    for blocker in await uow.blockers.find(project_id=ids, state=list(LIVE)):
        if predecessor.id in blocker.ladder:
            tried += 1
            guard = blocker_service.seen(blocker)
            ladder: list[int] = []
            for pid in blocker.ladder:
                pid = successor.id if pid == predecessor.id else pid
                if pid not in ladder:
                    ladder.append(pid)
            blocker.ladder = ladder
            blocker.level = min(blocker.level, len(ladder) - 1)
            blocker.updated_at = now
            moved_blockers += await uow.blockers.save_if(blocker, expected=guard)
    if tried and not roles + letters + moved_asks + moved_blockers:
        raise InvalidState(
            f"{predecessor.name}'s roles were already handed over meanwhile. Nothing was changed."
        )
    if not (roles or letters or moved_asks or moved_blockers):
        raise _nothing(predecessor, project)
    for each in projects:
        await record(
            uow,
            organization_id=each.organization_id,
            actor_id=actor.id,
            action="handover",
            subject=f"project:{each.id}",
            detail=f"person:{predecessor.id} -> person:{successor.id}",
            at=now,
        )
    await deliver(
        uow,
        await briefing(uow, projects=projects, successor=successor, predecessor=predecessor),
        organization_id=successor.organization_id,
        now=now,
    )
    return HandoverSummary(
        projects=tuple(p.key for p in projects),
        roles=roles,
        letters=letters,
        asks=moved_asks,
        blockers=moved_blockers,
    )


def _nothing(predecessor: Person, project: Project | None) -> NotFound:
    on = f" on #{project.key}" if project else ""
    return NotFound(
        f"Nothing to hand over: {predecessor.name} has no roles, RACI letters, open asks or "
        f"blocker rungs{on}. Nothing was changed."
    )


async def _projects_of(uow: UnitOfWork, person: Person) -> list[Project]:
    ids = {s.project_id for s in await uow.stakeholders.find(person_id=person.id)}
    ids |= {e.project_id for e in await uow.raci.find(person_id=person.id)}
    return await uow.projects.find(id=sorted(ids), order_by="key") if ids else []


async def briefing(
    uow: UnitOfWork, *, projects: list[Project], successor: Person, predecessor: Person
) -> Message:
    """What the successor needs on day one: charter, open asks, blockers, decisions, KPIs."""
    ids = [p.id for p in projects]
    open_asks = await uow.asks.find(
        project_id=ids, state=[AskState.OPEN, AskState.INFO_REQUESTED], order_by="id"
    )
    blockers = await uow.blockers.find(project_id=ids, state=list(LIVE), order_by="id")
    decisions = await uow.decisions.find(project_id=ids, order_by="-decided_at", limit=20)
    measures = await uow.measures.find(project_id=ids, order_by="id")
    observations = await uow.observations.find(
        measure_id=[m.id for m in measures], order_by="observed_on"
    )
    latest = {o.measure_id: o for o in observations}
    names = await names_of(uow, [a.requester_id for a in open_asks])
    sections = []
    for project in projects:
        lines = [f"#{project.key} — {project.name}"]
        if project.aim:
            lines.append(f"Aim: {project.aim}")
        lines += [
            f"Ask #{a.id} from {names.get(a.requester_id, '?')}: {a.text}"
            for a in open_asks
            if a.project_id == project.id
        ]
        lines += [
            f"Blocker #{b.id} ({b.severity.value}): {b.text}"
            for b in blockers
            if b.project_id == project.id
        ]
        lines += [
            f"Decided {local_date(d.decided_at, successor.timezone):%d %b}: {d.outcome}"
            for d in decisions
            if d.project_id == project.id
        ][:3]
        lines += [
            "KPI " + describe_kpi(m, latest.get(m.id))
            for m in measures
            if m.project_id == project.id
        ]
        sections.append("\n".join(lines))
    return Message(
        title=f"Handover briefing: you take over from {predecessor.name}",
        sections=tuple(sections),
        facts=(Fact(label="Projects", value=", ".join("#" + p.key for p in projects)),),
        target=Target(person_id=successor.id),
        key=f"handover:{predecessor.id}:{successor.id}:{'-'.join(str(i) for i in ids)}",
    )
