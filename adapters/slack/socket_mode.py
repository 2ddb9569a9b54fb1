"""Slack over Socket Mode: no public URL needed (``SLACK_APP_TOKEN``, docs/slack.md).

Many hospital networks cannot expose an HTTPS endpoint to Slack. In Socket Mode the server
opens the connection itself: it asks ``apps.connections.open`` (with the app-level token) for a
WebSocket URL, connects, and Slack sends every request — slash commands, clicks, modal
submissions, events — as an envelope on it, which the server acks on the same socket. bolt's
own handler (``slack_bolt.adapter.socket_mode.aiohttp.AsyncSocketModeHandler``, on
slack_sdk's aiohttp client) turns each envelope into the request the HTTP route would have
built and runs the *same* bolt app, so listeners, the ack budget and replies behave exactly as
over HTTP; only ``/slack/events`` is not served (an unsigned request there would be trusted).
slack_sdk reconnects by itself when the socket drops, and retries ``apps.connections.open``
until Slack answers, in the background: the rest of the server starts meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler

from adapters.slack.app import SlackBolt, mount_slack

__all__ = ["mount_socket_mode"]

log = logging.getLogger(__name__)


def mount_socket_mode(app: web.Application, bolt: SlackBolt, *, app_token: str) -> None:
    """Serve ``bolt`` over Socket Mode while ``app`` runs: connected at startup, closed at
    cleanup (after the listeners' work under way has finished). OAuth's install pages stay on
    HTTP, as Slack's OAuth needs them."""
    mount_slack(app, bolt, events=False)

    async def connection(_: web.Application) -> AsyncIterator[None]:
        # Built here, in the running loop: slack_sdk's client opens its aiohttp session at once.
        handler = AsyncSocketModeHandler(bolt, app_token=app_token)
        connecting = asyncio.ensure_future(handler.connect_async())  # type: ignore[no-untyped-call]
        log.info("Slack: connecting over Socket Mode")
        yield
        connecting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await connecting
        await handler.close_async()  # type: ignore[no-untyped-call]

    app.cleanup_ctx.append(connection)
