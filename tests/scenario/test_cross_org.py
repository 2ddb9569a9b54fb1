"""The cross-organization acceptance suite (issue #10): a user of organization B drives every
command of the grammar, every button verb, every form and App Home against organization A's
project keys, ask and blocker ids and handles — and reads nothing of A, writes nothing of A.

A is the demo organization with a Slack workspace and a Teams tenant added as explicit rows; B
is set up explicitly too (an organization, a Slack workspace, a Teams tenant, a lead of its own
project), so nothing here depends on how workspaces join organizations. "Nothing of A" is
checked twice: every row of A is the same after the sweep as before it, no new row points at A
(its organization, projects, people, workspaces, measures), and no reply of B names a person,
project, ask, blocker or update text of A.
"""

from __future__ import annotations

import json
from dataclasses import astuple
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp.test_utils import TestClient, TestServer

from adapters.http import build_web_app
from adapters.web import sign_link
from bot.clock import ManualClock
from bot.context import Caller, Reply
from bot.dispatch import Core
from bot.handlers.actions import ACTIONS, PRECHECKS
from bot.messages import Message, to_json
from bot.model import (
    Identity,
    Organization,
    Person,
    Platform,
    Project,
    Role,
    Stakeholder,
    Workspace,
)
from bot.ports import UnitOfWorkFactory
from bot.services.demo import seed_demo
from bot.services.people import caller_of
from bot.tenancy import RULES

MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
REPOSITORIES = ["organizations", *RULES]


class World:
    def __init__(self, core: Core, a: int, caller: Caller) -> None:
        self.core, self.a, self.caller = core, a, caller
        self.ask_ids: list[int] = []
        self.blocker_ids: list[int] = []
        self.secrets: list[str] = []
        """What of A no reply of B may contain."""
        self.a_ids: dict[str, set[int]] = {}
        """Every repository's ids of A's rows."""


async def _rows(uow_factory: UnitOfWorkFactory) -> dict[str, dict[int, tuple[Any, ...]]]:
    async with uow_factory() as uow:
        return {
            name: {row.id: astuple(row) for row in await getattr(uow, name).find()}
            for name in REPOSITORIES
        }


@pytest.fixture
async def world(uow_factory: UnitOfWorkFactory) -> World:
    clock = ManualClock(MONDAY)
    await seed_demo(uow_factory, clock)
    async with uow_factory() as uow:
        a = await uow.organizations.first(order_by="id")
        assert a is not None
        for platform, external in ((Platform.SLACK, "TA"), (Platform.TEAMS, "tenant-a")):
            space = await uow.workspaces.add(
                Workspace(organization_id=a.id, platform=platform, external_id=external)
            )
            for person in await uow.people.find(organization_id=a.id):
                await uow.identities.add(
                    Identity(
                        person_id=person.id,
                        workspace_id=space.id,
                        platform=platform,
                        user_id=f"{external}-{person.handle}",
                    )
                )
        await uow.commit()
    a_ids = {name: set(rows) for name, rows in (await _rows(uow_factory)).items()}
    async with uow_factory() as uow:
        b = await uow.organizations.add(Organization(name="Bayside Clinic"))
        zoe = await uow.people.add(
            Person(
                organization_id=b.id, handle="zoe", name="Zoe Quinn", email="ana@northfield.example"
            )
        )
        slack_b = None
        for platform, external in ((Platform.SLACK, "TB"), (Platform.TEAMS, "tenant-b")):
            space = await uow.workspaces.add(
                Workspace(organization_id=b.id, platform=platform, external_id=external)
            )
            slack_b = slack_b or space
            await uow.identities.add(
                Identity(person_id=zoe.id, workspace_id=space.id, platform=platform, user_id="UZ")
            )
        own = await uow.projects.add(Project(organization_id=b.id, key="OWN", name="Own work"))
        await uow.stakeholders.add(Stakeholder(project_id=own.id, person_id=zoe.id, role=Role.LEAD))
        await uow.commit()
        secrets = [p.name for p in await uow.people.find(organization_id=a.id)]
        secrets += [p.name for p in await uow.projects.find(organization_id=a.id)]
        secrets += [x.text for x in await uow.asks.find(organization_id=a.id)]
        secrets += [x.text for x in await uow.blockers.find(organization_id=a.id)]
        secrets += [u.progress for u in await uow.updates.find()]
        secrets.append(a.name)
        ask_ids = [x.id for x in await uow.asks.find(organization_id=a.id)]
        blocker_ids = [x.id for x in await uow.blockers.find(organization_id=a.id)]
    assert slack_b is not None
    core = Core(uow=uow_factory, clock=clock)
    made = World(core, a.id, caller_of(zoe, platform=Platform.SLACK, workspace_id=slack_b.id))
    made.ask_ids, made.blocker_ids, made.secrets = ask_ids, blocker_ids, secrets
    made.a_ids = a_ids
    assert ask_ids and blocker_ids and len(secrets) > 10
    return made


def _said(messages: tuple[Message, ...]) -> str:
    return "\n".join(to_json(m) for m in messages)


def _leaks(world: World, said: str) -> list[str]:
    return [secret for secret in world.secrets if secret and secret in said]


