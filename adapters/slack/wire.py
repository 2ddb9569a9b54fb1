"""A Slack request's outer shape, checked before bolt sees it (issue 11 §8).

bolt parses a body in ``AsyncBoltRequest``'s constructor, before it checks the signature, and
its listeners and ours index payloads as Slack documents them. So a non-numeric timestamp, a
body that is not UTF-8, JSON nested past Python's recursion limit, a payload that is not an
object, or an object whose ``user``/``team``/``event`` has the wrong type would each end in a
500 with a traceback — most of them unauthenticated. Here each is a 400 or 401 and one log line.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web
from slack_bolt.request.async_request import AsyncBoltRequest

from adapters.http import refused

_OBJECTS = ("user", "team", "channel", "view", "container", "enterprise")
"""Interactivity fields that are objects when present."""


async def bolt_request(request: web.Request) -> AsyncBoltRequest:
    """The bolt request for ``request``, or the 4xx that answers it."""
    stamp = request.headers.get("X-Slack-Request-Timestamp", "")
    if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 12):
        raise refused(request, web.HTTPUnauthorized, "missing or malformed Slack timestamp")
    if not request.headers.get("X-Slack-Signature", "").isascii():
        raise refused(request, web.HTTPUnauthorized, "malformed Slack signature")
    try:
        text = (await request.read()).decode("utf-8")
    except UnicodeDecodeError:
        raise refused(request, web.HTTPBadRequest, "body is not UTF-8") from None
    try:
        bolt = AsyncBoltRequest(body=text, query=request.query_string, headers=request.headers)  # type: ignore[arg-type]
    except (ValueError, TypeError, AttributeError, KeyError, RecursionError) as exc:
        raise refused(
            request, web.HTTPBadRequest, f"unreadable body ({type(exc).__name__})"
        ) from None
    problem = shape_problem(bolt.body)
    if problem:
        raise refused(request, web.HTTPBadRequest, problem)
    return bolt


def shape_problem(body: Any) -> str:
    """What is wrong with a parsed payload's shape ("" when nothing is): the fields our
    listeners and bolt's matchers index must have the types Slack documents."""
    if not isinstance(body, Mapping):
        return "payload is not an object"
    if body.get("type") == "url_verification":
        return (
            "" if isinstance(body.get("challenge"), str) else "url_verification without challenge"
        )
    if "command" in body:  # a slash command (form fields are strings)
        missing = [name for name in ("user_id", "team_id") if not body.get(name)]
        return f"slash command without {', '.join(missing)}" if missing else ""
    if body.get("type") == "event_callback":
        event = body.get("event")
        if not isinstance(event, Mapping) or not isinstance(event.get("type"), str):
            return "event without a type"
        if not isinstance(event.get("user", ""), str) or not isinstance(
            event.get("channel", ""), str
        ):
            return "event with a malformed user or channel"
        if event["type"] in ("message", "app_mention", "app_home_opened") and not event.get("user"):
            return f"{event['type']} event without a user"
        return ""
    for name in _OBJECTS:
        if name in body and body[name] is not None and not isinstance(body[name], Mapping):
            return f"{name} is not an object"
    if body.get("type") in ("block_actions", "view_submission") and not isinstance(
        (body.get("user") or {}).get("id"), str
    ):
        return f"{body['type']} without a user"
    if body.get("type") == "block_actions" and not (
        isinstance(body.get("actions"), list)
        and all(isinstance(a, Mapping) for a in body["actions"])
    ):
        return "block_actions without actions"
    view = body.get("view")
    if body.get("type") == "view_submission" and not (
        isinstance(view, Mapping) and isinstance(view.get("type"), str)
    ):
        return "view_submission without its view"
    return ""
