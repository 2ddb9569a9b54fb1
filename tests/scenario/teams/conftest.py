"""Shared pieces of the Teams tests: the fake Bot Connector, recorded activity payloads, the
real ``/api/messages`` route on a local aiohttp server, and schema validators."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from jsonschema import Draft6Validator

from adapters.teams import TeamsSettings, build_teams, mount_teams
from tests.fake_connector import FakeConnector

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "tests" / "fixtures" / "teams"
SHARED = REPO / ".." / "shared" / "fixtures" / "teams"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
BOT_ID = "28:7f2b6a5e-9c0d-4e1f-8a3b-2c4d6e8f0a1b"


_IDS = itertools.count(1)


def load_activity(name: str, service_url: str, **changes: Any) -> dict[str, Any]:
    """A recorded Teams activity pointed at the fake connector, with top-level ``changes``.
    Each gets an id of its own, as each activity Teams sends does (the same id again is a
    redelivery, which the bot does not handle twice)."""
    activity: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    activity["serviceUrl"] = service_url
    if "id" in activity:
        activity["id"] = f"{activity['id']}{next(_IDS)}"
    activity.update(changes)
    return activity


@pytest.fixture
async def connector() -> AsyncIterator[FakeConnector]:
    fake = await FakeConnector().start()
    yield fake
    await fake.close()


@pytest.fixture
def card_validator() -> Draft6Validator:
    schema = json.loads((SHARED / "adaptive-card-1.5.schema.json").read_text())
    return Draft6Validator(schema)


@pytest.fixture
def manifest_validator() -> Draft6Validator:
    schema = json.loads((SHARED / "MicrosoftTeams-1.17.schema.json").read_text())
    return Draft6Validator(schema)


@pytest.fixture
def assert_valid_card(
    card_validator: Draft6Validator,
) -> Iterator[Callable[[dict[str, Any]], None]]:
    """Validate against the official 1.5 schema, plus what it leaves optional but we rely on:
    ``version`` 1.5 and a ``verb`` on every Action.Execute."""

    def check(card: dict[str, Any]) -> None:
        errors = sorted(card_validator.iter_errors(card), key=lambda e: list(e.path))
        assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]
        assert card["version"] == "1.5"
        for action in _walk_actions(card):
            if action["type"] == "Action.Execute":
                assert action.get("verb"), action
            if action["type"] == "Action.ShowCard":
                assert action["card"]["version"] == "1.5"

    yield check


def _walk_actions(card: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for action in card.get("actions", []):
        yield action
        if "fallback" in action and isinstance(action["fallback"], dict):
            yield action["fallback"]
        if action["type"] == "Action.ShowCard":
            yield from _walk_actions(action["card"])


async def serve(core: Any, settings: TeamsSettings | None = None) -> TestClient:
    """The real /api/messages route (botbuilder CloudAdapter, no app id: the Emulator mode
    these tests run in, asked for with ``emulator``) on 127.0.0.1."""
    adapter, bot = build_teams(core, settings or TeamsSettings(emulator=True, tenant_id=TENANT))
    app = web.Application()
    mount_teams(app, adapter, bot)
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    return client


@pytest.fixture
async def post_activity(core: Any) -> AsyncIterator[Callable[..., Any]]:
    """POST one activity to /api/messages; returns (status, JSON body or None)."""
    client = await serve(core)

    async def post(activity: dict[str, Any]) -> tuple[int, Any]:
        response = await client.post("/api/messages", json=activity)
        body = await response.json() if response.content_type == "application/json" else None
        return response.status, body

    yield post
    await client.close()
