"""The organization's rows the web pages, the JSON API and the CSV export show (DESIGN §7).

Loaders read one organization's rows through a unit of work and flatten them into small row
records with names instead of ids; the pages, ``/api/v1/…`` and ``leaderbot export`` are three
renderings of the same rows, so they can never disagree. Everything is read-only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

from bot.messages import from_json
from bot.model import AskState, BlockerState, Organization, OutboxState, Project
from bot.ports import UnitOfWork
from bot.routing import signed
from bot.services.lookup import names_of
from bot.services.undelivered import undelivered

OPEN_ASK_STATES = (AskState.OPEN, AskState.INFO_REQUESTED)
OPEN_BLOCKER_STATES = (BlockerState.OPEN, BlockerState.ACKNOWLEDGED)


@dataclass(frozen=True, kw_only=True)
class ProjectRow:
    id: int
    key: str
    name: str
    status: str
    rag: str
    """Of the latest update; "" before the first one."""
    period: str
    """ISO week of the latest update."""


@dataclass(frozen=True, kw_only=True)
class AskRow:
    id: int
    project: str
    text: str
    state: str
    requester: str
    assignee: str
    needed_by: date | None
    created_at: datetime
    age_days: int


@dataclass(frozen=True, kw_only=True)
class BlockerRow:
    id: int
    project: str
    text: str
    severity: str
    state: str
    level: int
    owner: str
    """Who holds the current rung of the escalation ladder."""
    next_escalation_at: datetime | None
    created_at: datetime
    age_days: int


@dataclass(frozen=True, kw_only=True)
class ReviewRow:
    id: int
    project: str
    measure: str
    level: str
    value: float | None
    unit: str
    observed_on: date | None
    sponsor: str
    created_at: datetime
    age_days: int


@dataclass(frozen=True, kw_only=True)
class DecisionRow:
    id: int
    project: str
    subject: str
    subject_kind: str
    """``ask``, ``blocker`` or ``free`` (a decision logged on its own)."""
    subject_id: int | None
    outcome: str
    rationale: str
    decided_by: str
    decided_at: datetime


@dataclass(frozen=True, kw_only=True)
class UndeliveredRow:
    id: int
    state: str
    """``given up`` (failed: ``leaderbot outbox retry`` sends it again) or ``still trying``."""
    to: str
    platform: str
    title: str
    error: str
    attempts: int
    created_at: datetime
    deadline: datetime | None


Row = ProjectRow | AskRow | BlockerRow | ReviewRow | DecisionRow | UndeliveredRow


def _aware(moment: datetime) -> datetime:
    """Stored datetimes are UTC; SQLite may hand them back naive."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _age(now: datetime, since: datetime) -> int:
    return max(0, (now - _aware(since)).days)


async def _projects(uow: UnitOfWork, organization_id: int) -> dict[int, Project]:
    projects = await uow.projects.find(organization_id=organization_id, order_by="key")
    return {p.id: p for p in projects}


def _key(projects: dict[int, Project], project_id: int) -> str:
    project = projects.get(project_id)
    return project.key if project else "?"


async def default_organization(uow: UnitOfWork) -> Organization | None:
    """The organization an admin token opens when none is named: the oldest one."""
    return await uow.organizations.first(order_by="id")


async def load_projects(uow: UnitOfWork, *, organization_id: int) -> list[ProjectRow]:
    """Every project with the RAG status of its latest update."""
    rows = []
    for project in (await _projects(uow, organization_id)).values():
        latest = await uow.updates.first(project_id=project.id, order_by="-created_at")
        rows.append(
            ProjectRow(
                id=project.id,
                key=project.key,
                name=project.name,
                status=str(project.status),
                rag=str(latest.rag) if latest else "",
                period=latest.period if latest else "",
            )
        )
    return rows


async def load_asks(
    uow: UnitOfWork,
    *,
    organization_id: int,
    now: datetime,
    states: Sequence[AskState] | None = OPEN_ASK_STATES,
    assignee_ids: Sequence[int] | None = None,
) -> list[AskRow]:
    """Asks oldest first; open ones by default, every one with ``states=None``; only those
    assigned to ``assignee_ids`` when given."""
    assigned: dict[str, Any] = {} if assignee_ids is None else {"assignee_id": list(assignee_ids)}
    asks = await uow.asks.find(
        organization_id=organization_id,
        state=list(AskState if states is None else states),
        order_by="created_at",
        **assigned,
    )
    projects = await _projects(uow, organization_id)
    names = await names_of(uow, [a.requester_id for a in asks] + [a.assignee_id for a in asks])
    return [
        AskRow(
            id=a.id,
            project=_key(projects, a.project_id),
            text=a.text,
            state=str(a.state),
            requester=names.get(a.requester_id, "?"),
            assignee=names.get(a.assignee_id, "?"),
            needed_by=a.needed_by,
            created_at=_aware(a.created_at),
            age_days=_age(now, a.created_at),
        )
        for a in asks
    ]


def owner_id(ladder: Sequence[int], level: int) -> int:
    """Who holds rung ``level`` of a blocker's ladder (the top one once it has climbed off)."""
    return ladder[min(level, len(ladder) - 1)] if ladder else 0


