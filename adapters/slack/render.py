"""Neutral ``Message`` → Block Kit JSON, within Slack's limits.

Every string in a Message is plain user-or-core text. In ``mrkdwn`` it is escaped (``&``, ``<``,
``>``), which turns ``<!channel>``, ``<@U1>`` and ``<http://evil|spoof>`` into visible text
rather than pings or disguised links, and sent ``verbatim`` so Slack does not link-ify anything in
it either; headers and buttons use ``plain_text``, where Slack parses no markup at all. Text too
long for a block is cut with "…" and, in mrkdwn, a link to the full item.

The blocks are built as plain dicts, the JSON Slack takes, not through ``slack_sdk.models``:
building and validating those objects cost ~0.5 ms per card (``to_dict`` walks ``dir()`` of
every object for its validators), a fifth of the server's time under load, while every limit
is already applied here as the text is cut. The tests hold the two together: every block
rendered for their messages, oversized ones included, is parsed by ``slack_sdk.models.blocks``
and must validate and come back as the same JSON (``tests/scenario/slack/test_slack_render.py``).

Buttons carry ``action_id = "{action.id}|{input kind}|{position}"``: Slack wants action ids unique
within a block, and the inbound side needs to know whether a click must first open a modal.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from typing import Any

from bot.messages import QUOTE_MARK, Action, InputKind, Message, Style

log = logging.getLogger(__name__)

Block = dict[str, Any]
"""One Block Kit block (or element, or text object) as Slack's JSON."""

MAX_BLOCKS = 50
SECTION_TEXT = 3000
FIELD_TEXT = 2000
FIELDS_PER_SECTION = 10
HEADER_TEXT = 150
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
ELEMENTS_PER_ACTIONS = 25
OPTIONS_PER_SELECT = 100
OPTION_TEXT = 75
OPTION_VALUE = 150
CONTEXT_TEXT = 3000
FALLBACK_TEXT = 3000
"""Top-level ``text`` (notifications, screen readers); Slack allows more, nobody reads more."""

ELLIPSIS = "…"
THREAD_LINK = "View the thread"
_SAFE_URL = re.compile(r"https?://[^\s<>|]+")


