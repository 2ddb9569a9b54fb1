"""The leader's pages: where a link lands, "waiting on you", and an ask's or a blocker's page.

Handlers are thin: check who is looking (:func:`~adapters.web.access.page`), load through a
unit of work bound to the viewer's organization, render a template.
"""

from __future__ import annotations

from aiohttp import web

from adapters.web.access import VIEWER, href, page, refuse, render_page
from adapters.web.deps import WEB
from adapters.web.waiting import load_waiting
from bot.tenancy import bound

ROUTES = web.RouteTableDef()


@ROUTES.get("/dashboard")
@page
async def landing(request: web.Request) -> web.StreamResponse:
    """A link from chat lands here: admins go to the overview, everyone else to their own page."""
    viewer = request[VIEWER]
    target = "/dashboard/overview" if viewer.is_admin else "/dashboard/waiting"
    raise web.HTTPFound(href(viewer, target))


@ROUTES.get("/dashboard/waiting")
@page
async def waiting(request: web.Request) -> web.StreamResponse:
    viewer = request[VIEWER]
    if viewer.person_id is None:
        raise refuse(
            request,
            "html",
            "The admin token opens the overview, not a person's page.",
            web.HTTPForbidden,
        )
    deps = request.app[WEB]
    async with bound(deps.uow(), viewer.organization_id) as uow:
        board = await load_waiting(
            uow,
            organization_id=viewer.organization_id,
            person_id=viewer.person_id,
            now=deps.clock.now(),
        )
    return render_page(request, "waiting.html", {"board": board})
