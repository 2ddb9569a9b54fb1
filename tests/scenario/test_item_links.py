"""Links in cards and digests land on the item, signed for their one reader (issue 12 §3).

A card's link is stored plain in the outbox and signed when it is delivered to one person (the
drain) or shown to the caller (the core's reply); a channel post keeps the plain link, whose page
says how to get a personal one. Each signed link opens the item's page on the real web app, and
only for people the permission table lets see it.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from aiohttp.test_utils import TestClient, TestServer

from adapters.http import build_web_app
from adapters.web import sign_link
from adapters.web.links import SignedLinks
from bot.context import Caller
from bot.dispatch import Core, CoreSettings
from bot.links import item_link
from bot.messages import Message, Target
from bot.model import Person, Platform, Role, Stakeholder
from bot.services.delivery import deliver
from tests.fakes import make_memory_uow_factory
from tests.scenario.cadence_world import LINK, World, make_world

START = datetime(2026, 11, 24, 10, tzinfo=UTC)
KEY = b"item-link-key"


async def _world() -> World:
    world = await make_world(make_memory_uow_factory(), START)
    world.links = SignedLinks(key=KEY, clock=world.clock, link_base=LINK)
    return world


def ask_id_of(link: str) -> str:
    """The id in an ask page's link (``…/dashboard/asks/7?…`` → ``7``)."""
    return urlsplit(link).path.rsplit("/", 1)[1]


def _local(link: str) -> str:
    """The link's path and query, to open on the test server."""
    parts = urlsplit(link)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


async def test_a_card_to_one_person_is_signed_at_delivery_a_channel_post_is_not() -> None:
    world = await _world()
    dana = await world.person("dana")
    ana = await world.person("ana")
    project = await world.project("SEPSIS", sponsor=dana, lead=ana)
    plain = item_link(LINK, "ask", 41)
    async with world.uow() as uow:
        for key, target in (
            ("ask:41:card", Target(person_id=dana.id)),
            ("ask:41:channel", Target(project_id=project.id)),
        ):
            message = Message(title="Ask #41", target=target, key=key, link=plain)
            await deliver(uow, message, organization_id=world.org.id, now=world.clock.now())
        await uow.commit()
    await world.drain()

    [to_dana] = world.sender.to(dana)
    assert to_dana.message.link == world.links.to_item(dana, "ask", 41)
    assert "sig=" in (to_dana.message.link or "") and f"p={dana.id}" in (to_dana.message.link or "")
    [channel] = [s for s in world.sender.sent if s.person_id is None]
    assert channel.message.link == plain
    assert all("sig=" not in row.payload for row in await world.outbox())  # never stored


async def _caller(core: Core, person: Person) -> Caller:
    caller = await core.caller_for_handle(person.handle, platform=Platform.CONSOLE)
    assert caller is not None
    return caller


async def test_a_replys_card_link_opens_the_asks_page_for_the_people_on_it_only() -> None:
    world = await _world()
    dana = await world.person("dana")
    ana = await world.person("ana")
    raj = await world.person("raj")  # in the organization, nothing to do with the project
    kim = await world.person("kim")  # a champion of the project, not on the ask
    sepsis = await world.project("SEPSIS", sponsor=dana, lead=ana)
    async with world.uow() as uow:
        await uow.stakeholders.add(
            Stakeholder(project_id=sepsis.id, person_id=kim.id, role=Role.CHAMPION)
        )
        await uow.commit()
    core = Core(
        uow=world.uow,
        clock=world.clock,
        settings=CoreSettings(link_base=LINK, links=world.links),
    )
    raised = await core.command(
        await _caller(core, ana), "ask approve the <b>night</b> rota #SEPSIS"
    )
    assert raised.ok, raised.messages
    await world.drain()  # announces the ask: its card goes to Dana, signed for her
    [delivered] = [s.message for s in world.sender.to(dana) if s.message.link]
    reply = await core.command(await _caller(core, dana), "asks")
    [card] = [m for m in reply.messages if m.link]
    assert card.link is not None and urlsplit(card.link).path.startswith("/dashboard/asks/")
    assert f"p={dana.id}" in card.link and card.link == delivered.link
    # Where others read the reply too (a Teams channel), the card keeps its plain link.
    shared = await core.command(replace(await _caller(core, dana), shared=True), "asks")
    [plain] = [m for m in shared.messages if m.link]
    assert plain.link == item_link(LINK, "ask", int(ask_id_of(card.link)))

    app = build_web_app(uow=world.uow, clock=world.clock, dashboard_key=KEY)
    async with TestClient(TestServer(app)) as client:
        page = await client.get(_local(card.link))
        html = await page.text()
        assert page.status == 200, html
        assert "approve the &lt;b&gt;night&lt;/b&gt; rota" in html
        assert "Raised and routed" in html and "Ana Example" in html
        assert "Card sent" in html and "to Dana Example: delivered" in html

        ask_path = urlsplit(card.link).path
        # Kim reads the ask on the project's page, so its own page opens for her too.
        for person, status in ((ana, 200), (kim, 200), (raj, 403)):
            link = sign_link(
                key=KEY,
                organization_id=world.org.id,
                person_id=person.id,
                expires_at=world.clock.now() + timedelta(days=1),
                path=ask_path,
            )
            opened = await client.get(link)
            assert opened.status == status, (person.handle, await opened.text())
        refused = await (await client.get(link)).text()
        assert "can see ask #" in refused and "approve the" not in refused
        missing = await client.get(_local(card.link).replace(ask_path, "/dashboard/asks/999"))
        assert missing.status == 404


async def test_the_asks_page_shows_each_question_and_answer_with_who_and_when() -> None:
    """Times on a page are in its reader's own zone, named (Dana reads in New York)."""
    world = await _world()
    dana = await world.person("dana", tz="America/New_York")
    ana = await world.person("ana")
    await world.project("SEPSIS", sponsor=dana, lead=ana)
    core = Core(
        uow=world.uow,
        clock=world.clock,
        settings=CoreSettings(link_base=LINK, links=world.links),
    )
    raised = await core.command(await _caller(core, ana), "ask fund the pilot #SEPSIS")
    assert raised.ok, raised.messages
    await world.drain()
    world.clock.advance(timedelta(minutes=30))
    asked = await core.command(await _caller(core, dana), "info 1 which wards & when?")
    assert asked.ok, asked.messages
    world.clock.advance(timedelta(hours=2))
    answered = await core.command(await _caller(core, ana), "answer 1 the AMU and ED")
    assert answered.ok, answered.messages

    app = build_web_app(uow=world.uow, clock=world.clock, dashboard_key=KEY)
    async with TestClient(TestServer(app)) as client:
        page = await client.get(_local(world.links.to_item(dana, "ask", 1)))
        html = await page.text()
    assert page.status == 200, html
    section = html[html.index('aria-label="Questions and answers"') : html.index("History")]
    turns = [
        re.sub(r"<[^>]+>", "", turn.replace("<br>", "\n"))
        for turn in re.findall(r"<li>(.*?)</li>", section, flags=re.DOTALL)
    ]
    assert turns == [
        "Tue 24 Nov 2026 05:30 EST Question · Dana Example\nwhich wards &amp; when?",
        "Tue 24 Nov 2026 07:30 EST Answer · Ana Example\nthe AMU and ED",
    ]
    assert "Raised</dt><dd>Tue 24 Nov 2026 05:00 EST" in html.replace("\n", "")
