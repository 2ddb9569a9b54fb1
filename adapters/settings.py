"""Server configuration from the environment and ``.env`` (DESIGN §7).

One flat ``Settings`` object, read once by the CLI and handed down explicitly; nothing reads
``os.environ`` behind its back. Secrets are ``SecretStr`` so neither ``repr`` nor a log line can
show them, and the database URL is logged only through :attr:`Settings.safe_database_url`.
The Bot Framework names (``MicrosoftAppId`` …) are kept exactly as Azure and the botbuilder
samples spell them, so an existing Teams bot configuration works unchanged.
"""

from __future__ import annotations

import ipaddress
import secrets
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./leaderbot.db"


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value() if value is not None else ""


class Settings(BaseSettings):
    """Everything the server and the CLI need. Environment variable names are the upper-case
    field names (``DATABASE_URL``), except the Bot Framework ones, kept verbatim."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    database_url: str = Field(default=DEFAULT_DATABASE_URL, repr=False)
    """SQLAlchemy async URL; may hold a password, hence hidden from ``repr``."""
    host: str = "127.0.0.1"
    port: int = Field(default=3978, ge=1, le=65535)
    public_url: str = ""
    """Base of every link the bot sends (dashboard, full items). Default ``http://HOST:PORT``."""
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"
    """``json``: one JSON object per log line (a request, a delivery attempt: their fields as
    keys), for a log shipper."""
    legal_contact: str = ""
    """Who runs this server, named by ``/privacy`` and ``/terms`` as the one to ask (an e-mail
    address or a team's name)."""
    admin_token: SecretStr | None = None
    """Opens the dashboard and the JSON API with ``?token=…``; unset means signed links only."""
    dashboard_secret: SecretStr | None = None
    """HMAC key of signed dashboard links. Unset: random per process (links die on restart)."""
    tick_seconds: float = Field(default=60.0, gt=0)
    drain_seconds: float = Field(default=2.0, gt=0)
    drain_lease_seconds: float = Field(default=120.0, gt=0)
    outbox_file: Path | None = None
    """Dry run: append outgoing messages to this JSON-lines file instead of sending them."""

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    """App-level token (``xapp-…``, scope ``connections:write``): Slack Socket Mode, so Slack is
    reached over an outgoing WebSocket and needs no public URL (nor the signing secret)."""
    slack_client_id: str = ""
    slack_client_secret: SecretStr | None = None
    slack_scopes: str = ""
    slack_command: str = "/leader"
    slack_api_url: str = ""
    """Override of the Slack Web API base (a local fake server in tests)."""
    slack_encryption_key: SecretStr | None = None
    """Fernet key that encrypts the OAuth tokens of installed workspaces in the database."""

    microsoft_app_id: str = Field(
        default="", validation_alias=AliasChoices("MicrosoftAppId", "microsoft_app_id")
    )
    microsoft_app_password: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("MicrosoftAppPassword", "microsoft_app_password"),
    )
    microsoft_app_tenant_id: str = Field(
        default="",
        validation_alias=AliasChoices("MicrosoftAppTenantId", "microsoft_app_tenant_id"),
    )
    microsoft_app_type: str = Field(
        default="MultiTenant",
        validation_alias=AliasChoices("MicrosoftAppType", "microsoft_app_type"),
    )
    teams_emulator: bool = False
    """Accept the Bot Framework Emulator (no MicrosoftAppId), on a loopback host only."""

    dashboard_secret_generated: bool = Field(default=False, exclude=True)
    """True when DASHBOARD_SECRET was unset and a random one was made (the server warns)."""

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return level

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower_format(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value():
            if not value.get_secret_value().startswith("xapp-"):
                raise ValueError("must be a Slack app-level token (xapp-…)")
            return value
        return None

    @field_validator("public_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @model_validator(mode="after")
    def _dashboard_key(self) -> Settings:
        if self.dashboard_secret is None or not self.dashboard_secret.get_secret_value():
            self.dashboard_secret = SecretStr(secrets.token_urlsafe(32))
            self.dashboard_secret_generated = True
        return self

    @property
    def link_base(self) -> str:
        """Where users reach this server: PUBLIC_URL, else ``http://HOST:PORT``."""
        return self.public_url or f"http://{self.host}:{self.port}"

    @property
    def safe_database_url(self) -> str:
        """The database URL with any password replaced by ``***``, for logs."""
        parts = urlsplit(self.database_url)
        if parts.password is None:
            return self.database_url
        netloc = parts.netloc.rsplit("@", 1)[1]
        user = parts.username or ""
        return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))

    @property
    def dashboard_key(self) -> bytes:
        return _secret(self.dashboard_secret).encode()

    @property
    def admin_token_value(self) -> str:
        return _secret(self.admin_token)

    def slack_env(self) -> dict[str, str]:
        """The Slack settings as ``SLACK_*`` variables, what ``SlackSettings.from_env`` reads."""
        values = {
            "SLACK_BOT_TOKEN": _secret(self.slack_bot_token),
            "SLACK_SIGNING_SECRET": _secret(self.slack_signing_secret),
            "SLACK_APP_TOKEN": _secret(self.slack_app_token),
            "SLACK_CLIENT_ID": self.slack_client_id,
            "SLACK_CLIENT_SECRET": _secret(self.slack_client_secret),
            "SLACK_SCOPES": self.slack_scopes,
            "SLACK_COMMAND": self.slack_command,
            "SLACK_API_URL": self.slack_api_url,
            "SLACK_ENCRYPTION_KEY": _secret(self.slack_encryption_key),
        }
        return {name: value for name, value in values.items() if value}

    def teams_env(self) -> dict[str, str]:
        """The Bot Framework settings under their own names, what ``TeamsSettings.from_env``
        reads."""
        values = {
            "MicrosoftAppId": self.microsoft_app_id,
            "MicrosoftAppPassword": _secret(self.microsoft_app_password),
            "MicrosoftAppTenantId": self.microsoft_app_tenant_id,
            "MicrosoftAppType": self.microsoft_app_type,
            "TEAMS_EMULATOR": "true" if self.teams_emulator else "",
        }
        return {name: value for name, value in values.items() if value}

    def slack_off_reason(self) -> str:
        """Why Slack stays off, or "" when it is configured (a bot token or OAuth, plus the
        signing secret bolt verifies every HTTP request with — or Socket Mode's app token,
        whose requests arrive over a connection the server opened itself)."""
        if not _secret(self.slack_signing_secret) and not _secret(self.slack_app_token):
            return "SLACK_SIGNING_SECRET is not set (nor SLACK_APP_TOKEN, for Socket Mode)"
        if not _secret(self.slack_bot_token) and not (
            self.slack_client_id and _secret(self.slack_client_secret)
        ):
            return "neither SLACK_BOT_TOKEN nor SLACK_CLIENT_ID/SLACK_CLIENT_SECRET is set"
        return ""

    def teams_off_reason(self) -> str:
        """Why Teams stays off, or "" when it is on. Without ``MicrosoftAppId`` botbuilder
        authenticates nobody, so the server then serves only the Bot Framework Emulator, only
        when asked for (``TEAMS_EMULATOR=true``) and only on a loopback address."""
        if self.microsoft_app_id:
            if not _secret(self.microsoft_app_password):
                return "MicrosoftAppId is set but MicrosoftAppPassword is not"
            return ""
        if not self.teams_emulator:
            return (
                "MicrosoftAppId is not set (TEAMS_EMULATOR=true serves the Bot Framework "
                "Emulator on a loopback host)"
            )
        if is_loopback(self.host):
            return ""
        return f"TEAMS_EMULATOR is for a loopback host only, not {self.host}"


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback address (``127.0.0.1``, ``::1``, ``127.0.0.2`` …)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
