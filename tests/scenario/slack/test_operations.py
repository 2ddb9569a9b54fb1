"""Operations end to end (issue 12 §6): ``/metrics`` read with Prometheus' own parser while
commands run through the real ``/slack/events`` route and the drain delivers their messages, and
the JSON log lines of a request and of a delivery.

The whole server is built by ``build_application`` from settings (single-token Slack against the
local fake Slack), on the demo organization.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from adapters.app import Application, build_application, migrate
from adapters.logs import AccessLogger, JsonFormatter
from adapters.metrics import Metrics
from adapters.redact import RedactSecrets
from adapters.settings import Settings
from bot.clock import ManualClock
from bot.model import AuditEvent
from bot.services.demo import seed_demo
from cadence.drain import drain_until_idle
from tests.fakes_slack import BOT_TOKEN, FakeSlack
from tests.prometheus import kinds, sample
from tests.scenario.slack.conftest import (
    REPO,
    SECRET,
    SlackRoute,
    add_users,
    answered,
    command,
)

MONDAY = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
ADMIN = "admin-token-for-ops-tests"


def ops_settings(db: Path, slack: FakeSlack, **changes: object) -> Settings:
    values: dict[str, object] = {
        "_env_file": None,
        "database_url": f"sqlite+aiosqlite:///{db}",
        "admin_token": ADMIN,
        "dashboard_secret": "dashboard-key-for-tests",
        "slack_bot_token": BOT_TOKEN,
        "slack_signing_secret": SECRET,
        "slack_api_url": slack.url,
        "microsoft_app_id": "",
        **changes,
    }
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
async def server(
    tmp_path: Path, slack: FakeSlack
) -> AsyncIterator[tuple[Application, TestClient, SlackRoute]]:
    settings = ops_settings(tmp_path / "ops.db", slack)
    await migrate(settings)
    app = await build_application(settings, clock=ManualClock(MONDAY))
    await seed_demo(app.uow, app.clock)
    add_users(slack)
    web_server = TestServer(app.web, host="127.0.0.1")
    await web_server.start_server(access_log_class=AccessLogger)  # as ``serve`` runs it
    async with TestClient(web_server) as client:
        yield app, client, SlackRoute(client)
    await app.close()


async def scrape(client: TestClient) -> str:
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return await response.text()


async def test_metrics_move_when_commands_run_and_messages_are_delivered(
    server: tuple[Application, TestClient, SlackRoute], slack: FakeSlack
) -> None:
    app, client, route = server
    before = await scrape(client)
    assert kinds(before)["leaderbot_http_request_duration_seconds"] == "histogram"
    assert kinds(before)["leaderbot_slack_ack_seconds"] == "histogram"
    assert sample(before, "leaderbot_commands_total") is None  # nothing ran yet

    text = "ask <@U0DANA|dana> two more nurses on nights area:staffing #SEPSIS"
    status, body = await route.command(command(slack, "ana", text, reply_to="ask"))
    assert status == 200
    sent = await answered(slack, body, "ask")
    assert "sent to Dana Lee" in sent["text"]
    status, body = await route.command(command(slack, "ana", "frobnicate", reply_to="bad"))
    assert status == 200 and "frobnicate" in json.loads(body)["text"]  # refused in the ack
    status, body = await route.command(command(slack, "ana", "help", reply_to="help"))
    assert status == 200 and "ask" in json.loads(body)["text"]  # Ana is known: the ack answers

    app.clock.advance(timedelta(minutes=5))  # type: ignore[attr-defined]
    during = await scrape(client)
    commands = "leaderbot_commands_total"
    assert sample(during, commands, platform="slack", command="ask", outcome="ok") == 1
    assert sample(during, commands, platform="slack", command="help", outcome="ok") == 1
    assert sample(during, commands, platform="slack", command="unknown", outcome="refused") == 1
    latency = "leaderbot_http_request_duration_seconds_count"
    assert sample(during, latency, route="/slack/events", platform="slack") == 3
    assert sample(during, latency, route="/metrics", platform="web") == 1
    assert sample(during, "leaderbot_slack_ack_seconds_count", transport="http") == 3
    assert sample(during, "leaderbot_http_requests_total", route="/slack/events") == 3
    pending = sample(during, "leaderbot_outbox_messages", state="pending")
    assert pending is not None and pending >= 1  # Dana's ask card, at least
    assert sample(during, "leaderbot_outbox_oldest_pending_age_seconds") == 300  # the demo's

    report = await drain_until_idle(app.uow, senders=app.senders, clock=app.clock)
    assert report.sent >= 1
    after = await scrape(client)
    assert sample(after, "leaderbot_deliveries_total", platform="slack", outcome="sent") == (
        report.sent
    )
    assert sample(after, "leaderbot_delivery_duration_seconds_count", platform="slack") == (
        report.sent + report.retried + report.failed
    )
    app.clock.advance(timedelta(minutes=1))  # type: ignore[attr-defined]
    # The demo's console messages (no sender in this server) still wait, a minute older.
    assert sample(await scrape(client), "leaderbot_outbox_oldest_pending_age_seconds") == 360
    assert sample(after, "leaderbot_escalations_total", kind="blocker") == 0

    async with app.uow() as uow:
        organization = (await uow.organizations.find())[0]
        await uow.audit.add(
            AuditEvent(
                organization_id=organization.id,
                actor_id=None,
                action="blocker.escalated",
                subject="blocker:1",
                at=MONDAY,
            )
        )
        await uow.commit()
    assert sample(await scrape(client), "leaderbot_escalations_total", kind="blocker") == 1


def test_two_sets_of_metrics_live_side_by_side_in_one_process() -> None:
    first, second = Metrics(), Metrics()  # each its own registry: no "Duplicated timeseries"
    first.http_done(route="/healthz", method="GET", status=200, platform="web", seconds=0.01)
    assert first.registry.get_sample_value(
        "leaderbot_http_requests_total", {"route": "/healthz", "method": "GET", "status": "200"}
    )
    assert (
        second.registry.get_sample_value(
            "leaderbot_http_requests_total",
            {"route": "/healthz", "method": "GET", "status": "200"},
        )
        is None
    )


class Lines(logging.Handler):
    """Keeps each record as the JSON formatter writes it, after the secrets filter."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.addFilter(RedactSecrets())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def json_lines() -> Iterator[Lines]:
    handler, root = Lines(), logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield handler
    root.removeHandler(handler)
    root.setLevel(level)


