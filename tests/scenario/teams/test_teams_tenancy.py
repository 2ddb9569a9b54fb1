"""Which tenants a Teams bot serves, through the real /api/messages route and the real core
(DESIGN §2): a single-tenant bot its own tenant only; a multi-tenant bot every tenant, each new
one in an organization of its own; no tenant, no service; the unauthenticated Emulator only when
asked for, from loopback, naming a loopback ``serviceUrl``. Whatever is refused writes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from adapters.teams import TeamsSettings
from adapters.teams.app import emulator_may
from bot.clock import ManualClock
from bot.dispatch import Core
from bot.model import Platform
from bot.ports import UnitOfWorkFactory
from bot.services.demo import seed_demo
from tests.fake_connector import FakeConnector
from tests.scenario.teams.conftest import TENANT, load_activity, serve

MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
OTHER = "0f0f0f0f-1111-2222-3333-444455556666"
TABLES = ("organizations", "workspaces", "people", "identities", "audit", "outbox")
DANA = {
    "id": "29:dana-bf",
    "name": "Dana Lee",
    "email": "dana@northfield.example",
    "aadObjectId": "aad-dana",
}


@pytest.fixture
async def core(uow_factory: UnitOfWorkFactory) -> Core:
    clock = ManualClock(MONDAY)
    await seed_demo(uow_factory, clock)
    return Core(uow=uow_factory, clock=clock)


@pytest.fixture(autouse=True)
def members(connector: FakeConnector) -> None:
    connector.members[DANA["id"]] = DANA


async def counts(core: Core) -> dict[str, int]:
    async with core.uow() as uow:
        return {name: await getattr(uow, name).count() for name in TABLES}


def message(url: str, *, tenant: str | None = TENANT, **changes: Any) -> dict[str, Any]:
    """Dana's personal ``help`` in ``tenant`` (None: an activity naming no tenant)."""
    sender = {"id": DANA["id"], "name": "Dana Lee", "aadObjectId": DANA["aadObjectId"]}
    activity = load_activity("personal_message", url, **{"from": sender})
    activity.update(changes)
    activity["conversation"]["tenantId"] = tenant
    activity["channelData"] = {"tenant": {"id": tenant}} if tenant else {}
    return activity


class Route:
    def __init__(self, client: TestClient) -> None:
        self.client = client

    async def post(self, activity: Any) -> int:
        response = await self.client.post("/api/messages", json=activity)
        return response.status


