"""Where given-up messages show: ``/metrics``, the dashboard, ``/api/v1/undelivered``, and
``leaderbot outbox list|retry`` (issue 11 §3), through the real server and CLI on SQLite."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from adapters.app import Application, build_application, core_session, migrate
from adapters.cli import main
from bot.clock import ManualClock
from bot.messages import Message, Target
from bot.model import Identity, OutboxMessage, OutboxState, Platform, Workspace
from bot.services.delivery import deliver
from tests.prometheus import sample
from tests.scenario.test_server import ADMIN, NOW, make_settings, seed


async def _given_up(db: Path) -> Application:
    """The server on a database where a message to Ana (met on Teams through an @mention only,
    so there is no chat to post in) was given up."""
    settings = make_settings(db)
    await migrate(settings)
    app = await build_application(settings, clock=ManualClock(NOW))
    org, _ = await seed(app)
    async with app.uow() as uow:
        ana = await uow.people.first(handle="ana")
        assert ana is not None
        tenant = await uow.workspaces.add(
            Workspace(organization_id=org, platform=Platform.TEAMS, external_id="t1")
        )
        await uow.identities.add(
            Identity(
                person_id=ana.id, workspace_id=tenant.id, platform=Platform.TEAMS, user_id="29:a"
            )
        )
        await deliver(
            uow,
            Message(title="Your ask was approved", target=Target(person_id=ana.id), key="told:1"),
            organization_id=org,
            now=NOW,
        )
        await uow.commit()
    return app


@pytest.fixture
async def undelivered(tmp_path: Path) -> AsyncIterator[TestClient]:
    app = await _given_up(tmp_path / "leaderbot.db")
    async with TestClient(TestServer(app.web, host="127.0.0.1")) as client:
        yield client
    await app.close()


async def test_metrics_dashboard_and_api_list_what_was_given_up(undelivered: TestClient) -> None:
    client = undelivered
    metrics = await (await client.get("/metrics")).text()
    assert "# TYPE leaderbot_outbox_undelivered gauge" in metrics
    assert sample(metrics, "leaderbot_outbox_undelivered", platform="teams") == 1
    assert sample(metrics, "leaderbot_outbox_undelivered", platform="slack") == 0
    assert sample(metrics, "leaderbot_outbox_stuck") == 0

    page = await (await client.get("/dashboard", params={"token": ADMIN})).text()
    section = page.split("<h2>Undelivered</h2>", 1)[1]
    assert "given up" in section and "Ana Ruiz" in section and "Your ask was approved" in section
    assert "hasn&#39;t opened a chat with Leaderbot yet" in section  # escaped by Jinja2

    answer = await (await client.get("/api/v1/undelivered", params={"token": ADMIN})).json()
    assert [(r["state"], r["to"], r["platform"]) for r in answer["undelivered"]] == [
        ("given up", "Ana Ruiz", "teams")
    ]


def test_outbox_list_and_retry_on_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "leaderbot.db"
    asyncio.run(_closed(_given_up(db)))
    for name in list(os.environ):
        if name.upper().startswith(("SLACK_", "MICROSOFT")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{db}")
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    monkeypatch.chdir(db.parent)
    [row] = asyncio.run(_outbox(db, state=OutboxState.FAILED))

    assert main(["outbox", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{row.id}\tgiven up\tto Ana Ruiz on teams\tYour ask was approved")
    assert lines[-1] == "1 undelivered."

    assert main(["outbox", "retry"]) == 1
    assert "or give --all" in capsys.readouterr().err
    assert main(["outbox", "retry", "999"]) == 1
    assert capsys.readouterr().out == "There is no outbox message 999.\n"
    assert main(["outbox", "retry", "--all"]) == 1  # Ana still has no chat with the bot
    assert "still has no chat with Leaderbot" in capsys.readouterr().out

    asyncio.run(_open_chat(db, user_id="29:a", conversation="a:ana"))
    assert main(["outbox", "retry", str(row.id)]) == 0
    assert capsys.readouterr().out == f"Message {row.id} is queued again.\n"
    [requeued] = asyncio.run(_outbox(db, id=row.id))
    assert requeued.state is OutboxState.PENDING
    assert requeued.address == "a:ana" and requeued.attempts == 0
    assert main(["outbox", "list"]) == 0
    assert capsys.readouterr().out == "Nothing waits undelivered.\n"


async def _closed(app: Awaitable[Application]) -> None:
    await (await app).close()


async def _outbox(db: Path, **where: object) -> list[OutboxMessage]:
    async with core_session(make_settings(db)) as session, session.uow() as uow:
        return await uow.outbox.find(**where)


async def _open_chat(db: Path, *, user_id: str, conversation: str) -> None:
    """The person messages the bot: their identity gets a conversation to post in."""
    async with core_session(make_settings(db)) as session, session.uow() as uow:
        identity = await uow.identities.first(user_id=user_id)
        assert identity is not None
        identity.conversation_ref = json.dumps({"conversation": {"id": conversation}})
        identity.address = conversation
        await uow.identities.save(identity)
        await uow.commit()
