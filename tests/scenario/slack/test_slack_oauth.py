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

import json
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
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore

from adapters.app import Application, build_application, migrate
from adapters.settings import Settings
from bot.clock import ManualClock
from bot.context import Caller
from bot.model import Platform
from bot.services.demo import seed_demo
from cadence.drain import drain_until_idle
from tests.fakes_slack import FakeSlack
from tests.scenario.slack.conftest import (
    SECRET,
    SEPSIS_CHANNEL,
    SlackRoute,
    add_users,
    answered,
    command,
    replies,
)

MONDAY = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
CLIENT_ID = "1111.2222"
CLIENT_SECRET = "client-secret-for-tests"
TEAM = "T0NORTH"
STATE_COOKIE = "slack-app-oauth-state"
TOKEN = "xoxb-1111-2222-northfieldbottokenxyz"
USER_TOKEN = "xoxp-installer-token"
TOKEN2 = "xoxb-1111-3333-southfieldbottokenxyz"
INSTALLER = "U0INSTALLER"
"""Who installs the app in the fake's ``oauth.v2.access`` answer (``authed_user``)."""

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
    async with app.database.engine.connect() as conn:
        result = await conn.execute(sqlalchemy.text(f"SELECT * FROM {table}"))
        return [dict(row) for row in result.mappings()]


def installer_command(slack: FakeSlack, text: str, *, reply_to: str) -> dict[str, str]:
    """A slash command by the workspace's installer (:data:`INSTALLER`)."""
    fields = command(slack, "ana", text, reply_to=reply_to, team_id=TEAM)
    fields.update(user_id=INSTALLER, user_name="irene")
    return fields


async def test_an_install_founds_its_own_organization_run_by_its_installer(
    server: Build, slack: FakeSlack
) -> None:
    app, client = await server()  # the demo organization is already there
    slack.add_user(
        INSTALLER, name="irene", real_name="Irene Ito", email="irene@north.example", tz="Asia/Tokyo"
    )
    assert "Thank you" in await install(client, slack)
    exchange = next(c for c in slack.calls if c.method == "oauth.v2.access")
    assert exchange.args["code"] == "code-1"
    (bot,) = await rows(app, "slack_bots")
    assert bot["team_id"] == TEAM and bot["bot_token"] == TOKEN and bot["bot_user_id"] == "UB2"
    (installed,) = await rows(app, "slack_installations")
    assert installed["client_id"] == CLIENT_ID and installed["user_token"] == USER_TOKEN
    (looked_up,) = [c for c in slack.calls if c.method == "users.info"]
    assert looked_up.args["user"] == INSTALLER and looked_up.token == TOKEN
    async with app.uow() as uow:
        workspace = await uow.workspaces.first(platform=Platform.SLACK, external_id=TEAM)
        demo, organization = await uow.organizations.find(order_by="id")
        assert workspace is not None and workspace.name == "Northfield"
        assert workspace.organization_id == organization.id != demo.id
        assert organization.name == "Northfield"
        admin = await uow.people.get(organization.admin_ids[0])
        assert admin is not None and admin.organization_id == organization.id
        assert (admin.name, admin.email, admin.timezone) == (
            "Irene Ito",
            "irene@north.example",
            "Asia/Tokyo",
        )
        assert await uow.identities.first(workspace_id=workspace.id, user_id=INSTALLER)

    # The installer is greeted by DM, with the token of their workspace, with the three steps.
    report = await drain_until_idle(app.uow, senders=app.senders, clock=app.clock)
    assert report.sent == 1 and report.failed == 0
    (greeting,) = slack.posts("D0INSTALLER")
    assert greeting.token == TOKEN
    said = json.dumps(greeting.args["blocks"])
    assert "Welcome to Leaderbot, Irene Ito" in said and "admin of Northfield" in said
    for step in ("1. Create a project: project new KEY", "2. Name who decides: role @person", "3."):
        assert step in said

    # The installer follows the steps; a signed command from that team uses its stored token.
    route = SlackRoute(client)
    for n, text in enumerate(
        (
            "project new SEPSIS Sepsis screening",
            "role <@U0DANA|dana> sponsor #SEPSIS",
            "project channel #SEPSIS",
        )
    ):
        status, body = await route.command(installer_command(slack, text, reply_to=f"set{n}"))
        assert status == 200  # the installer is known: answered at the ack
        assert "Nothing was changed" not in body and "text" in json.loads(body), body
    calls = len(slack.calls)
    text = "ask <@U0DANA|dana> a porter for the ED #SEPSIS"
    status, body = await route.command(command(slack, "ana", text, reply_to="ask", team_id=TEAM))
    assert status == 200
    asked = await answered(slack, body, "ask")
    assert "sent to Dana Lee" in asked["text"]
    assert {c.token for c in slack.calls[calls:]} == {TOKEN}

    # Ana and Dana share their emails with the demo organization's Ana and Dana, yet they are
    # new people of Northfield: an email never crosses organizations.
    async with app.uow() as uow:
        people = await uow.people.find(organization_id=organization.id, order_by="id")
        assert [p.name for p in people] == ["Irene Ito", "Dana Lee", "Ana Silva"]
        assert await uow.people.count(organization_id=demo.id, email="dana@northfield.example")

    # The outbox sender posts with the same team's token.
    calls = len(slack.calls)
    report = await drain_until_idle(app.uow, senders=app.senders, clock=app.clock)
    assert report.sent >= 2 and report.failed == 0
    assert slack.posts(SEPSIS_CHANNEL) and slack.posts("D0DANA")
    assert {c.token for c in slack.calls[calls:]} == {TOKEN}


