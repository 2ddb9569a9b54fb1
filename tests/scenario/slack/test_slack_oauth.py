"""Multi-workspace (OAuth) mode end to end: the whole server built by ``build_application`` from
``SLACK_CLIENT_ID`` / ``SLACK_CLIENT_SECRET`` / ``SLACK_SIGNING_SECRET`` on a temporary SQLite
database, Slack's side played by the fake Web API.

Install page → Slack's authorize URL with a ``state`` → the redirect exchanges the code with
``oauth.v2.access`` → slack_sdk's installation store keeps the token (encrypted when
``SLACK_ENCRYPTION_KEY`` is set) and the workspace is linked to an organization → commands from
that team and the outbox use that team's token. A bad or replayed ``state`` gets a page, not a
traceback.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer
from cryptography.fernet import Fernet

from adapters.app import Application, build_application, migrate
from adapters.settings import Settings
from bot.clock import ManualClock
from bot.model import Platform
from bot.services.demo import seed_demo
from cadence.drain import drain_until_idle
from tests.fakes_slack import FakeSlack
from tests.scenario.slack.conftest import (
    SECRET,
    SEPSIS_CHANNEL,
    SlackRoute,
    add_users,
    command,
    replies,
    until,
)

MONDAY = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
CLIENT_ID = "1111.2222"
CLIENT_SECRET = "client-secret-for-tests"
TEAM = "T0NORTH"
STATE_COOKIE = "slack-app-oauth-state"
TOKEN = "xoxb-1111-2222-northfieldbottokenxyz"
USER_TOKEN = "xoxp-installer-token"

pytestmark = pytest.mark.filterwarnings(
    # slack_sdk's oauth.v2.access call uses aiohttp.BasicAuth, deprecated in aiohttp 3.14.
    "ignore:BasicAuth is deprecated:DeprecationWarning"
)

Build = Callable[..., Awaitable[tuple[Application, TestClient]]]


@pytest.fixture
async def server(tmp_path: Path, slack: FakeSlack) -> AsyncIterator[Build]:
    """Builds the server in OAuth mode (``key``: SLACK_ENCRYPTION_KEY) and serves it."""
    built: list[tuple[Application, TestClient]] = []

    async def build(*, key: str = "") -> tuple[Application, TestClient]:
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'oauth.db'}",
            dashboard_secret="dashboard-key-for-tests",
            slack_bot_token=None,
            slack_client_id=CLIENT_ID,
            slack_client_secret=CLIENT_SECRET,
            slack_signing_secret=SECRET,
            slack_api_url=slack.url,
            slack_encryption_key=key or None,
            microsoft_app_id="",
        )
        await migrate(settings)
        app = await build_application(settings, clock=ManualClock(MONDAY))
        assert app.platforms["slack"] == "on"
        async with app.uow() as uow:
            empty = not await uow.organizations.count()
        if empty:
            await seed_demo(app.uow, app.clock)
        client = TestClient(TestServer(app.web, host="127.0.0.1"))
        await client.start_server()  # on startup: slack_sdk's tables are created
        built.append((app, client))
        return app, client

    slack.client = (CLIENT_ID, CLIENT_SECRET)
    add_users(slack)
    yield build
    for app, client in built:
        await client.close()
        await app.close()


async def install(client: TestClient, slack: FakeSlack, *, code: str = "code-1") -> str:
    """A workspace admin opens /slack/install, clicks Add to Slack, Slack redirects back with a
    code; returns the redirect's page."""
    page = await client.get("/slack/install", allow_redirects=False)
    assert page.status == 200
    html = await page.text()
    found = re.search(r'href="(https://slack\.com/oauth/v2/authorize\?[^"]+)"', html)
    assert found, html
    query = parse_qs(urlsplit(found.group(1).replace("&amp;", "&")).query)
    assert query["client_id"] == [CLIENT_ID]
    assert "commands" in query["scope"][0].split(",")
    (state,) = query["state"]
    assert page.cookies[STATE_COOKIE].value == state
    slack.offer_install(code, team_id=TEAM, team_name="Northfield", bot_token=TOKEN, bot_user="UB2")
    back = await redirect(client, code=code, state=state)
    assert back.status == 200
    return await back.text()


async def redirect(client: TestClient, *, code: str, state: str) -> ClientResponse:
    """Slack sends the browser back; it carries the state cookie /slack/install set (``Secure``,
    so the test client, on plain http, is given it explicitly as a browser on https would)."""
    return await client.get(
        "/slack/oauth_redirect",
        params={"code": code, "state": state},
        headers={"Cookie": f"{STATE_COOKIE}={state}"},
    )


async def rows(app: Application, table: str) -> list[dict[str, object]]:
    async with app.engine.connect() as conn:
        result = await conn.execute(sqlalchemy.text(f"SELECT * FROM {table}"))
        return [dict(row) for row in result.mappings()]