def _commands(world: World) -> list[str]:
    ask, blocker = world.ask_ids[0], world.blocker_ids[0]
    return [
        "ask @dana approve 0.5 FTE by 2026-12-04 #SEPSIS area:staffing",
        "ask approve the budget #SEPSIS",
        "ask @dana approve it #OWN",
        "blocker lab access down #SEPSIS severity:high",
        "blocker lab access down #FALLS",
        "update #SEPSIS rag:red all is lost next: nothing",
        "status #SEPSIS",
        "status #FALLS",
        "status",
        "asks",
        "digest",
        "dashboard",
        f"approve {ask} fine",
        f"decline {ask} no",
        f"info {ask} why?",
        f"withdraw ask {ask}",
        f"withdraw blocker {blocker}",
        f"ack {blocker} seen",
        f"resolve {blocker} fixed",
        "decisions #SEPSIS",
        "decisions",
        "raci #SEPSIS",
        "raci",
        "raci set @dana A budget #SEPSIS",
        "raci set @zoe A budget #SEPSIS",
        "raci set @dana A budget #OWN",
        "role @dana sponsor #SEPSIS",
        "role @zoe sponsor #SEPSIS",
        "role @carmen sponsor #OWN",
        "who @dana",
        "who @ana",
        "who",
        "project show #SEPSIS",
        "project charter #SEPSIS aim take it over",
        "project channel #SEPSIS",
        "project pause #SEPSIS",
        "project resume #FALLS",
        "project close #SEPSIS",
        "kpi #SEPSIS",
        "kpi add stolen unit:% higher target:90 #SEPSIS",
        "kpi record time to antibiotics 5 #SEPSIS",
        "cadence weekly mon 09:00",
        "delegate @dana until 2026-12-10",
        "delegate off",
        "handover @ana @zoe #SEPSIS",
        "handover @dana @zoe",
        "handover @zoe @dana #OWN",
        "help",
        "help ask",
        "project new SEPSIS B's own sepsis",
        "status #SEPSIS",
        "raci #SEPSIS",
    ]


async def test_b_reads_and_writes_nothing_of_a(
    world: World, uow_factory: UnitOfWorkFactory
) -> None:
    before = await _rows(uow_factory)
    replies: list[tuple[str, Reply]] = []
    for line in _commands(world):
        replies.append((line, await world.core.command(world.caller, line)))
    for verb in ACTIONS:
        for id in world.ask_ids + world.blocker_ids:
            reply = await world.core.action(world.caller, action=verb, value=str(id), text="x")
            replies.append((f"{verb} {id}", reply))
    for form_id in ("ask", "blocker", "update"):
        form = await world.core.form(world.caller, form_id)
        assert "SEPSIS" not in repr(form) or "B's own" in repr(form), form
        assert not _leaks(world, repr(form)), form
        values = {
            "text": "take this",
            "project": "FALLS",
            "person": "dana",
            "area": "staffing",
            "severity": "high",
            "rag": "red",
        }
        replies.append(
            (
                f"form {form_id}",
                await world.core.submit_form(world.caller, form_id=form_id, values=values),
            )
        )
    waiting, cards = await world.core.home(world.caller)
    replies.append(("home", Reply(messages=waiting + cards)))

    for line, reply in replies:
        assert not _leaks(world, _said(reply.messages)), (line, _said(reply.messages))
    after = await _rows(uow_factory)
    for name, rows in before.items():
        for id, row in rows.items():
            assert after[name].get(id) == row, (name, id)
    async with uow_factory() as uow:
        for name, rows in after.items():
            for id in set(rows) - set(before[name]):
                new = await getattr(uow, name).get(id)
                rule = RULES.get(name)
                assert rule is not None, f"B created an organization: {new}"
                if rule.direct:
                    assert new.organization_id != world.a, (name, new)
                for field, parent in rule.parents:
                    value = getattr(new, field)
                    assert not value or value not in world.a_ids[parent], (name, field, new)


async def test_b_card_refreshes_prechecks_and_inbox_show_nothing_of_a(
    world: World, uow_factory: UnitOfWorkFactory
) -> None:
    """The reads a platform makes around a click — a card refreshed for its reader (Teams'
    ``refresh``), the refusal asked before a modal opens — and B's console inbox: for A's ask
    and blocker ids each is refused or empty, names nothing of A, and changes nothing."""
    before = await _rows(uow_factory)
    items = [f"ask:{n}" for n in world.ask_ids] + [f"blocker:{n}" for n in world.blocker_ids]
    for item in items:
        card = await world.core.card(world.caller, item=item)
        assert not card.ok and card.replacement is None, (item, _said(card.messages))
        assert not _leaks(world, _said(card.messages)), item
        for verb in PRECHECKS:
            refused = await world.core.refusal(world.caller, action=verb, value=item.split(":")[1])
            assert refused is not None and not refused.ok, (verb, item)
            assert not _leaks(world, _said(refused.messages)), (verb, item)
    taken = await world.core.inbox(world.caller, channels=True)
    assert not _leaks(world, _said(tuple(message for _, message in taken)))
    assert await _rows(uow_factory) == before


async def test_b_dashboard_and_api_show_nothing_of_a(world: World) -> None:
    """B's signed link opens B's dashboard and ``/api/v1/…``; A's link signs A, not B."""
    app = build_web_app(uow=world.core.uow, clock=world.core.clock, dashboard_key=b"k")
    b = world.caller.organization_id
    link = sign_link(
        key=b"k",
        organization_id=b,
        person_id=world.caller.person_id,
        expires_at=MONDAY + timedelta(hours=1),
    )
    query = urlsplit(link).query
    async with TestClient(TestServer(app)) as client:
        page = await client.get(f"/dashboard?{query}")
        assert page.status == 200
        assert "Bayside Clinic" in (body := await page.text())
        assert not _leaks(world, body)
        for name in ("projects", "asks", "blockers", "decisions"):
            response = await client.get(f"/api/v1/{name}?{query}")
            data = await response.json()
            assert response.status == 200 and data["organization_id"] == b
            assert not _leaks(world, json.dumps(data)), (name, data)
        forged = query.replace(f"org={b}", f"org={world.a}")
        assert (await client.get(f"/dashboard?{forged}")).status == 401
