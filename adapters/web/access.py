"""Who is looking: signed personal links and the admin token, checked before any page loads.

A link handed out in chat names an organization and a person and carries an expiry and an
HMAC-SHA256 signature over all three with the server's key (``DASHBOARD_SECRET``):
``?org=<org>&p=<person>&exp=<epoch seconds>&sig=<hex>``. The signature does not cover the path,
so the same credentials open every page the person may see (``/dashboard``, an ask's page…) and
the pages carry them on their own links. Changing any field breaks the signature; an expired
link, a person who no longer belongs to the organization, or no credentials at all get a 401
page saying how to get a new link. The admin token (``?token=…`` or ``Authorization: Bearer``)
opens an organization as an admin without a person.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import wraps
from typing import Literal
from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import web

from adapters.web.deps import WEB, WebDeps
from adapters.web.rows import default_organization
from bot.calendar import moment_in
from bot.permissions import is_admin
from bot.ports import UnitOfWork
from bot.tenancy import bound

Kind = Literal["json", "html"]
"""How a refusal is worded: JSON for ``/api/v1``, a page for the dashboard."""

HOW_TO_GET_A_LINK = (
    "Ask Leaderbot for your personal link: type `dashboard` to the bot "
    "(in Slack: /leader dashboard). Links are valid for 7 days."
)


@dataclass(frozen=True, kw_only=True)
class Viewer:
    """Who a page is for: one organization, the person (None for the admin token), admin or not."""

    organization_id: int
    """0 only when the admin token opens a database with no organization yet."""
    person_id: int | None
    is_admin: bool
    organization_name: str = ""
    credentials: str = ""
    """The query string that opens pages as this viewer again (carried on every link)."""
    timezone: str = "UTC"
    """The person's own zone, in which every time on their pages is shown (UTC for the token)."""


VIEWER = web.RequestKey("leaderbot_viewer", Viewer)
"""Where :func:`page` leaves the :class:`Viewer` (``request[VIEWER]``)."""


def link_signature(key: bytes, organization_id: int, person_id: int, expires: int) -> str:
    """HMAC-SHA256 over ``"<org>:<person>:<expiry epoch seconds>"``, hex."""
    message = f"{organization_id}:{person_id}:{expires}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def sign_link(
    *,
    key: bytes,
    organization_id: int,
    person_id: int,
    expires_at: datetime,
    base_url: str = "",
    path: str = "/dashboard",
) -> str:
    """A link to ``path`` that opens as ``person_id`` until ``expires_at`` (sent in chat)."""
    expires = int(expires_at.timestamp())
    query = urlencode(
        {
            "org": organization_id,
            "p": person_id,
            "exp": expires,
            "sig": link_signature(key, organization_id, person_id, expires),
        }
    )
    return f"{base_url.rstrip('/')}{path}?{query}"


def refuse(
    request: web.Request,
    kind: Kind,
    reason: str,
    status: type[web.HTTPError] = web.HTTPUnauthorized,
) -> web.HTTPError:
    """A 401/403/404 that says why and how to get a working link, as JSON or as a page."""
    if kind == "json":
        return status(text=json.dumps({"error": reason}), content_type="application/json")
    context = template_context(request, None) | {"reason": reason, "how": HOW_TO_GET_A_LINK}
    page = aiohttp_jinja2.render_string("refused.html", request, context)
    return status(text=page, content_type="text/html", headers={"Cache-Control": "no-store"})


def _number(text: str | None) -> int | None:
    """A query parameter as a plain non-negative integer (ASCII digits, sane length), or None."""
    if text and len(text) <= 18 and text.isascii() and text.isdigit():
        return int(text)
    return None


async def viewer_of(request: web.Request, kind: Kind) -> Viewer:
    """The viewer this request's credentials prove, or a refusal (raised)."""
    deps = request.app[WEB]
    query = request.query
    token = (
        query.get("token")
        or request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    )
    if token:
        return await _admin(request, deps, token, kind)
    if "sig" in query:
        return await _signed(request, deps, query, kind)
    raise refuse(request, kind, "This dashboard is private.")


