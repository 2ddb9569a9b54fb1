"""No secret in any log at any level (issue 11 §9): the OAuth install and a dashboard link, run
at DEBUG with every library logging, leave no token, client secret, code or signature behind.

The filter is the one the CLI installs at start (:func:`adapters.redact.install`), put on the
root logger's handlers here as there — pytest's capture handler being one of them.
"""

from __future__ import annotations

import logging
import re

import pytest

from adapters import redact
from tests.fakes_slack import FakeSlack
from tests.scenario.slack.conftest import SlackRoute, answered, command
from tests.scenario.slack.test_slack_oauth import (  # noqa: F401  (``server`` is a fixture)
    CLIENT_SECRET,
    TEAM,
    TOKEN,
    USER_TOKEN,
    Build,
    install,
    server,
)

pytestmark = pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")


@pytest.mark.parametrize("key", ["", "pVa0Lw0Xv3Yy9oJ4rGz5m2bE7fQ1sT8uK6nD3hC0wXo="])
async def test_debug_logs_of_an_install_and_a_dashboard_link_hold_no_secret(
    server: Build,  # noqa: F811
    slack: FakeSlack,
    caplog: pytest.LogCaptureFixture,
    key: str,
) -> None:
    _, client = await server(key=key)
    with caplog.at_level(logging.DEBUG):
        redact.install()
        await install(client, slack, code="the-one-time-code")
        route = SlackRoute(client)
        status, body = await route.command(
            command(slack, "ana", "dashboard", reply_to="link", team_id=TEAM)
        )
        assert status == 200
        answer = await answered(slack, body, "link")
    found = re.search(r"sig=([0-9a-f]+)", str(answer))
    assert found, answer  # the user does get a working link…
    logged = caplog.text
    assert "oauth.v2.access" in logged  # …and slack_sdk did log the exchange and its answer
    assert any(r.name.startswith("slack_sdk") for r in caplog.records)
    for secret in (TOKEN, USER_TOKEN, CLIENT_SECRET, "the-one-time-code", found.group(1)):
        assert secret not in logged
    assert "[redacted]" in logged


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        ("Authorization: Bearer eyJhbGciOi.eyJzdWIi.c2lnbmF0dXJl", "eyJzdWIi"),
        ("xapp-1-A0123-4567-abcdef in the socket mode url", "abcdef"),
        ("xoxe.xoxb-1-rotated-token", "rotated"),
        ("{'client_id': '1.2', 'client_secret': 's3cr3t'}", "s3cr3t"),
        ("GET /dashboard?org=1&exp=99&sig=f00d HTTP/1.1", "f00d"),
        ("/api/v1/asks?token=admin-token-value", "admin-token-value"),
        ('{"app_password": "hunter2"}', "hunter2"),
    ],
)
def test_each_kind_of_secret_is_redacted(line: str, secret: str) -> None:
    assert secret not in redact.redact(line)
    assert redact.redact(redact.redact(line)) == redact.redact(line)  # twice is once
