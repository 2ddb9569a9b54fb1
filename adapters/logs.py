"""How the server logs: plain lines by default, one JSON object per line with ``LOG_FORMAT=json``.

A log shipper (Loki, Elastic, Splunk, a hospital's SIEM) parses a JSON line without a
hand-written grok pattern. Two kinds of line carry fields of their own, passed as ``extra``
so the text format shows them in its sentence and the JSON format as keys: one per HTTP
request (:class:`AccessLogger`) and one per delivery attempt (:func:`log_delivery`). Neither
ever carries a token or a message's text: requests are logged by path (query strings hold
signed links' signatures), deliveries by ids; every string goes through
:func:`adapters.redact.redact` anyway, as the whole record does through ``RedactSecrets``.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any, Literal

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse

from adapters.redact import redact
from bot.model import OutboxMessage

__all__ = ["AccessLogger", "JsonFormatter", "LogFormat", "configure", "log_delivery"]

LogFormat = Literal["text", "json"]

TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

FIELDS = "leaderbot"
"""The ``extra`` key under which a line's own fields travel (one key: no clash with the
``LogRecord`` attributes)."""

delivery_log = logging.getLogger("leaderbot.delivery")

SLACK_SDK_CLIENTS = ("slack_sdk.web.async_base_client", "slack_sdk.webhook.async_client")
"""slack_sdk's loggers that build a debug line of every request and answer whenever their own
level is unset (they test ``logger.level``, not the effective level): a few percent of a busy
server's time, for lines nobody asked for. Given the configured level, they build them only at
DEBUG."""


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, the line's own fields, and
    the traceback as one string when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        own = getattr(record, FIELDS, None)
        if isinstance(own, dict):
            line.update({k: redact(v) if isinstance(v, str) else v for k, v in own.items()})
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = redact(record.exc_text)
        return json.dumps(line, ensure_ascii=False, default=str)


def configure(*, level: str | int, log_format: LogFormat) -> None:
    """Set up the root logger's one handler (stderr) in ``log_format``."""
    logging.basicConfig(level=level, format=TEXT)
    for name in SLACK_SDK_CLIENTS:
        logging.getLogger(name).setLevel(level)
    if log_format == "json":
        for handler in logging.getLogger().handlers:
            handler.setFormatter(JsonFormatter())


def _route(request: BaseRequest) -> str:
    match_info = getattr(request, "match_info", None)
    resource = match_info.route.resource if match_info is not None else None
    return resource.canonical if resource is not None else "unmatched"


class AccessLogger(AbstractAccessLogger):
    """One line per HTTP request, without its query string: dashboard tokens and signatures
    ride in it."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        latency_ms = round(time * 1000, 1)
        self.logger.info(
            '%s "%s %s" %s %.1fms',
            request.remote,
            request.method,
            request.path,
            response.status,
            latency_ms,
            extra={
                FIELDS: {
                    "event": "http_request",
                    "method": request.method,
                    "path": request.path,
                    "route": _route(request),
                    "status": response.status,
                    "latency_ms": latency_ms,
                    "remote": request.remote,
                }
            },
        )


def log_delivery(row: OutboxMessage, *, outcome: str, seconds: float, error: str = "") -> None:
    """One line per delivery attempt: which outbox row, where to, how it went and how long it
    took — the message itself stays out."""
    latency_ms = round(seconds * 1000, 1)
    level = logging.INFO if outcome == "sent" else logging.WARNING
    delivery_log.log(
        level,
        "delivery outbox=%s %s %s %.1fms%s",
        row.id,
        row.platform.value,
        outcome,
        latency_ms,
        f" ({error})" if error else "",
        extra={
            FIELDS: {
                "event": "delivery",
                "platform": row.platform.value,
                "outcome": outcome,
                "latency_ms": latency_ms,
                "outbox_id": row.id,
                "organization_id": row.organization_id,
                "workspace_id": row.workspace_id,
                "person_id": row.person_id,
                "category": row.category,
                "attempt": row.attempts + 1,
                "error": error,
            }
        },
    )
