"""Wiring the Teams adapter: botbuilder's CloudAdapter + our handler, mounted at /api/messages.

Authentication is botbuilder's JWT validation of every request. With no ``MicrosoftAppId``
botbuilder authenticates nobody, so the route then serves only the Bot Framework Emulator, and
only when asked for (``TEAMS_EMULATOR=true``; the composition root keeps Teams off otherwise): a
request from a non-loopback peer, or naming a ``serviceUrl`` that is not on loopback (where the
bot would fetch member profiles and post replies), gets 401 and nothing is read or written.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from aiohttp import web
from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import (
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
)
from botbuilder.schema import ActivityEventNames
from jwt import PyJWTError

from adapters.http import refused
from adapters.settings import is_loopback
from adapters.teams.activities import message_activity
from adapters.teams.bot import CHANGED, TeamsBot
from adapters.teams.settings import TeamsSettings
from adapters.teams.wire import checked_activity
from bot.messages import text

if TYPE_CHECKING:
    from bot.dispatch import Core

log = logging.getLogger(__name__)

MESSAGES_PATH = "/api/messages"
APOLOGY = text("Sorry, something went wrong on my side. Nothing was changed; please try again.")
DONE_BUT_UNSHOWN = text(
    "Your request was carried out, but I couldn't show you the result just now. "
    "Please don't send it again; type `asks` or `status` to see where things stand."
)


@dataclass(frozen=True)
class _BotFrameworkConfig:
    """The attribute names ``ConfigurationBotFrameworkAuthentication`` reads."""

    APP_ID: str
    APP_PASSWORD: str
    APP_TENANTID: str
    APP_TYPE: str


def build_teams(core: Core, settings: TeamsSettings) -> tuple[CloudAdapter, TeamsBot]:
    """The CloudAdapter (authentication, connector clients) and the handler for ``core``."""
    config = _BotFrameworkConfig(
        APP_ID=settings.app_id,
        APP_PASSWORD=settings.app_password,
        APP_TENANTID=settings.tenant_id,
        APP_TYPE=settings.app_type,
    )
    adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(config))
    adapter.on_turn_error = _on_turn_error
    return adapter, TeamsBot(core, settings)


def mount_teams(
    app: web.Application, adapter: CloudAdapter, bot: TeamsBot, *, authenticated: bool = False
) -> None:
    """Add ``POST /api/messages`` to the server's aiohttp application. ``authenticated``: an
    app id is configured (False: the Emulator, unauthenticated, is what is expected)."""
    emulator_only = bot.settings.emulator_only

    async def messages(request: web.Request) -> web.StreamResponse:
        # Who may call comes first (as botbuilder's own authentication would), then the shape.
        if emulator_only and not emulator_may(
            peer=request.remote or "", body=await request.read(), settings=bot.settings
        ):
            return web.Response(status=401, text="unauthenticated requests are not accepted")
        await checked_activity(request, authenticated=authenticated)
        try:
            response = await adapter.process(request, bot)
        except PyJWTError as exc:  # a token that is not one; botbuilder lets these through
            raise refused(request, web.HTTPUnauthorized, f"invalid token ({exc})") from None
        return response if response is not None else web.Response(status=201)

    app.router.add_post(MESSAGES_PATH, messages)


def emulator_may(*, peer: str, body: bytes, settings: TeamsSettings) -> bool:
    """Whether an unauthenticated request is the Emulator's: only when asked for, from a
    loopback ``peer``, naming a loopback ``serviceUrl`` in its ``body``."""
    if not settings.emulator or not is_loopback(peer):
        return False
    try:
        activity = json.loads(body)
    except ValueError:
        return False
    service_url = activity.get("serviceUrl") if isinstance(activity, dict) else None
    if not isinstance(service_url, str):
        return False
    try:
        parts = urlsplit(service_url)
        return parts.scheme in ("http", "https") and is_loopback(parts.hostname or "")
    except ValueError:
        return False


async def _on_turn_error(turn_context: TurnContext, error: Exception) -> None:
    """Log the failure (with its traceback, for us) and tell the user politely (never it),
    and truly: once the core committed a change in this turn, the apology says so."""
    log.error("Teams turn failed: %s", type(error).__name__, exc_info=error)
    if turn_context.activity.name == ActivityEventNames.continue_conversation:
        return  # a proactive send: nobody is waiting for an answer; the outbox retries it
    apology = DONE_BUT_UNSHOWN if turn_context.turn_state.get(CHANGED) else APOLOGY
    try:
        await turn_context.send_activity(message_activity(apology))
    except Exception:  # the connector itself may be what failed; the log line is enough
        log.warning("could not send the apology to Teams", exc_info=True)
