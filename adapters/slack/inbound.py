"""Slack payload text → the core's neutral text, and ``users.info`` users → Profiles.

Slack sends command and message text with its own markup: ``<@U123|ana>`` mentions,
``<#C123|sepsis>`` channel links, ``<!here>``, ``<https://x|label>`` links, and ``&amp;``
``&lt;`` ``&gt;`` for the literal characters. The grammar speaks ``@handle`` and ``#PROJECT``:
a mention becomes the core's neutral ``<@U123>``, which the core writes as the mentioned
person's handle once it has identified them (:mod:`bot.inbound`). A channel link stays
``<#C123|name>``, the grammar's channel mention: it names the project when the command names
no ``#KEY`` (Slack turns a typed ``#sepsis`` into a link when such a channel exists, and the
user meant the project), and is text (``#name``) otherwise, so a channel named inside an ask is
never a second project.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from bot.context import Profile
from bot.inbound import mention

log = logging.getLogger(__name__)

_TOKEN = re.compile(r"<([^<>]*)>")


def unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _token(body: str) -> str:
    target, _, label = body.partition("|")
    if target.startswith("@"):
        return mention(target[1:])
    if target.startswith("#"):
        return f"<{target}|{label}>" if label else ""
    if target.startswith("!"):
        return label or f"@{target[1:].split('^')[0]}"
    return label if label and label != target else target


def to_plain(text: str) -> str:
    """Slack markup → the text the core reads (see module docstring)."""
    parts: list[str] = []
    last = 0
    for match in _TOKEN.finditer(text):
        parts.append(unescape(text[last : match.start()]))
        parts.append(unescape(_token(match.group(1))))
        last = match.end()
    parts.append(unescape(text[last:]))
    return "".join(parts).strip()


def profile_of(user: Mapping[str, Any]) -> Profile:
    """A ``users.info`` user as the core's Profile."""
    profile = user.get("profile") or {}
    name = (
        user.get("real_name")
        or profile.get("real_name")
        or profile.get("display_name")
        or user.get("name")
        or user.get("id", "")
    )
    return Profile(
        name=str(name),
        email=str(profile.get("email") or ""),
        timezone=str(user.get("tz") or ""),
        handle=str(user.get("name") or ""),
    )
