"""Loads what :mod:`bot.responsiveness` measures, for one organization (the imperative shell).

Escalations are read from the audit log (``blocker.escalated``, ``reminder.escalated``), whose
detail names the person reached as ``person:<id>``: the log is the one place that remembers
every rung a blocker climbed, even after it was resolved.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.model import Role
from bot.ports import UnitOfWork
from bot.responsiveness import WEEKS, Escalation, Responsiveness, of_leader, of_project
from bot.services.lookup import names_of

ESCALATED = ("blocker.escalated", "reminder.escalated")
_PERSON = re.compile(r"person:(\d+)")
_SUBJECT = re.compile(r"(ask|blocker):(\d+)")


@dataclass(frozen=True, kw_only=True)
class LeaderFigures:
    person_id: int
    name: str
    result: Responsiveness


@dataclass(frozen=True, kw_only=True)
class ProjectFigures:
    project_id: int
    key: str
    name: str
    result: Responsiveness


@dataclass(frozen=True, kw_only=True)
class Report:
    leaders: tuple[LeaderFigures, ...]
    projects: tuple[ProjectFigures, ...]


async def load_responsiveness(
    uow: UnitOfWork,
    *,
    organization_id: int,
    now: datetime,
    person_ids: Collection[int] | None = None,
    project_ids: Collection[int] | None = None,
) -> Report:
    """Every leader's and project's figures, or only the named ones (what a viewer may see).

    A leader is whoever had an ask to decide, held a blocker's rung, or sponsors a project.
    """
    asks = await uow.asks.find(organization_id=organization_id, order_by="created_at")
    blockers = await uow.blockers.find(organization_id=organization_id, order_by="created_at")
    projects = await uow.projects.find(organization_id=organization_id, order_by="key")
    if project_ids is not None:
        projects = [p for p in projects if p.id in project_ids]
    events = await uow.audit.find(
        organization_id=organization_id,
        action=list(ESCALATED),
        at__gte=now - timedelta(weeks=WEEKS + 1),
        order_by="at",
    )
    item_project = {f"ask:{a.id}": a.project_id for a in asks} | {
        f"blocker:{b.id}": b.project_id for b in blockers
    }
    escalations = []
    for event in events:
        reached, subject = _PERSON.search(event.detail), _SUBJECT.fullmatch(event.subject)
        if reached and subject and event.subject in item_project:
            escalations.append(
                Escalation(
                    at=event.at,
                    person_id=int(reached.group(1)),
                    project_id=item_project[event.subject],
                )
            )
    sponsors = await uow.stakeholders.find(project_id=[p.id for p in projects], role=Role.SPONSOR)
    leader_ids = {a.assignee_id for a in asks} | {s.person_id for s in sponsors}
    leader_ids |= {i for b in blockers for i in b.ladder[: b.level + 1]}
    if person_ids is not None:
        leader_ids &= set(person_ids)
    names = await names_of(uow, leader_ids)
    leaders = [
        LeaderFigures(
            person_id=i,
            name=names[i],
            result=of_leader(i, asks=asks, blockers=blockers, escalations=escalations, now=now),
        )
        for i in leader_ids
        if i in names
    ]
    return Report(
        leaders=tuple(sorted(leaders, key=lambda leader: leader.name)),
        projects=tuple(
            ProjectFigures(
                project_id=p.id,
                key=p.key,
                name=p.name,
                result=of_project(
                    p.id, asks=asks, blockers=blockers, escalations=escalations, now=now
                ),
            )
            for p in projects
        ),
    )
