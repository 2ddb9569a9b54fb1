"""Issue #14 §1 on Teams: what one activity costs — units of work the core opens and calls to the
Bot Connector — through the real /api/messages route, the real core and the fake connector, on
every backend. A known user's channel message mentioning known people is one unit of work and
no member lookup; a new user's first message is at most two, with a lookup only of whom the
core said it needs."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from adapters.teams import TeamsSettings
from bot.clock import ManualClock
from bot.dispatch import Core
from bot.model import Platform
from bot.ports import UnitOfWorkFactory
from bot.services.demo import seed_demo
from tests.fake_connector import FakeConnector
from tests.scenario.teams.conftest import TENANT, serve
from tests.scenario.teams.test_teams_scenario import (
    CHANNEL,
    MONDAY,
    PEOPLE,
    click,
    dm,
    in_channel,
    installed,
    personal,
)
from tests.scenario.teams.test_teams_tenancy import DANA, OTHER, message
from tests.scenario.test_request_costs import Counted


@pytest.fixture
async def counted(uow_factory: UnitOfWorkFactory) -> Counted:
    return Counted(uow_factory)


@pytest.fixture
async def core(counted: Counted) -> Core:
    clock = ManualClock(MONDAY)
    await seed_demo(counted, clock)
    return Core(uow=counted, clock=clock)


@dataclass(frozen=True)
class Cost:
    units_of_work: int
    member_lookups: list[str]
    """The Bot Framework ids looked up (``TeamsInfo.get_member``), in order."""
    said: str
    """What the bot answered (the last activity's text)."""


@pytest.fixture
def cost_of(
    counted: Counted, connector: FakeConnector, post_activity: Any
) -> Callable[[dict[str, Any]], Awaitable[Cost]]:
    """POST one activity to the server the test set up; what it cost and what the bot said."""

    async def post(activity: dict[str, Any]) -> Cost:
        opened, calls = counted.entered, len(connector.calls)
        status, body = await post_activity(activity)
        assert status < 300, body
        new = connector.calls[calls:]
        lookups = [c.body["id"]["id"] for c in new if c.kind == "member"]
        said = body.get("value") if isinstance(body, dict) else None
        if not isinstance(said, str):
            sent = [c for c in new if c.kind != "member"]
            said = str(sent[-1].body.get("text") or sent[-1].cards) if sent else ""
        return Cost(counted.entered - opened, lookups, said)

    return post


async def test_a_known_users_channel_message_mentioning_known_people_is_one_unit_of_work(
    core: Core, connector: FakeConnector, post_activity: Any, cost_of: Any
) -> None:
    await installed(core, connector, post_activity)  # Ana and Dana are known on Teams
    cost = await cost_of(
        in_channel(
            connector.url,
            "ana",
            "ask <at>Dana Lee</at> approve 0.5 FTE for the pilot by 2026-12-04"
            " #SEPSIS area:staffing",
            "dana",
        )
    )
    assert "sent to Dana Lee" in cost.said, cost.said
    assert cost.member_lookups == []
    assert cost.units_of_work == 1

    # The same again with two known people named: still one, still no lookup.
    cost = await cost_of(
        in_channel(
            connector.url,
            "ana",
            "ask <at>Dana Lee</at> cover <at>Ana Silva</at>'s rota #SEPSIS area:staffing",
            "dana",
            "ana",
        )
    )
    assert "sent to Dana Lee" in cost.said, cost.said
    assert (cost.units_of_work, cost.member_lookups) == (1, [])


async def test_a_known_users_personal_message_is_one_unit_of_work(
    core: Core, connector: FakeConnector, post_activity: Any, cost_of: Any
) -> None:
    await installed(core, connector, post_activity)
    await post_activity(personal("personal_message", "dana", connector.url, text="help"))
    cost = await cost_of(personal("personal_message", "dana", connector.url, text="asks"))
    assert cost.said
    assert (cost.units_of_work, cost.member_lookups) == (1, [])


async def test_a_new_users_message_costs_two_units_of_work_and_a_lookup_of_them_only(
    core: Core, connector: FakeConnector, post_activity: Any, cost_of: Any
) -> None:
    await installed(core, connector, post_activity)
    # Ben writes for the first time, in the channel, naming Dana (known).
    cost = await cost_of(in_channel(connector.url, "ben", "ask <at>Dana Lee</at> help", "dana"))
    assert cost.member_lookups == [PEOPLE["ben"]["id"]]
    assert cost.units_of_work <= 2
    async with core.uow() as uow:
        ben = await uow.identities.first(user_id=PEOPLE["ben"]["aadObjectId"])
        assert ben is not None  # matched to the demo's Ben Okafor by his email
        person = await uow.people.get(ben.person_id)
        assert person is not None and person.name == "Ben Okafor"


async def test_a_mentioned_new_person_is_looked_up_once(
    core: Core, connector: FakeConnector, post_activity: Any, cost_of: Any
) -> None:
    await installed(core, connector, post_activity)
    cost = await cost_of(
        in_channel(connector.url, "ana", "ask <at>Ben Okafor</at> fund it #SEPSIS", "ben")
    )
    assert "sent to Ben Okafor" in cost.said, cost.said
    assert cost.member_lookups == [PEOPLE["ben"]["id"]]
    assert cost.units_of_work <= 2
    # Known from now on: naming him again costs no lookup.
    cost = await cost_of(
        in_channel(connector.url, "ana", "ask <at>Ben Okafor</at> fund it too #SEPSIS", "ben")
    )
    assert (cost.units_of_work, cost.member_lookups) == (1, [])


async def test_a_known_users_click_is_one_unit_of_work(
    core: Core, connector: FakeConnector, post_activity: Any, cost_of: Any
) -> None:
    await installed(core, connector, post_activity)
    await post_activity(
        in_channel(connector.url, "ana", "ask <at>Dana Lee</at> fund it #SEPSIS", "dana")
    )
    await post_activity(personal("personal_message", "dana", connector.url, text="help"))
    conversation = {"id": dm("dana"), "conversationType": "personal", "tenantId": TENANT}
    cost = await cost_of(
        click(
            connector.url,
            "dana",
            conversation=conversation,
            card_id="1",
            verb="ask.approve",
            value="3",
        )
    )
    assert "Approved" in cost.said or "approved" in cost.said, cost.said
    assert (cost.units_of_work, cost.member_lookups) == (1, [])


async def test_a_channel_reference_is_written_once_not_per_message(
    core: Core, connector: FakeConnector, post_activity: Any
) -> None:
    await installed(core, connector, post_activity)  # Ana made it #SEPSIS's home there

    async def stored() -> str | None:
        async with core.uow() as uow:
            (home,) = await uow.channels.find(channel_id=CHANNEL)
            return home.conversation_ref

    await post_activity(in_channel(connector.url, "ana", "status #SEPSIS"))
    first = await stored()
    assert first is not None and json.loads(first)["conversation"]["id"] == CHANNEL
    later = in_channel(connector.url, "ana", "status #SEPSIS")
    later["conversation"]["id"] = f"{CHANNEL};messageid=1772443299999"
    await post_activity(later)
    assert await stored() == first  # each message is its own reply chain; the channel is not


async def _mention_dana(app: Any, connector: FakeConnector, counted: Counted) -> tuple[int, list]:
    """Ana's channel ask mentioning Dana, through ``app``: (units of work, member look-ups)."""
    opened, calls = counted.entered, len(connector.calls)
    response = await app.post(
        "/api/messages",
        json=in_channel(connector.url, "ana", "ask <at>Dana Lee</at> fund it #SEPSIS", "dana"),
    )
    assert response.status < 300
    said = connector.activities()[-1].body.get("text", "")
    assert "sent to Dana Lee" in said, said
    looked_up = [c.body["id"]["id"] for c in connector.calls[calls:] if c.kind == "member"]
    return counted.entered - opened, looked_up


async def test_after_a_restart_a_known_persons_mention_costs_no_look_up_and_adds_nobody(
    core: Core, connector: FakeConnector, post_activity: Any, counted: Counted
) -> None:
    """A mention carries only the Bot Framework id; the identity stores it as its alias, so a
    new process (or another one on the same database) finds the person without asking Teams."""
    await installed(core, connector, post_activity)
    async with core.uow() as uow:
        before = (await uow.people.count(), await uow.identities.count())
    for _ in range(2):
        restarted = await serve(Core(uow=counted, clock=core.clock))  # a fresh process
        try:
            units, looked_up = await _mention_dana(restarted, connector, counted)
        finally:
            await restarted.close()
        assert looked_up == []
        assert units == 1  # the tenant is linked already: nothing more per process
    async with core.uow() as uow:
        assert (await uow.people.count(), await uow.identities.count()) == before


async def test_a_person_known_before_aliases_were_stored_is_looked_up_once(
    core: Core, connector: FakeConnector, post_activity: Any, counted: Counted
) -> None:
    """An identity from before migration 0014 has no alias: the first mention of it asks Teams
    once, stores the alias, and no process asks again."""
    await installed(core, connector, post_activity)
    async with core.uow() as uow:
        (dana,) = await uow.identities.find(alias=PEOPLE["dana"]["id"])
        dana.alias = ""
        await uow.identities.save(dana)
        await uow.commit()
        before = (await uow.people.count(), await uow.identities.count())
    for lookups in ([PEOPLE["dana"]["id"]], []):
        restarted = await serve(Core(uow=counted, clock=core.clock))
        try:
            _, looked_up = await _mention_dana(restarted, connector, counted)
        finally:
            await restarted.close()
        assert looked_up == lookups
    async with core.uow() as uow:
        assert (await uow.people.count(), await uow.identities.count()) == before


async def test_a_new_tenants_first_user_is_linked_and_identified_in_at_most_two_units(
    core: Core, connector: FakeConnector, counted: Counted
) -> None:
    """A multi-tenant bot meets a tenant it has never seen: the request itself links it (an
    organization of its own) with the user's identity — no unit of work of its own."""
    connector.members[DANA["id"]] = DANA
    server = await serve(Core(uow=counted, clock=core.clock), TeamsSettings(emulator=True))
    try:
        opened, calls = counted.entered, len(connector.calls)
        response = await server.post("/api/messages", json=message(connector.url, tenant=OTHER))
        assert response.status < 300
    finally:
        await server.close()
    looked_up = [c.body["id"]["id"] for c in connector.calls[calls:] if c.kind == "member"]
    assert (counted.entered - opened, looked_up) == (2, [DANA["id"]])  # was 3: the link too
    (answer,) = [c for c in connector.calls[calls:] if c.kind != "member"]
    assert answer.cards or answer.body.get("text"), answer.body  # the help it asked for
    assert "not connected" not in str(answer.body)
    async with core.uow() as uow:
        workspace = await uow.workspaces.first(platform=Platform.TEAMS, external_id=OTHER)
        demo = await uow.organizations.first(order_by="id")
        assert workspace is not None and demo is not None
        assert workspace.organization_id != demo.id  # its own organization, never the demo's
        (dana,) = await uow.identities.find(workspace_id=workspace.id)
        person = await uow.people.get(dana.person_id)
        assert person is not None and person.organization_id == workspace.organization_id
