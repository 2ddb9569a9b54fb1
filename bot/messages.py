"""The neutral message model every renderer (Block Kit, Adaptive Card, console text) understands.

All text here is plain text: no markup of any platform. Renderers escape every string for their
platform and cut it to that platform's limits, so user text can never inject ``<!channel>``, a
mention or a spoofed link, and the core never has to know which platform it speaks to.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Style(StrEnum):
    DEFAULT = "default"
    PRIMARY = "primary"
    DANGER = "danger"


class InputKind(StrEnum):
    """What an action asks for before it is submitted (a modal in Slack, a card input in Teams)."""

    NONE = "none"
    RATIONALE = "rationale"
    QUESTION = "question"
    COMMENT = "comment"


@dataclass(frozen=True, kw_only=True)
class Action:
    """A button. ``id`` names the handler (``ask.approve``); ``value`` the item (``12``)."""

    id: str
    label: str
    value: str
    style: Style = Style.DEFAULT
    input: InputKind = InputKind.NONE
    choices: tuple[tuple[str, str], ...] = ()
    """For a menu (snooze): (value, label) pairs; the chosen value replaces ``value``."""


@dataclass(frozen=True, kw_only=True)
class Fact:
    label: str
    value: str


@dataclass(frozen=True, kw_only=True)
class Target:
    """Who sees a message: a person (their DM) or a project's home channel(s)."""

    person_id: int | None = None
    project_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class Message:
    """One message. ``key`` is its idempotency key (DESIGN §3) when it goes through the outbox."""

    title: str = ""
    sections: tuple[str, ...] = ()
    facts: tuple[Fact, ...] = ()
    actions: tuple[Action, ...] = ()
    footer: str = ""
    target: Target = field(default_factory=Target)
    key: str = ""
    thread_key: str | None = None
    """Post as a reply in the thread anchored under this key (``blocker:12``)."""
    anchors_thread: str | None = None
    """This message starts the thread with that key: the sender records where it landed."""
    replaces_key: str | None = None
    """Update in place the message previously sent under this key (``chat.update``)."""
    links_thread: str | None = None
    """Show a link to the root of the thread with this key (a DM pointing at a blocker's
    thread in the project channel); platforms that cannot link to a thread ignore it."""
    link: str | None = None
    """Where the full item lives, used when a renderer must cut text."""
    caused_by: int | None = None
    """The person whose act this message carries (the requester of an ask card): told if the
    message is given up, since their reply said it was on its way."""


def to_json(message: Message) -> str:
    """Serialize for the outbox. ``default=vars`` turns each nested dataclass into its fields
    as ``asdict`` would, without the deep copy of every value ``asdict`` makes."""
    return json.dumps(message, default=vars, separators=(",", ":"))


def from_json(data: str) -> Message:
    """Inverse of :func:`to_json`."""
    raw: dict[str, Any] = json.loads(data)
    return Message(
        title=raw["title"],
        sections=tuple(raw["sections"]),
        facts=tuple(Fact(**f) for f in raw["facts"]),
        actions=tuple(
            Action(
                id=a["id"],
                label=a["label"],
                value=a["value"],
                style=Style(a["style"]),
                input=InputKind(a["input"]),
                choices=tuple((c[0], c[1]) for c in a["choices"]),
            )
            for a in raw["actions"]
        ),
        footer=raw["footer"],
        target=Target(**raw["target"]),
        key=raw["key"],
        thread_key=raw["thread_key"],
        anchors_thread=raw["anchors_thread"],
        replaces_key=raw["replaces_key"],
        links_thread=raw.get("links_thread"),  # absent from rows queued before it existed
        link=raw["link"],
        caused_by=raw.get("caused_by"),  # absent from rows queued before it existed
    )


QUOTE_MARK = "\ue000"
"""Starts a line of quoted user text inside a section (a private-use character, so it never
looks like text and survives the outbox). Renderers show it natively — ``>`` in Slack mrkdwn
and Teams message text, an emphasis container in an Adaptive Card, an indent in the console —
so words a person wrote never read as if the bot said them."""


def quote(words: str) -> str:
    """One section line showing ``words`` (a person's text) as a quote. Line breaks are kept as
    spaces and any quote mark inside is dropped: a quote is one line, and only the core starts
    one."""
    return QUOTE_MARK + " ".join(words.replace(QUOTE_MARK, "").split())


def unquote(line: str) -> tuple[bool, str]:
    """(whether ``line`` is a quote, its text): what a renderer needs to show it its way."""
    if line.startswith(QUOTE_MARK):
        return True, line[len(QUOTE_MARK) :]
    return False, line


def text(line: str, *more: str) -> Message:
    """A plain reply with no title: the usual answer to a command."""
    return Message(sections=(line, *more))
