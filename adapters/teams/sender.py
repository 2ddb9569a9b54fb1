"""Outbox deliveries → Teams, as proactive messages on stored conversation references.

botbuilder has no rate limiting or retry of its own, so this sender makes one attempt and says
what should happen next; the cadence drain paces sends with Teams' limits (``cadence.limiter``:
per conversation = ``outbox.address``, and per app and tenant = ``outbox.workspace_id``) and
retries what this returns as ``RETRY``, after ``retry_after`` when Teams gave one.

Where a delivery goes:
- a DM (``outbox.person_id``): the person's personal conversation, ``outbox.address``;
- a project post (``outbox.project_id``): ``outbox.address`` is the Teams channel id. A new post
  starts its own reply chain (``TeamsInfo.send_message_to_teams_channel`` inside a
  ``continue_conversation`` on the channel); a post with ``delivery.thread_root`` is a reply in
  that chain (conversation ``{channel};messageid={root}``);
- ``delivery.replaces_ref``: the activity to update in place instead of posting.

A channel's card of an ask or a blocker carries no buttons (everyone there reads it); with
``readers_for`` it carries a Universal Actions ``refresh`` for whoever may act on the item, whose
Teams client then asks the bot (:mod:`adapters.teams.bot`) for their view: the buttons too.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from aiohttp import ClientError
from botbuilder.core import TurnContext
from botbuilder.core.teams import TeamsInfo
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity, ConversationAccount, ConversationReference
from msrest.exceptions import ClientRequestError, HttpOperationError

from adapters.teams.activities import message_activity, reference_from_json
from bot.messages import Message
from bot.model import OutboxMessage, Platform
from bot.ports import Delivery, SendOutcome, SendResult

log = logging.getLogger(__name__)

RETRYABLE_STATUSES = frozenset({412, 429, 500, 502, 503, 504})
UNREACHABLE_STATUSES = frozenset({403})
"""403 ``MessageWritesBlocked`` / ``BotDisabledByAdmin``: the bot was removed or blocked."""

ReadersLookup = Callable[[OutboxMessage, Message], Awaitable[list[str]]]
"""``readers_for(outbox, message)`` → the Teams users (MRIs) a channel card is refreshed for,
so they see its buttons (:func:`adapters.teams.refs.uow_readers_lookup`)."""

RefLookup = Callable[[OutboxMessage], Awaitable[dict[str, Any] | None]]
"""``ref_for(outbox)`` → the stored conversation reference (parsed JSON) of the personal
conversation or channel the row is addressed to; :func:`adapters.teams.refs.uow_ref_lookup`
implements it over the unit of work."""


@dataclass(frozen=True, kw_only=True)
class _Target:
    reference: ConversationReference
    new_thread_in: str | None = None
    """Channel id when the message starts a new reply chain there."""
    activity_id: str | None = None
    """Activity to update in place."""


class TeamsSender:
    """Implements ``bot.ports.Sender`` for Teams."""

    platform = Platform.TEAMS

    def __init__(
        self,
        adapter: CloudAdapter,
        *,
        ref_for: RefLookup,
        bot_app_id: str,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        readers_for: ReadersLookup | None = None,
    ) -> None:
        self.adapter = adapter
        self.ref_for = ref_for
        self.readers_for = readers_for
        self.bot_app_id = bot_app_id
        self.now = now

    async def send(self, delivery: Delivery) -> SendResult:
        outbox = delivery.outbox
        stored = await self.ref_for(outbox)
        if stored is None:
            return SendResult(
                outcome=SendOutcome.FAILED,
                error=f"no stored Teams conversation reference for {outbox.address}",
            )
        target = _target(delivery, reference_from_json(stored))
        try:
            ref = await self._deliver(delivery, target)
        except HttpOperationError as error:
            return self._http_failure(error)
        except (ClientRequestError, ClientError, TimeoutError) as error:
            return SendResult(outcome=SendOutcome.RETRY, error=f"connector unreachable: {error}")
        return SendResult(outcome=SendOutcome.SENT, platform_ref=ref)

    async def _deliver(self, delivery: Delivery, target: _Target) -> str | None:
        """Run the send inside a proactive turn. Its failure is carried out of the turn and
        re-raised here: inside, botbuilder would hand it to ``on_turn_error`` and swallow it."""
        readers = (
            await self.readers_for(delivery.outbox, delivery.message) if self.readers_for else []
        )
        activity = message_activity(
            delivery.message, activity_id=target.activity_id, refresh_for=readers
        )
        sent: list[str | None] = []
        failed: list[Exception] = []

        async def callback(turn_context: TurnContext) -> None:
            try:
                sent.append(await self._post(turn_context, activity, target))
            except Exception as error:  # re-raised below, outside botbuilder's pipeline
                failed.append(error)

        await self.adapter.continue_conversation(target.reference, callback, self.bot_app_id)
        if failed:
            raise failed[0]
        return sent[0] if sent else None

    async def _post(
        self, turn_context: TurnContext, activity: Activity, target: _Target
    ) -> str | None:
        if target.activity_id is not None:
            await turn_context.update_activity(activity)
            return target.activity_id
        if target.new_thread_in is not None:
            _, activity_id = await TeamsInfo.send_message_to_teams_channel(
                turn_context, activity, target.new_thread_in, bot_app_id=self.bot_app_id
            )
            return str(activity_id) if activity_id else None
        response = await turn_context.send_activity(activity)
        return response.id if response else None

    def _http_failure(self, error: HttpOperationError) -> SendResult:
        response = error.response
        status = int(getattr(response, "status_code", 0) or getattr(response, "status", 0) or 0)
        detail = f"Teams answered {status}: {error.message}"
        if status in RETRYABLE_STATUSES:
            retry_after = _retry_after(getattr(response, "headers", {}) or {}, self.now())
            return SendResult(outcome=SendOutcome.RETRY, retry_after=retry_after, error=detail)
        return SendResult(
            outcome=SendOutcome.FAILED, error=detail, unreachable=status in UNREACHABLE_STATUSES
        )


def _target(delivery: Delivery, stored: ConversationReference) -> _Target:
    """Where in Teams this delivery lands (see the module docstring)."""
    outbox = delivery.outbox
    is_channel = outbox.project_id is not None and outbox.person_id is None
    if is_channel:
        root = delivery.thread_root or delivery.replaces_ref
        conversation_id = f"{outbox.address};messageid={root}" if root else outbox.address
    else:
        conversation_id = outbox.address
    reference = _with_conversation(stored, conversation_id, is_channel=is_channel)
    if delivery.replaces_ref:
        return _Target(reference=reference, activity_id=delivery.replaces_ref)
    if is_channel and not delivery.thread_root:
        return _Target(reference=reference, new_thread_in=outbox.address)
    return _Target(reference=reference)


def _with_conversation(
    stored: ConversationReference, conversation_id: str, *, is_channel: bool
) -> ConversationReference:
    """``stored`` aimed at ``conversation_id`` (a channel's reference serves all its threads)."""
    conversation = stored.conversation or ConversationAccount()
    return ConversationReference(
        activity_id=None,
        user=None if is_channel else stored.user,
        bot=stored.bot,
        conversation=ConversationAccount(
            id=conversation_id,
            is_group=True if is_channel else conversation.is_group,
            conversation_type="channel" if is_channel else conversation.conversation_type,
            tenant_id=conversation.tenant_id,
        ),
        channel_id=stored.channel_id,
        locale=stored.locale,
        service_url=stored.service_url,
    )


def _retry_after(headers: Any, now: datetime) -> float | None:
    """``Retry-After`` in seconds (it may be a number of seconds or an HTTP date)."""
    value = headers.get("Retry-After") if hasattr(headers, "get") else None
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max((when - now).total_seconds(), 0.0)
