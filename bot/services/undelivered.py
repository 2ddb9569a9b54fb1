"""What the bot could not deliver, and sending it again (``leaderbot outbox list|retry``, the
dashboard's "Undelivered" section, ``/metrics``).

A row is *given up* (state ``failed``) after a permanent error, past its deadline, or at once
when its reader has no identity the bot can message; it is *stuck* while it has failed and
is still being retried an hour after it was written (a platform down). Requeuing a given-up row
finds its person's address again — they may have opened a chat with the bot since — and gives
it a fresh deadline.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.messages import from_json
from bot.model import OutboxMessage, OutboxState
from bot.ports import UnitOfWork
from bot.services.delivery import LIFETIME, dm_address, outbox_key, preferred_identity

__all__ = ["STUCK_AFTER", "Requeued", "requeue", "stuck_since", "undelivered"]

STUCK_AFTER = timedelta(hours=1)
"""A pending row that has failed and was written longer ago than this is listed as stuck."""


def stuck_since(now: datetime) -> datetime:
    return now - STUCK_AFTER


async def undelivered(
    uow: UnitOfWork, *, organization_id: int, now: datetime
) -> list[OutboxMessage]:
    """The organization's given-up rows, then the stuck ones (failed, still retried, written
    over :data:`STUCK_AFTER` ago), oldest first."""
    failed = await uow.outbox.find(
        organization_id=organization_id, state=OutboxState.FAILED, order_by="created_at"
    )
    stuck = await uow.outbox.find(
        organization_id=organization_id,
        state=OutboxState.PENDING,
        attempts__gt=0,
        created_at__lt=stuck_since(now),
        order_by="created_at",
    )
    return failed + stuck


@dataclass(frozen=True, kw_only=True)
class Requeued:
    id: int
    ok: bool
    note: str
    """What happened, in a sentence."""


async def requeue(
    uow: UnitOfWork, *, organization_id: int, ids: list[int] | None, now: datetime
) -> list[Requeued]:
    """Send the given-up rows ``ids`` (all of the organization's when None) again from ``now``,
    each with a fresh deadline (:data:`LIFETIME`); the caller commits."""
    if ids is None:
        rows = await uow.outbox.find(
            organization_id=organization_id, state=OutboxState.FAILED, order_by="id"
        )
    else:
        found = {r.id: r for r in await uow.outbox.find(id=ids, organization_id=organization_id)}
        rows = [found[i] for i in ids if i in found]
        missing = [i for i in ids if i not in found]
        if missing:
            return [
                Requeued(id=i, ok=False, note=f"There is no outbox message {i}.") for i in missing
            ]
    return [await _requeue_one(uow, row, now=now) for row in rows]


async def _requeue_one(uow: UnitOfWork, row: OutboxMessage, *, now: datetime) -> Requeued:
    if row.state is not OutboxState.FAILED:
        return Requeued(
            id=row.id, ok=False, note=f"Message {row.id} is {row.state.value}, not given up."
        )
    if row.person_id is not None:
        identities = await uow.identities.find(person_id=row.person_id)
        # Asked to retry, the admin vouches that what failed is fixed: an identity marked
        # unreachable by a permanent error is tried again when there is no other.
        identity = preferred_identity(identities)
        if identity is None:
            identity = preferred_identity([replace(i, unreachable=False) for i in identities])
            if identity is not None:
                await uow.identities.save(identity)
        if identity is None:
            return Requeued(
                id=row.id,
                ok=False,
                note=f"Message {row.id}: its reader still has no chat with Leaderbot.",
            )
        address = dm_address(identity) or identity.user_id
        key = outbox_key(from_json(row.payload).key, identity.workspace_id, address)
        twin = await uow.outbox.first(key=key)
        if twin is not None and twin.id != row.id:
            return Requeued(
                id=row.id, ok=False, note=f"Message {row.id} is queued already as {twin.id}."
            )
        row.key, row.platform, row.workspace_id, row.address = (
            key,
            identity.platform,
            identity.workspace_id,
            address,
        )
    row.state, row.attempts, row.error = OutboxState.PENDING, 0, ""
    row.next_attempt_at, row.deadline = now, now + LIFETIME
    await uow.outbox.save(row)
    return Requeued(id=row.id, ok=True, note=f"Message {row.id} is queued again.")