async def _admin(request: web.Request, deps: WebDeps, token: str, kind: Kind) -> Viewer:
    if not deps.admin_token or not hmac.compare_digest(token.encode(), deps.admin_token.encode()):
        raise refuse(request, kind, "That admin token is not valid.")
    org = request.query.get("org")
    async with deps.uow() as uow:
        if not org:
            organization = await default_organization(uow)
        else:
            organization = await uow.organizations.get(_number(org) or 0)
            if organization is None:
                raise refuse(request, kind, "There is no such organization.", web.HTTPNotFound)
    credentials = {"token": token, "org": org} if org else {"token": token}
    return Viewer(
        organization_id=organization.id if organization else 0,
        person_id=None,
        is_admin=True,
        organization_name=organization.name if organization else "",
        credentials=urlencode(credentials) if "token" in request.query else "",
    )


async def _signed(
    request: web.Request, deps: WebDeps, query: Mapping[str, str], kind: Kind
) -> Viewer:
    org, person_id, exp = (_number(query.get(name)) for name in ("org", "p", "exp"))
    if org is None or person_id is None or exp is None:
        raise refuse(request, kind, "This link is incomplete or damaged.")
    expected = link_signature(deps.link_key, org, person_id, exp)
    if not hmac.compare_digest(expected.encode(), query.get("sig", "").encode()):
        raise refuse(request, kind, "This link is not valid (it was changed or is from elsewhere).")
    if exp <= deps.clock.now().timestamp():
        raise refuse(request, kind, "This link has expired.")
    async with deps.uow() as uow:
        person = await uow.people.get(person_id)
        if person is None or person.organization_id != org:
            raise refuse(request, kind, "This link's person is no longer in the organization.")
        organization = await uow.organizations.get(org)
    credentials = urlencode({"org": org, "p": person_id, "exp": exp, "sig": expected})
    return Viewer(
        organization_id=org,
        person_id=person_id,
        is_admin=is_admin(organization, person),
        organization_name=organization.name if organization else "",
        credentials=credentials,
        timezone=person.timezone,
    )


def href(viewer: Viewer | None, path: str, **params: object) -> str:
    """``path`` with the viewer's credentials and ``params`` (a link on a page)."""
    parts = [viewer.credentials] if viewer and viewer.credentials else []
    extra = {name: value for name, value in params.items() if value not in (None, "")}
    if extra:
        parts.append(urlencode(extra))
    return f"{path}?{'&'.join(parts)}" if parts else path


def template_context(request: web.Request, viewer: Viewer | None) -> dict[str, object]:
    """What every template sees: the viewer, ``href(path, **query)`` carrying their
    credentials, ``local(moment)`` telling a time in the viewer's own zone, named (as the
    bot's messages do), and the time the page was made."""
    tz = viewer.timezone if viewer else "UTC"
    return {
        "viewer": viewer,
        "href": lambda path, **params: href(viewer, path, **params),
        "local": lambda moment: moment_in(moment, tz),
        "now": request.app[WEB].clock.now(),
    }


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def page(handler: Handler) -> Handler:
    """A dashboard page: refuses a request without valid credentials before ``handler`` runs,
    then gives it ``request[VIEWER]``."""

    @wraps(handler)
    async def gated(request: web.Request) -> web.StreamResponse:
        request[VIEWER] = await viewer_of(request, "html")
        response = await handler(request)
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    return gated


def render_page(request: web.Request, template: str, context: Mapping[str, object]) -> web.Response:
    """``template`` rendered for the request's viewer, with the common context added."""
    common = template_context(request, request[VIEWER])
    return aiohttp_jinja2.render_template(template, request, {**common, **context})


def viewer_uow(request: web.Request) -> UnitOfWork:
    """A unit of work bound to the viewer's organization: what every page reads through, so no
    page can show another organization's rows (bot.tenancy)."""
    return bound(request.app[WEB].uow(), request[VIEWER].organization_id)
