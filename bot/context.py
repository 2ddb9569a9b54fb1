"""Who is asking, and the reply they get: the platform-neutral request/response of the core."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.forms import Form
from bot.messages import Message
from bot.model import Platform


@dataclass(frozen=True, kw_only=True)
class Caller:
    """The person behind a command or click, as the adapter identified them."""

    person_id: int
    organization_id: int
    handle: str
    timezone: str
    platform: Platform
    workspace_id: int | None = None
    reported_timezone: str = ""
    """What the platform last reported as this identity's zone (``Identity.reported_timezone``):
    an adapter tells the core only when the zone it sees differs."""
    alias: str = ""
    """The identity's stored ``Identity.alias``: stored again only when the platform's differs."""
    channel_id: str | None = None
    """Where the command was typed: lets ``#PROJECT`` be omitted in a project's home channel."""
    shared: bool = False
    """The reply is seen by everyone in the conversation (a Teams channel or group chat, where
    a bot's answer is a post), so it carries no link signed for this caller: a personal link
    opens the caller's own view for whoever follows it."""


@dataclass(frozen=True, kw_only=True)
class Profile:
    """What a platform knows about a user seen for the first time (Slack ``users.info``, Teams
    ``TeamsInfo.get_member``): enough to create or match a Person."""

    name: str
    email: str = ""
    timezone: str = ""
    handle: str = ""
    alias: str = ""
    """The user's other platform id (``Identity.alias``: a Teams user's Bot Framework id)."""


CALLERS_CHANGED = "callers"
"""In ``Reply.changed``: who an identity is, or a person's time zone, changed (``org join``,
``me link``, ``me timezone``), so callers identified before must be looked up again."""


@dataclass(frozen=True, kw_only=True)
class Reply:
    """What the caller sees right away (ephemeral in Slack, a reply in Teams, printed in the
    console). Messages to other people go through the outbox, never through a Reply."""

    messages: tuple[Message, ...] = ()
    ok: bool = True
    """False when the request was refused: nothing changed."""
    form: Form | None = None
    """Open this form (modal / card) instead of, or after, showing the messages."""
    replacement: Message | None = None
    """For a click: the clicked message as it should now look (Teams ``Action.Execute`` returns
    it in the invoke response; Slack may use it for the clicker's own copy)."""
    changed: tuple[str, ...] = field(default_factory=tuple)
    """Keys of items this request changed (``ask:12``): lets an adapter refresh views."""
    repeated: bool = False
    """This delivery was handled before (a platform's retry, a replay) and was not run again:
    whoever answered the first one already has; an adapter may stay silent."""
