"""Finding the stored conversation reference an outbox row is addressed to.

A DM's reference is on the person's Teams identity (stored at install and on every personal
message). A project channel's is on its ``ProjectChannel`` row when known; otherwise one is made
from any reference stored in the same tenant, because a channel reference needs nothing more than
the tenant's service URL, the bot account and the channel id.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from adapters.teams.render import MAX_REFRESH_USERS
from adapters.teams.sender import ReadersLookup, RefLookup
from bot.messages import Message
from bot.model import Identity, OutboxMessage, Platform
from bot.ports import UnitOfWork, UnitOfWorkFactory

if TYPE_CHECKING:
    from bot.dispatch import Core


def uow_ref_lookup(uow: UnitOfWorkFactory) -> RefLookup:
    """The ``ref_for`` a :class:`~adapters.teams.sender.TeamsSender` needs, over the database."""

    async def ref_for(outbox: OutboxMessage) -> dict[str, Any] | None:
        async with uow() as work:
            if outbox.person_id is not None:
                return await _personal(work, outbox)
            return await _channel(work, outbox)

    return ref_for


def uow_readers_lookup(core: Core) -> ReadersLookup:
    """The ``readers_for`` of a :class:`~adapters.teams.sender.TeamsSender`: for a project
    channel's card, the Teams users (their MRI, from their stored personal conversation) who
    may act on its item now; for anything else, nobody."""

    async def readers_for(outbox: OutboxMessage, message: Message) -> list[str]:
        if outbox.person_id is not None or outbox.project_id is None or not message.key:
            return []
        people = await core.actors(organization_id=outbox.organization_id, key=message.key)
        if not people:
            return []
        async with core.uow() as work:
            identities = await work.identities.find(
                person_id=people, workspace_id=outbox.workspace_id, platform=Platform.TEAMS
            )
        users = [(_parsed(i) or {}).get("user") or {} for i in identities]
        return [str(u["id"]) for u in users if u.get("id")][:MAX_REFRESH_USERS]

    return readers_for


def channel_reference(base: dict[str, Any], channel_id: str) -> dict[str, Any]:
    """A reference to a Teams channel built from another reference of the same tenant."""
    conversation = base.get("conversation") or {}
    return {
        "bot": base.get("bot"),
        "conversation": {
            "id": channel_id,
            "isGroup": True,
            "conversationType": "channel",
            "tenantId": conversation.get("tenantId"),
        },
        "channelId": base.get("channelId") or "msteams",
        "serviceUrl": base.get("serviceUrl"),
    }


async def _personal(work: UnitOfWork, outbox: OutboxMessage) -> dict[str, Any] | None:
    identities = await work.identities.find(
        person_id=outbox.person_id, workspace_id=outbox.workspace_id, platform=Platform.TEAMS
    )
    for identity in identities:
        if identity.address == outbox.address:
            return _parsed(identity)
    return None


async def _channel(work: UnitOfWork, outbox: OutboxMessage) -> dict[str, Any] | None:
    channel = await work.channels.first(workspace_id=outbox.workspace_id, channel_id=outbox.address)
    if channel is not None and channel.conversation_ref:
        stored: dict[str, Any] = json.loads(channel.conversation_ref)
        return stored
    any_identity = await work.identities.first(
        workspace_id=outbox.workspace_id, platform=Platform.TEAMS, conversation_ref__ne=None
    )
    base = _parsed(any_identity) if any_identity is not None else None
    return channel_reference(base, outbox.address) if base else None


def _parsed(identity: Identity) -> dict[str, Any] | None:
    if not identity.conversation_ref:
        return None
    try:
        parsed: dict[str, Any] = json.loads(identity.conversation_ref)
    except ValueError:
        return None
    return parsed
