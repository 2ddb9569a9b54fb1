"""A bot's answer in a Teams channel is a post the whole team reads, so it never carries a link
signed for the person who asked: such a link opens their own dashboard view for whoever follows
it. In their personal chat the same commands hand out their signed links. Through the real
Teams endpoint and the real core, on the fake Bot Connector."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.web.links import SignedLinks
from bot.clock import ManualClock
from bot.dispatch import Core, CoreSettings
from bot.ports import UnitOfWorkFactory
from bot.services.demo import seed_demo
from tests.fake_connector import FakeConnector
from tests.scenario.teams.test_teams_scenario import (
    MONDAY,
    in_channel,
    installed,
    personal,
)

LINKS = "https://leaderbot.example"


@pytest.fixture
async def core(uow_factory: UnitOfWorkFactory) -> Core:
    clock = ManualClock(MONDAY)
    await seed_demo(uow_factory, clock)
    links = SignedLinks(key=b"teams-shared-replies", clock=clock, link_base=LINKS)
    return Core(uow=uow_factory, clock=clock, settings=CoreSettings(link_base=LINKS, links=links))


def last_text(connector: FakeConnector) -> str:
    return str(connector.activities()[-1].body.get("text", ""))


async def test_a_channel_is_not_handed_a_personal_link(
    core: Core, connector: FakeConnector, post_activity: Any
) -> None:
    await installed(core, connector, post_activity)
    await post_activity(in_channel(connector.url, "dana", "dashboard"))
    said = last_text(connector)
    assert "sig=" not in said
    assert said.startswith("Your dashboard link is yours alone, and everyone here would see it")

    await post_activity(personal("personal_message", "dana", connector.url, text="dashboard"))
    said = last_text(connector)
    assert said.startswith("Your dashboard, valid for 7 days") and "sig=" in said
