"""How a workspace joins an organization, and who a first-seen user becomes (DESIGN §2), through
Core on every storage implementation (memory, SQLite, PostgreSQL).

A workspace joins only by an explicit act (the server's configuration, an installation); a
request from anywhere else writes nothing; an email matches a person only inside the same
organization; a new user's first requests at once all succeed (get-or-create)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from bot.clock import ManualClock
from bot.context import Caller, Profile, Reply
from bot.dispatch import Core
from bot.inbound import Inbound, Text
from bot.model import AskState, Platform
from bot.ports import UnitOfWorkFactory
from bot.services.demo import seed_demo
from cadence.announce import announce_raised

MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
TABLES = ("organizations", "workspaces", "people", "identities", "audit", "outbox")


@pytest.fixture
async def core(uow_factory: UnitOfWorkFactory) -> Core:
    clock = ManualClock(MONDAY)
    await seed_demo(uow_factory, clock)
    return Core(uow=uow_factory, clock=clock)


async def counts(core: Core) -> dict[str, int]:
    async with core.uow() as uow:
        return {name: await getattr(uow, name).count() for name in TABLES}


async def console(core: Core, handle: str) -> Caller:
    caller = await core.caller_for_handle(handle, platform=Platform.CONSOLE)
    assert caller is not None
    return caller


async def test_a_user_of_an_unlinked_workspace_is_nobody_and_writes_nothing(core: Core) -> None:
    before = await counts(core)
    for platform in (Platform.SLACK, Platform.TEAMS):
        for n in range(5):
            caller = await core.identify(
                platform=platform,
                workspace_external_id=f"T-STRANGER-{n}",
                user_id=f"U{n}",
                profile=Profile(name="Dana Lee", email="dana@northfield.example"),
            )
            assert caller is None
    assert await counts(core) == before


async def test_the_configured_workspace_joins_the_only_organization_once(core: Core) -> None:
    slack = await core.configured_workspace(platform=Platform.SLACK, external_id="T1", name="One")
    teams = await core.configured_workspace(platform=Platform.TEAMS, external_id="tenant-1")
    async with core.uow() as uow:
        (demo,) = await uow.organizations.find()
    assert slack.organization_id == teams.organization_id == demo.id  # a fresh install
    again = await core.configured_workspace(platform=Platform.SLACK, external_id="T1")
    assert again.id == slack.id
    # The organization already has a Slack workspace (and a Teams tenant): another team or
    # tenant is another organization, named after it.
    other = await core.configured_workspace(platform=Platform.SLACK, external_id="T2", name="Two")
    tenant = await core.configured_workspace(platform=Platform.TEAMS, external_id="tenant-2")
    async with core.uow() as uow:
        names = [o.name for o in await uow.organizations.find(order_by="id")]
    assert names == ["Northfield Health (demo)", "Two", "tenant-2"]
    assert len({demo.id, other.organization_id, tenant.organization_id}) == 3


async def test_an_install_founds_an_organization_whose_installer_is_admin(core: Core) -> None:
    installed = await core.install_workspace(
        platform=Platform.SLACK,
        external_id="T0B",
        name="Southfield",
        installer_id="U0B",
        installer=Profile(name="Sam Reyes", email="sam@south.example", timezone="Asia/Tokyo"),
    )
    assert installed.admin is not None and installed.admin.timezone == "Asia/Tokyo"
    async with core.uow() as uow:
        organization = await uow.organizations.get(installed.workspace.organization_id)
        assert organization is not None and organization.name == "Southfield"
        assert organization.admin_ids == [installed.admin.id]
        (greeting,) = await uow.outbox.find(person_id=installed.admin.id)
        assert greeting.key.startswith(f"welcome:{organization.id}@")
    reinstalled = await core.install_workspace(
        platform=Platform.SLACK,
        external_id="T0B",
        name="Southfield",
        installer_id="U0OTHER",
        installer=Profile(name="Someone Else"),
    )
    assert reinstalled.admin is None and reinstalled.workspace.id == installed.workspace.id
    async with core.uow() as uow:
        assert await uow.organizations.count() == 2
        assert await uow.outbox.count(person_id=installed.admin.id) == 1


async def test_same_email_in_another_organization_is_a_new_person(core: Core) -> None:
    """A first-seen account elsewhere with Dana's email is not Dana and cannot decide her ask."""
    reply = await core.command(
        await console(core, "ana"), "ask two more nurses #SEPSIS area:staffing"
    )
    assert reply.ok
    number = int(reply.messages[0].sections[0].split("#", 1)[1].split()[0])
    await announce_raised(core.uow, now=core.clock.now(), link_base=core.settings.link_base)
    async with core.uow() as uow:
        ask = await uow.asks.get(number)
        assert ask is not None
        dana = await uow.people.get(ask.assignee_id)
        decisions = await uow.decisions.count()
    assert dana is not None and dana.email == "dana@northfield.example"

    installed = await core.install_workspace(
        platform=Platform.SLACK,
        external_id="T0EVIL",
        name="Elsewhere",
        installer_id="U0EVIL",
        installer=Profile(name="Mallory", email="dana@northfield.example"),
    )
    caller = await core.identify(
        platform=Platform.SLACK,
        workspace_external_id="T0EVIL",
        user_id="U0DANA2",
        profile=Profile(name="Dana Lee", email="DANA@northfield.example"),
    )
    assert installed.admin is not None and caller is not None
    for impostor in (installed.admin.id, caller.person_id):
        assert impostor != dana.id
    assert caller.organization_id == installed.workspace.organization_id != dana.organization_id

    refused = await core.command(caller, f"approve {ask.id} looks fine")
    assert not refused.ok
    async with core.uow() as uow:
        still = await uow.asks.get(ask.id)
        assert still is not None and still.state is AskState.OPEN
        assert await uow.decisions.count() == decisions


