"""The one aiohttp application of the server (DESIGN §7): health, metrics, dashboard, JSON API.

Slack and Teams bring their own routes: the composition root passes their mount functions in, so
this module knows neither platform. Middlewares wrap every route: one counts requests for
``/metrics``, one reads a request's whole body within :data:`BODY_TIMEOUT` (a client that sends
it slowly gets a 408, one that goes away mid-upload is noted in one line, a body over the size
limit gets a 413), one turns an unexpected exception into a short 500 (logged with its
traceback server-side, never sent to the client). Headers that arrive too slowly are cut off
by the server's keep-alive timer (:data:`HEADER_TIMEOUT`, see ``serve``). The dashboard's pages
are :mod:`adapters.web`; they and the API open with an admin token or a signed, expiring
personal link (:mod:`adapters.web.access`), and every query is scoped to that organization.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_protocol import RequestPayloadError
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse

from adapters.web import WebDeps, add_routes
from bot.model import OutboxState, Platform
from bot.ports import Clock, UnitOfWorkFactory
from bot.services.undelivered import stuck_since

log = logging.getLogger(__name__)

Mount = Callable[[web.Application], None]
"""Adds a platform's routes (``/slack/events``, ``/api/messages``) to the application."""

_READY_TIMEOUT = 5.0

HEADER_TIMEOUT = 15.0
"""Seconds a connection may take to send a request's headers (aiohttp's keep-alive timer,
which runs from the connection's start and from each response until the next request)."""

BODY_TIMEOUT = 15.0
"""Seconds a request may take to send its body, once its headers are in."""

MAX_BODY = 1024**2
"""Largest request body accepted (Slack and Bot Framework payloads are a few KB)."""


@dataclass
class _Metrics:
    """Request counters of this process; outbox figures are read from the DB at scrape time."""

    requests: Counter[tuple[str, str, int]] = field(default_factory=Counter)


@dataclass(frozen=True, kw_only=True)
class _Deps:
    uow: UnitOfWorkFactory
    clock: Clock
    metrics: _Metrics
    body_timeout: float = BODY_TIMEOUT


_DEPS = web.AppKey("leaderbot_deps", _Deps)


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _route(request: web.Request) -> str:
    """The route template (``/api/v1/asks``), never the raw path: keeps label cardinality bounded
    and keeps query strings (tokens) out of metrics."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


Handler = Callable[[web.Request], Awaitable[StreamResponse]]


@web.middleware
async def _count(request: web.Request, handler: Handler) -> StreamResponse:
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        request.app[_DEPS].metrics.requests[(_route(request), request.method, status)] += 1


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


class AccessLogger(AbstractAccessLogger):
    """Access log without query strings: dashboard tokens and signatures ride in them."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        self.logger.info(
            '%s "%s %s" %s %.1fms',
            request.remote,
            request.method,
            request.path,
            response.status,
            time * 1000,
        )


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
    lines = [
        "# HELP leaderbot_http_requests_total HTTP requests served, by route, method and status.",
        "# TYPE leaderbot_http_requests_total counter",
    ]
    for (route, method, status), count in sorted(deps.metrics.requests.items()):
        lines.append(
            f'leaderbot_http_requests_total{{route="{_label(route)}",method="{method}",'
            f'status="{status}"}} {count}'
        )
    outbox: dict[OutboxState, int] = {}
    stuck = 0
    given_up: dict[str, int] = {}
    try:
        async with asyncio.timeout(_READY_TIMEOUT), deps.uow() as uow:
            for state in OutboxState:
                outbox[state] = await uow.outbox.count(state=state)
            for platform in Platform:
                given_up[platform.value] = await uow.outbox.count(
                    state=OutboxState.FAILED, platform=platform
                )
            stuck = await uow.outbox.count(
                state=OutboxState.PENDING,
                attempts__gt=0,
                created_at__lt=stuck_since(deps.clock.now()),
            )
    except Exception as exc:
        log.warning("Metrics could not read the outbox: %s", type(exc).__name__)
    lines += [
        "# HELP leaderbot_database_up 1 when the database answered this scrape.",
        "# TYPE leaderbot_database_up gauge",
        f"leaderbot_database_up {1 if len(outbox) == len(OutboxState) else 0}",
        "# HELP leaderbot_outbox_messages Outbox messages by state, read at scrape time.",
        "# TYPE leaderbot_outbox_messages gauge",
    ]
    lines += [f'leaderbot_outbox_messages{{state="{s.value}"}} {n}' for s, n in outbox.items()]
    lines += [
        "# HELP leaderbot_outbox_undelivered Outbox messages given up (past their deadline, a "
        "permanent error, or nobody to reach), by platform: `leaderbot outbox retry` resends.",
        "# TYPE leaderbot_outbox_undelivered gauge",
        *(f'leaderbot_outbox_undelivered{{platform="{p}"}} {n}' for p, n in given_up.items()),
        "# HELP leaderbot_outbox_stuck Outbox messages that failed and are still being retried "
        "an hour after they were written (a platform is failing).",
        "# TYPE leaderbot_outbox_stuck gauge",
        f"leaderbot_outbox_stuck {stuck}",
    ]
    return web.Response(
        body=("\n".join(lines) + "\n").encode(),
        headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"},
    )


def build_web_app(
    *,
    uow: UnitOfWorkFactory,
    clock: Clock,
    admin_token: str = "",
    dashboard_key: bytes,
    mounts: Sequence[Mount] = (),
    body_timeout: float = BODY_TIMEOUT,
) -> web.Application:
    """The server's application. ``admin_token`` "" disables token access (signed links only);
    ``mounts`` add the configured platforms' routes."""
    app = web.Application(middlewares=[_count, _bodies, _errors], client_max_size=MAX_BODY)
    app[_DEPS] = _Deps(
        uow=uow,
        clock=clock,
        metrics=_Metrics(),
        body_timeout=body_timeout,
    )
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/readyz", _readyz)
    app.router.add_get("/metrics", _metrics)
    add_routes(app, WebDeps(uow=uow, clock=clock, link_key=dashboard_key, admin_token=admin_token))
    for mount in mounts:
        mount(app)
    return app
