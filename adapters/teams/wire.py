"""A Bot Framework request's outer shape, checked before botbuilder sees it (issue 11 §8).

``CloudAdapter.process`` deserializes the body before it authenticates the request and expects
an object with the documented types: a body that is ``null``, a list or a number, ``from`` as a
string, JSON nested past the recursion limit, a missing Content-Type or a garbage Bearer token
each ended in a 500 with a traceback, unauthenticated. Here each is a 400 or 401 and one line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from aiohttp import web
from azure.core.exceptions import DeserializationError
from botbuilder.schema import Activity

from adapters.http import refused

_OBJECTS = ("from", "recipient", "conversation", "channelData", "value_", "relatesTo")
_LISTS = ("entities", "attachments", "membersAdded", "membersRemoved")
_BEARER = re.compile(r"Bearer [A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")


async def checked_activity(request: web.Request, *, authenticated: bool) -> Activity:
    """The request's activity when its shape is right, else the 4xx that answers it.
    ``authenticated``: an app id is configured, so only a Bearer JWT can be valid."""
    if "application/json" not in request.headers.get("Content-Type", ""):
        raise refused(request, web.HTTPUnsupportedMediaType, "body is not JSON")
    if authenticated and not _BEARER.fullmatch(request.headers.get("Authorization", "")):
        raise refused(request, web.HTTPUnauthorized, "missing or malformed Bearer token")
    try:
        body = json.loads((await request.read()).decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise refused(
            request, web.HTTPBadRequest, f"unreadable body ({type(exc).__name__})"
        ) from None
    problem = shape_problem(body)
    if problem:
        raise refused(request, web.HTTPBadRequest, problem)
    try:
        activity: Activity = Activity().deserialize(body)
    except (DeserializationError, ValueError, TypeError, AttributeError) as exc:
        raise refused(
            request, web.HTTPBadRequest, f"not an activity ({type(exc).__name__})"
        ) from None
    return activity


def shape_problem(body: Any) -> str:
    """What is wrong with an activity's shape ("" when nothing is)."""
    if not isinstance(body, Mapping):
        return "activity is not an object"
    if not isinstance(body.get("type"), str) or not body["type"]:
        return "activity without a type"
    for name in _OBJECTS:
        if body.get(name) is not None and not isinstance(body[name], Mapping):
            return f"{name} is not an object"
    for name in _LISTS:
        if body.get(name) is not None and not isinstance(body[name], list):
            return f"{name} is not a list"
    for name in ("id", "text", "serviceUrl", "channelId", "replyToId", "name"):
        if body.get(name) is not None and not isinstance(body[name], str):
            return f"{name} is not a string"
    return ""