async def test_a_new_users_first_requests_at_once_all_succeed(core: Core) -> None:
    """Twenty first requests of one new user at the same moment, split over two servers: one
    identity, one person, and every request answered (in one process they take turns; across
    processes the loser of the insert race reads the winner's identity)."""
    await core.configured_workspace(platform=Platform.SLACK, external_id="T1")
    profile = Profile(name="Nia Brooks", email="nia@northfield.example")
    other = Core(uow=core.uow, clock=core.clock)  # a second server process on the same database

    async def first_command(n: int) -> bool:
        server = core if n % 2 else other
        caller = await server.identify(
            platform=Platform.SLACK, workspace_external_id="T1", user_id="U0NIA", profile=profile
        )
        assert caller is not None
        return (await server.command(caller, "asks")).ok

    assert await asyncio.gather(*(first_command(n) for n in range(20))) == [True] * 20
    async with core.uow() as uow:
        assert await uow.identities.count(user_id="U0NIA") == 1
        assert await uow.people.count(email="nia@northfield.example") == 1


async def test_a_reported_timezone_is_taken_when_valid_and_new(core: Core) -> None:
    await core.configured_workspace(platform=Platform.TEAMS, external_id="tenant-1")
    caller = await core.identify(
        platform=Platform.TEAMS,
        workspace_external_id="tenant-1",
        user_id="aad-1",
        profile=Profile(name="Kai Tanaka", timezone="Asia/Tokyo"),
    )
    assert caller is not None and caller.timezone == "Asia/Tokyo"
    for reported, expected in (
        ("Not/AZone", "Asia/Tokyo"),
        ("", "Asia/Tokyo"),
        ("Europe/Berlin", "Europe/Berlin"),
    ):
        reply = await core.handle(
            Inbound(
                platform=Platform.TEAMS,
                workspace="tenant-1",
                user_id="aad-1",
                request=Text(text="help"),
                timezone=reported,
            )
        )
        assert isinstance(reply, Reply) and reply.ok
        again = await core.identify(
            platform=Platform.TEAMS, workspace_external_id="tenant-1", user_id="aad-1"
        )
        assert again is not None and again.timezone == expected
        async with core.uow() as uow:
            person = await uow.people.get(caller.person_id)
            assert person is not None and person.timezone == expected
