"""Exports for a governance review: asks, blockers, decisions, KPIs and the audit log as tables.

One organization's rows (the caller's unit of work is bound to it), flattened to text cells
with names instead of ids and times in ISO 8601 UTC, so ``leaderbot export … --csv`` and the
dashboard's downloads (``adapters/web/exports.py``) are the same table. Every field a review
asks about has its own column: area, who asked, who it was routed to and why, who decided and
for whom, when it was raised, due and decided, the decision and its rationale, the questions
and answers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import Enum, StrEnum
from typing import Protocol

from bot.model import AskState
from bot.ports import UnitOfWork
from bot.services.asks import conversations
from bot.services.lookup import names_of


class ExportKind(StrEnum):
    ASKS = "asks"
    BLOCKERS = "blockers"
    DECISIONS = "decisions"
    KPIS = "kpis"
    AUDIT = "audit"


@dataclass(frozen=True)
class Table:
    columns: tuple[str, ...]
    rows: list[tuple[str, ...]]


def cell(value: object) -> str:
    """A value as text: ISO 8601 for times (UTC), enum values, ``5`` not ``5.0``, "" for None."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _table(columns: Sequence[str], rows: Sequence[Sequence[object]]) -> Table:
    return Table(tuple(columns), [tuple(cell(v) for v in row) for row in rows])


async def _project_keys(uow: UnitOfWork, organization_id: int) -> dict[int, str]:
    return {p.id: p.key for p in await uow.projects.find(organization_id=organization_id)}


DECIDED = (AskState.APPROVED, AskState.DECLINED)


ASK_COLUMNS = (
    "id",
    "project",
    "area",
    "text",
    "state",
    "requester",
    "assignee",
    "routed_because",
    "consulted",
    "raised_at",
    "needed_by",
    "age_days",
    "decided_by",
    "for",
    "decided_at",
    "decision",
    "rationale",
    "questions_and_answers",
    "platform",
)


async def asks(uow: UnitOfWork, *, organization_id: int, now: datetime) -> Table:
    """Every ask, oldest first."""
    found = await uow.asks.find(organization_id=organization_id, order_by="created_at")
    keys = await _project_keys(uow, organization_id)
    names = await names_of(
        uow,
        [
            i
            for a in found
            for i in (a.requester_id, a.assignee_id, a.decided_by_id, a.on_behalf_of_id)
            if i
        ]
        + [i for a in found for i in a.consulted_ids],
    )
    said = await conversations(uow, [a.id for a in found])
    rows = []
    for a in found:
        decided = a.state in DECIDED
        raised = a.created_at if a.created_at.tzinfo else a.created_at.replace(tzinfo=UTC)
        rows.append(
            (
                a.id,
                keys.get(a.project_id, "?"),
                a.area,
                a.text,
                a.state,
                names.get(a.requester_id, "?"),
                names.get(a.assignee_id, "?"),
                a.reason,
                "; ".join(names.get(i, "?") for i in a.consulted_ids),
                a.created_at,
                a.needed_by,
                max(0, (now - raised).days),
                names.get(a.decided_by_id or 0, "") if decided else "",
                names.get(a.on_behalf_of_id or 0, "") if decided else "",
                a.decided_at if decided else None,
                a.state.value if decided else "",
                a.rationale if decided else "",
                "\n".join(said.get(a.id, ())),
                a.platform,
            )
        )
    return _table(ASK_COLUMNS, rows)


async def blockers(uow: UnitOfWork, *, organization_id: int, now: datetime) -> Table:
    """Every blocker, oldest first, with its ladder and who holds it now."""
    found = await uow.blockers.find(organization_id=organization_id, order_by="created_at")
    keys = await _project_keys(uow, organization_id)
    names = await names_of(uow, [i for b in found for i in (b.reporter_id, *b.ladder)])
    rows = [
        (
            b.id,
            keys.get(b.project_id, "?"),
            b.area,
            b.severity,
            b.text,
            b.state,
            names.get(b.reporter_id, "?"),
            " > ".join(names.get(i, "?") for i in b.ladder),
            b.level + 1,
            names.get(b.ladder[min(b.level, len(b.ladder) - 1)], "") if b.ladder else "",
            b.created_at,
            b.next_escalation_at,
            b.acknowledged_at,
            b.resolved_at,
            b.resolution,
        )
        for b in found
    ]
    return _table(
        (
            "id",
            "project",
            "area",
            "severity",
            "text",
            "state",
            "reporter",
            "ladder",
            "rung",
            "holder",
            "raised_at",
            "next_escalation_at",
            "acknowledged_at",
            "resolved_at",
            "resolution",
        ),
        rows,
    )


