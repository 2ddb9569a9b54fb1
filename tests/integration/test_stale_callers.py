"""Two server processes on one database: after ``me link`` or ``org join`` in one, the other
answers the moved user as who they now are, never with the caller it had cached ("I don't know
you yet", or the organization they left)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.clock import ManualClock
from bot.context import Caller
from bot.dispatch import UNKNOWN, Core
from bot.forms import Form
from bot.model import Identity, Person, Platform, Workspace
from bot.services.demo import seed_demo
from bot.services.people import caller_of
from storage.database import Database
from tests.integration.test_org_setup import MONDAY, code_in, partner, say, who


@pytest.fixture
async def cores(sql_database: Database) -> AsyncIterator[tuple[Core, Core]]:
    """Process 1 and process 2: each its own database object (pool, SQLite writer, directory
    copy)."""
    clock = ManualClock(MONDAY)
    first = Core(uow=sql_database.uow, clock=clock)
    await seed_demo(first.uow, clock)
    async with Database(sql_database.url) as other:
        yield first, Core(uow=other.uow, clock=clock)


async def linked_elsewhere(one: Core, two: Core) -> tuple[Caller, Caller]:
    """Ana's Teams account, first seen as a person of its own and cached so by process 2, is
    linked to Ana by ``me link`` in process 1: (that cached caller, Ana)."""
    ana = await who(one, "ana")
    async with one.uow() as uow:
        workspace = await uow.workspaces.add(
            Workspace(organization_id=ana.organization_id, platform=Platform.TEAMS, external_id="t")
        )
        fresh = await uow.people.add(
            Person(organization_id=ana.organization_id, handle="ana.s", name="Ana S")
        )
        await uow.identities.add(
            Identity(
                person_id=fresh.id, workspace_id=workspace.id, platform=Platform.TEAMS, user_id="u"
            )
        )
        await uow.commit()
    cached = await two.identify(platform=Platform.TEAMS, workspace_external_id="t", user_id="u")
    assert cached is not None and cached.person_id == fresh.id
    code = code_in(await say(one, ana, "me link"))
    on_teams = caller_of(fresh, platform=Platform.TEAMS, workspace_id=workspace.id)
    assert (await say(one, on_teams, f"me link {code}")).startswith("Linked:")
    return cached, ana


async def joined_elsewhere(one: Core, two: Core) -> Caller:
    """Bo, admin of a partner organization on Teams and cached so by process 2, joins the demo
    organization by ``org join`` in process 1: the cached caller."""
    bo, _ = await partner(one)
    cached = await two.identify(
        platform=Platform.TEAMS, workspace_external_id="tenant-partner", user_id="29:bo"
    )
    assert cached == bo
    code = code_in(await say(one, "ana", "org invite"))
    assert "is now part of Northfield Health (demo)" in await say(one, bo, f"org join {code}")
    return cached


async def test_after_me_link_elsewhere_the_identity_is_its_new_person(
    cores: tuple[Core, Core],
) -> None:
    one, two = cores
    cached, ana = await linked_elsewhere(one, two)

    said = await say(two, cached, "me timezone Europe/Lisbon")

    assert said == "Done. Your working day: 08:00–18:00 Europe/Lisbon."
    async with two.uow() as uow:
        person = await uow.people.get(ana.person_id)
    assert person is not None and person.timezone == "Europe/Lisbon"
    again = await two.identify(platform=Platform.TEAMS, workspace_external_id="t", user_id="u")
    assert again is not None and again.person_id == ana.person_id


async def test_after_org_join_elsewhere_the_workspace_user_is_in_the_inviting_organization(
    cores: tuple[Core, Core],
) -> None:
    one, two = cores
    cached = await joined_elsewhere(one, two)

    said = await say(two, cached, "org show")

    assert said.startswith("Northfield Health (demo)\n")
    assert UNKNOWN not in said


def choices(form: Form, name: str) -> list[str]:
    (field,) = [f for f in form.fields if f.name == name]
    return [label for _, label in field.options]


async def test_after_org_join_elsewhere_a_modal_offers_the_inviting_organizations_choices(
    cores: tuple[Core, Core],
) -> None:
    one, two = cores
    cached = await joined_elsewhere(one, two)

    form = await two.form(cached, "ask")

    assert "#SEPSIS — Sepsis six within the hour" in choices(form, "project")
    assert "Ana Silva" in choices(form, "person")


async def test_after_me_link_elsewhere_app_home_shows_the_linked_persons_projects(
    cores: tuple[Core, Core],
) -> None:
    one, two = cores
    cached, ana = await linked_elsewhere(one, two)

    waiting, projects = await two.home(cached)

    assert (waiting, projects) == await one.home(ana)
    assert any("SEPSIS" in card.title for card in projects), [c.title for c in projects]
    assert UNKNOWN not in " ".join(m.title for m in waiting)


async def test_after_me_link_elsewhere_the_console_inbox_holds_the_linked_persons_channels(
    cores: tuple[Core, Core],
) -> None:
    one, two = cores
    cached, ana = await linked_elsewhere(one, two)

    taken = await two.inbox(cached, channels=True)

    assert "#sepsis" in {where for where, _ in taken}, taken
    assert await one.inbox(ana, channels=True) == []
