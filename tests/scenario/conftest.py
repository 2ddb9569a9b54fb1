"""Fixtures of the scenario tests that drive the ``leaderbot`` command line."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from adapters.slack import SlackSender
from adapters.slack.app import SlackBolt
from storage.database import Database


@pytest.fixture
def cli_db(sql_database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The CLI in this process on an empty migrated database (SQLite, PostgreSQL when
    configured); its URL, for a test to open its own engine on (the CLI runs on its own loop)."""
    for name in list(os.environ):
        if name.upper().startswith(("SLACK_", "MICROSOFT")):
            monkeypatch.delenv(name)
    url = sql_database.url.render_as_string(hide_password=False)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    monkeypatch.chdir(tmp_path)
    return url


@pytest.fixture
async def slack_sender() -> AsyncIterator[Callable[..., SlackSender]]:
    """Makes Slack senders and closes their HTTP sessions when the test ends, as the server's
    shutdown does."""
    made: list[SlackSender] = []

    def make(bolt: SlackBolt, **kw: Any) -> SlackSender:
        made.append(SlackSender(bolt, **kw))
        return made[-1]

    yield make
    for sender in made:
        await sender.close()
