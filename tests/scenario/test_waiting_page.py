"""The "waiting on you" page a personal link opens: only what waits on that person (issue 12).

Through the real core (commands as users type them) and the real web app: Dana's page lists
the ask routed to her and the blocker at her rung, her delegate Carmen's lists Dana's ask while
the delegation runs, and once Carmen decides it her page lists the decision "Carmen … for Dana".
Raj, who holds nothing, sees empty sections and nothing of theirs.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiohttp.test_utils import TestClient, TestServer

from adapters.http import build_web_app
from adapters.web import sign_link
from adapters.web.links import SignedLinks
from bot.dispatch import Core, CoreSettings
from bot.model import Person, Platform
from tests.fakes import make_memory_uow_factory
from tests.scenario.cadence_world import LINK, World, make_world

START = datetime(2026, 11, 24, 10, tzinfo=UTC)
KEY = b"waiting-key"


async def _say(core: Core, person: Person, text: str) -> None:
    caller = await core.caller_for_handle(person.handle, platform=Platform.CONSOLE)
    assert caller is not None
    reply = await core.command(caller, text)
    assert reply.ok, reply.messages


async def _page(client: TestClient, world: World, person: Person) -> str:
    link = sign_link(
        key=KEY,
        organization_id=world.org.id,
        person_id=person.id,
        expires_at=world.clock.now() + timedelta(days=1),
    )
    response = await client.get(link)
    assert response.status == 200 and response.url.path == "/dashboard/waiting"
    return await response.text()


def _section(html: str, title: str) -> str:
    return html.split(f"<h2>{title}</h2>", 1)[1].split("</section>", 1)[0]


async def test_each_leader_sees_what_waits_on_them_and_their_delegates_see_it_too() -> None:
    world = await make_world(make_memory_uow_factory(), START)
    dana = await world.person("dana")
    ana = await world.person("ana")
    carmen = await world.person("carmen")
    raj = await world.person("raj")
    await world.project("SEPSIS", sponsor=dana, lead=ana)
    world.links = SignedLinks(key=KEY, clock=world.clock, link_base=LINK)
    core = Core(
        uow=world.uow, clock=world.clock, settings=CoreSettings(link_base=LINK, links=world.links)
    )
    await _say(core, ana, "ask approve the night rota by 2026-11-25 #SEPSIS")
    await _say(core, ana, "blocker pharmacy cannot stock the kits #SEPSIS severity:high")
    await _say(core, dana, "delegate @carmen until 2026-12-31")
    await world.drain()
    world.clock.advance(timedelta(days=2))  # the ask is now overdue (no tick: nothing escalates)

    app = build_web_app(uow=world.uow, clock=world.clock, dashboard_key=KEY)
    async with TestClient(TestServer(app)) as client:
        mine = await _page(client, world, dana)
        assert "Waiting on you, Dana Example" in mine
        asks = _section(mine, "Asks to decide")
        assert "approve the night rota" in asks and "overdue" in asks  # due yesterday
        assert 'href="/dashboard/asks/1?' in asks
        assert "pharmacy cannot stock the kits" in _section(mine, "Blockers at your rung")

        delegate = await _page(client, world, carmen)
        assert "approve the night rota" in _section(delegate, "Asks to decide")
        assert "No blocker waits on you." in delegate  # a delegation covers asks only

        await _say(core, carmen, "approve 1 covered by the bank staff budget")
        decided = await _page(client, world, carmen)
        assert "No ask waits on you." in decided
        decisions = _section(decided, "Your recent decisions")
        assert "Carmen Example for Dana Example" in decisions
        assert "covered by the bank staff budget" in decisions

        nothing = await _page(client, world, raj)
        for absent in ("night rota", "pharmacy", "bank staff"):
            assert absent not in nothing
        assert "No ask waits on you." in nothing and "No KPI needs your review." in nothing
