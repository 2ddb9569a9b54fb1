"""Who a Teams user is: their profile from the Bot Connector, and the two ids Teams knows them by.

A Teams user has an AAD object id, stable across apps, by which Leaderbot knows them
(:func:`adapters.teams.inbound.user_id`), and a Bot Framework id (``29:…``), the only one a
mention carries and the one ``TeamsInfo.get_member`` takes. A sender's account and a member's
profile carry both; :class:`KnownIds` keeps the pairs seen, so that a mention of someone already
seen is written with the id the core knows them by and costs no look-up. One it has not seen
(after a restart, say) costs one look-up, once.
"""

from __future__ import annotations

import logging

from botbuilder.core import TurnContext
from botbuilder.core.teams import TeamsInfo
from botbuilder.schema.teams import TeamsChannelAccount

from bot.context import Profile

log = logging.getLogger(__name__)

KNOWN_IDS = 50_000
"""Pairs of ids kept in memory at most (a few MB), then the map starts again."""


class KnownIds:
    """Bot Framework id → user id (AAD object id), per tenant, as seen on this process."""

    def __init__(self) -> None:
        self._ids: dict[tuple[str, str], str] = {}

    def learn(self, tenant: str, *, bot_framework_id: str, user_id: str) -> None:
        if not bot_framework_id or not user_id or bot_framework_id == user_id:
            return
        if len(self._ids) >= KNOWN_IDS:
            self._ids.clear()
        self._ids[(tenant, bot_framework_id)] = user_id

    def user_id(self, tenant: str, bot_framework_id: str) -> str:
        """The id the core knows this user by, as far as this process has seen; else the Bot
        Framework id itself (which the core then asks a profile for)."""
        return self._ids.get((tenant, bot_framework_id), bot_framework_id)


async def member(turn_context: TurnContext, bot_framework_id: str) -> TeamsChannelAccount | None:
    """The user's Teams profile (name, email, AAD id), or None when Teams won't say (guest
    users, the Emulator, a transient error): the activity's own name is used instead."""
    if not bot_framework_id:
        return None
    try:
        found: TeamsChannelAccount = await TeamsInfo.get_member(turn_context, bot_framework_id)
    except Exception:  # the profile is a nicety: any failure falls back to the activity's name
        log.info("TeamsInfo.get_member failed; using the activity's name", exc_info=True)
        return None
    return found


def profile(found: TeamsChannelAccount | None, fallback_name: str, *, timezone: str) -> Profile:
    """What the core makes a new person from."""
    if found is None:
        return Profile(name=fallback_name or "Teams user", timezone=timezone)
    return Profile(
        name=found.name or fallback_name or "Teams user",
        email=found.email or found.user_principal_name or "",
        timezone=timezone,
    )
