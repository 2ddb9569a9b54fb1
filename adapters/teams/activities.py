"""botbuilder objects made from rendered messages, and conversation references to and from JSON.

Shared by the handler (replies) and the sender (proactive messages), so both send a message the
same way: a plain reply as markdown text, anything with a title, facts or buttons as a card.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from botbuilder.core import CardFactory, TurnContext
from botbuilder.schema import Activity, ActivityTypes, ConversationReference

from adapters.teams.render import is_plain, render_card, render_text
from bot.messages import Message


def card_activity(card: dict[str, Any], *, activity_id: str | None = None) -> Activity:
    """A message activity carrying one Adaptive Card (``activity_id`` to update one in place)."""
    return Activity(
        type=ActivityTypes.message,
        id=activity_id,
        attachments=[CardFactory.adaptive_card(card)],
    )


def message_activity(
    message: Message, *, activity_id: str | None = None, refresh_for: Sequence[str] = ()
) -> Activity:
    """A neutral message as Teams will show it (``refresh_for``: see ``render_card``)."""
    if is_plain(message) and activity_id is None:
        return Activity(
            type=ActivityTypes.message, text=render_text(message), text_format="markdown"
        )
    return card_activity(render_card(message, refresh_for=refresh_for), activity_id=activity_id)


def reference_json(activity: Activity, *, channel_id: str | None = None) -> str:
    """The conversation reference of an incoming activity, as stored for proactive sends.

    The incoming message's id is dropped: a later proactive message is not a reply to it. With
    ``channel_id``, the reference is the channel's own, not the reply chain the message is in
    (``19:…;messageid=…``): the same for every message seen there, so it is written once.
    """
    reference = TurnContext.get_conversation_reference(activity)
    reference.activity_id = None
    if channel_id is not None and reference.conversation is not None:
        reference.conversation.id = channel_id
    return json.dumps(reference.serialize(), separators=(",", ":"))


def reference_from_json(data: str | dict[str, Any]) -> ConversationReference:
    """Inverse of :func:`reference_json` (also accepts the already-parsed dict)."""
    raw = json.loads(data) if isinstance(data, str) else data
    reference: ConversationReference = ConversationReference().deserialize(raw)
    return reference
