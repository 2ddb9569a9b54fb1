"""``/api/v1/…``: every page's data as JSON, with the same access as the pages (issue 12 §4).

Each endpoint is a loader of one viewer's :class:`Scope` (their organization, and for someone
who is not an admin, only their projects) rendered through :func:`plain`, so a page and its JSON
come from the same rows and cannot disagree. The paths and their response schemas are written
down once, in :mod:`adapters.web.openapi`, and a test calls every documented path and checks
the answer against its schema.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from enum import Enum

from aiohttp import web

from adapters.web.access import refuse, viewer_of
from adapters.web.deps import WEB
from adapters.web.history import load_item_page
from adapters.web.kpis import load_kpis
from adapters.web.openapi import document
from adapters.web.overview import Overview
from adapters.web.rows import load_decisions, load_undelivered, row_dict
from adapters.web.scope import (
    Scope,
    overview_for,
    project_for,
    reflections_for,
    scope_of,
    visible_keys,
)
from adapters.web.waiting import load_waiting
from bot.errors import NotAllowed, NotFound
from bot.links import ItemKind
from bot.ports import UnitOfWork
from bot.tenancy import bound

ROUTES = web.RouteTableDef()


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
Payload = dict[str, object] | None
Endpoint = Callable[[UnitOfWork, Scope, datetime, Query, Query], Awaitable[Payload]]
"""(unit of work bound to the scope's organization, scope, now, query, path parameters) → the
body's payload (the handler adds ``organization_id``); None or :class:`~bot.errors.NotFound`
means 404, :class:`~bot.errors.NotAllowed` 403 with its message."""


def _filtered(overview: Overview) -> dict[str, object]:
    return {"filters": overview.filters.query(), "notices": list(overview.filters.notices)}


async def projects(uow: UnitOfWork, scope: Scope, now: datetime, query: Query, _: Query) -> Payload:
    overview = await overview_for(uow, scope, now=now, query={})
    return {
        "projects": [
            {**row_dict(t.project), "rags": t.rags, "trend": t.trend} for t in overview.projects
        ]
    }


async def project(uow: UnitOfWork, scope: Scope, now: datetime, _: Query, path: Query) -> Payload:
    detail = await project_for(uow, scope, key=path["key"], now=now)
    return None if detail is None else {"project": plain(detail)}


async def asks(uow: UnitOfWork, scope: Scope, now: datetime, query: Query, _: Query) -> Payload:
    overview = await overview_for(uow, scope, now=now, query=query)
    rows = [{**row_dict(a.ask), "overdue": a.overdue} for a in overview.asks]
    return {**_filtered(overview), "asks": rows}


async def blockers(uow: UnitOfWork, scope: Scope, now: datetime, query: Query, _: Query) -> Payload:
    overview = await overview_for(uow, scope, now=now, query=query)
    rows = [{**row_dict(b.blocker), "overdue": b.overdue} for b in overview.blockers]
    return {**_filtered(overview), "blockers": rows}


async def decisions(uow: UnitOfWork, scope: Scope, now: datetime, _: Query, __: Query) -> Payload:
    keys = await visible_keys(uow, scope)
    rows = await load_decisions(uow, organization_id=scope.organization_id, limit=None)
    return {"decisions": [row_dict(d) for d in rows if keys is None or d.project in keys]}


async def kpis(uow: UnitOfWork, scope: Scope, now: datetime, _: Query, __: Query) -> Payload:
    rows = await load_kpis(
        uow, organization_id=scope.organization_id, project_ids=scope.project_ids
    )
    return {"kpis": plain(rows)}


async def responsiveness(
    uow: UnitOfWork, scope: Scope, now: datetime, _: Query, __: Query
) -> Payload:
    found = await reflections_for(uow, scope, now=now)
    return {
        "leaders": [
            {"person_id": r.id, "name": r.name, "sentences": r.sentences, **record(r.result)}
            for r in found.leaders
        ],
        "projects": [
            {"key": r.key, "name": r.name, "sentences": r.sentences, **record(r.result)}
            for r in found.projects
        ],
    }


async def undelivered(uow: UnitOfWork, scope: Scope, now: datetime, _: Query, __: Query) -> Payload:
    if scope.project_ids is not None:
        return {"undelivered": []}
    rows = await load_undelivered(uow, organization_id=scope.organization_id, now=now)
    return {"undelivered": [row_dict(r) for r in rows]}


async def waiting(uow: UnitOfWork, scope: Scope, now: datetime, _: Query, __: Query) -> Payload:
    """What waits on the viewer, as their "waiting on you" page shows it."""
    if scope.person_id is None:
        raise NotAllowed("The admin token opens the overview, not a person's page.")
    board = await load_waiting(
        uow, organization_id=scope.organization_id, person_id=scope.person_id, now=now
    )
    return {"waiting": record(board)}


async def _item(
    uow: UnitOfWork, scope: Scope, now: datetime, kind: ItemKind, path: Query
) -> Payload:
    """An ask or a blocker with its history, with the access of its page (``VIEW_ASK``,
    ``VIEW_BLOCKER``), not the project scope: whoever the page opens for."""
    item = await load_item_page(
        uow,
        kind=kind,
        item_id=path["id"],
        organization_id=scope.organization_id,
        viewer_id=scope.person_id,
        now=now,
    )
    facts = [{"label": label, "value": value} for label, value in item.facts]
    return {kind: {**record(item), "facts": facts}}


async def ask(uow: UnitOfWork, scope: Scope, now: datetime, _: Query, path: Query) -> Payload:
    return await _item(uow, scope, now, "ask", path)


async def blocker(uow: UnitOfWork, scope: Scope, now: datetime, _: Query, path: Query) -> Payload:
    return await _item(uow, scope, now, "blocker", path)


ENDPOINTS: dict[str, Endpoint] = {
    "/api/v1/waiting": waiting,
    "/api/v1/projects": projects,
    "/api/v1/projects/{key}": project,
    "/api/v1/asks": asks,
    "/api/v1/asks/{id}": ask,
    "/api/v1/blockers": blockers,
    "/api/v1/blockers/{id}": blocker,
    "/api/v1/decisions": decisions,
    "/api/v1/kpis": kpis,
    "/api/v1/responsiveness": responsiveness,
    "/api/v1/undelivered": undelivered,
}
"""Every path of the API; :mod:`adapters.web.openapi` documents exactly these."""


def _handler(endpoint: Endpoint) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        viewer = await viewer_of(request, "json")
        deps = request.app[WEB]
        try:
            async with bound(deps.uow(), viewer.organization_id) as uow:
                scope = await scope_of(uow, viewer)
                payload = await endpoint(
                    uow, scope, deps.clock.now(), request.query, request.match_info
                )
        except NotFound:
            payload = None
        except NotAllowed as exc:
            raise refuse(request, "json", exc.message, web.HTTPForbidden) from None
        if payload is None:
            raise refuse(request, "json", "There is no such item here.", web.HTTPNotFound)
        return web.json_response(
            {"organization_id": viewer.organization_id or None, **payload},
            headers={"Cache-Control": "no-store"},
        )

    return handle


for _path, _endpoint in ENDPOINTS.items():
    ROUTES.get(_path)(_handler(_endpoint))


@ROUTES.get("/api/v1/openapi.json")
async def openapi(request: web.Request) -> web.StreamResponse:
    """The API's description; public, like any API's documentation (it holds no data)."""
    return web.json_response(document())
