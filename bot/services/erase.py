"""Erasing one organization's rows: what ``leaderbot demo reset`` does before seeding again.

The rows are found through a unit of work bound to the organization (``bot.tenancy``), so what
is erased is exactly what that organization may see, and nothing of another's; they are deleted
through the plain unit of work underneath (same transaction), because a bound one keeps the
audit log append-only. Every repository of :data:`bot.tenancy.RULES` is covered, so a table
added to the tenancy rules is erased too.
"""

from __future__ import annotations

from bot.ports import Repository, UnitOfWork
from bot.tenancy import RULES, bound


async def erase_organization(uow: UnitOfWork, *, organization_id: int) -> int:
    """Delete every row of the organization and the organization itself, in ``uow``'s
    transaction; how many rows went."""
    scoped = bound(uow, organization_id)
    erased = 0
    for name in reversed(RULES):  # children (outbox, audit, …) before what they point at
        rows = await getattr(scoped, name).find()
        repository: Repository[object] = getattr(uow, name)
        for row in rows:
            await repository.delete(row.id)
        erased += len(rows)
    await uow.organizations.delete(organization_id)
    return erased + 1
