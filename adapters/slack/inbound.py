"""Slack payload text → the command grammar's plain text, and Slack users → Callers.

Slack sends command and message text with its own markup: ``<@U123|ana>`` mentions,
``<#C123|sepsis>`` channel links, ``<!here>``, ``<https://x|label>`` links, and ``&amp;``
``&lt;`` ``&gt;`` for the literal characters. The grammar speaks ``@handle`` and ``#PROJECT``, so
mentions become the mentioned person's handle. A channel link stays ``<#C123|name>``, the
grammar's channel mention: it names the project when the command names no ``#KEY`` (Slack turns
a typed ``#sepsis`` into a link when such a channel exists, and the user meant the project), and
is text (``#name``) otherwise, so a channel named inside an ask is never a second project.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.context import Caller, Profile
from bot.dispatch import Core
from bot.model import Platform

log = logging.getLogger(__name__)

_TOKEN = re.compile(r"<([^<>]*)>")
MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^<>]*)?>")


def mentioned(text: str) -> list[str]:
    """User ids mentioned in ``text``, in order, without repeats."""
    return list(dict.fromkeys(MENTION.findall(text)))


def unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _token(body: str, handles: Mapping[str, str]) -> str:
    target, _, label = body.partition("|")
    if target.startswith("@"):
        user = target[1:]
        return f"@{handles[user]}" if user in handles else f"@{label or user}"
    if target.startswith("#"):
        return f"<{target}|{label}>" if label else ""
    if target.startswith("!"):
        return label or f"@{target[1:].split('^')[0]}"
    return label if label and label != target else target


def to_plain(text: str, handles: Mapping[str, str]) -> str:
    """Slack markup → the plain text the grammar reads (see module docstring); ``handles`` maps
    mentioned user ids to handles."""
    parts: list[str] = []
    last = 0
    for match in _TOKEN.finditer(text):
        parts.append(unescape(text[last : match.start()]))
        parts.append(unescape(_token(match.group(1), handles)))
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


@dataclass(frozen=True, kw_only=True)
class Team:
    """Who is who in one Slack workspace, through the core (and ``users.info`` for newcomers)."""

    core: Core
    team_id: str
    channel_id: str | None = None

    async def known(self, user_id: str) -> Caller | None:
        """The Caller for a user the core already knows; never calls Slack (safe before ack)."""
        caller = await self.core.identify(
            platform=Platform.SLACK, workspace_external_id=self.team_id, user_id=user_id
        )
        return self._here(caller)

    async def fetch(self, client: AsyncWebClient, user_id: str) -> Caller | None:
        """Like :meth:`known`, filling a first-seen user's identity from ``users.info``."""
        caller = await self.known(user_id)
        if caller is not None:
            return caller
        try:
            response = await client.users_info(user=user_id)
        except SlackApiError as error:
            log.warning("users.info failed for a Slack user: %s", error.response.get("error"))
            return None
        caller = await self.core.identify(
            platform=Platform.SLACK,
            workspace_external_id=self.team_id,
            user_id=user_id,
            profile=profile_of(response.get("user") or {}),
        )
        return self._here(caller)

    def _here(self, caller: Caller | None) -> Caller | None:
        if caller is None or self.channel_id is None:
            return caller
        return replace(caller, channel_id=self.channel_id)

    async def plain(
        self, text: str, lookup: Callable[[str], Awaitable[Caller | None]]
    ) -> str | None:
        """``text`` with mentions as handles; None when a mentioned user is unknown to
        ``lookup`` (the caller then retries with :meth:`fetch` after acking)."""
        handles: dict[str, str] = {}
        for user_id in mentioned(text):
            person = await lookup(user_id)
            if person is None:
                return None
            handles[user_id] = person.handle
        return to_plain(text, handles)