async def test_a_second_install_founds_a_second_organization_and_a_reinstall_none(
    server: Build, slack: FakeSlack
) -> None:
    app, client = await server()
    await install(client, slack)
    await install(client, slack, code="code-2")  # the same team again: a reinstall
    slack.offer_install(
        "code-3", team_id="T0SOUTH", team_name="Southfield", bot_token=TOKEN2, bot_user="UB3"
    )
    page = await client.get("/slack/install")
    assert (await redirect(client, code="code-3", state=page.cookies[STATE_COOKIE].value)).ok
    async with app.uow() as uow:
        organizations = await uow.organizations.find(order_by="id")
        assert [o.name for o in organizations] == [
            "Northfield Health (demo)",
            "Northfield",
            "Southfield",
        ]
        south = await uow.workspaces.first(platform=Platform.SLACK, external_id="T0SOUTH")
        assert south is not None and south.organization_id == organizations[2].id
        assert organizations[1].admin_ids and organizations[2].admin_ids
        assert organizations[1].admin_ids != organizations[2].admin_ids


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
    status, body = await route.command(fields)
    assert status == 200
    await answered(slack, body, "help")
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


async def install_invited(client: TestClient, slack: FakeSlack, invitation: str) -> str:
    """The install page opened from a partner's link (``/slack/install?code=…``), then the
    round trip through Slack; returns the install page's text. The invitation cookie is
    ``Secure`` too, so it is handed back explicitly, as a browser on https would."""
    page = await client.get(f"/slack/install?code={invitation}", allow_redirects=False)
    assert page.status == 200
    html = await page.text()
    found = re.search(r"state=([^&\"]+)", html)
    assert found, html
    state = found.group(1)
    carried = page.cookies["leaderbot-invitation"].value
    assert carried == invitation
    slack.offer_install(
        "code-9", team_id=TEAM, team_name="Northfield", bot_token=TOKEN, bot_user="UB2"
    )
    back = await client.get(
        "/slack/oauth_redirect",
        params={"code": "code-9", "state": state},
        headers={"Cookie": f"{STATE_COOKIE}={state}; leaderbot-invitation={carried}"},
    )
    assert back.status == 200 and "Thank you" in await back.text()
    return html


async def invitation_of(app: Application) -> str:
    reply = await app.core.command(await console(app, "ana"), "org invite")
    found = re.search(r"[A-Z2-9]{4}(?:-[A-Z2-9]{4}){3}", reply.messages[0].sections[0])
    assert found, reply
    return found[0]


async def console(app: Application, handle: str) -> Caller:
    caller = await app.core.caller_for_handle(handle, platform=Platform.CONSOLE)
    assert caller is not None
    return caller


