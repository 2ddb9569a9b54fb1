"""Who a Teams user is: their profile from the Bot Connector, and the two ids Teams knows them by.

A Teams user has an AAD object id, stable across apps, by which Leaderbot knows them
(:func:`adapters.teams.inbound.user_id`), and a Bot Framework id (``29:…``), the only one a
mention carries and the one ``TeamsInfo.get_member`` takes. A sender's account and a member's
profile carry both; the adapter hands the Bot Framework id to the core as the identity's alias
(``Inbound.alias``, ``Profile.alias``), which stores it, so a mention of someone known finds
them in the database — after a restart, on any server process — and costs no look-up. Someone
never seen, or known from before their alias was stored, costs one look-up, once.
"""

from __future__ import annotations

import logging

from botbuilder.core import TurnContext
from botbuilder.core.teams import TeamsInfo
from botbuilder.schema.teams import TeamsChannelAccount

from bot.context import Profile

log = logging.getLogger(__name__)


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


def profile(
    found: TeamsChannelAccount | None, fallback_name: str, *, timezone: str, alias: str = ""
) -> Profile:
    """What the core makes a new person from (and, with ``alias``, stores as the identity's
    Bot Framework id)."""
    if found is None:
        return Profile(name=fallback_name or "Teams user", timezone=timezone, alias=alias)
    return Profile(
        name=found.name or fallback_name or "Teams user",
        email=found.email or found.user_principal_name or "",
        timezone=timezone,
        alias=alias,
    )
