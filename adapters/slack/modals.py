"""``bot.forms.Form`` → Slack modal, and a submitted modal's state → ``{field name: text}``.

Each field is one input block whose ``block_id`` is the field name and whose element's
``action_id`` is :data:`VALUE`, so reading a submission back needs no knowledge of the form.
A person field lists the organization's handles (a static select) while there are at most 100 of
them, Slack's option limit; past that it becomes Slack's own user picker, whose user id the app
maps back to a handle.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from slack_sdk.models.blocks import (
    DatePickerElement,
    InputBlock,
    InputInteractiveElement,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    StaticSelectElement,
    UserSelectElement,
)
from slack_sdk.models.views import View

from adapters.slack.render import OPTION_TEXT, OPTION_VALUE, OPTIONS_PER_SELECT, cut_plain
from bot.forms import FieldKind, Form, FormField
from bot.messages import InputKind

log = logging.getLogger(__name__)

FORM_CALLBACK = "leaderbot.form"
INPUT_CALLBACK = "leaderbot.input"
VALUE = "value"
TEXT_FIELD = "text"
VIEW_TITLE = 24
LABEL_TEXT = 2000
USER_PREFIX = "slack-user:"
"""Marks a value picked with Slack's user picker (a user id, not yet a handle)."""

_PROMPTS = {
    InputKind.RATIONALE: "Why? (the requester will see this)",
    InputKind.QUESTION: "What do you need to know?",
    InputKind.COMMENT: "Your note",
}


def _options(pairs: tuple[tuple[str, str], ...]) -> list[Option]:
    return [
        Option(value=value, text=PlainTextObject(text=cut_plain(label or value, OPTION_TEXT)))
        for value, label in pairs[:OPTIONS_PER_SELECT]
        if value and len(value) <= OPTION_VALUE
    ]


def _element(field: FormField) -> InputInteractiveElement:
    if field.kind is FieldKind.DATE:
        return DatePickerElement(action_id=VALUE, initial_date=field.initial or None)
    if field.kind is FieldKind.PERSON and len(field.options) > OPTIONS_PER_SELECT:
        return UserSelectElement(action_id=VALUE)
    if field.kind in (FieldKind.SELECT, FieldKind.PERSON) and field.options:
        if len(field.options) > OPTIONS_PER_SELECT:
            log.warning("form field %s: only the first 100 options are shown", field.name)
        options = _options(field.options)
        initial = next((o for o in options if o.value == field.initial), None)
        return StaticSelectElement(action_id=VALUE, options=options, initial_option=initial)
    return PlainTextInputElement(
        action_id=VALUE,
        multiline=field.kind is FieldKind.MULTILINE,
        initial_value=field.initial or None,
        max_length=field.max_length,
    )


def form_view(form: Form, *, metadata: Mapping[str, str]) -> dict[str, Any]:
    """The modal for ``form``; ``metadata`` (form id, channel, response_url) rides along in
    ``private_metadata`` and comes back with the submission."""
    blocks = [
        InputBlock(
            block_id=field.name,
            label=PlainTextObject(text=cut_plain(field.label, LABEL_TEXT)),
            element=_element(field),
            optional=not field.required,
        )
        for field in form.fields
    ]
    return View(
        type="modal",
        callback_id=FORM_CALLBACK,
        title=PlainTextObject(text=cut_plain(form.title, VIEW_TITLE)),
        submit=PlainTextObject(text=cut_plain(form.submit_label, VIEW_TITLE)),
        close=PlainTextObject(text="Cancel"),
        private_metadata=json.dumps({"form": form.id, **metadata}),
        blocks=blocks,
    ).to_dict()


def input_view(*, title: str, kind: InputKind, metadata: Mapping[str, str]) -> dict[str, Any]:
    """The modal a button with an input (Decline, Need info, Comment) opens first."""
    return View(
        type="modal",
        callback_id=INPUT_CALLBACK,
        title=PlainTextObject(text=cut_plain(title or "Leaderbot", VIEW_TITLE)),
        submit=PlainTextObject(text="Send"),
        close=PlainTextObject(text="Cancel"),
        private_metadata=json.dumps(dict(metadata)),
        blocks=[
            InputBlock(
                block_id=TEXT_FIELD,
                label=PlainTextObject(text=_PROMPTS.get(kind, "Your note")),
                element=PlainTextInputElement(action_id=VALUE, multiline=True, max_length=2000),
            )
        ],
    ).to_dict()


def metadata_of(view: Mapping[str, Any]) -> dict[str, str]:
    """What :func:`form_view` / :func:`input_view` put in ``private_metadata``."""
    try:
        raw = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}


def _value_of(element: Mapping[str, Any]) -> str:
    kind = element.get("type")
    if kind in ("static_select", "external_select"):
        return str((element.get("selected_option") or {}).get("value") or "")
    if kind == "datepicker":
        return str(element.get("selected_date") or "")
    if kind == "users_select":
        user = element.get("selected_user")
        return f"{USER_PREFIX}{user}" if user else ""
    return str(element.get("value") or "")


def values_of(view: Mapping[str, Any]) -> dict[str, str]:
    """A submitted view's ``state.values`` as ``{field name: text}`` (empty for unset fields)."""
    state = (view.get("state") or {}).get("values") or {}
    return {
        block_id: _value_of(actions[VALUE])
        for block_id, actions in state.items()
        if isinstance(actions, Mapping) and VALUE in actions
    }
