"""Everything the project page shows, for one project (issue 12 §1: charter, stakeholder map,
RACI grid, asks, blockers with their ladder, the decision log, KPI run charts).

One loader feeds the page and ``/api/v1/projects/{key}``. The grid and the ladders are built by
pure functions of loaded rows, so they are tested without a database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from adapters.web.kpis import KpiRow, load_kpis
from adapters.web.rows import AskRow, DecisionRow, load_asks, load_decisions
from bot.model import Blocker, BlockerState, RaciEntry, Role
from bot.ports import UnitOfWork
from bot.routing import LadderRoles, ladder_roles, rung_label
from bot.services.lookup import names_of

ROLE_ORDER = (
    Role.SPONSOR,
    Role.CHAMPION,
    Role.INFLUENCER,
    Role.RESISTOR,
    Role.LEAD,
    Role.MEMBER,
)
"""The stakeholder map's groups, in the order a facilitator reads them."""

DEFAULT_AREA = "*"


@dataclass(frozen=True, kw_only=True)
class StakeholderRow:
    person_id: int
    name: str
    note: str


@dataclass(frozen=True, kw_only=True)
class RoleGroup:
    role: str
    people: list[StakeholderRow]


@dataclass(frozen=True, kw_only=True)
class RaciRow:
    area: str
    """``*`` is the default area: who decides anything no other row names."""
    letters: list[str]
    """One per column of :attr:`RaciGrid.people`; ``""`` where the person has no letter."""


@dataclass(frozen=True, kw_only=True)
class RaciGrid:
    """The RACI matrix as a grid: one row per area, one column per person."""

    people: list[str]
    """Column heads: everyone with a letter on the project, by name."""
    rows: list[RaciRow]


@dataclass(frozen=True, kw_only=True)
class Rung:
    name: str
    role: str
    """``Accountable``, ``sponsor``, ``executive``, ``Accountable and sponsor``…"""
    state: str
    """``passed`` (escalated beyond), ``current`` (holds it now), ``closed`` (held it when the
    blocker was resolved or withdrawn) or ``ahead``."""


@dataclass(frozen=True, kw_only=True)
class LadderRow:
    id: int
    text: str
    area: str
    severity: str
    state: str
    ladder: list[Rung]
    next_escalation_at: datetime | None
    created_at: datetime
    age_days: int


@dataclass(frozen=True, kw_only=True)
class ProjectDetail:
    id: int
    key: str
    name: str
    status: str
    aim: str
    scope: str
    measures: str
    priority: str
    rag: str
    """Of the latest update; "" before the first."""
    period: str
    progress: str
    next_steps: str
    stakeholders: list[RoleGroup]
    raci: RaciGrid
    asks: list[AskRow]
    blockers: list[LadderRow]
    decisions: list[DecisionRow]
    kpis: list[KpiRow]


def raci_grid(entries: Sequence[RaciEntry], names: Mapping[int, str]) -> RaciGrid:
    """Areas alphabetically with the default ``*`` last; people by name."""
    people = sorted({e.person_id for e in entries}, key=lambda i: (names.get(i, "?"), i))
    areas = sorted({e.area for e in entries}, key=lambda a: (a == DEFAULT_AREA, a))
    letter = {(e.area, e.person_id): str(e.letter) for e in entries}
    return RaciGrid(
        people=[names.get(i, "?") for i in people],
        rows=[
            RaciRow(area=area, letters=[letter.get((area, i), "") for i in people])
            for area in areas
        ],
    )


def ladder(blocker: Blocker, names: Mapping[int, str], roles: LadderRoles) -> list[Rung]:
    """Each rung of a blocker's ladder, named by its holder's roles on it, and where the
    blocker stands on it."""
    closed = blocker.state in (BlockerState.RESOLVED, BlockerState.WITHDRAWN)

    def state(level: int) -> str:
        if level < blocker.level:
            return "passed"
        if level > blocker.level:
            return "ahead"
        return "closed" if closed else "current"

    return [
        Rung(name=names.get(pid, "?"), role=rung_label(pid, roles), state=state(level))
        for level, pid in enumerate(blocker.ladder)
    ]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


async def load_project(
    uow: UnitOfWork, *, organization_id: int, key: str, now: datetime
) -> ProjectDetail | None:
    """The project with this key in this organization, or None."""
    project = await uow.projects.first(organization_id=organization_id, key=key.upper())
    if project is None:
        return None
    latest = await uow.updates.first(project_id=project.id, order_by="-created_at")
    organization = await uow.organizations.get(organization_id)
    executive = organization.escalation_contact_id if organization else None
    stakeholders = await uow.stakeholders.find(project_id=project.id, order_by="id")
    entries = await uow.raci.find(project_id=project.id, order_by="id")
    blockers = await uow.blockers.find(
        organization_id=organization_id, project_id=project.id, order_by="-created_at"
    )
    names = await names_of(
        uow,
        [s.person_id for s in stakeholders]
        + [e.person_id for e in entries]
        + [i for b in blockers for i in b.ladder],
    )
    groups = [
        RoleGroup(
            role=str(role),
            people=sorted(
                (
                    StakeholderRow(
                        person_id=s.person_id, name=names.get(s.person_id, "?"), note=s.note
                    )
                    for s in stakeholders
                    if s.role is role
                ),
                key=lambda row: row.name,
            ),
        )
        for role in ROLE_ORDER
    ]
    asks = await load_asks(uow, organization_id=organization_id, now=now, states=None)
    decisions = await load_decisions(uow, organization_id=organization_id, limit=None)
    return ProjectDetail(
        id=project.id,
        key=project.key,
        name=project.name,
        status=str(project.status),
        aim=project.aim,
        scope=project.scope,
        measures=project.measures,
        priority=project.priority,
        rag=str(latest.rag) if latest else "",
        period=latest.period if latest else "",
        progress=latest.progress if latest else "",
        next_steps=latest.next_steps if latest else "",
        stakeholders=groups,
        raci=raci_grid(entries, names),
        asks=[a for a in reversed(asks) if a.project == project.key],
        blockers=[
            LadderRow(
                id=b.id,
                text=b.text,
                area=b.area,
                severity=str(b.severity),
                state=str(b.state),
                ladder=ladder(
                    b,
                    names,
                    ladder_roles(
                        area=b.area,
                        raci=entries,
                        stakeholders=stakeholders,
                        executive_id=executive,
                    ),
                ),
                next_escalation_at=_aware(b.next_escalation_at) if b.next_escalation_at else None,
                created_at=_aware(b.created_at),
                age_days=max(0, (now - _aware(b.created_at)).days),
            )
            for b in blockers
        ],
        decisions=[d for d in decisions if d.project == project.key],
        kpis=await load_kpis(uow, organization_id=organization_id, project_ids={project.id}),
    )
