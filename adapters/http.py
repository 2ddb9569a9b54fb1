"""The one aiohttp application of the server (DESIGN §7): health, metrics, dashboard, JSON API.

Slack and Teams bring their own routes: the composition root passes their mount functions in, so
this module knows neither platform. Middlewares wrap every route: one counts and times requests
for ``/metrics``, one reads a request's whole body within :data:`BODY_TIMEOUT` (a client that sends
it slowly gets a 408, one that goes away mid-upload is noted in one line, a body over the size
limit gets a 413), one turns an unexpected exception into a short 500 (logged with its
traceback server-side, never sent to the client). Headers that arrive too slowly are cut off
by the server's keep-alive timer (:data:`HEADER_TIMEOUT`, see ``serve``). Dashboard and API
access is an admin token or an HMAC-signed, expiring link naming one organization; every query
is scoped to that organization.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal
from urllib.parse import urlencode

from aiohttp import web
from aiohttp.web_protocol import RequestPayloadError
from aiohttp.web_response import StreamResponse

from adapters.dashboard import (
    Row,
    default_organization,
    load_asks,
    load_blockers,
    load_dashboard,
    load_decisions,
    load_projects,
    load_undelivered,
    render_dashboard,
    row_dict,
)
from adapters.metrics import CONTENT_TYPE, Metrics
from adapters.web import exports
from bot.ports import Clock, UnitOfWork, UnitOfWorkFactory
from bot.tenancy import bound

log = logging.getLogger(__name__)

Mount = Callable[[web.Application], None]
"""Adds a platform's routes (``/slack/events``, ``/api/messages``) to the application."""

WEB = "web"
"""The platform label of this module's own routes (pages, API, probes) in ``/metrics``."""

_READY_TIMEOUT = 5.0

HEADER_TIMEOUT = 15.0
"""Seconds a connection may take to send a request's headers (aiohttp's keep-alive timer,
which runs from the connection's start and from each response until the next request)."""

BODY_TIMEOUT = 15.0
"""Seconds a request may take to send its body, once its headers are in."""

MAX_BODY = 1024**2
"""Largest request body accepted (Slack and Bot Framework payloads are a few KB)."""


def dashboard_signature(key: bytes, organization_id: int, expires: int) -> str:
    """HMAC-SHA256 over ``"<org>:<expiry epoch seconds>"``, hex."""
    return hmac.new(key, f"{organization_id}:{expires}".encode(), hashlib.sha256).hexdigest()


def sign_dashboard_link(
    organization_id: int, expires_at: datetime, *, key: bytes, base_url: str = ""
) -> str:
    """A dashboard link for one organization that works until ``expires_at`` (sent in chat)."""
    expires = int(expires_at.timestamp())
    query = urlencode(
        {
            "org": organization_id,
            "exp": expires,
            "sig": dashboard_signature(key, organization_id, expires),
        }
    )
    return f"{base_url.rstrip('/')}/dashboard?{query}"


@dataclass(frozen=True, kw_only=True)
class _Deps:
    uow: UnitOfWorkFactory
    clock: Clock
    admin_token: str
    dashboard_key: bytes
    metrics: Metrics
    body_timeout: float = BODY_TIMEOUT
    platforms: dict[str, str] = field(default_factory=dict)
    """Route template → the platform whose mount added it (the rest are :data:`WEB`)."""


_DEPS = web.AppKey("leaderbot_deps", _Deps)


