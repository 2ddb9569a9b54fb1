"""Which Slack workspace a single-token server serves, through signed requests to the real
/slack/events route and the real core on SQLite (DESIGN §2).

At startup ``auth.test`` names the token's own team; on a database with one organization and no
Slack workspace it joins that organization, else it founds its own. Every request of another
team is refused before any listener runs — commands and clicks are told so, privately; events
get nothing — and writes nothing. A new user's first commands at once are all answered."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.clock import ManualClock
from bot.dispatch import Core
from bot.model import Organization, Platform
from bot.ports import UnitOfWorkFactory
from bot.services.demo import seed_demo
from tests.fakes_slack import TEAM_ID, FakeSlack
from tests.scenario.slack.conftest import (
    SlackRoute,
    add_users,
    answered,
    command,
    fixture,
    replies,
    serve_slack,
    settings_for,
    until,
)

MONDAY = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
OTHER = "T0OTHER"
TABLES = ("organizations", "workspaces", "people", "identities", "audit", "outbox", "asks")


@pytest.fixture
async def core(uow_factory: UnitOfWorkFactory) -> Core:
    clock = ManualClock(MONDAY)
    await seed_demo(uow_factory, clock)
    return Core(uow=uow_factory, clock=clock)


@pytest.fixture
async def served(core: Core, slack: FakeSlack) -> AsyncIterator[Any]:
    clients: list[TestClient] = []

    async def serve() -> SlackRoute:
        route, client = await serve_slack(core, settings_for(slack))  # startup: auth.test
        clients.append(client)
        return route

    add_users(slack)
    yield serve
    for client in clients:
        await client.close()


async def counts(core: Core) -> dict[str, int]:
    async with core.uow() as uow:
        return {name: await getattr(uow, name).count() for name in TABLES}


async def settled(route: SlackRoute) -> None:
    """Wait for whatever the listeners still do after their acks."""
    assert route.bolt is not None
    await route.bolt.after_ack.wait()


def event(team: str, **changes: Any) -> dict[str, Any]:
    envelope = fixture("event_message_im.json")
    envelope["team_id"] = team
    envelope["authorizations"][0]["team_id"] = team
    envelope["event"].update(changes)
    return envelope


def click(slack: FakeSlack, team: str, reply_to: str) -> dict[str, Any]:
    payload = fixture("block_actions.json")
    payload["team"]["id"] = team
    payload["user"]["team_id"] = team
    payload["response_url"] = slack.response_url(reply_to)
    return payload


async def test_the_tokens_team_joins_the_only_organization_at_startup(
    core: Core, served: Any, slack: FakeSlack
) -> None:
    await served()
    assert [c.method for c in slack.calls] == ["auth.test"]
    async with core.uow() as uow:
        (demo,) = await uow.organizations.find()
        workspace = await uow.workspaces.first(platform=Platform.SLACK, external_id=TEAM_ID)
        assert workspace is not None and workspace.organization_id == demo.id
    await served()  # a restart: the same workspace, nothing new
    async with core.uow() as uow:
        assert await uow.workspaces.count(platform=Platform.SLACK) == 1


async def test_on_a_database_with_other_organizations_the_team_founds_its_own(
    core: Core, served: Any
) -> None:
    async with core.uow() as uow:
        await uow.organizations.add(Organization(name="Someone else"))
        await uow.commit()
    await served()
    async with core.uow() as uow:
        workspace = await uow.workspaces.first(platform=Platform.SLACK, external_id=TEAM_ID)
        organizations = await uow.organizations.find(order_by="id")
        assert [o.name for o in organizations][-1] == "Leader"  # the team's name (auth.test)
        assert workspace is not None and workspace.organization_id == organizations[-1].id


async def test_requests_of_another_team_are_refused_and_write_nothing(
    core: Core, served: Any, slack: FakeSlack
) -> None:
    route = await served()
    before = await counts(core)
    calls = len(slack.calls)

    status, body = await route.command(
        command(slack, "ana", "ask <@U0DANA|dana> a porter #SEPSIS", reply_to="cmd", team_id=OTHER)
    )
    assert status == 200 and "One moment" not in body
    (told,) = await until(lambda: replies(slack, "cmd"), "the refusal")
    assert told["text"].startswith("This Slack workspace is not connected to this Leaderbot")
    assert "nothing was done" in told["text"]

    status, _ = await route.interaction(click(slack, OTHER, "click"))
    assert status == 200
    (clicked,) = await until(lambda: replies(slack, "click"), "the click's refusal")
    assert "not connected" in clicked["text"]

    for envelope in (
        event(OTHER),
        event(OTHER, type="app_mention", channel="C0SEPSIS"),
        event(OTHER, type="app_home_opened", tab="home"),
    ):
        status, _ = await route.event(envelope)
        assert status == 200
    await settled(route)
    assert await counts(core) == before
    assert slack.calls[calls:] == []  # no users.info, no post: not a single Web API call


async def test_junk_slack_payloads_write_nothing(core: Core, served: Any, slack: FakeSlack) -> None:
    route = await served()
    before = await counts(core)
    junk = [
        event(TEAM_ID, subtype="message_changed"),
        event(TEAM_ID, bot_id="B0OTHER"),
        event(TEAM_ID, channel_type="channel"),
        event(TEAM_ID, user=None),
        event(TEAM_ID, type="reaction_added"),
        event(TEAM_ID, type="app_home_opened", tab="messages"),
        event(""),
    ]
    for n in range(30):
        junk.append(event(f"T0JUNK{n}", user=f"U0JUNK{n}"))
    for envelope in junk:
        status, _ = await route.event(envelope)
        assert status < 500  # bolt answers an event nobody listens to with 404
    await settled(route)
    assert await counts(core) == before


async def test_a_new_users_first_commands_at_once_are_all_answered(
    core: Core, served: Any, slack: FakeSlack
) -> None:
    route = await served()
    n = 20
    sent = await asyncio.gather(
        *(route.command(command(slack, "ben", "asks", reply_to=f"r{i}")) for i in range(n))
    )
    assert all(status == 200 for status, _ in sent)
    for i, (_, body) in enumerate(sent):
        answer = await answered(slack, body, f"r{i}")
        assert "Sorry" not in answer["text"] and "couldn't" not in answer["text"], answer
    async with core.uow() as uow:
        assert await uow.identities.count(platform=Platform.SLACK, user_id="U0BEN") == 1


async def test_slack_unreachable_at_startup_is_retried_by_the_next_request(
    core: Core, served: Any, slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    slack.fail_next("auth.test", error="service_unavailable")
    with caplog.at_level(logging.ERROR, logger="adapters.slack.app"):
        route = await served()
    assert any("auth.test failed" in r.getMessage() for r in caplog.records)
    async with core.uow() as uow:
        assert not await uow.workspaces.count(platform=Platform.SLACK)
    status, body = await route.command(command(slack, "ana", "help", reply_to="help"))
    assert status == 200
    async with core.uow() as uow:
        assert await uow.workspaces.count(platform=Platform.SLACK) == 1
    assert "not connected" not in body
