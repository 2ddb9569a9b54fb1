"""The organization's pages: the overview, a project's page, and leader responsiveness.

Thin handlers, like :mod:`adapters.web.leader_pages`: check who is looking, load through the
viewer's :class:`~adapters.web.scope.Scope` (what the JSON API loads too), make the charts,
render. The overview is the admins' (DESIGN §1: the admin/facilitator watches the dashboard);
project pages and responsiveness are open to anyone, scoped: admins see their whole
organization, anyone else the projects they are part of and their own figures.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from aiohttp import web
from markupsafe import Markup

from adapters.web.access import VIEWER, page, refuse, render_page
from adapters.web.charts import Series, age_bands, bar_chart, trend_chart
from adapters.web.deps import WEB
from adapters.web.exports import downloads
from adapters.web.kpis import kpi_chart
from adapters.web.overview import STATES, ask_overdue
from adapters.web.rows import load_decisions, load_reviews, load_undelivered
from adapters.web.scope import (
    Reflection,
    overview_for,
    project_for,
    reflections_for,
    scope_of,
)
from bot.tenancy import bound

ROUTES = web.RouteTableDef()

RECENT_DECISIONS = 20


@ROUTES.get("/dashboard/overview")
@page
async def overview(request: web.Request) -> web.StreamResponse:
    viewer = request[VIEWER]
    if not viewer.is_admin:
        raise refuse(
            request,
            "html",
            "The overview is for the organization's admins. Your own projects are linked "
            "from the Responsiveness page.",
            web.HTTPForbidden,
        )
    deps = request.app[WEB]
    now = deps.clock.now()
    org = viewer.organization_id
    async with bound(deps.uow(), org) as uow:
        scope = await scope_of(uow, viewer)
        board = await overview_for(uow, scope, now=now, query=request.query)
        reviews = await load_reviews(uow, organization_id=org, now=now)
        decisions = await load_decisions(uow, organization_id=org, limit=None)
        undelivered = await load_undelivered(uow, organization_id=org, now=now)

    def shown(project: str) -> bool:
        """Within the project filter (reviews, decisions)."""
        return not board.filters.project or project == board.filters.project

    waiting = [a.ask.age_days for a in board.asks if a.ask.state in ("open", "info_requested")]
    ageing = bar_chart(
        chart_id="ask-ageing",
        title="Open asks by age",
        bars=age_bands(waiting),
        noun="open asks" if len(waiting) != 1 else "open ask",
    )
    return render_page(
        request,
        "overview.html",
        {
            "board": board,
            "states": STATES,
            "credentials": parse_qsl(viewer.credentials),
            "ageing": Markup(ageing),
            "reviews": [r for r in reviews if shown(r.project)],
            "decisions": [d for d in decisions if shown(d.project)][:RECENT_DECISIONS],
            "undelivered": undelivered,
            "ask_overdue": lambda ask: ask_overdue(ask, now),
            "downloads": downloads(viewer),
        },
    )


@ROUTES.get("/dashboard/projects/{key}")
@page
async def project(request: web.Request) -> web.StreamResponse:
    viewer = request[VIEWER]
    deps = request.app[WEB]
    key = request.match_info["key"]
    now = deps.clock.now()
    async with bound(deps.uow(), viewer.organization_id) as uow:
        scope = await scope_of(uow, viewer)
        detail = await project_for(uow, scope, key=key, now=now)
    if detail is None:
        raise refuse(
            request,
            "html",
            f"There is no project #{key.upper()} among the projects you can see.",
            web.HTTPNotFound,
        )
    charts = {k.id: Markup(kpi_chart(k)) for k in detail.kpis}
    return render_page(
        request,
        "project.html",
        {
            "project": detail,
            "charts": charts,
            "ask_overdue": lambda ask: ask_overdue(ask, now),
            "downloads": downloads(viewer),
        },
    )


def trend_charts(prefix: str, reflection: Reflection) -> list[Markup]:
    """Two charts of one leader's or project's 12 weeks: how long deciding and unblocking
    took, and how many asks were waiting and overdue at each week's end."""
    weeks = reflection.result.weeks
    labels = [w.week for w in weeks]
    days = trend_chart(
        chart_id=f"{prefix}-{reflection.id}-days",
        title=f"{reflection.name}: median days to decide and to unblock, by week",
        labels=labels,
        series=[
            Series(
                name="to decide", css="decide", values=tuple(w.figures.decide_days for w in weeks)
            ),
            Series(
                name="to unblock",
                css="unblock",
                values=tuple(w.figures.unblock_days for w in weeks),
            ),
        ],
        unit="days",
    )
    counts = trend_chart(
        chart_id=f"{prefix}-{reflection.id}-waiting",
        title=f"{reflection.name}: asks waiting and overdue at each week's end",
        labels=labels,
        series=[
            Series(name="waiting", css="open", values=tuple(float(w.figures.open) for w in weeks)),
            Series(
                name="overdue", css="overdue", values=tuple(float(w.figures.overdue) for w in weeks)
            ),
        ],
        unit="asks",
    )
    return [Markup(days), Markup(counts)]


@ROUTES.get("/dashboard/responsiveness")
@page
async def responsiveness(request: web.Request) -> web.StreamResponse:
    viewer = request[VIEWER]
    deps = request.app[WEB]
    async with bound(deps.uow(), viewer.organization_id) as uow:
        scope = await scope_of(uow, viewer)
        found = await reflections_for(uow, scope, now=deps.clock.now())
    return render_page(
        request,
        "responsiveness.html",
        {
            "leaders": [(r, trend_charts("leader", r)) for r in found.leaders],
            "projects": [(r, trend_charts("project", r)) for r in found.projects],
        },
    )