def _route(request: web.Request) -> str:
    """The route template (``/api/v1/asks``), never the raw path: keeps label cardinality bounded
    and keeps query strings (tokens) out of metrics."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


Handler = Callable[[web.Request], Awaitable[StreamResponse]]


@web.middleware
async def _count(request: web.Request, handler: Handler) -> StreamResponse:
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        deps, route = request.app[_DEPS], _route(request)
        deps.metrics.http_done(
            route=route,
            method=request.method,
            status=status,
            platform=deps.platforms.get(route, WEB),
            seconds=time.perf_counter() - started,
        )


def refused(request: web.Request, status: type[web.HTTPError], reason: str) -> web.HTTPError:
    """A 4xx for bad input, and its one log line (no traceback: the fault is the client's)."""
    log.info("Refused %s %s: %s", request.method, request.path, reason)
    return status(text=reason)


@web.middleware
async def _bodies(request: web.Request, handler: Handler) -> StreamResponse:
    """Read the body before any handler does (they then get it from aiohttp's cache)."""
    if request.can_read_body:
        try:
            async with asyncio.timeout(request.app[_DEPS].body_timeout):
                await request.read()
        except TimeoutError:
            raise refused(request, web.HTTPRequestTimeout, "request body too slow") from None
        except (ConnectionError, RequestPayloadError) as exc:
            raise refused(request, web.HTTPBadRequest, f"upload aborted ({exc})") from None
    return await handler(request)


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except Exception:
        log.exception("Unhandled error on %s %s", request.method, request.path)
        return web.json_response({"error": "internal error"}, status=500)


Kind = Literal["json", "text"]
"""How a refusal is worded: JSON for ``/api/v1``, a short text line for the page."""


def _refuse(
    kind: Kind, reason: str, status: type[web.HTTPError] = web.HTTPUnauthorized
) -> web.HTTPError:
    if kind == "json":
        return status(text=json.dumps({"error": reason}), content_type="application/json")
    return status(text=reason)


async def _organization_id(request: web.Request, kind: Kind) -> int | None:
    """The organization this request may see, or 401. None only when an admin opens a database
    with no organization yet."""
    deps = request.app[_DEPS]
    query = request.query
    bearer = request.headers.get("Authorization", "")
    token = query.get("token") or bearer.removeprefix("Bearer ").strip()
    if token:
        if not deps.admin_token or not hmac.compare_digest(
            token.encode(), deps.admin_token.encode()
        ):
            raise _refuse(kind, "invalid token")
        return await _named_or_default(deps, query.get("org"), kind)
    if "sig" in query:
        return _verified(deps, query, kind)
    raise _refuse(
        kind,
        "This dashboard is private. Ask Leaderbot for your personal link: type `dashboard` "
        "(in Slack: /leader dashboard), or open it with ?token=<admin token>.",
    )


async def _named_or_default(deps: _Deps, org: str | None, kind: Kind) -> int | None:
    async with deps.uow() as uow:
        if not org:
            organization = await default_organization(uow)
            return organization.id if organization else None
        organization_id = _number(org)
        if organization_id is None or await uow.organizations.get(organization_id) is None:
            raise _refuse(kind, "unknown organization", web.HTTPNotFound)
        return organization_id


def _number(text: str | None) -> int | None:
    """A query parameter as a plain non-negative integer (ASCII digits, sane length), or None."""
    if text and len(text) <= 18 and text.isascii() and text.isdigit():
        return int(text)
    return None


def _verified(deps: _Deps, query: Mapping[str, str], kind: Kind) -> int:
    org, exp = _number(query.get("org")), _number(query.get("exp"))
    if org is None or exp is None:
        raise _refuse(kind, "malformed signed link")
    expected = dashboard_signature(deps.dashboard_key, org, exp)
    if not hmac.compare_digest(expected.encode(), query.get("sig", "").encode()):
        raise _refuse(kind, "invalid signature")
    if exp <= deps.clock.now().timestamp():
        raise _refuse(kind, "this link has expired; ask the bot for a new one")
    return org


async def _healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def _database_answers(uow: UnitOfWorkFactory) -> bool:
    try:
        async with asyncio.timeout(_READY_TIMEOUT), uow() as session:
            await session.organizations.count()
    except Exception as exc:
        log.warning("Database not ready: %s", type(exc).__name__)
        return False
    return True


async def _readyz(request: web.Request) -> web.Response:
    if await _database_answers(request.app[_DEPS].uow):
        return web.json_response({"status": "ready"})
    return web.json_response({"status": "database unavailable"}, status=503)


async def _metrics(request: web.Request) -> web.Response:
    deps = request.app[_DEPS]
    body = await deps.metrics.scrape(deps.uow, deps.clock)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


async def _dashboard(request: web.Request) -> web.Response:
    deps = request.app[_DEPS]
    organization_id = await _organization_id(request, "text")
    now = deps.clock.now()
    async with bound(deps.uow(), organization_id or 0) as uow:
        board = await load_dashboard(uow, organization_id=organization_id or 0, now=now)
    return web.Response(
        text=render_dashboard(board),
        content_type="text/html",
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


async def _export(request: web.Request) -> web.Response:
    """``/dashboard/export/{kind}.csv``: the same CSV as ``leaderbot export KIND --csv``."""
    deps = request.app[_DEPS]
    organization_id = await _organization_id(request, "text")
    return await exports.csv_response(
        deps.uow,
        organization_id=organization_id or 0,
        kind=request.match_info["kind"],
        now=deps.clock.now(),
    )


Loader = Callable[[UnitOfWork, int, datetime], Awaitable[Sequence[Row]]]

_API: dict[str, Loader] = {
    "projects": lambda uow, org, now: load_projects(uow, organization_id=org),
    "asks": lambda uow, org, now: load_asks(uow, organization_id=org, now=now),
    "blockers": lambda uow, org, now: load_blockers(uow, organization_id=org, now=now),
    "decisions": lambda uow, org, now: load_decisions(uow, organization_id=org),
    "undelivered": lambda uow, org, now: load_undelivered(uow, organization_id=org, now=now),
}


def _api(name: str, loader: Loader) -> Handler:
    async def handle(request: web.Request) -> StreamResponse:
        deps = request.app[_DEPS]
        organization_id = await _organization_id(request, "json")
        rows: Sequence[Row] = ()
        if organization_id is not None:
            async with bound(deps.uow(), organization_id) as uow:
                rows = await loader(uow, organization_id, deps.clock.now())
        return web.json_response(
            {"organization_id": organization_id, name: [row_dict(r) for r in rows]},
            headers={"Cache-Control": "no-store"},
        )

    return handle


def build_web_app(
    *,
    uow: UnitOfWorkFactory,
    clock: Clock,
    admin_token: str = "",
    dashboard_key: bytes,
    mounts: Mapping[str, Mount] | None = None,
    body_timeout: float = BODY_TIMEOUT,
    metrics: Metrics | None = None,
) -> web.Application:
    """The server's application. ``admin_token`` "" disables token access (signed links only);
    ``mounts`` add the configured platforms' routes (platform name → its mount); ``metrics``
    is the application's instruments (a fresh set when None)."""
    app = web.Application(middlewares=[_count, _bodies, _errors], client_max_size=MAX_BODY)
    app[_DEPS] = _Deps(
        uow=uow,
        clock=clock,
        admin_token=admin_token,
        dashboard_key=dashboard_key,
        metrics=metrics if metrics is not None else Metrics(),
        body_timeout=body_timeout,
    )
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/readyz", _readyz)
    app.router.add_get("/metrics", _metrics)
    app.router.add_get("/dashboard", _dashboard)
    app.router.add_get("/dashboard/export/{kind}.csv", _export)
    for name, loader in _API.items():
        app.router.add_get(f"/api/v1/{name}", _api(name, loader))
    for platform, mount in (mounts or {}).items():
        known = set(app.router.resources())
        mount(app)
        for resource in app.router.resources():
            if resource not in known:
                app[_DEPS].platforms[resource.canonical] = platform
    return app