async def load_blockers(
    uow: UnitOfWork,
    *,
    organization_id: int,
    now: datetime,
    held_by: int | None = None,
    states: Sequence[BlockerState] | None = OPEN_BLOCKER_STATES,
) -> list[BlockerRow]:
    """Blockers oldest first, with who holds them now; open and acknowledged ones by default,
    every one with ``states=None``; only those whose current rung ``held_by`` holds, when given."""
    blockers = await uow.blockers.find(
        organization_id=organization_id,
        state=list(BlockerState if states is None else states),
        order_by="created_at",
    )
    if held_by is not None:
        blockers = [b for b in blockers if owner_id(b.ladder, b.level) == held_by]

    projects = await _projects(uow, organization_id)
    names = await names_of(uow, [owner_id(b.ladder, b.level) for b in blockers])
    return [
        BlockerRow(
            id=b.id,
            project=_key(projects, b.project_id),
            text=b.text,
            severity=str(b.severity),
            state=str(b.state),
            level=b.level,
            owner=names.get(owner_id(b.ladder, b.level), ""),
            next_escalation_at=_aware(b.next_escalation_at) if b.next_escalation_at else None,
            created_at=_aware(b.created_at),
            age_days=_age(now, b.created_at),
        )
        for b in blockers
    ]


async def load_reviews(
    uow: UnitOfWork, *, organization_id: int, now: datetime, sponsor_id: int | None = None
) -> list[ReviewRow]:
    """KPI threshold crossings not yet closed by the sponsor (``sponsor_id``'s only, when given)."""
    projects = await _projects(uow, organization_id)
    if not projects:
        return []
    sponsored: dict[str, Any] = {} if sponsor_id is None else {"sponsor_id": sponsor_id}
    reviews = await uow.reviews.find(
        project_id=list(projects), closed_at=None, order_by="created_at", **sponsored
    )
    measures = {
        m.id: m for m in await uow.measures.find(id=sorted({r.measure_id for r in reviews}))
    }
    observations = {
        o.id: o for o in await uow.observations.find(id=sorted({r.observation_id for r in reviews}))
    }
    names = await names_of(uow, [r.sponsor_id for r in reviews])
    rows = []
    for r in reviews:
        measure = measures.get(r.measure_id)
        observation = observations.get(r.observation_id)
        rows.append(
            ReviewRow(
                id=r.id,
                project=_key(projects, r.project_id),
                measure=measure.name if measure else "?",
                level=str(r.level),
                value=observation.value if observation else None,
                unit=measure.unit if measure else "",
                observed_on=observation.observed_on if observation else None,
                sponsor=names.get(r.sponsor_id, "?"),
                created_at=_aware(r.created_at),
                age_days=_age(now, r.created_at),
            )
        )
    return rows


async def load_decisions(
    uow: UnitOfWork,
    *,
    organization_id: int,
    limit: int | None = 20,
    decided_by: int | None = None,
) -> list[DecisionRow]:
    """The decision log, newest first (the last ``limit`` lines; all with ``limit=None``; only
    ``decided_by``'s own when given)."""
    by: dict[str, Any] = {} if decided_by is None else {"decided_by_id": decided_by}
    decisions = await uow.decisions.find(
        organization_id=organization_id, order_by="-decided_at", limit=limit, **by
    )
    projects = await _projects(uow, organization_id)
    names = await names_of(
        uow, [i for d in decisions for i in (d.decided_by_id, d.on_behalf_of_id) if i]
    )
    return [
        DecisionRow(
            id=d.id,
            project=_key(projects, d.project_id),
            subject=f"{d.subject_kind} {d.subject_id}" if d.subject_id else d.subject_kind,
            subject_kind=d.subject_kind,
            subject_id=d.subject_id,
            outcome=d.outcome,
            rationale=d.rationale,
            decided_by=signed(names, d.decided_by_id, d.on_behalf_of_id) or "?",
            decided_at=_aware(d.decided_at),
        )
        for d in decisions
    ]


async def load_undelivered(
    uow: UnitOfWork, *, organization_id: int, now: datetime
) -> list[UndeliveredRow]:
    """Messages given up, then those still being retried long after they were due."""
    rows = await undelivered(uow, organization_id=organization_id, now=now)
    names = await names_of(uow, [r.person_id for r in rows if r.person_id is not None])
    projects = await _projects(uow, organization_id)
    return [
        UndeliveredRow(
            id=r.id,
            state="given up" if r.state is OutboxState.FAILED else "still trying",
            to=names.get(r.person_id, "?")
            if r.person_id is not None
            else f"#{_key(projects, r.project_id or 0)} channel",
            platform=r.platform.value,
            title=_title(r.payload),
            error=r.error,
            attempts=r.attempts,
            created_at=_aware(r.created_at),
            deadline=_aware(r.deadline) if r.deadline else None,
        )
        for r in rows
    ]


def _title(payload: str) -> str:
    message = from_json(payload)
    return message.title or (message.sections[0][:80] if message.sections else message.key)


def row_dict(row: Row) -> dict[str, object]:
    """A row as JSON/CSV-ready values: dates as ISO strings, enums as their values."""

    def plain(value: object) -> object:
        if isinstance(value, date | datetime):
            return value.isoformat()
        if isinstance(value, Enum):
            return value.value
        return value

    return {name: plain(value) for name, value in asdict(row).items()}
