"""Neutral messages and forms → Adaptive Cards 1.5 (Universal Actions) and Teams message text.

Pure functions over plain dicts: no botbuilder here, so the card contract is testable against the
official schema on its own. Every user-supplied string goes through :func:`escape` (Teams renders
a CommonMark subset in TextBlocks and message text, so an unescaped ``[x](url)`` would be a spoofed
link), and every card is cut to :data:`MAX_CARD_BYTES` with "…" and a link to the full item.

The ids below are the contract with :mod:`adapters.teams.inbound`, which reads them back out of
an ``adaptiveCard/action`` invoke (``Action.Execute``) or an ``Action.Submit`` message.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import Any

from bot.forms import FieldKind, Form, FormField
from bot.messages import Action, InputKind, Message, Style, unquote

CARD_VERSION = "1.5"
CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
MAX_CARD_BYTES = 40_000
"""Teams refuses bot messages over about 100 KB; the issue asks for ≤ 80 KB per card. Half of
that leaves room for the activity envelope and for escaping inflating the text."""
MIN_FIELD_CHARS = 80
ELLIPSIS = "…"

VALUE_KEY = "value"
VERB_KEY = "verb"
"""Only in ``Action.Submit`` data: Execute carries its verb outside ``data``."""
FORM_KEY = "form"
FORM_VERB = "leaderbot.form"
"""The verb of a form card's submit button; ``data[FORM_KEY]`` names the form."""

_STYLES = {Style.DEFAULT: "default", Style.PRIMARY: "positive", Style.DANGER: "destructive"}
_PROMPTS = {
    InputKind.RATIONALE: "Why? (shared with the requester)",
    InputKind.QUESTION: "What do you need to know?",
    InputKind.COMMENT: "Comment",
}
_MARKDOWN = re.compile(r"([\\`*_\[\]()#<>~{}&])")
"""Links, emphasis, code, mentions/HTML, entities, and ``{{DATE()}}`` functions, anywhere."""
_LIST_MARKER = re.compile(r"^(\s*)([-+]|\d+\.)", re.MULTILINE)
"""``- x``, ``+ x``, ``1. x`` only make lists at the start of a line."""


def text_input_id(action_id: str) -> str:
    """The id of the text box an action with an input kind collects (unique per card)."""
    return f"text.{action_id}"


def choice_input_id(action_id: str) -> str:
    """The id of a menu action's choice set; its value replaces the action's value."""
    return f"choice.{action_id}"


def field_input_id(name: str) -> str:
    """The id of a form field's input (prefixed so no field can shadow ``form``/``verb``)."""
    return f"field.{name}"


def escape(text: str) -> str:
    """Backslash-escape every character Teams' markdown, mention or date-function parsing could
    act on, so user text shows literally: no links, no emphasis, no ``<at>`` tags. A quoted line
    (:func:`bot.messages.quote`) starts with a bare ``>``: a quote in Teams message text, a
    plain quote sign in a card, whose markdown has no quote block."""
    return "\n".join(_escape_line(line) for line in text.split("\n"))


def _escape_line(line: str) -> str:
    quoted, words = unquote(line)
    escaped = _LIST_MARKER.sub(_escaped_marker, _MARKDOWN.sub(r"\\\1", words))
    return f"> {escaped}" if quoted else escaped


def _escaped_marker(match: re.Match[str]) -> str:
    indent, marker = match.groups()
    return f"{indent}{marker[:-1]}\\{marker[-1]}"


def cut(text: str, limit: int, link: str | None = None) -> str:
    """``text`` escaped and cut to ``limit`` characters of the original, ending with "…" and a
    link to the full item when one is known."""
    if len(text) <= limit:
        return escape(text)
    shown = escape(text[: max(limit - 1, 0)].rstrip()) + ELLIPSIS
    return f"{shown} [Open the full item]({_safe_url(link)})" if link else shown


def render_card(message: Message) -> dict[str, Any]:
    """The Adaptive Card for one message: title, sections, facts, footer, and its actions as
    ``Action.Execute`` buttons (rationale/menu inputs inside an ``Action.ShowCard``)."""
    return _fitted(lambda limit: _card(_message_body(message, limit), _actions(message.actions)))


def render_form(form: Form) -> dict[str, Any]:
    """A form (``ask`` with no text) as a card of inputs with one Execute submit button."""
    body: list[dict[str, Any]] = [_heading(escape(form.title))]
    body.extend(_field_input(f) for f in form.fields)
    submit = _execute(
        title=form.submit_label, verb=FORM_VERB, data={FORM_KEY: form.id}, style=Style.PRIMARY
    )
    return _card(body, [submit])


def render_notice(
    notices: Iterable[Message], card: dict[str, Any] | None = None, *, refused: bool = False
) -> dict[str, Any]:
    """A card that puts ``notices`` (a refusal, a confirmation) on top of ``card``, or alone.

    What an invoke returns to the clicker only: the wrong person sees the item with the reason
    they cannot decide it, and nobody else's view changes.
    """
    lines = [section for m in notices for section in (m.title, *m.sections) if section]
    notice = {
        "type": "Container",
        "style": "attention" if refused else "emphasis",
        "items": [_text(cut(line, 2000)) for line in lines] or [_text("Done.")],
    }
    if card is None:
        return _card([notice], [])
    return {**card, "body": [notice, *card.get("body", [])]}


