"""``/api/v1/…``: every page's data as JSON, with the same access as the pages (issue 12 §4).

Each endpoint is a loader of one viewer's :class:`Scope` (their organization, and for someone
who is not an admin, only their projects) rendered through :func:`plain`, so a page and its JSON
come from the same rows and cannot disagree. The paths and their response schemas are written
down once, in :mod:`adapters.web.openapi`, and a test calls every documented path and checks
the answer against its schema.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, is_dataclass
from datetime import date, datetime
from enum import Enum

from adapters.dashboard import load_decisions, load_undelivered, row_dict
from adapters.web.kpis import load_kpis
from adapters.web.overview import Overview, load_overview
from adapters.web.project import load_project
from bot.ports import UnitOfWork
from bot.responsiveness import leader_sentences, project_sentences
from bot.services.responsiveness import load_responsiveness


@dataclass(frozen=True, kw_only=True)
class Scope:
    """What one viewer may read: their organization; all of it for an admin, else the projects
    they have a role or a RACI letter on, and their own responsiveness."""

    organization_id: int
    person_id: int | None
    """None for the admin token (no person behind it)."""
    project_ids: frozenset[int] | None
    """None: every project of the organization."""


def plain(value: object) -> object:
    """A loaded row (dataclasses, lists, dates, enums) as JSON-ready values."""
    if is_dataclass(value) and not isinstance(value, type):
        return {k: plain(v) for k, v in asdict(value).items()}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value


def record(value: object) -> dict[str, object]:
    """A dataclass as a JSON object."""
    result = plain(value)
    assert isinstance(result, dict)
    return result


Query = Mapping[str, str]
Endpoint = Callable[[UnitOfWork, Scope, datetime, Query, Mapping[str, str]], Awaitable[object]]
"""(unit of work bound to the scope's organization, scope, now, query, path parameters) → the
body's payload (the handler adds ``organization_id``); None means 404."""


async def _overview(uow: UnitOfWork, scope: Scope, now: datetime, query: Query) -> Overview:
    keys = await _visible_keys(uow, scope)
    return await load_overview(
        uow, organization_id=scope.organization_id, now=now, query=query, project_keys=keys
    )


def _filtered(overview: Overview) -> dict[str, object]:
    return {"filters": overview.filters.query(), "notices": list(overview.filters.notices)}


async def projects(uow: UnitOfWork, scope: Scope, now: datetime, query: Query, _: Query) -> object:
    overview = await _overview(uow, scope, now, {})
    return {
        "projects": [
            {**row_dict(t.project), "rags": t.rags, "trend": t.trend} for t in overview.projects
        ]
    }


async def project(uow: UnitOfWork, scope: Scope, now: datetime, _: Query, path: Query) -> object:
    detail = await load_project(
        uow, organization_id=scope.organization_id, key=path["key"], now=now
    )
    if detail is None or (scope.project_ids is not None and detail.id not in scope.project_ids):
        return None
    return {"project": plain(detail)}


async def asks(uow: UnitOfWork, scope: Scope, now: datetime, query: Query, _: Query) -> object:
    overview = await _overview(uow, scope, now, query)
    rows = [{**row_dict(a.ask), "overdue": a.overdue} for a in overview.asks]
    return {**_filtered(overview), "asks": rows}


async def blockers(uow: UnitOfWork, scope: Scope, now: datetime, query: Query, _: Query) -> object:
    overview = await _overview(uow, scope, now, query)
    rows = [{**row_dict(b.blocker), "overdue": b.overdue} for b in overview.blockers]
    return {**_filtered(overview), "blockers": rows}


async def _visible_keys(uow: UnitOfWork, scope: Scope) -> set[str] | None:
    if scope.project_ids is None:
        return None
    return {p.key for p in await uow.projects.find(id=sorted(scope.project_ids))}


async def decisions(uow: UnitOfWork, scope: Scope, now: datetime, _: Query, __: Query) -> object:
    keys = await _visible_keys(uow, scope)
    rows = await load_decisions(uow, organization_id=scope.organization_id, limit=None)
    return {"decisions": [row_dict(d) for d in rows if keys is None or d.project in keys]}


async def kpis(uow: UnitOfWork, scope: Scope, now: datetime, _: Query, __: Query) -> object:
    rows = await load_kpis(
        uow, organization_id=scope.organization_id, project_ids=scope.project_ids
    )
    return {"kpis": plain(rows)}


async def responsiveness(
    uow: UnitOfWork, scope: Scope, now: datetime, _: Query, __: Query
) -> object:
    everyone = scope.project_ids is None
    report = await load_responsiveness(
        uow,
        organization_id=scope.organization_id,
        now=now,
        person_ids=None if everyone or scope.person_id is None else {scope.person_id},
        project_ids=scope.project_ids,
    )
    return {
        "leaders": [
            {
                "person_id": leader.person_id,
                "name": leader.name,
                "sentences": leader_sentences(
                    leader.result,
                    name=None if leader.person_id == scope.person_id else leader.name,
                ),
                **record(leader.result),
            }
            for leader in report.leaders
        ],
        "projects": [
            {
                "key": p.key,
                "name": p.name,
                "sentences": project_sentences(p.result),
                **record(p.result),
            }
            for p in report.projects
        ],
    }


async def undelivered(uow: UnitOfWork, scope: Scope, now: datetime, _: Query, __: Query) -> object:
    if scope.project_ids is not None:
        return {"undelivered": []}
    rows = await load_undelivered(uow, organization_id=scope.organization_id, now=now)
    return {"undelivered": [row_dict(r) for r in rows]}


ENDPOINTS: dict[str, Endpoint] = {
    "/api/v1/projects": projects,
    "/api/v1/projects/{key}": project,
    "/api/v1/asks": asks,
    "/api/v1/blockers": blockers,
    "/api/v1/decisions": decisions,
    "/api/v1/kpis": kpis,
    "/api/v1/responsiveness": responsiveness,
    "/api/v1/undelivered": undelivered,
}
"""Every path of the API; :mod:`adapters.web.openapi` documents exactly these."""