async def test_an_install_with_a_partner_invitation_joins_the_inviting_organization(
    server: Build, slack: FakeSlack
) -> None:
    app, client = await server()
    slack.add_user(
        INSTALLER, name="irene", real_name="Irene Ito", email="irene@north.example", tz="UTC"
    )
    invitation = await invitation_of(app)

    page = await install_invited(client, slack, invitation)

    assert "your workspace joins <b>Northfield Health (demo)</b>" in page
    async with app.uow() as uow:
        (demo,) = await uow.organizations.find()
        workspace = await uow.workspaces.first(platform=Platform.SLACK, external_id=TEAM)
        assert workspace is not None and workspace.organization_id == demo.id
        identity = await uow.identities.first(workspace_id=workspace.id, user_id=INSTALLER)
        assert identity is not None
        irene = await uow.people.get(identity.person_id)
        assert irene is not None and irene.organization_id == demo.id
        assert irene.id not in demo.admin_ids
        (code,) = await uow.codes.find()
        assert code.used_by_id == irene.id and code.used_at is not None
    await drain_until_idle(app.uow, senders=app.senders, clock=app.clock)
    (greeting,) = slack.posts("D0INSTALLER")
    said = json.dumps(greeting.args["blocks"])
    assert "Northfield is now part of Northfield Health (demo)" in said
    # The installer's team now sees the inviting organization's projects.
    status, body = await SlackRoute(client).command(
        installer_command(slack, "status #SEPSIS", reply_to="status")
    )
    assert status == 200 and "Nothing was changed" not in body and "SEPSIS" in body


async def test_an_install_with_a_used_invitation_founds_its_own_and_says_why(
    server: Build, slack: FakeSlack
) -> None:
    app, client = await server()
    slack.add_user(
        INSTALLER, name="irene", real_name="Irene Ito", email="irene@north.example", tz="UTC"
    )
    invitation = await invitation_of(app)
    async with app.uow() as uow:
        (code,) = await uow.codes.find()
        code.used_at, code.used_by_id = MONDAY, code.created_by_id
        await uow.codes.save(code)
        await uow.commit()

    page = await install_invited(client, slack, invitation)

    assert "That invitation code cannot be used" in page
    async with app.uow() as uow:
        _, own = await uow.organizations.find(order_by="id")
        workspace = await uow.workspaces.first(platform=Platform.SLACK, external_id=TEAM)
        assert workspace is not None and workspace.organization_id == own.id
        assert len(own.admin_ids) == 1
    await drain_until_idle(app.uow, senders=app.senders, clock=app.clock)
    (greeting,) = slack.posts("D0INSTALLER")
    said = json.dumps(greeting.args["blocks"])
    assert "That invitation code was already used." in said
    assert "So Northfield is an organization of its own" in said


async def test_a_reinstall_seen_by_another_process_is_sent_with_at_once(
    server: Build, slack: FakeSlack
) -> None:
    """Each process keeps a workspace's bot for a while (``RecentBots``); when another process
    stores a new token (a reinstall), Slack refuses the old one and the outbox sends with the
    new one at once: the installer's greeting arrives, once."""
    app, client = await server()
    await install(client, slack)
    route = SlackRoute(client)
    fields = command(slack, "ana", "help", reply_to="help", team_id=TEAM)
    assert (await route.command(fields))[0] == 200  # the bot found and kept, token and all

    renewed = "xoxb-1111-2222-northfieldreinstalled"
    elsewhere = AsyncSQLAlchemyInstallationStore(client_id=CLIENT_ID, engine=app.database.engine)
    await elsewhere.async_save(
        Installation(
            app_id="A0LEADER",
            team_id=TEAM,
            user_id=INSTALLER,
            bot_token=renewed,
            bot_id="B0NORTH",
            bot_user_id="UB2",
            bot_scopes="commands,chat:write,im:write,users:read",
        )
    )
    slack.tokens.discard(TOKEN)  # Slack revoked the old one at the reinstall
    slack.tokens.add(renewed)

    report = await drain_until_idle(app.uow, senders=app.senders, clock=app.clock)
    assert report.sent == 1 and report.failed == 0
    (greeting,) = slack.posts("D0INSTALLER")
    assert greeting.token == renewed
    refused = [c for c in slack.calls if c.token == TOKEN and c.method == "conversations.open"]
    assert len(refused) == 1 and not refused[0].answer