async def test_install_links_the_workspace_and_its_token_answers_commands(
    server: Build, slack: FakeSlack
) -> None:
    app, client = await server()
    assert "Thank you" in await install(client, slack)
    exchange = next(c for c in slack.calls if c.method == "oauth.v2.access")
    assert exchange.args["code"] == "code-1"
    (bot,) = await rows(app, "slack_bots")
    assert bot["team_id"] == TEAM and bot["bot_token"] == TOKEN and bot["bot_user_id"] == "UB2"
    (installed,) = await rows(app, "slack_installations")
    assert installed["client_id"] == CLIENT_ID and installed["user_token"] == USER_TOKEN
    async with app.uow() as uow:
        workspace = await uow.workspaces.first(platform=Platform.SLACK, external_id=TEAM)
        (organization,) = await uow.organizations.find()
        assert workspace is not None and workspace.name == "Northfield"
        assert workspace.organization_id == organization.id

    # A signed slash command from that team: answered with its stored token.
    route = SlackRoute(client)
    calls = len(slack.calls)
    fields = command(slack, "ana", "project channel #SEPSIS", reply_to="home", team_id=TEAM)
    status, body = await route.command(fields)
    assert status == 200 and "One moment" in body
    (linked,) = await until(lambda: replies(slack, "home"), "the channel reply")
    assert "home" in linked["text"]
    text = "ask <@U0DANA|dana> a porter for the ED #SEPSIS"
    status, _ = await route.command(command(slack, "ana", text, reply_to="ask", team_id=TEAM))
    assert status == 200
    (asked,) = await until(lambda: replies(slack, "ask"), "the ask reply")
    assert "sent to Dana Lee" in asked["text"]
    looked_up = slack.calls[calls:]
    assert [c.method for c in looked_up] == ["users.info", "users.info"]
    assert {c.token for c in looked_up} == {TOKEN}

    # The outbox sender posts with the same team's token.
    calls = len(slack.calls)
    report = await drain_until_idle(app.uow, senders=app.senders, clock=app.clock)
    assert report.sent >= 2 and report.failed == 0
    assert slack.posts(SEPSIS_CHANNEL) and slack.posts("D0DANA")
    assert {c.token for c in slack.calls[calls:]} == {TOKEN}


async def test_a_bad_or_replayed_state_gets_a_page_not_a_traceback(
    server: Build, slack: FakeSlack
) -> None:
    app, client = await server()
    await install(client, slack)
    page = await client.get("/slack/install")
    state = page.cookies[STATE_COOKIE].value
    slack.offer_install(
        "code-2", team_id=TEAM, team_name="Northfield", bot_token=TOKEN, bot_user="UB2"
    )
    assert (await redirect(client, code="code-2", state=state)).status == 200
    for code, sent in (("code-2", state), ("code-3", "forged")):
        refused = await redirect(client, code=code, state=sent)
        html = await refused.text()
        assert refused.status in (400, 401)
        assert "Something Went Wrong" in html and "/slack/install" in html
        assert "Traceback" not in html
    # An admin who cancels on Slack's page comes back with ?error=access_denied.
    cancelled = await client.get("/slack/oauth_redirect", params={"error": "access_denied"})
    assert cancelled.status == 200 and "access_denied" in await cancelled.text()
    assert len(await rows(app, "slack_bots")) == 2  # two good installs, nothing else


async def test_tokens_are_encrypted_at_rest_with_a_key(
    server: Build, slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    key = Fernet.generate_key().decode()
    app, client = await server(key=key)
    await install(client, slack)
    stored = [*await rows(app, "slack_bots"), *await rows(app, "slack_installations")]
    assert stored and all(TOKEN not in str(row) and "xoxp" not in str(row) for row in stored)
    assert Fernet(key.encode()).decrypt(str(stored[0]["bot_token"]).encode()).decode() == TOKEN

    route = SlackRoute(client)
    fields = command(slack, "ana", "help", reply_to="help", team_id=TEAM)
    status, _ = await route.command(fields)
    assert status == 200
    await until(lambda: replies(slack, "help"), "the help reply")
    assert {c.token for c in slack.calls if c.method == "users.info"} == {TOKEN}

    # The same database under another key: one clear log line (not one per request); the
    # team's users are told to reinstall (bolt's answer when a workspace has no usable token).
    await client.close()
    await app.close()
    _, client = await server(key=Fernet.generate_key().decode())
    route = SlackRoute(client)
    with caplog.at_level(logging.ERROR, logger="adapters.slack.tokens"):
        for attempt in range(2):
            refused = command(slack, "ana", "help", reply_to=f"refused{attempt}", team_id=TEAM)
            status, _ = await route.command(refused)
            assert status == 200
            (told,) = replies(slack, f"refused{attempt}")
            assert "reinstall" in told["text"]
    (logged,) = [r for r in caplog.records if r.name == "adapters.slack.tokens"]
    assert "SLACK_ENCRYPTION_KEY" in logged.getMessage() and TEAM in logged.getMessage()


async def test_a_token_too_long_to_store_encrypted_fails_the_install_cleanly(
    server: Build, slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    app, client = await server(key=Fernet.generate_key().decode())
    page = await client.get("/slack/install")
    state = page.cookies[STATE_COOKIE].value
    long_token = "xoxb-" + "9" * 90
    slack.offer_install(
        "code-long", team_id=TEAM, team_name="Northfield", bot_token=long_token, bot_user="UB2"
    )
    with caplog.at_level(logging.WARNING, logger="adapters.slack.app"):
        refused = await redirect(client, code="code-long", state=state)
    assert refused.status == 500 and "storage_error" in await refused.text()
    assert any("too long to store encrypted" in r.getMessage() for r in caplog.records)
    assert await rows(app, "slack_bots") == []


async def test_a_malformed_key_turns_slack_off_with_a_reason(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'bad-key.db'}",
        slack_client_id=CLIENT_ID,
        slack_client_secret=CLIENT_SECRET,
        slack_signing_secret=SECRET,
        slack_encryption_key="not-a-fernet-key",
        microsoft_app_id="",
    )
    with caplog.at_level(logging.INFO):
        app = await build_application(settings, clock=ManualClock(MONDAY))
    await app.close()
    assert app.platforms["slack"].startswith("off")
    assert any("not a Fernet key" in r.getMessage() for r in caplog.records)
