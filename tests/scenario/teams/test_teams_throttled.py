"""Never untrue on Teams (issue 11 §5): when the Bot Connector throttles (429) the reply to a
command that committed, the user still reads the real outcome, and a redelivery of the same
activity creates nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot.clock import ManualClock
from bot.dispatch import Core
from bot.ports import UnitOfWorkFactory
from bot.services.demo import seed_demo
from tests.fake_connector import FakeConnector
from tests.scenario.teams.conftest import load_activity

MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
ANA = {
    "id": "29:ana-bf",
    "name": "Ana Silva",
    "email": "ana@northfield.example",
    "aadObjectId": "aad-ana",
}
ASK = "ask approve 0.5 FTE for the pilot by 2026-12-04 #SEPSIS area:staffing"


@pytest.fixture
async def core(uow_factory: UnitOfWorkFactory) -> Core:
    clock = ManualClock(MONDAY)
    await seed_demo(uow_factory, clock)
    return Core(uow=uow_factory, clock=clock)


def said(connector: FakeConnector) -> list[str]:
    return [str(c.body.get("text", "")) for c in connector.activities()]


async def test_a_throttled_reply_after_a_commit_shows_the_real_outcome(
    core: Core, connector: FakeConnector, post_activity: Any
) -> None:
    connector.members[ANA["id"]] = ANA
    command = load_activity(
        "personal_message",
        connector.url,
        text=ASK,
        **{"from": {k: ANA[k] for k in ("id", "name", "aadObjectId")}},
    )
    async with core.uow() as uow:
        before = await uow.asks.count()

    connector.fail_next(429, times=2, retry_after="0")
    status, _ = await post_activity(command)

    assert status < 500
    texts = said(connector)
    assert any("sent to" in t for t in texts), texts
    assert not any("Nothing was changed" in t for t in texts)
    async with core.uow() as uow:
        assert await uow.asks.count() == before + 1

    # Teams redelivers the same activity: nothing new is created, and what the user reads is true.
    status, _ = await post_activity(command)
    assert status < 500
    async with core.uow() as uow:
        assert await uow.asks.count() == before + 1
    assert "already received this exact request" in said(connector)[-1]


async def test_a_reply_that_cannot_be_sent_never_claims_nothing_changed(
    core: Core, connector: FakeConnector, post_activity: Any
) -> None:
    connector.members[ANA["id"]] = ANA
    command = load_activity(
        "personal_message",
        connector.url,
        text=ASK,
        **{"from": {k: ANA[k] for k in ("id", "name", "aadObjectId")}},
    )
    connector.fail_next(429, times=4, retry_after="0")

    await post_activity(command)

    texts = said(connector)
    assert texts and "carried out" in texts[-1]
    assert not any("Nothing was changed" in t for t in texts)
