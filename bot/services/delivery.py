"""Turning a Message into outbox rows: one per address it must reach (DESIGN §3).

A person is reached on one platform (their first reachable chat identity; the console only when
they have nothing else); a project's post goes to its home channel in every linked workspace.
The outbox key ``{message.key}@{workspace}:{address}`` is unique, so enqueuing the same message
twice — a retried request, a second process, a restart — writes nothing the second time.
"""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta

from bot.attention import PING, plan_ping
from bot.calendar import zone
from bot.messages import Message, to_json
from bot.model import Identity, OutboxMessage, Person, Platform
from bot.ports import UnitOfWork

CHANNEL = "channel"


def outbox_key(message_key: str, workspace_id: int, address: str) -> str:
    """The per-address idempotency key (also how a later message finds one to replace)."""
    return f"{message_key}@{workspace_id}:{address}"


def dm_address(identity: Identity) -> str | None:
    """Where a DM to this identity goes: the Slack IM channel (or the user id, which the sender
    opens an IM with), the Teams personal conversation id (needs a stored reference: Teams bots
    cannot start a chat before the app is installed for the user), the console handle."""
    if identity.platform is Platform.TEAMS:
        if not identity.conversation_ref:
            return None
        try:
            conversation = json.loads(identity.conversation_ref).get("conversation") or {}
        except (ValueError, AttributeError):
            return None
        conversation_id = conversation.get("id")
        return str(conversation_id) if conversation_id else None
    if identity.platform is Platform.SLACK and identity.conversation_ref:
        return identity.conversation_ref
    return identity.user_id


def preferred_identity(identities: list[Identity]) -> Identity | None:
    """The identity a DM goes to: a reachable chat platform before the console, oldest first."""
    reachable = [i for i in identities if not i.unreachable and dm_address(i)]
    reachable.sort(key=lambda i: (i.platform is Platform.CONSOLE, i.id))
    return reachable[0] if reachable else None


async def deliver(
    uow: UnitOfWork,
    message: Message,
    *,
    organization_id: int,
    now: datetime,
    category: str = "reply",
) -> int:
    """Enqueue ``message`` for every address of its target; returns how many rows were written.

    ``category`` ``ping`` DMs respect the person's working hours and daily cap (bot.attention):
    outside hours they wait; past the cap they are dropped here because the item shows in the
    person's next digest anyway.
    """
    if not message.key:
        raise ValueError("an outbound message needs an idempotency key")
    target = message.target
    written = 0
    if target.person_id is not None:
        person = await uow.people.get(target.person_id)
        identity = preferred_identity(await uow.identities.find(person_id=target.person_id))
        if person is None or identity is None:
            return 0
        due = now
        if category == PING:
            pings = await _pings_today(uow, person=person, now=now)
            planned = plan_ping(now=now, person=person, pings_today=pings, category=category)
            if planned is None:
                return 0
            due = planned
        written += await _enqueue(
            uow,
            message,
            organization_id=organization_id,
            platform=identity.platform,
            workspace_id=identity.workspace_id,
            address=dm_address(identity) or identity.user_id,
            person_id=person.id,
            project_id=None,
            category=category,
            now=now,
            due=due,
        )
    if target.project_id is not None:
        for channel in await uow.channels.find(project_id=target.project_id, order_by="id"):
            workspace = await uow.workspaces.get(channel.workspace_id)
            if workspace is None:
                continue
            written += await _enqueue(
                uow,
                message,
                organization_id=organization_id,
                platform=workspace.platform,
                workspace_id=workspace.id,
                address=channel.channel_id,
                person_id=None,
                project_id=target.project_id,
                category=CHANNEL,
                now=now,
                due=now,
            )
    return written


async def _enqueue(
    uow: UnitOfWork,
    message: Message,
    *,
    organization_id: int,
    platform: Platform,
    workspace_id: int,
    address: str,
    person_id: int | None,
    project_id: int | None,
    category: str,
    now: datetime,
    due: datetime,
) -> int:
    inserted = await uow.outbox.enqueue(
        OutboxMessage(
            organization_id=organization_id,
            key=outbox_key(message.key, workspace_id, address),
            platform=platform,
            workspace_id=workspace_id,
            address=address,
            person_id=person_id,
            project_id=project_id,
            payload=to_json(message),
            category=category,
            next_attempt_at=due,
            created_at=now,
        )
    )
    return 1 if inserted else 0


async def _pings_today(uow: UnitOfWork, *, person: Person, now: datetime) -> int:
    """Pings already queued for this person since their local midnight."""
    local = zone(person.timezone)
    local_midnight = datetime.combine(now.astimezone(local).date(), time(0), tzinfo=local)
    return await uow.outbox.count(
        person_id=person.id,
        category=PING,
        created_at__gte=local_midnight.astimezone(now.tzinfo),
        created_at__lt=now + timedelta(seconds=1),
    )
