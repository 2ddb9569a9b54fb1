"""The Teams ``ActivityHandler``: translate an activity in, call the core, translate the reply out.

Nothing here decides anything: who may approve, what a command means and every sentence a user
reads come from ``bot.dispatch.Core``. The handler only finds the caller (creating their identity
from ``TeamsInfo`` the first time), turns mentions into ``@handles``, remembers conversation
references for proactive sends, and shows replies as text, cards or invoke responses.

Which tenants are served (DESIGN §2): a single-tenant bot (``MicrosoftAppTenantId``) serves that
tenant only, which joins the organization when the database has just one with no Teams tenant
yet (:meth:`Core.configured_workspace`); a multi-tenant bot serves every tenant, each new one in
an organization of its own. An activity with no tenant, or of a tenant not served, is
refused before anything is read or written; the Emulator, which sends no tenant, stands in as
tenant ``emulator`` when ``TEAMS_EMULATOR`` is on. A tenant's workspace is created only when a
real user is first identified or the app is installed, never by activities we do not handle.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, ClassVar

from botbuilder.core import ActivityHandler, InvokeResponse, TurnContext
from botbuilder.core.teams import TeamsInfo
from botbuilder.schema import (
    ActivityTypes,
    AdaptiveCardInvokeResponse,
    ChannelAccount,
)
from botbuilder.schema.teams import TeamsChannelAccount

from adapters.teams import inbound
from adapters.teams.activities import card_activity, message_activity, reference_json
from adapters.teams.render import (
    CARD_CONTENT_TYPE,
    REFRESH_VERB,
    render_card,
    render_form,
    render_notice,
)
from adapters.teams.settings import TeamsSettings
from bot.context import Caller, Profile, Reply
from bot.messages import text
from bot.model import Platform

if TYPE_CHECKING:
    from bot.dispatch import Core

log = logging.getLogger(__name__)

ADAPTIVE_CARD_ACTION = "adaptiveCard/action"
MESSAGE_CONTENT_TYPE = "application/vnd.microsoft.activity.message"
"""An ``adaptiveCard/action`` response that shows a message and leaves the card as it is."""
UNKNOWN_USER = text("Sorry, I couldn't tell who you are in this Teams tenant. Please try again.")
OTHER_TENANT = text(
    "This Teams tenant is not connected to this Leaderbot, so nothing was done.",
    "Ask the person who runs Leaderbot to set it up for your organization.",
)
EMULATOR = "emulator"
"""The Bot Framework Emulator's channel id, standing in for its missing tenant."""
HANDLED = frozenset(
    {
        ActivityTypes.message,
        ActivityTypes.conversation_update,
        ActivityTypes.installation_update,
        ActivityTypes.invoke,
    }
)
"""The activity types the handler acts on; any other is ignored without a read or a write."""
UNKNOWN_CLICK = text("Sorry, I didn't recognise that button. It may be from an older card.")


