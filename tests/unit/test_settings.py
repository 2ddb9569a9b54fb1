"""Settings: defaults, environment and .env, the Bot Framework names, secrets kept out of repr."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from adapters.settings import DEFAULT_DATABASE_URL, Settings

ENV_NAMES = [
    *(name.upper() for name in Settings.model_fields),
    "MicrosoftAppId",
    "MicrosoftAppPassword",
    "MicrosoftAppTenantId",
    "MicrosoftAppType",
]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No setting of the machine running the tests leaks in."""
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def settings(**env: str) -> Settings:
    return Settings(_env_file=None, **env)  # type: ignore[call-arg]


def test_defaults() -> None:
    s = settings()
    assert s.database_url == DEFAULT_DATABASE_URL
    assert (s.host, s.port, s.tick_seconds, s.drain_seconds) == ("127.0.0.1", 3978, 60.0, 2.0)
    assert s.link_base == "http://127.0.0.1:3978"
    assert s.admin_token_value == ""
    assert s.log_level == "INFO"


def test_environment_overrides(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("DATABASE_URL", "postgresql+asyncpg://bot:hunter2@db:5432/leaderbot")
    clean_env.setenv("PORT", "8080")
    clean_env.setenv("PUBLIC_URL", "https://bot.example.org/")
    clean_env.setenv("LOG_LEVEL", "debug")
    clean_env.setenv("TICK_SECONDS", "30")
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert s.port == 8080
    assert s.link_base == "https://bot.example.org"
    assert s.log_level == "DEBUG"
    assert s.tick_seconds == 30
    assert s.safe_database_url == "postgresql+asyncpg://bot:***@db:5432/leaderbot"


def test_dotenv_file(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("ADMIN_TOKEN=from-dotenv\nHOST=0.0.0.0\nMicrosoftAppId=abc\n")
    s = Settings(_env_file=env)  # type: ignore[call-arg]
    assert s.admin_token_value == "from-dotenv"
    assert s.host == "0.0.0.0"
    assert s.microsoft_app_id == "abc"


def test_bot_framework_names_are_kept_verbatim(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("MicrosoftAppId", "app-id")
    clean_env.setenv("MicrosoftAppPassword", "app-password")
    clean_env.setenv("MicrosoftAppTenantId", "tenant")
    clean_env.setenv("MicrosoftAppType", "SingleTenant")
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert s.teams_env() == {
        "MicrosoftAppId": "app-id",
        "MicrosoftAppPassword": "app-password",
        "MicrosoftAppTenantId": "tenant",
        "MicrosoftAppType": "SingleTenant",
    }
    assert s.teams_off_reason() == ""


def test_slack_env_carries_only_what_is_set() -> None:
    s = settings(slack_bot_token="xoxb-1", slack_signing_secret="shh")
    assert s.slack_env() == {
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_SIGNING_SECRET": "shh",
        "SLACK_COMMAND": "/leader",
    }


def test_secrets_never_show_in_repr() -> None:
    s = settings(
        database_url="postgresql+asyncpg://bot:db-pass@db/leaderbot",
        admin_token="admin-tok",
        dashboard_secret="dash-key",
        slack_bot_token="xoxb-secret",
        slack_signing_secret="signing-secret",
        slack_client_secret="client-secret",
        microsoft_app_password="ms-pass",
    )
    shown = repr(s) + str(s)
    for secret in (
        "db-pass",
        "admin-tok",
        "dash-key",
        "xoxb-secret",
        "signing-secret",
        "client-secret",
        "ms-pass",
    ):
        assert secret not in shown
    assert s.dashboard_key == b"dash-key"
    assert not s.dashboard_secret_generated


def test_missing_dashboard_secret_is_random_per_process_and_flagged() -> None:
    one, two = settings(), settings()
    assert one.dashboard_secret_generated and two.dashboard_secret_generated
    assert len(one.dashboard_key) >= 32
    assert one.dashboard_key == one.dashboard_key
    assert one.dashboard_key != two.dashboard_key


def test_safe_database_url_leaves_passwordless_urls_alone() -> None:
    assert settings().safe_database_url == DEFAULT_DATABASE_URL
    s = settings(database_url="postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    assert s.safe_database_url == "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


@pytest.mark.parametrize(
    ("env", "reason"),
    [
        ({}, "SLACK_SIGNING_SECRET is not set"),
        ({"slack_signing_secret": "s"}, "neither SLACK_BOT_TOKEN"),
        ({"slack_signing_secret": "s", "slack_bot_token": "xoxb"}, ""),
        ({"slack_signing_secret": "s", "slack_client_id": "1", "slack_client_secret": "c"}, ""),
        ({"slack_app_token": "xapp-1-A1-2-abc"}, "neither SLACK_BOT_TOKEN"),
        ({"slack_app_token": "xapp-1-A1-2-abc", "slack_bot_token": "xoxb"}, ""),
    ],
)
def test_slack_is_on_only_when_configured(env: dict[str, str], reason: str) -> None:
    got = settings(**env).slack_off_reason()
    assert got.startswith(reason) and bool(got) == bool(reason)


def test_teams_emulator_mode_only_when_asked_for_and_on_loopback() -> None:
    assert "TEAMS_EMULATOR=true" in settings().teams_off_reason()
    assert settings(teams_emulator="true").teams_off_reason() == ""
    assert settings(teams_emulator="true", host="::1").teams_off_reason() == ""
    assert settings(teams_emulator="true").teams_env()["TEAMS_EMULATOR"] == "true"
    assert "loopback" in settings(teams_emulator="true", host="0.0.0.0").teams_off_reason()
    assert "loopback" in settings(teams_emulator="true", host="10.0.0.5").teams_off_reason()
    assert "MicrosoftAppPassword" in settings(microsoft_app_id="x").teams_off_reason()


@pytest.mark.parametrize("env", [{"port": "0"}, {"port": "http"}, {"log_level": "loud"}])
def test_bad_values_are_refused(env: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        settings(**env)


def test_socket_mode_needs_an_app_level_token() -> None:
    with pytest.raises(ValidationError, match="app-level token"):
        settings(slack_app_token="xoxb-not-an-app-token")
    assert settings(slack_app_token="").slack_app_token is None
    assert settings(slack_app_token="xapp-1-A").slack_env()["SLACK_APP_TOKEN"] == "xapp-1-A"


def test_log_format_is_text_or_json() -> None:
    assert settings().log_format == "text"
    assert settings(log_format="JSON").log_format == "json"
    with pytest.raises(ValidationError):
        settings(log_format="xml")
