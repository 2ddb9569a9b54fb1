"""Request verification on the real /slack/events route: Slack's own signing example verifies;
a tampered body, a wrong secret or a stale timestamp is refused with 401 before any listener runs.
Also: the app manifest is valid against Slack's published schema, and Slack stays off (one log
line) without settings."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft7Validator
from slack_sdk.signature import SignatureVerifier

from adapters.slack import SlackSettings, build_slack_app
from adapters.slack.settings import OFF
from bot.clock import SystemClock
from bot.dispatch import Core
from bot.ports import UnitOfWork
from tests.fakes import make_memory_uow_factory
from tests.fakes_slack import FakeSlack, sign
from tests.scenario.slack.conftest import REPO, SECRET, SHARED, fixture, serve_slack, settings_for

EXAMPLE = json.loads((SHARED / "signing_example.json").read_text())


def _no_database() -> UnitOfWork:
    raise AssertionError("a refused request must never reach the core")


NO_CORE = Core(uow=_no_database, clock=SystemClock())


class StartupOnly:
    """A database for the server's startup alone (linking the token's team), none after it."""

    def __init__(self) -> None:
        self.inner = make_memory_uow_factory()
        self.started = False

    def __call__(self) -> UnitOfWork:
        if self.started:
            return _no_database()
        return self.inner()


class FixedClock:
    def __init__(self, at: float) -> None:
        self.at = at

    def now(self) -> float:
        return self.at


def test_slacks_signing_example_verifies_at_its_own_time() -> None:
    verifier = SignatureVerifier(
        EXAMPLE["signing_secret"], clock=FixedClock(float(EXAMPLE["timestamp"]))
    )
    assert (
        verifier.generate_signature(timestamp=EXAMPLE["timestamp"], body=EXAMPLE["body"])
        == EXAMPLE["expected_signature"]
    )
    headers = {
        "x-slack-request-timestamp": EXAMPLE["timestamp"],
        "x-slack-signature": EXAMPLE["expected_signature"],
    }
    assert verifier.is_valid_request(EXAMPLE["body"], headers)
    # Our test helper signs the same way Slack does.
    assert sign(EXAMPLE["signing_secret"], EXAMPLE["body"], int(EXAMPLE["timestamp"])) == {
        "X-Slack-Request-Timestamp": EXAMPLE["timestamp"],
        "X-Slack-Signature": EXAMPLE["expected_signature"],
    }
    assert not verifier.is_valid_request(EXAMPLE["body"] + "x", headers)


async def test_the_route_accepts_signed_requests_and_refuses_forged_ones(slack: FakeSlack) -> None:
    database = StartupOnly()
    route, client = await serve_slack(Core(uow=database, clock=SystemClock()), settings_for(slack))
    database.started = True
    startup = [c.method for c in slack.calls]
    assert startup == ["auth.test"]  # which team the token serves, asked once at startup
    try:
        challenge = fixture("url_verification.json")
        body = json.dumps(challenge)
        status, text = await route.event(challenge)
        assert status == 200 and json.loads(text) == {"challenge": challenge["challenge"]}

        tampered = sign(SECRET, body)
        status, _ = await route.post(
            body.replace("3eZ", "4eZ"),
            headers={"Content-Type": "application/json", **tampered},
        )
        assert status == 401
        status, _ = await route.event(challenge, secret="not-the-secret")
        assert status == 401
        stale = sign(SECRET, body, int(time.time()) - 6 * 60)
        status, _ = await route.post(body, headers={"Content-Type": "application/json", **stale})
        assert status == 401
        # The official example: right signature, but from 2018 — a live server must refuse it.
        slack_example = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": EXAMPLE["timestamp"],
            "X-Slack-Signature": EXAMPLE["expected_signature"],
        }
        response = await client.post(
            "/slack/events", data=EXAMPLE["body"].encode(), headers=slack_example
        )
        assert response.status == 401
        assert [c.method for c in slack.calls] == startup  # no Web API call for a refusal
    finally:
        await client.close()


def test_manifest_is_valid_against_slacks_schema() -> None:
    schema = json.loads((SHARED / "manifest.schema.1.0.0.json").read_text())
    manifest = yaml.safe_load((REPO / "adapters" / "slack" / "manifest.yml").read_text())
    errors = sorted(Draft7Validator(schema).iter_errors(manifest), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]
    assert manifest["features"]["slash_commands"][0]["command"] == "/leader"
    assert set(manifest["settings"]["event_subscriptions"]["bot_events"]) == {
        "app_home_opened",
        "app_mention",
        "message.im",
    }
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == set(SlackSettings().scopes)


@pytest.mark.parametrize(
    "env",
    [{}, {"SLACK_BOT_TOKEN": "xoxb-1"}, {"SLACK_SIGNING_SECRET": "s"}, {"SLACK_CLIENT_ID": "1"}],
)
def test_slack_is_off_without_settings(
    env: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="adapters.slack.app"):
        assert build_slack_app(core=NO_CORE, settings=SlackSettings.from_env(env)) is None
    assert [r.getMessage() for r in caplog.records] == [OFF]


def test_settings_read_the_environment_names() -> None:
    settings = SlackSettings.from_env(
        {"SLACK_COMMAND": "lb", "SLACK_API_URL": "http://127.0.0.1:9/api", "SLACK_SCOPES": "a, b"}
    )
    assert settings.command == "/lb"
    assert settings.base_url == "http://127.0.0.1:9/api/"
    assert settings.scopes == ("a", "b")
    assert SlackSettings().base_url == "https://slack.com/api/"
    assert Path(REPO / "adapters" / "slack" / "manifest.yml").exists()