async def decisions(uow: UnitOfWork, *, organization_id: int, now: datetime) -> Table:
    """The decision log, oldest first, with the area of the ask or blocker decided."""
    found = await uow.decisions.find(organization_id=organization_id, order_by="decided_at")
    keys = await _project_keys(uow, organization_id)
    names = await names_of(
        uow, [i for d in found for i in (d.decided_by_id, d.on_behalf_of_id) if i]
    )
    subjects = {
        kind: sorted({d.subject_id for d in found if d.subject_kind == kind and d.subject_id})
        for kind in ("ask", "blocker")
    }
    areas = {
        ("ask", a.id): a.area
        for a in (await uow.asks.find(id=subjects["ask"]) if subjects["ask"] else [])
    } | {
        ("blocker", b.id): b.area
        for b in (await uow.blockers.find(id=subjects["blocker"]) if subjects["blocker"] else [])
    }
    rows = [
        (
            d.id,
            keys.get(d.project_id, "?"),
            d.subject_kind,
            d.subject_id,
            areas.get((d.subject_kind, d.subject_id or 0), ""),
            d.outcome,
            d.rationale,
            names.get(d.decided_by_id, "?"),
            names.get(d.on_behalf_of_id or 0, ""),
            d.decided_at,
        )
        for d in found
    ]
    return _table(
        (
            "id",
            "project",
            "subject",
            "subject_id",
            "area",
            "outcome",
            "rationale",
            "decided_by",
            "for",
            "decided_at",
        ),
        rows,
    )


async def kpis(uow: UnitOfWork, *, organization_id: int, now: datetime) -> Table:
    """One row per observation, with its measure's thresholds (a measure with none: one row)."""
    keys = await _project_keys(uow, organization_id)
    measures = await uow.measures.find(project_id=sorted(keys), order_by="id") if keys else []
    observations = (
        await uow.observations.find(measure_id=[m.id for m in measures], order_by="observed_on")
        if measures
        else []
    )
    rows: list[tuple[object, ...]] = []
    for m in sorted(measures, key=lambda m: (keys.get(m.project_id, ""), m.name)):
        measure = (keys.get(m.project_id, "?"), m.name, m.unit, m.direction, m.target, m.warn)
        seen = [o for o in observations if o.measure_id == m.id]
        rows += [(*measure, m.alert, o.observed_on, o.value, o.level, o.recorded_at) for o in seen]
        if not seen:
            rows.append((*measure, m.alert, None, None, None, None))
    return _table(
        (
            "project",
            "measure",
            "unit",
            "direction",
            "target",
            "warn",
            "alert",
            "observed_on",
            "value",
            "level",
            "recorded_at",
        ),
        rows,
    )


async def audit(uow: UnitOfWork, *, organization_id: int, now: datetime) -> Table:
    """The audit log, oldest first: who did what, when, from which platform."""
    found = await uow.audit.find(organization_id=organization_id, order_by="at")
    names = await names_of(uow, [e.actor_id for e in found if e.actor_id])
    rows = [
        (
            e.id,
            e.at,
            names.get(e.actor_id, "?") if e.actor_id else "",
            e.action,
            e.subject,
            e.detail,
            e.platform,
        )
        for e in found
    ]
    return _table(("id", "at", "actor", "action", "subject", "detail", "platform"), rows)


class Exporter(Protocol):
    def __call__(
        self, uow: UnitOfWork, *, organization_id: int, now: datetime
    ) -> Awaitable[Table]: ...


EXPORTS: dict[ExportKind, Exporter] = {
    ExportKind.ASKS: asks,
    ExportKind.BLOCKERS: blockers,
    ExportKind.DECISIONS: decisions,
    ExportKind.KPIS: kpis,
    ExportKind.AUDIT: audit,
}


async def export(
    uow: UnitOfWork, *, organization_id: int, kind: ExportKind, now: datetime
) -> Table:
    """The table of one kind for one organization."""
    return await EXPORTS[kind](uow, organization_id=organization_id, now=now)
