"""The one aiohttp application of the server (DESIGN §7): health, metrics, dashboard, JSON API.

Slack and Teams bring their own routes: the composition root passes their mount functions in, so
this module knows neither platform. One middleware wraps every route: it counts and times
requests for ``/metrics``, reads a request's whole body within :data:`BODY_TIMEOUT` (a client that
sends it slowly gets a 408, one that goes away mid-upload is noted in one line, a body over the
size limit gets a 413), and turns an unexpected exception into a short 500 (logged with its
traceback server-side, never sent to the client). Headers that arrive too slowly are cut off
by the server's keep-alive timer (:data:`HEADER_TIMEOUT`, see ``serve``). The dashboard's pages
are :mod:`adapters.web`; they and the API open with an admin token or a signed, expiring
personal link (:mod:`adapters.web.access`), and every query is scoped to that organization.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.web_protocol import RequestPayloadError
from aiohttp.web_response import StreamResponse

from adapters.metrics import CONTENT_TYPE, Metrics
from adapters.web import WebDeps, add_routes
from bot.ports import Clock, UnitOfWorkFactory

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


@dataclass(frozen=True, kw_only=True)
class _Deps:
    uow: UnitOfWorkFactory
    clock: Clock
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


def refused(request: web.Request, status: type[web.HTTPError], reason: str) -> web.HTTPError:
    """A 4xx for bad input, and its one log line (no traceback: the fault is the client's)."""
    log.info("Refused %s %s: %s", request.method, request.path, reason)
    return status(text=reason)


@web.middleware
async def _serve(request: web.Request, handler: Handler) -> StreamResponse:
    """Every route's one middleware (one layer rather than three: each layer is a call on the
    ack path): reads the body before the handler does, turns an unexpected exception into a
    short 500, and counts and times the request for ``/metrics``."""
    started = time.perf_counter()
    status = 500
    try:
        await _read_body(request)
        try:
            response = await handler(request)
        except web.HTTPException:
            raise
        except Exception:
            log.exception("Unhandled error on %s %s", request.method, request.path)
            response = web.json_response({"error": "internal error"}, status=500)
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


async def _read_body(request: web.Request) -> None:
    """Read the whole body within the body timeout (handlers then get it from aiohttp's
    cache). A body that came in with its headers (every Slack and Bot Framework request on a
    healthy connection) is read without arming the timer."""
    if not request.can_read_body:
        return
    if request.content.is_eof():
        await request.read()
        return
    try:
        async with asyncio.timeout(request.app[_DEPS].body_timeout):
            await request.read()
    except TimeoutError:
        raise refused(request, web.HTTPRequestTimeout, "request body too slow") from None
    except (ConnectionError, RequestPayloadError) as exc:
        raise refused(request, web.HTTPBadRequest, f"upload aborted ({exc})") from None


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
    app = web.Application(middlewares=[_serve], client_max_size=MAX_BODY)
    app[_DEPS] = _Deps(
        uow=uow,
        clock=clock,
        metrics=metrics if metrics is not None else Metrics(),
        body_timeout=body_timeout,
    )
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/readyz", _readyz)
    app.router.add_get("/metrics", _metrics)
    add_routes(app, WebDeps(uow=uow, clock=clock, link_key=dashboard_key, admin_token=admin_token))
    for platform, mount in (mounts or {}).items():
        known = set(app.router.resources())
        mount(app)
        for resource in app.router.resources():
            if resource not in known:
                app[_DEPS].platforms[resource.canonical] = platform
    return app
