"""What one viewer may read, and the loaders the pages and ``/api/v1`` share through it.

Admins (and the admin token) read their whole organization; anyone else reads the projects they
are part of (:func:`bot.services.lookup.projects_involving`) and their own responsiveness. The
page handlers and the API endpoints both load through the functions here, so a page and its
JSON always apply the same rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from adapters.web.access import Viewer
from adapters.web.overview import Overview, load_overview
from adapters.web.project import ProjectDetail, load_project
from bot.ports import UnitOfWork
from bot.responsiveness import Responsiveness, leader_sentences, project_sentences
from bot.services.lookup import projects_involving
from bot.services.responsiveness import load_responsiveness


@dataclass(frozen=True, kw_only=True)
class Scope:
    organization_id: int
    person_id: int | None
    """None for the admin token (no person behind it)."""
    project_ids: frozenset[int] | None
    """None: every project of the organization."""


async def scope_of(uow: UnitOfWork, viewer: Viewer) -> Scope:
    """An admin's scope is the organization; anyone else's, the projects they are part of."""
    if viewer.is_admin or viewer.person_id is None:
        return Scope(
            organization_id=viewer.organization_id, person_id=viewer.person_id, project_ids=None
        )
    return Scope(
        organization_id=viewer.organization_id,
        person_id=viewer.person_id,
        project_ids=frozenset(await projects_involving(uow, person_id=viewer.person_id)),
    )


async def visible_keys(uow: UnitOfWork, scope: Scope) -> set[str] | None:
    """The keys of the projects the scope may read; None for all of them."""
    if scope.project_ids is None:
        return None
    if not scope.project_ids:
        return set()
    return {p.key for p in await uow.projects.find(id=sorted(scope.project_ids))}


async def overview_for(
    uow: UnitOfWork, scope: Scope, *, now: datetime, query: Mapping[str, str]
) -> Overview:
    keys = await visible_keys(uow, scope)
    return await load_overview(
        uow, organization_id=scope.organization_id, now=now, query=query, project_keys=keys
    )


async def project_for(
    uow: UnitOfWork, scope: Scope, *, key: str, now: datetime
) -> ProjectDetail | None:
    """The project page's data, or None when there is no such project or it is not the
    viewer's (the same answer, so a key the viewer may not see tells them nothing)."""
    detail = await load_project(uow, organization_id=scope.organization_id, key=key, now=now)
    if detail is None or (scope.project_ids is not None and detail.id not in scope.project_ids):
        return None
    return detail


@dataclass(frozen=True, kw_only=True)
class Reflection:
    """One leader's or project's responsiveness with its sentences, as a page card shows it."""

    id: int
    """Person id or project id."""
    key: str
    """"" for a leader; the project key for a project."""
    name: str
    sentences: list[str]
    result: Responsiveness


@dataclass(frozen=True, kw_only=True)
class Reflections:
    leaders: list[Reflection]
    projects: list[Reflection]


async def reflections_for(uow: UnitOfWork, scope: Scope, *, now: datetime) -> Reflections:
    """Everyone's and every project's figures for an admin; a leader's own and their projects'
    otherwise. The viewer's own figures are worded to them ("You decided …")."""
    report = await load_responsiveness(
        uow,
        organization_id=scope.organization_id,
        now=now,
        person_ids=None
        if scope.project_ids is None or scope.person_id is None
        else {scope.person_id},
        project_ids=scope.project_ids,
    )
    leaders = [
        Reflection(
            id=leader.person_id,
            key="",
            name=leader.name,
            sentences=leader_sentences(
                leader.result, name=None if leader.person_id == scope.person_id else leader.name
            ),
            result=leader.result,
        )
        for leader in report.leaders
    ]
    mine = [r for r in leaders if r.id == scope.person_id]
    return Reflections(
        leaders=mine + [r for r in leaders if r.id != scope.person_id],
        projects=[
            Reflection(
                id=p.project_id,
                key=p.key,
                name=p.name,
                sentences=project_sentences(p.result),
                result=p.result,
            )
            for p in report.projects
        ],
    )