async def test_a_request_and_a_delivery_each_log_one_json_line_without_secrets(
    server: tuple[Application, TestClient, SlackRoute], slack: FakeSlack, json_lines: Lines
) -> None:
    app, client, route = server
    assert (await client.get("/api/v1/projects", params={"token": ADMIN})).status == 200
    text = "ask <@U0DANA|dana> two more nurses area:staffing #SEPSIS"
    status, body = await route.command(command(slack, "ana", text, reply_to="ask"))
    assert status == 200
    await answered(slack, body, "ask")
    report = await drain_until_idle(app.uow, senders=app.senders, clock=app.clock)

    parsed = [json.loads(line) for line in json_lines.lines]  # every line is one JSON object
    (api,) = [p for p in parsed if p.get("event") == "http_request" and "/api/" in p["path"]]
    assert api["route"] == "/api/v1/projects" and api["path"] == "/api/v1/projects"
    assert api["method"] == "GET" and api["status"] == 200 and api["latency_ms"] >= 0
    assert api["level"] == "INFO" and api["logger"] == "aiohttp.access"
    deliveries = [p for p in parsed if p.get("event") == "delivery"]
    assert len(deliveries) == report.sent + report.retried + report.failed >= 1
    first = deliveries[0]
    assert first["platform"] == "slack" and first["outcome"] == "sent"
    assert first["outbox_id"] > 0 and first["latency_ms"] >= 0 and first["attempt"] == 1
    everything = "\n".join(json_lines.lines)
    for secret in (ADMIN, BOT_TOKEN, SECRET, "two more nurses"):
        assert secret not in everything


def test_log_format_json_makes_every_line_of_the_process_json() -> None:
    """What ``leaderbot`` does at start with LOG_FORMAT=json, in a fresh process (pytest's own
    handlers would otherwise be the root logger's)."""
    program = (
        "import logging\n"
        "from adapters import logs, redact\n"
        "logs.configure(level='INFO', log_format='json')\n"
        "redact.install()\n"
        "logging.getLogger('x').info('token=%s said hi', 'xoxb-1-secret')\n"
        "try:\n"
        "    1 / 0\n"
        "except ZeroDivisionError:\n"
        "    logging.getLogger('x').exception('failed')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True, cwd=REPO
    )
    first, second = (json.loads(line) for line in done.stderr.splitlines())
    assert first["message"] == "token=[redacted] said hi" and first["logger"] == "x"
    assert second["level"] == "ERROR" and "ZeroDivisionError" in second["exception"]


@pytest.mark.parametrize(("level", "built"), [("INFO", "False False"), ("DEBUG", "True True")])
def test_slack_sdk_builds_its_request_debug_lines_only_at_debug(level: str, built: str) -> None:
    """slack_sdk builds a debug line of every call when ``logger.level <= DEBUG`` (its own
    level, 0 when unset); after ``logs.configure`` that holds only at DEBUG."""
    program = (
        "import logging\n"
        "from slack_sdk.web.async_client import AsyncWebClient\n"
        "from slack_sdk.webhook.async_client import AsyncWebhookClient\n"
        "from adapters import logs\n"
        f"logs.configure(level={level!r}, log_format='text')\n"
        "web, hook = AsyncWebClient(), AsyncWebhookClient('http://127.0.0.1:9/')\n"
        "print(web._logger.level <= logging.DEBUG, hook.logger.level <= logging.DEBUG)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert done.stdout.strip() == built
