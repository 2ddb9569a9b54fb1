"""Slack configuration, read from ``SLACK_*`` variables (``Settings.slack_env()`` or os.environ).

Two modes: one workspace with a bot token (``SLACK_BOT_TOKEN``), or many workspaces installed
through OAuth (``SLACK_CLIENT_ID`` + ``SLACK_CLIENT_SECRET``). Both need ``SLACK_SIGNING_SECRET``,
which bolt checks every request against — unless requests arrive over Socket Mode
(``SLACK_APP_TOKEN``), on a connection the server opened itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_SCOPES = (
    "commands",
    "chat:write",
    "chat:write.public",
    "im:write",
    "im:history",
    "channels:history",
    "groups:history",
    "users:read",
    "users:read.email",
    "channels:read",
    "groups:read",
    "app_mentions:read",
)
"""The bot scopes of ``manifest.yml``: what an OAuth install asks for unless SLACK_SCOPES says."""

OFF = (
    "Slack is off: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET, "
    "or SLACK_CLIENT_ID/SLACK_CLIENT_SECRET/SLACK_SIGNING_SECRET for OAuth"
)


@dataclass(frozen=True, kw_only=True)
class SlackSettings:
    bot_token: str = ""
    signing_secret: str = ""
    client_id: str = ""
    client_secret: str = ""
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    command: str = "/leader"
    api_url: str = ""
    """Web API base (``https://slack.com/api/`` when empty); a local fake Slack in tests."""
    encryption_key: str = ""
    """Fernet key: OAuth mode stores each workspace's tokens encrypted with it (plain if empty)."""
    app_token: str = ""
    """App-level token (``xapp-…``): requests arrive over Socket Mode, not ``/slack/events``."""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SlackSettings:
        scopes = tuple(s.strip() for s in env.get("SLACK_SCOPES", "").split(",") if s.strip())
        command = env.get("SLACK_COMMAND", "").strip() or "/leader"
        return cls(
            bot_token=env.get("SLACK_BOT_TOKEN", ""),
            signing_secret=env.get("SLACK_SIGNING_SECRET", ""),
            client_id=env.get("SLACK_CLIENT_ID", ""),
            client_secret=env.get("SLACK_CLIENT_SECRET", ""),
            scopes=scopes or DEFAULT_SCOPES,
            command=command if command.startswith("/") else f"/{command}",
            api_url=env.get("SLACK_API_URL", ""),
            encryption_key=env.get("SLACK_ENCRYPTION_KEY", "").strip(),
            app_token=env.get("SLACK_APP_TOKEN", "").strip(),
        )

    @property
    def oauth(self) -> bool:
        """Multi-workspace mode: tokens come from the installation store, not from settings."""
        return bool(self.client_id and self.client_secret)

    @property
    def configured(self) -> bool:
        return bool((self.signing_secret or self.app_token) and (self.bot_token or self.oauth))

    @property
    def base_url(self) -> str:
        """``api_url`` the way slack_sdk wants it (with a trailing slash)."""
        url = self.api_url or "https://slack.com/api/"
        return url if url.endswith("/") else f"{url}/"
