"""Teams activity payloads → what the core understands: pure functions over the activity's JSON.

botbuilder hands the handler typed ``Activity`` objects; the handler passes their plain JSON parts
(``serialize()``) here, so every rule about Teams' payload shapes is testable with recorded
fixtures and no adapter: where the tenant is, which conversation is a channel, which mentions
are people, what a card click or a card form carried.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from adapters.teams.render import (
    FORM_KEY,
    FORM_VERB,
    VALUE_KEY,
    VERB_KEY,
    choice_input_id,
    field_input_id,
    text_input_id,
)
from bot.inbound import MENTION, mention

PERSONAL = "personal"
CHANNEL = "channel"


@dataclass(frozen=True, kw_only=True)
class PersonMention:
    """An ``<at>Name</at>`` of someone other than the bot, with its entity's ids."""

    text: str
    """Exactly as it appears in the message text (``<at>Ana Lopez</at>``)."""
    user_id: str
    name: str


@dataclass(frozen=True, kw_only=True)
class CardAction:
    """One click on a card, from an ``adaptiveCard/action`` invoke or an ``Action.Submit``."""

    verb: str
    value: str = ""
    text: str = ""
    form_id: str | None = None
    """Set when the click submitted a form card (``verb`` is :data:`FORM_VERB`)."""
    fields: dict[str, str] = field(default_factory=dict)


def tenant_id(activity: Mapping[str, Any]) -> str:
    """Our workspace external id: the Teams tenant (the conversation's, else channelData's);
    "" when the activity names none (Web Chat, the Emulator, junk)."""
    conversation = activity.get("conversation") or {}
    if not isinstance(conversation, Mapping):
        return ""
    channel_data = activity.get("channelData") or {}
    tenant = conversation.get("tenantId") or (
        channel_data.get("tenant") if isinstance(channel_data, Mapping) else None
    )
    if isinstance(tenant, Mapping):
        tenant = tenant.get("id")
    return str(tenant) if isinstance(tenant, str) else ""


def local_timezone(activity: Mapping[str, Any], entities: Iterable[Mapping[str, Any]]) -> str:
    """The sender's timezone as Teams reports it (``localTimezone``, else the ``clientInfo``
    entity's ``timezone``): an IANA name such as ``Europe/London``, or "" when absent."""
    zone = activity.get("localTimezone")
    if isinstance(zone, str) and zone:
        return zone
    for entity in entities:
        if entity.get("type") == "clientInfo":
            zone = entity.get("timezone")
            if isinstance(zone, str) and zone:
                return zone
    return ""


def user_id(account: Mapping[str, Any]) -> str:
    """The stable id of a Teams user: the AAD object id when Teams sent it, else the
    Bot Framework id (``29:…``). The same rule is applied to senders and to mentioned people."""
    return str(account.get("aadObjectId") or account.get("id") or "")


def conversation_type(activity: Mapping[str, Any]) -> str:
    """``personal``, ``channel`` or ``groupChat``."""
    return str((activity.get("conversation") or {}).get("conversationType") or PERSONAL)


def is_personal(activity: Mapping[str, Any]) -> bool:
    return conversation_type(activity) == PERSONAL


def conversation_id(activity: Mapping[str, Any]) -> str:
    """The id of the conversation the activity came in (a personal chat's is where its DMs
    go); "" when it has none."""
    return str((activity.get("conversation") or {}).get("id") or "")


def channel_id(activity: Mapping[str, Any]) -> str | None:
    """The Teams channel a message was posted in (``19:…@thread.tacv2``): what a project's home
    channel is keyed by and where its posts go. None outside channels."""
    channel = (activity.get("channelData") or {}).get("channel") or {}
    if channel.get("id"):
        return str(channel["id"])
    if conversation_type(activity) == CHANNEL:
        return str((activity.get("conversation") or {}).get("id", "")).split(";", 1)[0] or None
    return None


PLACE_KINDS = frozenset({"channel", "team"})
"""A mention's ``mentioned.type`` for a place, not a person (Teams also sends ``tag``, a group
of people, and ``person``)."""

_CHANNEL_LINK = re.compile(
    r'<a\s[^>]*href="https://teams\.microsoft\.com/l/channel/[^"]*"[^>]*>([^<]+)</a>'
)
"""A pasted Teams channel link as the message text carries it (``<a href=…/l/channel/…>ED
team</a>``): a place named by its label, like a channel mention."""


def _mentioned(entity: Mapping[str, Any], *, bot_id: str) -> Mapping[str, Any] | None:
    """The ``mentioned`` account of a mention entity other than the bot's; None otherwise."""
    mentioned = entity.get("mentioned") or {}
    if str(entity.get("type", "")).lower() != "mention" or mentioned.get("id") == bot_id:
        return None
    return mentioned if isinstance(mentioned, Mapping) else None


