"""Shared pieces of the Slack tests: the fake Slack Web API, payload fixtures shaped like
Slack's documented examples, and the real ``/slack/events`` route on a local aiohttp server."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from adapters.slack import SlackBolt, SlackSettings, build_slack_app, mount_slack
from bot.dispatch import Core
from tests.fakes_slack import BOT_TOKEN, FakeSlack, form_body, payload_body, sign

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "tests" / "fixtures" / "slack"
SHARED = REPO / ".." / "shared" / "fixtures" / "slack"
SECRET = "test-signing-secret"


def fixture(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return copy.deepcopy(loaded)


def settings_for(fake: FakeSlack, **changes: str) -> SlackSettings:
    values = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": fake.url,
        **changes,
    }
    return SlackSettings.from_env(values)


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    fake = await FakeSlack().start()
    yield fake
    await fake.close()


class SlackRoute:
    """The real /slack/events route of a bolt app built by ``build_slack_app``."""

    def __init__(self, client: TestClient, bolt: SlackBolt) -> None:
        self.client = client
        self.bolt = bolt

    async def post(
        self, body: str, *, headers: dict[str, str] | None = None, secret: str = SECRET
    ) -> tuple[int, str]:
        sent = {"Content-Type": "application/x-www-form-urlencoded", **sign(secret, body)}
        sent.update(headers or {})
        response = await self.client.post("/slack/events", data=body.encode(), headers=sent)
        return response.status, await response.text()

    async def command(self, fields: dict[str, str], **kw: Any) -> tuple[int, str]:
        return await self.post(form_body(fields), **kw)

    async def interaction(self, payload: dict[str, Any], **kw: Any) -> tuple[int, str]:
        return await self.post(payload_body(payload), **kw)

    async def event(self, envelope: dict[str, Any], **kw: Any) -> tuple[int, str]:
        headers = {"Content-Type": "application/json", **kw.pop("headers", {})}
        return await self.post(json.dumps(envelope), headers=headers, **kw)


async def serve_slack(core: Core, settings: SlackSettings) -> tuple[SlackRoute, TestClient]:
    bolt = build_slack_app(core=core, settings=settings)
    assert bolt is not None
    app = web.Application()
    mount_slack(app, bolt)
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    return SlackRoute(client, bolt), client


@pytest.fixture
async def uow_factory(tmp_path: Path) -> AsyncIterator[Any]:
    """A migrated SQLite database in a temporary directory."""
    from storage.engine import create_engine
    from storage.migrate import upgrade
    from storage.uow import make_uow_factory

    url = f"sqlite+aiosqlite:///{tmp_path / 'slack.db'}"
    await upgrade(url)
    engine = create_engine(url)
    yield make_uow_factory(engine)
    await engine.dispose()
