"""One user's request as every adapter hands it to the core, and what the core hands back.

An adapter translates a platform's payload into an :class:`Inbound` — who (platform, workspace,
user, and the profiles it already has), where (channel, and what to remember about it), and
exactly one :data:`Request` — and passes it to :meth:`bot.dispatch.Core.handle`, which answers
with a :data:`Handled`: the reply, the home screen, or :class:`NeedProfiles` when someone it
must identify is new and no profile came with the request. Then nothing was written, and the
adapter asks its platform for those profiles and hands the same request in once more. So a
known user's request costs one unit of work and no platform call, and a new user's two.

Mentions are written in the neutral form ``<@USERID>`` (the platform's own user id): the core
identifies each mentioned user with the caller and writes them as the grammar's ``@handle``.
Conversation references are opaque to the core: the adapter says what to store and the address
a DM there goes to, the core stores both where the adapter says.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.context import Caller, Profile, Reply
from bot.messages import Message
from bot.model import Platform

__all__ = [
    "CheckClick",
    "Click",
    "Configured",
    "Handled",
    "Hello",
    "HomeScreen",
    "Inbound",
    "NeedProfiles",
    "OpenForm",
    "RefreshCard",
    "Request",
    "ShowHome",
    "Submit",
    "Text",
    "mention",
    "mentioned",
    "with_handles",
]

MENTION = re.compile(r"<@([^<>|\s]+)>")
"""A mentioned user in a command's text, by their platform user id."""


def mention(user_id: str) -> str:
    """How an adapter writes a mention of ``user_id`` into a command's text."""
    return f"<@{user_id}>"


def mentioned(text: str) -> list[str]:
    """The user ids mentioned in ``text``, in order, without repeats."""
    return list(dict.fromkeys(MENTION.findall(text)))


def with_handles(text: str, handles: Mapping[str, str]) -> str:
    """``text`` with each mention as the mentioned person's ``@handle`` (a user not in
    ``handles`` as ``@USERID``, which names nobody)."""
    return MENTION.sub(lambda found: f"@{handles.get(found.group(1), found.group(1))}", text)


@dataclass(frozen=True, kw_only=True)
class Text:
    """A command of the grammar typed by the caller (``ask <@U0DANA> …``, ``help``)."""

    text: str


@dataclass(frozen=True, kw_only=True)
class Click:
    """A button: ``action`` is ``Action.id`` (``ask.approve``), ``value`` its ``Action.value``,
    ``text`` what the caller typed into the action's input (a rationale, a question)."""

    action: str
    value: str
    text: str = ""


@dataclass(frozen=True, kw_only=True)
class CheckClick:
    """Would this click be refused? Asked before an adapter opens the click's input (a modal),
    so only someone who may act is asked for a rationale. Reads only: the reply is ``ok`` when
    the caller may go on, else the refusal."""

    action: str
    value: str


@dataclass(frozen=True, kw_only=True)
class Submit:
    """A submitted form (``ask``, ``blocker``, ``update``): its text values, and the fields
    filled with a platform's user picker as the picked user ids (identified like mentions)."""

    form_id: str
    values: Mapping[str, str] = field(default_factory=dict)
    people: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class OpenForm:
    """The form ``form_id`` with its choices filled for the caller (``Reply.form``). Reads only."""

    form_id: str


@dataclass(frozen=True, kw_only=True)
class ShowHome:
    """A home screen (Slack's App Home): answered with a :class:`HomeScreen`. Reads only."""


@dataclass(frozen=True, kw_only=True)
class RefreshCard:
    """The card of ``item`` (``ask:12``) as the caller should see it now, with the buttons that
    apply to them, as ``Reply.replacement`` (Teams' Universal Actions refresh). Reads only."""

    item: str


@dataclass(frozen=True, kw_only=True)
class Hello:
    """Nothing to run: the caller has arrived (Teams: the app was installed in their personal
    scope), so they are identified and what the inbound value says to remember (where to DM
    them) is stored. Answered with an empty reply."""


