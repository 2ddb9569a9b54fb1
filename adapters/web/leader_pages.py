"""The leader's pages: where a link lands, "waiting on you", and an ask's or a blocker's page.

Handlers are thin: check who is looking (:func:`~adapters.web.access.page`), load through a
unit of work bound to the viewer's organization, render a template.
"""

from __future__ import annotations

from aiohttp import web

from adapters.web.access import VIEWER, href, page, refuse, render_page, viewer_uow
from adapters.web.deps import WEB
from adapters.web.history import load_item_page
from adapters.web.waiting import load_waiting
from bot.errors import NotAllowed, NotFound
from bot.links import ItemKind

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
    async with viewer_uow(request) as uow:
        board = await load_waiting(
            uow,
            organization_id=viewer.organization_id,
            person_id=viewer.person_id,
            now=request.app[WEB].clock.now(),
        )
    return render_page(request, "waiting.html", {"board": board})


async def _item(request: web.Request, kind: ItemKind) -> web.StreamResponse:
    """An ask's or a blocker's page; 404 for an id not in the viewer's organization, 403 with
    who may see it for one the viewer's roles do not reach."""
    viewer = request[VIEWER]
    try:
        async with viewer_uow(request) as uow:
            item = await load_item_page(
                uow,
                kind=kind,
                item_id=request.match_info["id"],
                organization_id=viewer.organization_id,
                viewer_id=viewer.person_id,
                now=request.app[WEB].clock.now(),
                tz=viewer.timezone,
            )
    except NotFound:
        raise refuse(request, "html", "There is no such item here.", web.HTTPNotFound) from None
    except NotAllowed as exc:
        raise refuse(request, "html", exc.message, web.HTTPForbidden) from None
    return render_page(request, "item.html", {"item": item})


@ROUTES.get("/dashboard/asks/{id}")
@page
async def ask(request: web.Request) -> web.StreamResponse:
    return await _item(request, "ask")


@ROUTES.get("/dashboard/blockers/{id}")
@page
async def blocker(request: web.Request) -> web.StreamResponse:
    return await _item(request, "blocker")