def escape(text: str) -> str:
    """Slack's three control characters as entities (everything else is literal text), and the
    core's quote mark as mrkdwn's own ``>`` quote."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return escaped.replace(QUOTE_MARK, "> ")


def cut_plain(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with "…" (for plain_text, which cannot link)."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + ELLIPSIS


def fit(text: str, limit: int, link: str | None = None) -> str:
    """``text`` escaped for mrkdwn and cut so the *escaped* form fits ``limit``, ending with
    "…" and a link to the full item when one is known (entities are never split)."""
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    tail = ELLIPSIS + (f" <{escape(link)}|full text>" if link and _SAFE_URL.fullmatch(link) else "")
    budget = limit - len(tail)
    out: list[str] = []
    used = 0
    for char in text:
        piece = escape(char)
        if used + len(piece) > budget:
            break
        out.append(piece)
        used += len(piece)
    return "".join(out).rstrip() + tail


def _mrkdwn(text: str) -> Block:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _plain(text: str, *, emoji: bool = False) -> Block:
    return {"type": "plain_text", "text": text, **({"emoji": True} if emoji else {})}


def header(text: str) -> Block:
    """A header block (plain text, cut to Slack's limit)."""
    return {"type": "header", "text": _plain(cut_plain(text, HEADER_TEXT))}


def section(text: str) -> Block:
    """A section of mrkdwn text already escaped and cut (see :func:`fit`)."""
    return {"type": "section", "text": _mrkdwn(text)}


def divider() -> Block:
    return {"type": "divider"}


def action_id(action: Action, position: int) -> str:
    return f"{action.id}|{action.input.value}|{position}"


def parse_action_id(raw: str) -> tuple[str, InputKind]:
    """Inverse of :func:`action_id`: (Action.id, what the click must ask for first)."""
    name, _, rest = raw.partition("|")
    kind, _, _ = rest.partition("|")
    try:
        return name, InputKind(kind)
    except ValueError:
        return name, InputKind.NONE


def _element(action: Action, position: int) -> Block | None:
    if action.choices:
        return {
            "type": "static_select",
            "placeholder": _plain(cut_plain(action.label, BUTTON_TEXT)),
            "action_id": action_id(action, position),
            "options": [
                {"text": _plain(cut_plain(label, OPTION_TEXT)), "value": value}
                for value, label in action.choices[:OPTIONS_PER_SELECT]
                if len(value) <= OPTION_VALUE
            ],
        }
    if len(action.value) > BUTTON_VALUE:
        # An id cut short would point at the wrong item: better no button than a wrong one.
        log.warning("dropping button %s: its value is longer than Slack allows", action.id)
        return None
    button: Block = {
        "type": "button",
        "text": _plain(cut_plain(action.label, BUTTON_TEXT), emoji=True),
        "action_id": action_id(action, position),
        "value": action.value,
    }
    if action.style is not Style.DEFAULT:
        button["style"] = action.style.value
    return button


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _fact_blocks(message: Message) -> list[Block]:
    fields = []
    for fact in message.facts:
        label = f"*{fit(fact.label, 200)}*\n"
        fields.append(_mrkdwn(label + fit(fact.value, FIELD_TEXT - len(label), message.link)))
    return [
        {"type": "section", "fields": list(chunk)} for chunk in _chunks(fields, FIELDS_PER_SECTION)
    ]


def _action_blocks(message: Message) -> list[Block]:
    elements = [
        element
        for position, action in enumerate(message.actions)
        if (element := _element(action, position)) is not None
    ]
    return [
        {"type": "actions", "elements": list(chunk)}
        for chunk in _chunks(elements, ELEMENTS_PER_ACTIONS)
    ]


def render(message: Message) -> list[Block]:
    """Block Kit JSON for ``chat.postMessage`` / ``chat.update`` / ``respond``: one message's
    blocks, within Slack's limits (see module docstring)."""
    head: list[Block] = [header(message.title)] if message.title else []
    tail: list[Block] = [*_fact_blocks(message), *_action_blocks(message)]
    if message.footer:
        tail.append({"type": "context", "elements": [_mrkdwn(fit(message.footer, CONTEXT_TEXT))]})
    sections = [s for s in message.sections if s.strip()]
    room = MAX_BLOCKS - len(head) - len(tail)
    body = [section(fit(s, SECTION_TEXT, message.link)) for s in sections]
    if len(body) > room:
        more = f"{ELLIPSIS} {len(sections) - room + 1} more"
        if message.link and _SAFE_URL.fullmatch(message.link):
            more += f": <{escape(message.link)}|open the full item>"
        body = [*body[: room - 1], section(more)]
    return [*head, *body, *tail][:MAX_BLOCKS]


def with_thread_link(blocks: list[Block], url: str) -> list[Block]:
    """``blocks`` with a "View the thread" link above their buttons (the DM to a blocker's rung
    owner points at the blocker's thread). Left out when ``url`` is not a plain http(s) URL or
    the message has no room for one more block."""
    if not _SAFE_URL.fullmatch(url) or len(blocks) >= MAX_BLOCKS:
        return blocks
    link = section(f"<{escape(url)}|{THREAD_LINK}>")
    at = next((i for i, b in enumerate(blocks) if b["type"] in ("actions", "context")), len(blocks))
    return [*blocks[:at], link, *blocks[at:]]


def render_many(messages: Sequence[Message]) -> list[Block]:
    """Several messages as one (an ephemeral reply), divided, still within 50 blocks."""
    blocks: list[Block] = []
    for index, message in enumerate(messages):
        rendered = render(message)
        between = [divider()] if index else []
        if len(blocks) + len(between) + len(rendered) > MAX_BLOCKS:
            remaining = len(messages) - index
            blocks = blocks[: MAX_BLOCKS - 1]
            blocks.append(section(f"{ELLIPSIS} {remaining} more"))
            break
        blocks += between + rendered
    return blocks


def plain(*messages: Message) -> str:
    """Titles and sections as unescaped lines (for places Slack shows as plain text)."""
    lines: list[str] = []
    for message in messages:
        lines += [part for part in (message.title, *message.sections) if part.strip()]
    return "\n".join(lines)


def _text_only(message: Message) -> bool:
    return not (message.title or message.facts or message.actions or message.footer)


def reply_body(messages: Sequence[Message]) -> dict[str, Any]:
    """``text`` and ``blocks`` of a reply. Replies that are only sentences (most command
    answers: "Ask #12 sent to Dana…") and fit one section go as escaped mrkdwn ``text`` alone:
    there is no layout to check, and building blocks through slack_sdk (whose validation
    inspects every object) cost the ack path more than the rest of the adapter."""
    if all(_text_only(m) for m in messages):
        body = escape("\n\n".join(s for m in messages for s in m.sections if s.strip()))
        if body and len(body) <= SECTION_TEXT:
            return {"text": body}
    return {"text": fallback(*messages), "blocks": render_many(messages)}


def fallback(*messages: Message) -> str:
    """The top-level ``text`` Slack shows in notifications and to screen readers (escaped: Slack
    parses it as mrkdwn)."""
    return fit(plain(*messages) or "Leaderbot", FALLBACK_TEXT)
