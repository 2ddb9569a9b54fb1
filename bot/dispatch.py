"""The one entry point of the core for every adapter: text, clicks and forms in; replies out.

Each request runs in one unit of work: the service validates, changes state, writes audit events
and outbound messages (outbox) and commits; a LeaderbotError rolls everything back and becomes a
one-line reply with a usage hint. Nothing else ever reaches the user: an unexpected exception is
logged and answered with an apology.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.context import Caller, Profile, Reply
from bot.forms import Form
from bot.model import Platform, Workspace
from bot.ports import Clock, UnitOfWorkFactory


@dataclass(frozen=True, kw_only=True)
class CoreSettings:
    link_base: str = "http://127.0.0.1:3978"
    """Public base URL of the server: links to full items and the dashboard."""
    max_text: int = 2000
    """Longest ask/blocker/update text accepted; longer gets a clear refusal."""


class Core:
    """Platform-neutral request handling (see module docstring)."""

    def __init__(
        self, *, uow: UnitOfWorkFactory, clock: Clock, settings: CoreSettings | None = None
    ) -> None:
        self.uow = uow
        self.clock = clock
        self.settings = settings or CoreSettings()

    async def link_workspace(
        self,
        *,
        platform: Platform,
        external_id: str,
        name: str = "",
        organization_id: int | None = None,
    ) -> Workspace:
        """Find or create the workspace (Slack team, Teams tenant) and link it to an organization
        (the given one, else the only/first one, else a new one named after the workspace)."""
        raise NotImplementedError

    async def identify(
        self,
        *,
        platform: Platform,
        workspace_external_id: str,
        user_id: str,
        profile: Profile | None = None,
    ) -> Caller | None:
        """Map a platform user to a Caller. A user seen for the first time gets an identity: matched
        to an existing person by email, else a new person from ``profile``. Returns None when the
        user is unknown and no profile was given (the adapter then fetches one and calls again)."""
        raise NotImplementedError

    async def remember_conversation(
        self, *, platform: Platform, workspace_external_id: str, user_id: str, conversation_ref: str
    ) -> None:
        """Store where to DM a user (Slack IM channel id, Teams conversation reference JSON)."""
        raise NotImplementedError

    async def command(self, caller: Caller, text: str) -> Reply:
        """Run one command of the grammar (``ask …``, ``help``, …)."""
        raise NotImplementedError

    async def action(self, caller: Caller, *, action: str, value: str, text: str = "") -> Reply:
        """Handle a button click: ``action`` is Action.id (``ask.approve``), ``value`` Action.value,
        ``text`` what the user typed into the action's input (rationale, question, comment)."""
        raise NotImplementedError

    async def form(self, caller: Caller, form_id: str) -> Form:
        """The form for ``ask``/``blocker``/``update`` with choices filled for this caller."""
        raise NotImplementedError

    async def submit_form(self, caller: Caller, *, form_id: str, values: Mapping[str, str]) -> Reply:
        """Run the command a submitted form stands for."""
        raise NotImplementedError

    async def anchor_thread(
        self, *, key: str, workspace_id: int, channel_id: str, root_id: str
    ) -> None:
        """Record where a thread's root landed (called by a sender after posting a message whose
        ``anchors_thread`` is set), so later replies go into it."""
        raise NotImplementedError
