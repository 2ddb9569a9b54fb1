"""The rows other rows point at, for tests of storage mechanics that use bare ids.

The schema's foreign keys (migration 0009) refuse an ask of project 1 when there is no project 1;
a test about ordering, claiming or group commit is not about that, so it first adds these:
organizations 1 and 2, workspace 1 (of organization 1), people 1…9 and projects 1 and 2 (of
organization 1), committed, with those ids on a fresh database.
"""

from __future__ import annotations

from bot.model import Organization, Person, Platform, Project, Workspace
from bot.ports import UnitOfWorkFactory

PEOPLE = 9
PROJECTS = 2


async def add_parents(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        first = await uow.organizations.add(Organization(name="First"))
        await uow.organizations.add(Organization(name="Second"))
        await uow.workspaces.add(
            Workspace(organization_id=first.id, platform=Platform.SLACK, external_id="T1", name="")
        )
        for n in range(1, PEOPLE + 1):
            await uow.people.add(Person(organization_id=first.id, handle=f"p{n}", name=f"P{n}"))
        for n in range(1, PROJECTS + 1):
            await uow.projects.add(Project(organization_id=first.id, key=f"P{n}", name=f"P{n}"))
        await uow.commit()
