"""Bot Framework credentials for the Teams adapter, under the names Azure and botbuilder use."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

EMULATOR_APP_ID = "00000000-0000-0000-0000-000000000000"
"""Stands in for the bot's app id when none is configured. botbuilder needs a non-empty id to start
a channel thread through CloudAdapter (an empty one takes a legacy path CloudAdapter lacks); with
authentication disabled the id is never checked by anyone."""


TRUE = frozenset({"1", "true", "yes", "on"})


@dataclass(frozen=True, kw_only=True)
class TeamsSettings:
    """``MicrosoftAppId`` empty means botbuilder authenticates nobody; the server then serves
    only the Bot Framework Emulator, only when asked for (``TEAMS_EMULATOR=true``), and only
    loopback callers naming a loopback ``serviceUrl`` (:mod:`adapters.teams.app`).

    ``MicrosoftAppTenantId`` set makes a single-tenant bot: that tenant's organization is the
    only one served. Empty, every tenant the app is installed in gets its own organization."""

    app_id: str = ""
    app_password: str = ""
    tenant_id: str = ""
    app_type: str = "MultiTenant"
    emulator: bool = False
    """``TEAMS_EMULATOR=true``: accept the unauthenticated Bot Framework Emulator (no app id)."""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> TeamsSettings:
        """Read ``MicrosoftAppId`` / ``MicrosoftAppPassword`` / ``MicrosoftAppTenantId`` /
        ``MicrosoftAppType`` (what ``Settings.teams_env()`` returns, or ``os.environ``)."""
        return cls(
            app_id=env.get("MicrosoftAppId", ""),
            app_password=env.get("MicrosoftAppPassword", ""),
            tenant_id=env.get("MicrosoftAppTenantId", ""),
            app_type=env.get("MicrosoftAppType", "") or "MultiTenant",
            emulator=env.get("TEAMS_EMULATOR", "").strip().lower() in TRUE,
        )

    @property
    def emulator_only(self) -> bool:
        """No app id: only the Emulator may talk to us (and only if asked for)."""
        return not self.app_id

    @property
    def bot_app_id(self) -> str:
        """The id proactive sends run under (see :data:`EMULATOR_APP_ID`)."""
        return self.app_id or EMULATOR_APP_ID