@pytest.fixture
async def route(core: Core, request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    clients: list[TestClient] = []

    async def build(**settings: Any) -> Route:
        client = await serve(core, TeamsSettings(**{"emulator": True, **settings}))
        clients.append(client)
        return Route(client)

    yield build
    for client in clients:
        await client.close()


async def test_a_multi_tenant_bot_gives_each_new_tenant_its_own_organization(
    core: Core, connector: FakeConnector, route: Any
) -> None:
    served = await route()
    assert await served.post(message(connector.url)) in (200, 201)
    assert await served.post(message(connector.url, tenant=OTHER)) in (200, 201)
    async with core.uow() as uow:
        demo, one, other = await uow.organizations.find(order_by="id")
        first = await uow.workspaces.first(platform=Platform.TEAMS, external_id=TENANT)
        second = await uow.workspaces.first(platform=Platform.TEAMS, external_id=OTHER)
        # Any tenant can reach a multi-tenant bot: even the first never joins the demo's.
        assert first is not None and first.organization_id == one.id
        assert second is not None and second.organization_id == other.id
        # Dana's email in each tenant is a new person there, not the demo's Dana.
        danas = await uow.people.find(email="dana@northfield.example", order_by="id")
        assert [p.organization_id for p in danas] == [demo.id, one.id, other.id]
    replies = [a.body.get("text", "") for a in connector.activities()]
    assert len(replies) == 2 and all("not connected" not in r for r in replies)


async def test_a_single_tenant_bot_refuses_other_tenants_and_writes_nothing(
    core: Core, connector: FakeConnector, route: Any
) -> None:
    served = await route(tenant_id=TENANT)
    before = await counts(core)
    assert await served.post(message(connector.url, tenant=OTHER)) in (200, 201)
    assert await counts(core) == before
    (refusal,) = connector.activities()
    assert "This Teams tenant is not connected to this Leaderbot" in refusal.body["text"]
    assert "nothing was done" in refusal.body["text"]
    assert await served.post(message(connector.url)) in (200, 201)
    async with core.uow() as uow:
        workspace = await uow.workspaces.first(platform=Platform.TEAMS, external_id=TENANT)
        assert workspace is not None and await uow.organizations.count() == 1


async def test_an_activity_with_no_tenant_is_refused(
    core: Core, connector: FakeConnector, route: Any
) -> None:
    served = await route()
    before = await counts(core)
    assert await served.post(message(connector.url, tenant=None)) in (200, 201)
    assert await counts(core) == before
    (refusal,) = connector.activities()
    assert "not connected" in refusal.body["text"]


async def test_the_emulator_stands_in_for_its_missing_tenant(
    core: Core, connector: FakeConnector, route: Any
) -> None:
    served = await route()
    assert await served.post(message(connector.url, tenant=None, channelId="emulator")) in (
        200,
        201,
    )
    async with core.uow() as uow:
        assert await uow.workspaces.first(platform=Platform.TEAMS, external_id="emulator")
    (reply,) = connector.activities()
    assert "not connected" not in reply.body.get("text", "")


async def test_unauthenticated_requests_need_the_emulator_switch_and_loopback(
    core: Core, connector: FakeConnector, route: Any
) -> None:
    before = await counts(core)
    unasked = await route(emulator=False)
    assert await unasked.post(message(connector.url)) == 401
    asked = await route()
    for service_url in ("https://smba.trafficmanager.net/emea/", "http://10.0.0.8:3978/", "x"):
        assert await asked.post(message(service_url)) == 401
    for junk in (None, [], 7, {"type": "message"}, {"serviceUrl": 12}):
        assert await asked.post(junk) == 401
    assert await counts(core) == before
    assert not connector.calls

    # The peer itself must be on loopback too (a reverse proxy on the same host is not).
    body = b'{"serviceUrl": "http://127.0.0.1:9/"}'
    for peer, allowed in (("127.0.0.1", True), ("::1", True), ("203.0.113.9", False), ("", False)):
        assert emulator_may(peer=peer, body=body, settings=TeamsSettings(emulator=True)) is allowed
    assert not emulator_may(peer="127.0.0.1", body=body, settings=TeamsSettings())


async def test_junk_activities_write_nothing(
    core: Core, connector: FakeConnector, route: Any
) -> None:
    served = await route()
    assert await served.post(message(connector.url)) in (200, 201)  # the tenant is linked
    before = await counts(core)
    url = connector.url
    stranger = {"id": "29:nobody", "name": "Nobody", "aadObjectId": "aad-nobody"}
    junk: list[dict[str, Any]] = [
        message(url, type="typing"),
        message(url, type="messageReaction"),
        message(url, type="event", **{"name": "whatever"}),
        message(url, type="endOfConversation"),
        message(url, tenant=None),
        message(url, tenant=None, type="conversationUpdate"),
        message(url, tenant=OTHER + "-x", type="typing", **{"from": stranger}),
        message(url, type="conversationUpdate", membersRemoved=[{"id": "29:x"}]),
        message(url, **{"from": {"name": "no id at all"}}),
        message(url, **{"from": {"id": "", "aadObjectId": ""}}),
    ]
    for n in range(20):
        junk.append(message(url, tenant=f"junk-tenant-{n}", type="typing"))
        junk.append(message(url, tenant=None, **{"from": {"id": f"29:junk{n}"}}))
    for activity in junk:
        assert await served.post(activity) < 500
    assert await counts(core) == before


async def test_a_teams_user_takes_the_timezone_teams_reports(
    core: Core, connector: FakeConnector, route: Any
) -> None:
    served = await route()

    async def zone_after(reported: dict[str, Any]) -> str:
        assert await served.post(message(connector.url, **reported)) in (200, 201)
        async with core.uow() as uow:
            identity = await uow.identities.first(platform=Platform.TEAMS, user_id="aad-dana")
            assert identity is not None
            person = await uow.people.get(identity.person_id)
            assert person is not None
            return person.timezone

    # First contact: the demo's Dana (matched by email) moves from New York to where she is.
    assert await zone_after({"localTimezone": "Europe/Lisbon"}) == "Europe/Lisbon"
    assert await zone_after({"localTimezone": "Not/AZone"}) == "Europe/Lisbon"
    clientinfo = {"type": "clientInfo", "timezone": "Asia/Tokyo"}
    assert await zone_after({"localTimezone": None, "entities": [clientinfo]}) == "Asia/Tokyo"
    assert await zone_after({"localTimezone": None, "entities": []}) == "Asia/Tokyo"


async def test_a_timezone_chosen_with_me_timezone_sticks_until_teams_reports_another(
    core: Core, connector: FakeConnector, route: Any
) -> None:
    served = await route()

    async def zone_after(text: str, reported: str) -> str:
        activity = message(connector.url, text=text, localTimezone=reported)
        assert await served.post(activity) in (200, 201)
        async with core.uow() as uow:
            identity = await uow.identities.first(platform=Platform.TEAMS, user_id="aad-dana")
            assert identity is not None and identity.reported_timezone == reported
            person = await uow.people.get(identity.person_id)
            assert person is not None
            return person.timezone

    assert await zone_after("help", "Europe/Lisbon") == "Europe/Lisbon"
    assert await zone_after("me timezone America/Chicago", "Europe/Lisbon") == "America/Chicago"
    # Teams keeps reporting Lisbon: Dana's own choice stays, message after message.
    assert await zone_after("help", "Europe/Lisbon") == "America/Chicago"
    assert await zone_after("asks", "Europe/Lisbon") == "America/Chicago"
    # Her device moved: Teams reports a new zone, and that is news.
    assert await zone_after("help", "Europe/Berlin") == "Europe/Berlin"
    replies = [a.body.get("text", "") for a in connector.activities()]
    assert "Done. Your working day: 08:00–18:00 America/Chicago." in replies