def is_plain(message: Message) -> bool:
    """True for a reply that reads best as ordinary chat text rather than a card."""
    return not (message.title or message.facts or message.actions or message.footer)


def render_text(message: Message) -> str:
    """A plain message as Teams message text (markdown, escaped), cut like a card."""
    budget = MAX_CARD_BYTES // 2
    per_section = max(budget // max(len(message.sections), 1), MIN_FIELD_CHARS)
    return "\n\n".join(cut(s, per_section, message.link) for s in message.sections)


def card_size(card: dict[str, Any]) -> int:
    """Bytes of the card as it goes on the wire."""
    return len(json.dumps(card, ensure_ascii=False, separators=(",", ":")).encode())


def _fitted(build: Callable[[int], dict[str, Any]]) -> dict[str, Any]:
    """Build with a per-field character limit, halving it until the card fits."""
    limit = 4000
    card = build(limit)
    while card_size(card) > MAX_CARD_BYTES and limit > MIN_FIELD_CHARS:
        limit //= 2
        card = build(limit)
    return card


def _card(body: list[dict[str, Any]], actions: list[dict[str, Any]]) -> dict[str, Any]:
    card: dict[str, Any] = {
        "$schema": CARD_SCHEMA,
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "body": body,
    }
    if actions:
        card["actions"] = actions
    return card


def _message_body(message: Message, limit: int) -> list[dict[str, Any]]:
    link = message.link
    body: list[dict[str, Any]] = []
    if message.title:
        body.append(_heading(cut(message.title, min(limit, 300), link)))
    body.extend(_text(cut(section, limit, link)) for section in message.sections)
    if message.facts:
        facts = [
            {"title": cut(f.label, 100), "value": cut(f.value, min(limit, 500), link)}
            for f in message.facts
        ]
        body.append({"type": "FactSet", "facts": facts})
    if message.footer:
        footer = _text(cut(message.footer, min(limit, 500), link))
        body.append({**footer, "isSubtle": True, "size": "small"})
    return body or [_text(" ")]


def _heading(text: str) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, "size": "medium", "weight": "bolder"}


def _text(text: str) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True}


def _actions(actions: Iterable[Action]) -> list[dict[str, Any]]:
    return [_action(a) for a in actions]


def _action(action: Action) -> dict[str, Any]:
    """A plain button is an Execute; one that needs an input (rationale, menu) opens a
    ShowCard holding the input and the Execute that sends it."""
    execute = _execute(
        title=action.label, verb=action.id, data={VALUE_KEY: action.value}, style=action.style
    )
    if action.choices:
        choice_set = {
            "type": "Input.ChoiceSet",
            "id": choice_input_id(action.id),
            "style": "compact",
            "isRequired": True,
            "value": action.choices[0][0],
            "choices": [{"title": label, "value": value} for value, label in action.choices],
        }
        return _show_card(action, [choice_set], execute)
    if action.input is not InputKind.NONE:
        text_box = {
            "type": "Input.Text",
            "id": text_input_id(action.id),
            "label": _PROMPTS[action.input],
            "isMultiline": True,
            "maxLength": 2000,
            "isRequired": action.input is InputKind.RATIONALE,
            "errorMessage": "Please say why.",
        }
        return _show_card(action, [text_box], execute)
    return execute


def _show_card(
    action: Action, body: list[dict[str, Any]], execute: dict[str, Any]
) -> dict[str, Any]:
    return {"type": "Action.ShowCard", "title": action.label, "card": _card(body, [execute])}


def _execute(*, title: str, verb: str, data: dict[str, str], style: Style) -> dict[str, Any]:
    """An ``Action.Execute`` (Universal Actions) with an ``Action.Submit`` fallback for clients
    without them; the Submit's data carries the verb, which Execute keeps outside ``data``."""
    common = {"title": title, "style": _STYLES[style]}
    submit = {"type": "Action.Submit", **common, "data": {VERB_KEY: verb, **data}}
    return {"type": "Action.Execute", **common, "verb": verb, "data": data, "fallback": submit}


def _field_input(form_field: FormField) -> dict[str, Any]:
    common: dict[str, Any] = {
        "id": field_input_id(form_field.name),
        "label": form_field.label,
        "isRequired": form_field.required,
        "errorMessage": f"{form_field.label} is required.",
    }
    if form_field.initial is not None:
        common["value"] = form_field.initial
    if form_field.kind in (FieldKind.SELECT, FieldKind.PERSON):
        choices = [{"title": label, "value": value} for value, label in form_field.options]
        return {"type": "Input.ChoiceSet", "style": "compact", "choices": choices, **common}
    if form_field.kind is FieldKind.DATE:
        return {"type": "Input.Date", **common}
    text_box: dict[str, Any] = {"type": "Input.Text", **common}
    if form_field.kind is FieldKind.MULTILINE:
        text_box["isMultiline"] = True
    if form_field.max_length:
        text_box["maxLength"] = form_field.max_length
    return text_box


def _safe_url(url: str | None) -> str:
    """Our own link, with the characters that would end a markdown link target encoded."""
    return (url or "").replace(" ", "%20").replace("(", "%28").replace(")", "%29")
