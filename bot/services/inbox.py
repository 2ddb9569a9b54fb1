"""The console's inbox: outbox messages addressed to console identities and channels.

A chat platform receives its messages from the drain; the console has no server to push to, so
it collects what is due for the person at the keyboard (and their project channels) each turn.
"""

from __future__ import annotations

from datetime import datetime

from bot.messages import Message, from_json
from bot.model import OutboxState, Platform
from bot.ports import UnitOfWork


async def take(
    uow: UnitOfWork, *, person_id: int, now: datetime, channels: bool = False
) -> list[tuple[str, Message]]:
    """Due console messages for this person — and, with ``channels``, for the channels of
    their projects — oldest first, marked sent. Returns (where, message) pairs: ``you`` or
    the channel name. Channel posts left untaken wait for a session that asks for them."""
    identities = await uow.identities.find(person_id=person_id, platform=Platform.CONSOLE)
    addresses = [i.user_id for i in identities]
    if channels:
        addresses += await _channels_of(uow, person_id)
    if not addresses:
        return []
    due = await uow.outbox.find(
        platform=Platform.CONSOLE,
        state=OutboxState.PENDING,
        address=addresses,
        next_attempt_at__lte=now,
        order_by="id",
    )
    taken = []
    for row in due:
        row.state, row.sent_at, row.attempts = OutboxState.SENT, now, row.attempts + 1
        row.platform_ref = f"console:{row.id}"
        await uow.outbox.save(row)
        taken.append(("you" if row.person_id == person_id else row.address, from_json(row.payload)))
    return taken


async def _channels_of(uow: UnitOfWork, person_id: int) -> list[str]:
    """The console channels of the projects this person has a role or a RACI letter on."""
    roles = await uow.stakeholders.find(person_id=person_id)
    letters = await uow.raci.find(person_id=person_id)
    project_ids = sorted({s.project_id for s in roles} | {e.project_id for e in letters})
    if not project_ids:
        return []
    return [ch.channel_id for ch in await uow.channels.find(project_id=project_ids)]
