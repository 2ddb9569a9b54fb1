"""Two redemptions of one partner invitation code at once, on every backend (memory, SQLite,
PostgreSQL): exactly one joins the inviting organization.

Each race fires its requests with ``asyncio.gather``, each in its own unit of work through
``Core``, as concurrent requests to one server are (the style of
``tests/integration/test_races.py``). The code is claimed before anything is made, so the loser
wrote nothing half: a losing ``org join`` is refused with "already used" and its workspace stays
where it was; a losing install founds an organization of its own, and its installer's greeting
says why it did not join.
"""

from __future__ import annotations

import asyncio

from bot.context import Profile
from bot.dispatch import Core
from bot.model import Organization, Platform
from bot.services.people import Installation
from tests.integration.test_org_setup import code_in, partner, say, who

ROUNDS = 3
USED = (
    "That invitation code was already used. Ask the inviting admin for a new one "
    "(org invite). Nothing was changed."
)


async def invite(core: Core) -> str:
    return code_in(await say(core, "ana", "org invite"))


async def install(core: Core, team: str, code: str) -> Installation:
    return await core.install_workspace(
        platform=Platform.SLACK,
        external_id=team,
        name=f"Team {team}",
        installer_id=f"U{team}",
        installer=Profile(name=f"Installer {team}", email=f"{team.lower()}@install.example"),
        invitation=code,
    )


async def organization(core: Core, organization_id: int) -> Organization | None:
    async with core.uow() as uow:
        return await uow.organizations.get(organization_id)


async def joins_recorded(core: Core) -> int:
    ana = await who(core, "ana")
    async with core.uow() as uow:
        return await uow.audit.count(organization_id=ana.organization_id, action="org.joined")


async def test_two_org_joins_with_one_code_at_once_one_joins(core: Core) -> None:
    ana = await who(core, "ana")
    for n in range(ROUNDS):
        code = await invite(core)
        first, _ = await partner(core, tenant=f"tenant-{n}-a", email=f"bo{n}a@partner.example")
        second, _ = await partner(core, tenant=f"tenant-{n}-b", email=f"bo{n}b@partner.example")

        said = await asyncio.gather(
            say(core, first, f"org join {code}"), say(core, second, f"org join {code}")
        )

        joined = [caller for caller, s in zip((first, second), said, strict=True) if s != USED]
        assert len(joined) == 1 and said.count(USED) == 1, said
        (winner,) = joined
        loser = second if winner is first else first
        async with core.uow() as uow:
            for caller, home in ((winner, ana.organization_id), (loser, loser.organization_id)):
                workspace = await uow.workspaces.get(caller.workspace_id or 0)
                person = await uow.people.get(caller.person_id)
                assert workspace is not None and workspace.organization_id == home
                assert person is not None and person.organization_id == home
            (used,) = await uow.codes.find(used_by_id=winner.person_id)
        assert used.used_at is not None
        assert await organization(core, winner.organization_id) is None  # emptied, removed
        kept = await organization(core, loser.organization_id)
        assert kept is not None and kept.admin_ids == [loser.person_id]
        assert "Teams Partner" in await say(core, loser, "org show")
    assert await joins_recorded(core) == ROUNDS


async def test_two_installs_with_one_code_at_once_one_joins_the_other_founds_its_own(
    core: Core,
) -> None:
    ana = await who(core, "ana")
    for n in range(ROUNDS):
        code = await invite(core)
        organizations = await _organizations(core)

        installed = await asyncio.gather(
            install(core, f"T{n}A", code), install(core, f"T{n}B", code)
        )

        joined = [i for i in installed if i.workspace.organization_id == ana.organization_id]
        founded = [i for i in installed if i.workspace.organization_id != ana.organization_id]
        assert len(joined) == len(founded) == 1, installed
        (own,) = founded
        assert joined[0].admin is None and own.admin is not None
        assert await _organizations(core) == organizations + 1  # only the founder's
        found = await organization(core, own.workspace.organization_id)
        assert found is not None and found.admin_ids == [own.admin.id]
        async with core.uow() as uow:
            (greeting,) = await uow.outbox.find(person_id=own.admin.id)
            (joiner,) = await uow.identities.find(workspace_id=joined[0].workspace.id)
            (used,) = await uow.codes.find(used_by_id=joiner.person_id)
        assert greeting.payload.count("That invitation code was already used.") == 1
        assert f"So Team {own.workspace.external_id} is an organization of its own" in (
            greeting.payload
        )
        assert used.used_at is not None
    assert await joins_recorded(core) == ROUNDS


async def test_an_install_and_an_org_join_with_one_code_at_once_one_joins(core: Core) -> None:
    ana = await who(core, "ana")
    for n in range(ROUNDS):
        code = await invite(core)
        bo, _ = await partner(core, tenant=f"tenant-{n}", email=f"bo{n}@partner.example")

        installed, said = await asyncio.gather(
            install(core, f"T{n}", code), say(core, bo, f"org join {code}")
        )

        installed_joined = installed.workspace.organization_id == ana.organization_id
        assert installed_joined == (said == USED), said
        # Bo's organization is kept (Bo still its admin) only when the install won. By id
        # alone this cannot be told: SQLite hands a removed organization's id (the highest) to
        # the next one made, here the install's own when Bo's join won.
        still = await organization(core, bo.organization_id)
        assert (still is not None and still.admin_ids == [bo.person_id]) == installed_joined
    assert await joins_recorded(core) == ROUNDS


async def _organizations(core: Core) -> int:
    async with core.uow() as uow:
        return await uow.organizations.count()