def _kind(mentioned: Mapping[str, Any]) -> str:
    """``person``, ``channel``, ``team`` or ``tag``. A conversation id (``19:…``) is a channel
    or a team even when the payload does not say which: people's ids are ``29:…`` or AAD ids."""
    kind = str(mentioned.get("type") or "").lower()
    if kind in PLACE_KINDS or kind == "tag":
        return kind
    return "channel" if str(mentioned.get("id") or "").startswith("19:") else "person"


def _text(entity: Mapping[str, Any], name: str) -> str:
    return str(entity.get("text") or f"<at>{name}</at>")


def people_mentions(entities: Iterable[Mapping[str, Any]], *, bot_id: str) -> list[PersonMention]:
    """The mention entities that name people (not the bot itself, a channel, a team or a tag),
    in message order."""
    found = []
    for entity in entities:
        mentioned = _mentioned(entity, bot_id=bot_id)
        if mentioned is None or _kind(mentioned) != "person":
            continue
        name = str(mentioned.get("name") or "")
        found.append(
            PersonMention(
                text=_text(entity, name), user_id=str(mentioned.get("id") or ""), name=name
            )
        )
    return found


def channel_mention(name: str) -> str:
    """A place as the grammar's channel mention (``<#teams|ED-team>``, read as ``#ED-team``): it
    names the project only when the command names no ``#KEY``, so a channel or team named
    inside an ask is text, never a person nor a second project. Spaces become dashes, since a
    mention is one word; a name with nothing left stays plain text."""
    word = re.sub(r"\s+", "-", re.sub(r"[<>|]", "", name).strip())[:80]
    return f"<#teams|{word}>" if word else name


def other_mentions(entities: Iterable[Mapping[str, Any]], *, bot_id: str) -> dict[str, str]:
    """What each mention that is not of a person reads as: a channel or team as a channel
    mention, a tag (a group of people, not one of them) as its plain name."""
    found: dict[str, str] = {}
    for entity in entities:
        mentioned = _mentioned(entity, bot_id=bot_id)
        if mentioned is None or (kind := _kind(mentioned)) == "person":
            continue
        name = str(mentioned.get("name") or "")
        found[_text(entity, name)] = name if kind == "tag" else channel_mention(name)
    return found


def replace_mentions(text: str, ids: Mapping[str, str], others: Mapping[str, str]) -> str:
    """Swap each person's ``<at>…</at>`` text for the core's neutral mention of their user id
    (``<@6a1e…>``), and each other mention's and channel link's for what
    :func:`other_mentions` reads it as; decode the HTML entities Teams sends text with
    (``&amp;`` → ``&``) in what the user typed only, so a typed ``&lt;at&gt;`` or
    ``&lt;@x&gt;`` is text, never a mention; and tidy what botbuilder's bot-mention removal
    leaves."""
    for mention_text, reads_as in others.items():
        text = text.replace(mention_text, reads_as)
    text = _CHANNEL_LINK.sub(lambda m: channel_mention(html.unescape(m[1])), text)
    pieces = [text]
    if ids:
        people = "|".join(re.escape(t) for t in sorted(ids, key=len, reverse=True))
        pieces = re.split(f"({people})", text)
    said = "".join(
        mention(ids[piece]) if n % 2 else _typed(html.unescape(piece))
        for n, piece in enumerate(pieces)
    )
    return re.sub(r"\s+", " ", said).strip()


def _typed(text: str) -> str:
    """Text the user typed, where a mention's neutral form reads as a plain ``@``."""
    return MENTION.sub(lambda m: f"@{m[1]}", text)


def card_action_from_invoke(value: Mapping[str, Any]) -> CardAction | None:
    """The click in an ``adaptiveCard/action`` invoke's value (``{"action": {"type":
    "Action.Execute", "verb": …, "data": {…}}}``); None when it is not one of ours."""
    action = value.get("action") or {}
    verb = action.get("verb")
    if not verb:
        return None
    return _card_action(str(verb), action.get("data") or {})


def card_action_from_submit(value: Any) -> CardAction | None:
    """The click an ``Action.Submit`` fallback sent as a message activity's ``value``."""
    if not isinstance(value, Mapping) or not value.get(VERB_KEY):
        return None
    return _card_action(str(value[VERB_KEY]), value)


def _card_action(verb: str, data: Mapping[str, Any]) -> CardAction:
    if verb == FORM_VERB:
        prefix = field_input_id("")
        fields = {
            key[len(prefix) :]: str(raw)
            for key, raw in data.items()
            if key.startswith(prefix) and raw is not None
        }
        return CardAction(verb=verb, form_id=str(data.get(FORM_KEY, "")), fields=fields)
    value = data.get(choice_input_id(verb)) or data.get(VALUE_KEY) or ""
    return CardAction(verb=verb, value=str(value), text=str(data.get(text_input_id(verb)) or ""))