class TeamsBot(ActivityHandler):  # type: ignore[misc]  # botbuilder ships no type hints
    """One instance serves every tenant; per-request state lives only in the TurnContext."""

    def __init__(self, core: Core, settings: TeamsSettings) -> None:
        self.core = core
        self.settings = settings
        self._linked: set[str] = set()
        """Tenants whose workspace is known to exist (saves a transaction per activity)."""

    async def on_turn(self, turn_context: TurnContext) -> None:
        """Refuse what this bot does not serve before any handler runs (see module docstring)."""
        activity = turn_context.activity
        if activity is None or activity.type not in HANDLED:
            return
        if not self._serves(self._tenant(turn_context)):
            log.info("Teams: refused an activity of a tenant this bot does not serve")
            if activity.type == ActivityTypes.message:
                await turn_context.send_activity(message_activity(OTHER_TENANT))
            return
        await super().on_turn(turn_context)

    def _tenant(self, turn_context: TurnContext) -> str:
        raw = _json(turn_context.activity)
        tenant = inbound.tenant_id(raw)
        if not tenant and self.settings.emulator and raw.get("channelId") == EMULATOR:
            return EMULATOR
        return tenant

    def _serves(self, tenant: str) -> bool:
        if not tenant:
            return False
        if tenant == EMULATOR:
            return self.settings.emulator
        return not self.settings.tenant_id or tenant == self.settings.tenant_id

    async def _link(self, turn_context: TurnContext, *, name: str = "") -> str:
        """The activity's tenant, its workspace created by the rule of the module docstring
        the first time."""
        tenant = self._tenant(turn_context)
        if tenant not in self._linked:
            await self.core.configured_workspace(
                platform=Platform.TEAMS,
                external_id=tenant,
                name=name,
                # Only a tenant the configuration names (or the local Emulator) may join the
                # sole organization; a multi-tenant bot's newcomers each found their own.
                join_sole=bool(self.settings.tenant_id) or tenant == EMULATOR,
            )
            self._linked.add(tenant)
        return tenant

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        caller = await self._caller(turn_context, activity.from_property)
        if caller is None:
            await turn_context.send_activity(message_activity(UNKNOWN_USER))
            return
        raw = _json(activity)
        if inbound.is_personal(raw):
            await self._remember(turn_context)
        else:  # the bot's answer is a post everyone in the conversation reads
            caller = replace(caller, shared=True)
            if (channel := inbound.channel_id(raw)) is not None:
                await self.core.remember_channel(
                    platform=Platform.TEAMS,
                    workspace_external_id=self._tenant(turn_context),
                    channel_id=channel,
                    conversation_ref=reference_json(activity),
                )
        click = inbound.card_action_from_submit(activity.value)
        if click is not None:
            await self._answer_submit(turn_context, await self._run(turn_context, caller, click))
            return
        command = TurnContext.remove_recipient_mention(activity) or ""
        command = await self._mentions_to_handles(turn_context, command)
        reply = await self.core.command(caller, command, delivery=_delivery(activity))
        await self._send_reply(turn_context, _ran(turn_context, reply))

    async def on_conversation_update_activity(self, turn_context: TurnContext) -> None:
        """The bot was added to a team, a group chat or a person's personal scope: link the
        tenant, and for a personal install remember where to DM the person."""
        await self._installed(turn_context)

    async def on_installation_update(self, turn_context: TurnContext) -> None:
        if turn_context.activity.action in (None, "add", "add-upgrade"):
            await self._installed(turn_context)

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse | None:
        """Route ``adaptiveCard/action`` here rather than through the base class, which
        serializes the response body once and CloudAdapter a second time (a dict, which
        msrest cannot serialize: botbuilder 4.17 answers every Action.Execute with a 500)."""
        if turn_context.activity.name == ADAPTIVE_CARD_ACTION:
            response = await self.on_adaptive_card_invoke(turn_context, turn_context.activity.value)
            return InvokeResponse(status=int(HTTPStatus.OK), body=response)
        result: InvokeResponse | None = await super().on_invoke_activity(turn_context)
        return result

    async def on_adaptive_card_invoke(
        self, turn_context: TurnContext, invoke_value: Any
    ) -> AdaptiveCardInvokeResponse:
        """An ``Action.Execute`` click. The response card is what the clicker sees; after a
        decision the card is also updated in place so everyone in the conversation sees it."""
        activity = turn_context.activity
        caller = await self._caller(turn_context, activity.from_property)
        click = inbound.card_action_from_invoke(invoke_value or {})
        if caller is None or click is None:
            notice = UNKNOWN_USER if caller is None else UNKNOWN_CLICK
            return _message_response(Reply(messages=(notice,), ok=False))
        if click.verb == REFRESH_VERB:
            # The reader's own view of a card (Universal Actions refresh): changes nothing.
            seen = await self.core.card(caller, item=click.value)
            if seen.replacement is None:
                return _message_response(seen)
            return _card_response(render_card(seen.replacement))
        reply = await self._run(turn_context, caller, click)
        await self._update_clicked(turn_context, reply)
        return _invoke_response(reply, submitted=click.form_id is not None)

    async def _installed(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        raw = _json(activity)
        if not activity.members_added and activity.type != ActivityTypes.installation_update:
            return  # members leaving, a renamed channel: nothing to link
        team = (raw.get("channelData") or {}).get("team") or {}
        await self._link(turn_context, name=str(team.get("name") or ""))
        if inbound.is_personal(raw) and activity.from_property is not None:
            caller = await self._caller(turn_context, activity.from_property)
            if caller is not None:
                await self._remember(turn_context)

    async def _remember(self, turn_context: TurnContext) -> None:
        """Store this personal conversation's reference: the only way a Teams bot can DM later."""
        activity = turn_context.activity
        await self.core.remember_conversation(
            platform=Platform.TEAMS,
            workspace_external_id=self._tenant(turn_context),
            user_id=inbound.user_id(_json(activity.from_property)),
            conversation_ref=reference_json(activity),
        )

    async def _caller(
        self, turn_context: TurnContext, account: ChannelAccount | None
    ) -> Caller | None:
        """The Caller behind ``account``, the activity's sender; a first-seen user gets an
        identity from their profile."""
        if account is None:
            return None
        raw = _json(turn_context.activity)
        return await self._identify(
            turn_context,
            bot_framework_id=str(account.id or ""),
            user_id=inbound.user_id(_json(account)),
            name=str(account.name or ""),
            channel_id=inbound.channel_id(raw),
            zone=inbound.local_timezone(raw, _entities(turn_context.activity)),
        )

    async def _identify(
        self,
        turn_context: TurnContext,
        *,
        bot_framework_id: str,
        user_id: str,
        name: str,
        channel_id: str | None = None,
        zone: str = "",
    ) -> Caller | None:
        """The person behind a Teams user of this activity's tenant; ``zone`` is the timezone
        the activity reports for them (the sender's ``localTimezone``), taken on first contact
        and whenever Teams reports another one (a zone chosen with ``me timezone`` stays while
        Teams keeps reporting the same one)."""
        if not user_id or not bot_framework_id:
            return None
        tenant = self._tenant(turn_context)
        caller = await self.core.identify(
            platform=Platform.TEAMS, workspace_external_id=tenant, user_id=user_id
        )
        if caller is None:
            await self._link(turn_context)
            member = await _member(turn_context, bot_framework_id)
            caller = await self.core.identify(
                platform=Platform.TEAMS,
                workspace_external_id=tenant,
                user_id=user_id,
                profile=_profile(member, name, timezone=zone),
            )
        if caller is not None and zone and zone != caller.reported_timezone:
            caller = await self.core.report_timezone(
                caller, workspace_external_id=tenant, user_id=user_id, timezone=zone
            )
        if caller is not None and channel_id:
            # Seen from a channel, ``#PROJECT`` may be omitted in the project's home channel.
            caller = replace(caller, channel_id=channel_id)
        return caller

    async def _mentions_to_handles(self, turn_context: TurnContext, command: str) -> str:
        """``<at>Ana Lopez</at>`` → ``@ana``: each mentioned person becomes (or already is) a
        known person, identified by the same id rule as senders (AAD object id first); a
        mentioned channel or team becomes a channel mention, never a person."""
        activity = turn_context.activity
        entities = _entities(activity)
        bot_id = str(activity.recipient.id) if activity.recipient else ""
        handles: dict[str, str] = {}
        for mention in inbound.people_mentions(entities, bot_id=bot_id):
            member = await _member(turn_context, mention.user_id)
            person = await self._identify(
                turn_context,
                bot_framework_id=mention.user_id,
                user_id=(member.aad_object_id if member else None) or mention.user_id,
                name=mention.name,
            )
            if person is not None:
                handles[mention.text] = person.handle
        others = inbound.other_mentions(entities, bot_id=bot_id)
        return inbound.replace_mentions(command, handles, others)

    async def _run(
        self, turn_context: TurnContext, caller: Caller, click: inbound.CardAction
    ) -> Reply:
        delivery = _delivery(turn_context.activity)
        if click.form_id is not None:
            reply = await self.core.submit_form(
                caller, form_id=click.form_id, values=click.fields, delivery=delivery
            )
        else:
            reply = await self.core.action(
                caller, action=click.verb, value=click.value, text=click.text, delivery=delivery
            )
        return _ran(turn_context, reply)

    async def _send_reply(self, turn_context: TurnContext, reply: Reply) -> None:
        """Show the reply; a throttled (429) or failing (5xx) connector is tried again, briefly,
        honouring ``Retry-After``: after a committed change the user must read its outcome,
        never the turn's "Nothing was changed" apology."""
        activities = [message_activity(m) for m in reply.messages]
        if reply.form is not None:
            activities.append(card_activity(render_form(reply.form)))
        if activities:
            await _with_retries(lambda: turn_context.send_activities(activities))

    async def _answer_submit(self, turn_context: TurnContext, reply: Reply) -> None:
        """An ``Action.Submit`` fallback click: update the card in place after a decision, and
        say the rest (a refusal, a confirmation) as an ordinary reply."""
        await self._update_clicked(turn_context, reply)
        await self._send_reply(turn_context, reply)

    async def _update_clicked(self, turn_context: TurnContext, reply: Reply) -> None:
        """After a change, the clicked card as everyone in its conversation now sees it: in a
        channel, its state without buttons (the outbox then adds the ``refresh`` that shows
        them to whoever may still act); in a personal chat, as the clicker sees it."""
        card_id = turn_context.activity.reply_to_id
        if not reply.ok or reply.replacement is None or not card_id:
            return
        shown = reply.replacement
        if not inbound.is_personal(_json(turn_context.activity)):
            shown = replace(shown, actions=())
        await turn_context.update_activity(card_activity(render_card(shown), activity_id=card_id))


CHANGED = "leaderbot.changed"
"""Turn state set once the core has committed a change in this turn (read by the turn's error
handler, which must then not say that nothing was changed)."""

REPLY_ATTEMPTS = 4
"""Tries of a reactive reply before giving up on it (the change itself is committed)."""

REPLY_WAIT_CAP = 5.0
"""Longest wait between two tries, whatever ``Retry-After`` says: someone is waiting."""


def _delivery(activity: Any) -> str | None:
    """The key the Bot Framework sends again when it redelivers this activity."""
    conversation = getattr(activity, "conversation", None)
    if not activity.id or conversation is None or not conversation.id:
        return None
    return f"teams:{conversation.id}:{activity.id}"


def _ran(turn_context: TurnContext, reply: Reply) -> Reply:
    if reply.ok:
        turn_context.turn_state[CHANGED] = True
    return reply


def _retry_wait(error: Exception, attempt: int) -> float | None:
    """Seconds to wait before trying a failed send again, or None when it is not worth it
    (only throttling and server errors are)."""
    response = getattr(error, "response", None)
    status = getattr(response, "status_code", None) or getattr(response, "status", None)
    if not isinstance(status, int) or not (status == 429 or status >= 500):
        return None
    headers = getattr(response, "headers", None) or {}
    try:
        wait = float(headers.get("Retry-After", 2**attempt * 0.25))
    except (TypeError, ValueError):
        wait = 2**attempt * 0.25
    return min(max(wait, 0.0), REPLY_WAIT_CAP)


async def _with_retries(send: Callable[[], Awaitable[Any]]) -> None:
    for attempt in range(REPLY_ATTEMPTS):
        try:
            await send()
            return
        except Exception as error:
            wait = _retry_wait(error, attempt)
            if wait is None or attempt == REPLY_ATTEMPTS - 1:
                raise
            log.info("Teams reply failed (%s); trying again in %.1f s", error, wait)
            await asyncio.sleep(wait)


def _invoke_response(reply: Reply, *, submitted: bool = False) -> AdaptiveCardInvokeResponse:
    """What the clicker sees: the item as it now looks, with its remaining buttons and any
    message on top; a click that changed no card (a refusal, a confirmation) is answered with
    a message, which leaves the card — and its buttons — as they were. A form card
    ``submitted`` and accepted is done: the confirmation takes its place."""
    refused = not reply.ok
    if reply.form is not None:
        return _card_response(
            render_notice(reply.messages, render_form(reply.form), refused=refused)
        )
    if submitted and reply.ok and reply.replacement is None:
        return _card_response(render_notice(reply.messages))
    if reply.replacement is None:
        return _message_response(reply)
    card = render_card(reply.replacement)
    return _card_response(render_notice(reply.messages, card) if reply.messages else card)


def _card_response(card: dict[str, Any]) -> AdaptiveCardInvokeResponse:
    return AdaptiveCardInvokeResponse(
        status_code=int(HTTPStatus.OK), type=CARD_CONTENT_TYPE, value=card
    )


class _MessageInvokeResponse(AdaptiveCardInvokeResponse):  # type: ignore[misc]
    """botbuilder's response model types ``value`` as a card (a dict); a message response's
    ``value`` is its text."""

    _attribute_map: ClassVar[dict[str, dict[str, str]]] = {
        **AdaptiveCardInvokeResponse._attribute_map,
        "value": {"key": "value", "type": "str"},
    }


def _message_response(reply: Reply) -> AdaptiveCardInvokeResponse:
    """Universal Actions' message response: Teams shows the text to the clicker only."""
    said = " ".join(line for m in reply.messages for line in (m.title, *m.sections) if line)
    return _MessageInvokeResponse(
        status_code=int(HTTPStatus.OK), type=MESSAGE_CONTENT_TYPE, value=said or "Done."
    )


async def _member(turn_context: TurnContext, bot_framework_id: str) -> TeamsChannelAccount | None:
    """The user's Teams profile (name, email, AAD id), or None when Teams won't say (guest
    users, the Emulator, a transient error): the activity's own name is used instead."""
    if not bot_framework_id:
        return None
    try:
        member: TeamsChannelAccount = await TeamsInfo.get_member(turn_context, bot_framework_id)
    except Exception:  # the profile is a nicety: any failure falls back to the activity's name
        log.info("TeamsInfo.get_member failed; using the activity's name", exc_info=True)
        return None
    return member


def _profile(member: TeamsChannelAccount | None, fallback_name: str, *, timezone: str) -> Profile:
    if member is None:
        return Profile(name=fallback_name or "Teams user", timezone=timezone)
    return Profile(
        name=member.name or fallback_name or "Teams user",
        email=member.email or member.user_principal_name or "",
        timezone=timezone,
    )


def _entities(activity: Any) -> list[dict[str, Any]]:
    """The activity's entities as wire JSON (mentions, ``clientInfo``)."""
    return [_json(e) for e in activity.entities or []]


def _json(model: Any) -> dict[str, Any]:
    """The wire JSON of a botbuilder model (what the inbound functions read), including the
    fields its class does not declare (a mention entity's ``mentioned`` and ``text``), which
    msrest keeps aside in ``additional_properties`` and leaves out of ``serialize()``."""
    if model is None:
        return {}
    data: dict[str, Any] = model.serialize()
    return {**(getattr(model, "additional_properties", None) or {}), **data}
