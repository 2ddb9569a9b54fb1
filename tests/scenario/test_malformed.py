"""Bad input gets a 4xx, never a 5xx, and no traceback (issue 11 §8).

Every request of ``tests/fixtures/malformed/`` (format in its README) is sent to the whole
server, built by ``build_application`` as production builds it: Slack with a signing secret
and a bot token (its Web API played by the fake), Teams with an app id, the dashboard with an
admin token. Afterwards the server still answers a valid signed slash command.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from adapters.app import build_application, migrate
from adapters.settings import Settings
from bot.services.demo import seed_demo
from tests.fakes_slack import BOT_TOKEN, FakeSlack
from tests.scenario.slack.conftest import (  # noqa: F401  (``slack`` is a fixture)
    SECRET,
    SlackRoute,
    add_users,
    command,
    replies,
    slack,
    until,
)

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "malformed"
ADMIN = "admin-token-for-tests"


@dataclass(frozen=True)
class Malformed:
    name: str
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def sent_headers(self) -> dict[str, str]:
        """Headers with the placeholders filled in (see the corpus README)."""
        now = str(int(time.time()))
        stamp = self.headers.get("X-Slack-Request-Timestamp", "").replace("{{now}}", now)
        signed = b"v0:" + stamp.encode() + b":" + self.sent_body()
        signature = "v0=" + hmac.new(SECRET.encode(), signed, hashlib.sha256).hexdigest()
        return {
            key: value.replace("{{now}}", now).replace("{{slack-signature}}", signature)
            for key, value in self.headers.items()
        }

    def sent_body(self) -> bytes:
        macro = re.fullmatch(rb"\{\{(nested|bytes) (\d+)\}\}", self.body)
        if macro is None:
            return self.body
        count = int(macro.group(2))
        return b"[" * count + b"]" * count if macro.group(1) == b"nested" else b"a" * count


def load(path: Path) -> Malformed:
    head, _, body = path.read_bytes().partition(b"\n\n")
    lines = [line for line in head.decode().splitlines() if not line.startswith("#")]
    method, target = lines[0].split(" ", 1)
    headers = dict(
        line.split(": ", 1) if ": " in line else (line.rstrip(":"), "") for line in lines[1:]
    )
    return Malformed(path.stem, method, target, headers, body)


REQUESTS = [load(path) for path in sorted(CORPUS.glob("*.http"))]


@pytest.fixture
async def server(tmp_path: Path, slack: FakeSlack) -> AsyncIterator[TestClient]:  # noqa: F811
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'malformed.db'}",
        admin_token=ADMIN,
        dashboard_secret="dashboard-key-for-tests",
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SECRET,
        slack_api_url=slack.url,
        microsoft_app_id="00000000-0000-0000-0000-00000000b075",
        microsoft_app_password="app-password-for-tests",
    )
    await migrate(settings)
    app = await build_application(settings)
    assert app.platforms["slack"] == "on" and app.platforms["teams"] == "on"
    await seed_demo(app.uow, app.clock)
    add_users(slack)
    client = TestClient(TestServer(app.web, host="127.0.0.1"))
    await client.start_server()
    yield client
    await client.close()
    await app.close()


def test_the_corpus_is_large_enough() -> None:
    assert len(REQUESTS) >= 60


async def test_every_malformed_request_gets_a_4xx_and_no_traceback(
    server: TestClient,
    slack: FakeSlack,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    statuses: dict[str, int] = {}
    with caplog.at_level(logging.INFO):
        for request in REQUESTS:
            response = await server.request(
                request.method,
                request.path,
                headers=request.sent_headers(),
                data=request.sent_body(),
                skip_auto_headers=("Content-Type",),
            )
            await response.read()
            statuses[request.name] = response.status
    failures = {name: status for name, status in statuses.items() if not 400 <= status < 500}
    assert failures == {}
    tracebacks = [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]
    assert [f"{r.name}: {r.getMessage()}" for r in tracebacks] == []
    assert "Traceback" not in caplog.text

    # …and the server still serves a valid request.
    route = SlackRoute(server)
    status, body = await route.command(command(slack, "ana", "help", reply_to="after"))
    assert status == 200
    if "One moment" in body:
        await until(lambda: replies(slack, "after"), "the help reply")