Request = Text | Click | CheckClick | Submit | OpenForm | ShowHome | RefreshCard | Hello
"""What the caller asks for: exactly one of these per :class:`Inbound`."""


@dataclass(frozen=True, kw_only=True)
class Configured:
    """The server's configuration serves this workspace (a Teams tenant the bot is set up for):
    when it is not linked yet, the request that first meets it links it, in the same unit of
    work, by the rule of :func:`bot.services.people.configured_workspace`."""

    join_sole: bool
    """A fresh install's workspace may join the only organization (a tenant the configuration
    names); False founds an organization of its own (a multi-tenant bot's newcomer)."""


@dataclass(frozen=True, kw_only=True)
class Inbound:
    """One request from one platform user, as the core needs it and nothing more."""

    platform: Platform
    workspace: str
    """The workspace's platform id (Slack team id, Teams tenant id)."""
    user_id: str
    """The caller's platform user id."""
    request: Request
    profiles: Mapping[str, Profile] = field(default_factory=dict)
    """Profiles by user id, of the caller and of the mentioned or picked users, that the
    platform sent or the adapter fetched: used only for users the core does not know yet."""
    channel_id: str | None = None
    """Where the request was made: ``#PROJECT`` may be omitted in a project's home channel."""
    conversation: str | None = None
    """How to DM the caller from now on, to store on their identity (a Slack IM channel id,
    a Teams personal conversation reference): stored, with ``conversation_address``, only when
    either differs."""
    conversation_address: str = ""
    """Where that DM goes, as outbox rows name it (Slack: the IM channel id again; Teams: the
    personal conversation's id), said by the adapter that knows the reference's format."""
    channel_reference: str | None = None
    """How to post proactively into ``channel_id`` (a Teams channel's conversation reference),
    to store on the project channels linked to it: stored only when it differs."""
    alias: str = ""
    """The caller's other platform id (a Teams user's Bot Framework id, the only one a mention
    carries): stored on their identity when it differs, so that mentions of them resolve
    without asking the platform (``Identity.alias``)."""
    timezone: str = ""
    """The zone the platform reports for the caller (Teams' ``localTimezone``): taken by the
    rule of :func:`bot.services.people.report_timezone` when it differs from the last one."""
    shared: bool = False
    """Everyone in the conversation reads the answer (a Teams channel post): no link in it is
    signed for the caller."""
    delivery: str | None = None
    """The platform's key for this delivery (event, trigger or activity id): a retry or replay
    of a request that committed is answered without running it again."""
    home: bool = False
    """The request was made on the caller's home screen (Slack's App Home, which has no thread
    to answer in): answered with the :class:`HomeScreen` as it is after the request, read in the
    same unit of work, with the request's reply in ``HomeScreen.reply``. A refused request is
    answered with its refusal alone (its unit of work was rolled back)."""
    configured: Configured | None = None
    """Set by an adapter whose configuration serves the workspace without an installation (a
    Teams bot); None: a workspace not linked yet is refused."""
    caller: Caller | None = None
    """A person an operator path chose by handle (:meth:`bot.dispatch.Core.caller_for_handle`:
    the console, the CLI), where there is no chat identity to verify: nobody is identified
    then, and ``user_id`` is only a name for the logs. A chat adapter never sets it."""


@dataclass(frozen=True, kw_only=True)
class NeedProfiles:
    """These users are new and came without a profile: nothing was written; fetch their
    profiles and hand the same request in again with them in ``Inbound.profiles``."""

    user_ids: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class HomeScreen:
    """What a home screen shows: what waits on the caller (or a refusal), and one status card
    per project they have a role or RACI letter on — read in one unit of work."""

    waiting: tuple[Message, ...]
    projects: tuple[Message, ...] = ()
    reply: Reply | None = None
    """The reply to the request made on the home screen (``Inbound.home``), to show on top."""


Handled = Reply | HomeScreen | NeedProfiles
"""What :meth:`bot.dispatch.Core.handle` answers."""
