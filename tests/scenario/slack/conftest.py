"""Shared pieces of the Slack tests: the fake Slack Web API, payload fixtures shaped like
Slack's documented examples, and the real ``/slack/events`` route on a local aiohttp server."""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from adapters.slack import SlackBolt, SlackSettings, build_slack_app, mount_slack
from adapters.slack.app import WORKING
from bot.dispatch import Core
from tests.fakes_slack import BOT_TOKEN, TEAM_ID, FakeSlack, form_body, payload_body, sign

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "tests" / "fixtures" / "slack"
SHARED = REPO / ".." / "shared" / "fixtures" / "slack"
SECRET = "test-signing-secret"


SEPSIS_CHANNEL = "C0SEPSIS"
USERS = {
    "ana": ("U0ANA", "Ana Silva", "Europe/London"),
    "dana": ("U0DANA", "Dana Lee", "America/New_York"),
    "ben": ("U0BEN", "Ben Okafor", "Europe/London"),
}
"""Slack users of the demo organization's people (matched to them by email)."""


_TRIGGERS = itertools.count(1)


def fixture(name: str) -> dict[str, Any]:
    """A payload fixture; one with a ``trigger_id`` gets a fresh one, as each request from
    Slack does (the same one twice is a replay, which the bot does not run again)."""
    loaded: dict[str, Any] = copy.deepcopy(json.loads((FIXTURES / name).read_text()))
    if "trigger_id" in loaded:
        loaded["trigger_id"] = f"{loaded['trigger_id']}.{next(_TRIGGERS)}"
    return loaded


def add_users(slack: FakeSlack) -> None:
    """What ``users.info`` tells about :data:`USERS`."""
    for handle, (user_id, name, tz) in USERS.items():
        slack.add_user(
            user_id, name=handle, real_name=name, email=f"{handle}@northfield.example", tz=tz
        )


def command(
    slack: FakeSlack,
    handle: str,
    text: str,
    *,
    reply_to: str,
    channel: str = SEPSIS_CHANNEL,
    team_id: str = TEAM_ID,
) -> dict[str, str]:
    """A slash command by one of :data:`USERS`, answered through response_url ``reply_to``."""
    fields = fixture("slash_command.json")
    user_id = USERS[handle][0]
    fields.update(
        team_id=team_id,
        user_id=user_id,
        user_name=handle,
        text=text,
        channel_id=channel,
        channel_name="directmessage" if channel.startswith("D") else "sepsis",
        response_url=slack.response_url(reply_to),
    )
    return fields


def replies(slack: FakeSlack, name: str) -> list[dict[str, Any]]:
    """What was posted to response_url ``name``."""
    return [body for got, body in slack.responses if got == name]


async def answered(slack: FakeSlack, body: str, name: str) -> dict[str, Any]:
    """A slash command's answer: in the ack itself (``body``) when the core was done within the
    ack budget — a first-seen user's ``users.info`` included — else through response_url
    ``name`` after "Working on it…"."""
    acked = json.loads(body) if body else {}
    if acked.get("text") and WORKING not in acked["text"]:
        return dict(acked)
    (reply,) = await until(lambda: replies(slack, name), f"the answer through {name}")
    return dict(reply)


async def until(check: Callable[[], Any], what: str) -> Any:
    """Wait for work bolt does after the ack (it answers Slack first, then carries on)."""
    for _ in range(300):
        value = check()
        if value:
            return value
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


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
    """The real /slack/events route of a bolt app built by ``build_slack_app`` (``bolt`` is
    None when the whole server was built, by ``adapters.app.build_application``)."""

    def __init__(self, client: TestClient, bolt: SlackBolt | None = None) -> None:
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
    from storage.database import Database
    from storage.migrate import upgrade

    url = f"sqlite+aiosqlite:///{tmp_path / 'slack.db'}"
    await upgrade(url)
    db = Database(url)
    yield db.uow
    await db.close()
