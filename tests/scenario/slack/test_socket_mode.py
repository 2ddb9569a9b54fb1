"""Slack Socket Mode end to end (issue 12 §6): the whole server built from settings with
``SLACK_APP_TOKEN`` and no signing secret connects to the local fake Slack's WebSocket (after
``apps.connections.open``), and slash commands sent as envelopes on it are acked and answered
as they are over HTTP: a first-seen user and a known one alike get the answer in the ack; what
the command sends to others goes out through the Web API. No HTTP route takes Slack requests
meanwhile."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from adapters.app import Application, build_application, migrate
from bot.clock import ManualClock
from bot.services.demo import seed_demo
from cadence.drain import drain_until_idle
from tests.fakes_slack import APP_TOKEN, BOT_TOKEN, FakeSlack
from tests.prometheus import sample
from tests.scenario.slack.conftest import add_users, command, replies, until
from tests.scenario.slack.test_operations import ops_settings

MONDAY = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)


@pytest.fixture
async def server(tmp_path: Path, slack: FakeSlack) -> AsyncIterator[tuple[Application, TestClient]]:
    settings = ops_settings(
        tmp_path / "socket.db", slack, slack_signing_secret=None, slack_app_token=APP_TOKEN
    )
    await migrate(settings)
    app = await build_application(settings, clock=ManualClock(MONDAY))
    assert app.platforms["slack"] == "on (Socket Mode)"
    await seed_demo(app.uow, app.clock)
    add_users(slack)
    async with TestClient(TestServer(app.web, host="127.0.0.1")) as client:
        await until(lambda: slack.sockets, "the Socket Mode connection")
        yield app, client
    await app.close()


async def test_a_slash_command_over_the_socket_is_answered_like_one_over_http(
    server: tuple[Application, TestClient], slack: FakeSlack
) -> None:
    app, client = server
    (opened,) = [c for c in slack.calls if c.method == "apps.connections.open"]
    assert opened.token == APP_TOKEN  # the app-level token, not the bot token

    text = "ask <@U0DANA|dana> two more nurses on nights area:staffing #SEPSIS"
    first = await slack.envelope("slash_commands", command(slack, "ana", text, reply_to="ask"))
    ack = await until(lambda: slack.acks.get(first), "the ack of the first command")
    answer = ack["payload"]  # Ana is new: her users.info comes before the ack, within budget
    assert not replies(slack, "ask")
    found = re.search(r"Ask #(\d+) sent to Dana Lee", answer["text"])
    assert found and answer["response_type"] == "ephemeral", answer

    again = "ask <@U0DANA|dana> weekend cover area:staffing #SEPSIS"
    second = await slack.envelope("slash_commands", command(slack, "ana", again, reply_to="2nd"))
    ack = await until(lambda: slack.acks.get(second), "the ack of the second command")
    assert "sent to Dana Lee" in ack["payload"]["text"]  # known now: answered in the ack
    assert ack["payload"]["response_type"] == "ephemeral" and not replies(slack, "2nd")

    report = await drain_until_idle(app.uow, senders=app.senders, clock=app.clock)
    assert report.sent >= 2 and report.failed == 0
    cards = [c for c in slack.calls if c.method == "chat.postMessage" and c.token == BOT_TOKEN]
    assert any("two more nurses" in json.dumps(c.args.get("blocks")) for c in cards)

    metrics = await (await client.get("/metrics")).text()
    assert sample(metrics, "leaderbot_slack_ack_seconds_count", transport="socket_mode") == 2
    assert sample(metrics, "leaderbot_commands_total", command="ask", outcome="ok") == 2

    # No HTTP route takes Slack requests: without a signing secret nothing could verify them.
    assert (await client.post("/slack/events", data=b"command=%2Fleader")).status == 404
