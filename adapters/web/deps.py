"""What every web page handler needs, stored once on the application (``request.app[WEB]``)."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from bot.ports import Clock, UnitOfWorkFactory


@dataclass(frozen=True, kw_only=True)
class WebDeps:
    uow: UnitOfWorkFactory
    clock: Clock
    link_key: bytes
    """HMAC key of signed links (``DASHBOARD_SECRET``)."""
    admin_token: str = ""
    """Opens any page as an admin; "" disables token access (signed links only)."""


WEB = web.AppKey("leaderbot_web", WebDeps)
