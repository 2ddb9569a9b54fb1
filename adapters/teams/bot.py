"""The Teams ``ActivityHandler``: translate an activity in, call the core, translate the reply out.

Nothing here decides anything: who may approve, what a command means and every sentence a user
reads come from ``bot.dispatch.Core``. The handler turns an activity into one
:class:`bot.inbound.Inbound` — the sender, mentions as the core's neutral mentions, the
conversation references to remember, the command, click or form — and calls
:meth:`Core.handle` once: one unit of work. Only when the core answers that it does not know
someone yet (the sender, a mentioned person) are their profiles fetched from Teams
(``TeamsInfo.get_member``) and the same request handed in once more. Replies are shown as text,
cards or invoke responses.

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
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, ClassVar

from botbuilder.core import ActivityHandler, InvokeResponse, TurnContext
from botbuilder.schema import ActivityTypes, AdaptiveCardInvokeResponse

from adapters.teams import inbound
from adapters.teams.activities import card_activity, message_activity, reference_json
from adapters.teams.members import member, profile
from adapters.teams.render import (
    CARD_CONTENT_TYPE,
    REFRESH_VERB,
    render_card,
    render_form,
    render_notice,
)
from adapters.teams.settings import TeamsSettings
from bot.context import Reply
from bot.inbound import (
    Click,
    Configured,
    Hello,
    Inbound,
    NeedProfiles,
    RefreshCard,
    Request,
    Submit,
    Text,
    mention,
)
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
        """Tenants whose workspace this process has seen exist (saves a unit of work)."""

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

    async def _link(self, tenant: str, *, name: str = "") -> None:
        """The tenant's workspace, made by the rule of the module docstring the first time;
        once per tenant in this process."""
        if tenant in self._linked:
            return
        await self.core.configured_workspace(
            platform=Platform.TEAMS,
            external_id=tenant,
            name=name,
            join_sole=self._configured(tenant).join_sole,
        )
        self._linked.add(tenant)

    def _configured(self, tenant: str) -> Configured:
        # Only a tenant the configuration names (or the local Emulator) may join the sole
        # organization; a multi-tenant bot's newcomers each found their own.
        return Configured(join_sole=bool(self.settings.tenant_id) or tenant == EMULATOR)

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        click = inbound.card_action_from_submit(activity.value)
        reply = await self._handle(
            turn_context, _clicked(click) if click is not None else self._text(turn_context)
        )
        if reply is None:
            await turn_context.send_activity(message_activity(UNKNOWN_USER))
        elif click is not None:
            await self._answer_submit(turn_context, reply)
        else:
            await self._send_reply(turn_context, reply)

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
        decision the card is also updated in place so everyone in the conversation sees it.
        A ``refresh`` is the reader's own view of a card (Universal Actions): it changes
        nothing."""
        click = inbound.card_action_from_invoke(invoke_value or {})
        if click is None:
            return _message_response(Reply(messages=(UNKNOWN_CLICK,), ok=False))
        refresh = click.verb == REFRESH_VERB
        reply = await self._handle(
            turn_context, RefreshCard(item=click.value) if refresh else _clicked(click)
        )
        if reply is None:
            return _message_response(Reply(messages=(UNKNOWN_USER,), ok=False))
        if refresh:
            if reply.replacement is None:
                return _message_response(reply)
            return _card_response(render_card(reply.replacement))
        await self._update_clicked(turn_context, reply)
        return _invoke_response(reply, submitted=click.form_id is not None)

    async def _installed(self, turn_context: TurnContext) -> None:
        """Link the tenant; in a personal scope, also identify the person and remember their
        chat (one request that runs nothing)."""
        activity = turn_context.activity
        if not activity.members_added and activity.type != ActivityTypes.installation_update:
            return  # members leaving, a renamed channel: nothing to link
        raw = _json(activity)
        name = str(((raw.get("channelData") or {}).get("team") or {}).get("name") or "")
        await self._link(self._tenant(turn_context), name=name)
        if inbound.is_personal(raw):
            await self._handle(turn_context, Hello())

    def _text(self, turn_context: TurnContext) -> Text:
        """The command, addressed to the bot: its mention removed, people as the core's
        neutral mentions (by their Bot Framework id, which the core finds as an identity's
        alias), channels and teams as channel mentions (see :func:`inbound.replace_mentions`)."""
        activity = turn_context.activity
        entities = _entities(activity)
        bot_id = str(activity.recipient.id) if activity.recipient else ""
        ids = {m.text: m.user_id for m in inbound.people_mentions(entities, bot_id=bot_id)}
        others = inbound.other_mentions(entities, bot_id=bot_id)
        command = TurnContext.remove_recipient_mention(activity) or ""
        return Text(text=inbound.replace_mentions(command, ids, others))

    async def _handle(self, turn_context: TurnContext, request: Request) -> Reply | None:
        """The core's answer to ``request`` from the activity's sender; None when the sender
        cannot be identified. The core says whom it does not know yet (the sender, people
        mentioned): only they are looked up, and the request goes in once more with their
        profiles."""
        activity = turn_context.activity
        raw = _json(activity)
        sender = _json(activity.from_property)
        user_id, bot_framework_id = inbound.user_id(sender), str(sender.get("id") or "")
        if not user_id or not bot_framework_id:
            return None
        tenant = self._tenant(turn_context)
        personal = inbound.is_personal(raw)
        message = activity.type == ActivityTypes.message
        channel = inbound.channel_id(raw)
        changing = isinstance(request, Text | Click | Submit)
        # A personal chat's reference (from a message or an install; a card's invoke adds
        # nothing): the only way a Teams bot can DM later, at the chat's id.
        remembered = personal and activity.type != ActivityTypes.invoke
        asked = Inbound(
            platform=Platform.TEAMS,
            workspace=tenant,
            user_id=user_id,
            alias=bot_framework_id if bot_framework_id != user_id else "",
            request=request,
            channel_id=channel,
            conversation=reference_json(activity) if remembered else None,
            conversation_address=inbound.conversation_id(raw) if remembered else "",
            # A channel's: how its project's posts go there proactively.
            channel_reference=(
                reference_json(activity, channel_id=channel)
                if message and not personal and channel
                else None
            ),
            timezone=inbound.local_timezone(raw, _entities(activity)),
            shared=message and not personal,  # the answer is a post everyone there reads
            delivery=_delivery(activity) if changing else None,
            configured=self._configured(tenant),  # linked by the request that first meets it
        )
        handled = await self.core.handle(asked)
        if isinstance(handled, NeedProfiles):
            asked = await self._with_profiles(turn_context, asked, handled.user_ids)
            handled = await self.core.handle(asked)
        if not isinstance(handled, Reply):
            return None
        return _ran(turn_context, handled) if changing else handled

    async def _with_profiles(
        self, turn_context: TurnContext, asked: Inbound, needed: Sequence[str]
    ) -> Inbound:
        """``asked`` with the profiles of the ``needed`` users, fetched from Teams. A person
        mentioned by their Bot Framework id is written with their AAD object id from then on
        (the same id rule as senders: :func:`inbound.user_id`), and their profile carries the
        Bot Framework id as their alias, so the next mention of them needs no look-up."""
        activity = turn_context.activity
        accounts = {
            asked.user_id: _Account(
                bot_framework_id=str(activity.from_property.id),
                name=str(activity.from_property.name or ""),
                timezone=asked.timezone,
            )
        }
        if isinstance(asked.request, Text):
            bot_id = str(activity.recipient.id) if activity.recipient else ""
            for m in inbound.people_mentions(_entities(activity), bot_id=bot_id):
                accounts.setdefault(m.user_id, _Account(bot_framework_id=m.user_id, name=m.name))
        wanted = [(u, accounts[u]) for u in needed if u in accounts]
        found = await asyncio.gather(
            *(member(turn_context, account.bot_framework_id) for _, account in wanted)
        )
        profiles, request = dict(asked.profiles), asked.request
        for (user, account), teams_member in zip(wanted, found, strict=True):
            known_as = user
            if user != asked.user_id and teams_member is not None:
                known_as = teams_member.aad_object_id or user
            # The sender's alias travels as Inbound.alias; a mentioned person's with their profile.
            mentioned_by = account.bot_framework_id if user != asked.user_id else known_as
            alias = mentioned_by if mentioned_by != known_as else ""
            profiles[known_as] = profile(
                teams_member, account.name, timezone=account.timezone, alias=alias
            )
            if known_as != user and isinstance(request, Text):
                request = Text(text=request.text.replace(mention(user), mention(known_as)))
        return replace(asked, request=request, profiles=profiles)

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


@dataclass(frozen=True, kw_only=True)
class _Account:
    """A Teams user of the activity, as far as the activity says who they are."""

    bot_framework_id: str
    name: str
    timezone: str = ""


def _clicked(click: inbound.CardAction) -> Click | Submit:
    """A card click as the core's request: a form card's submission, or a button."""
    if click.form_id is not None:
        return Submit(form_id=click.form_id, values=click.fields)
    return Click(action=click.verb, value=click.value, text=click.text)


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
