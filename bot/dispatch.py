"""The one entry point of the core for every adapter: text, clicks and forms in; replies out.

Each request runs in one unit of work bound to the caller's organization (bot.tenancy), so no
handler can read or write another organization's rows: the service validates, changes state,
writes audit events and outbound messages (outbox) and commits; a LeaderbotError rolls
everything back and becomes a one-line reply with a usage hint. Nothing else ever reaches the
user: an unexpected exception is logged and answered with an apology.
"""

from __future__ import annotations

import asyncio
import logging
import re
import weakref
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import TypeVar

from bot import commands as c
from bot.calendar import local_date, valid_timezone
from bot.context import CALLERS_CHANGED, Caller, Profile, Reply
from bot.declarations import run_command
from bot.errors import Conflict, LeaderbotError, NotFound, UsageError
from bot.forms import Form
from bot.grammar import parse
from bot.handlers import projects
from bot.handlers.actions import ACTIONS, PRECHECKS
from bot.handlers.context import Ctx
from bot.handlers.forms import command_from_form, form_for
from bot.links import Links, UnsignedLinks, personal
from bot.messages import Message, text
from bot.model import Platform, Thread, Workspace
from bot.ports import Clock, Outcome, RequestObserver, UnitOfWork, UnitOfWorkFactory
from bot.services import asks, cards, inbox
from bot.services import org as org_service
from bot.services import people as people_service
from bot.tenancy import bound

log = logging.getLogger(__name__)

IDENTIFY_ATTEMPTS = 5
"""Tries of a first-seen user's get-or-create before its Conflict is a bug: each lost race
means another request created the identity, which the next try reads."""
CROSSING: frozenset[type] = frozenset({c.OrgJoinCmd})
"""Commands that act across organizations and so run outside the tenancy boundary: ``org join``
reads the inviting organization's code and moves the caller's workspace into it (its handler
refuses anyone but the joining organization's admin)."""

KNOWN_CALLERS = 50_000
"""Identified callers kept in memory at most (a few MB), then the cache starts again."""

ALREADY_HANDLED = (
    "I had already received this exact request and handled it, so I did nothing this time. "
    "Nothing was changed."
)
"""The answer to a delivery already processed (a platform's retry, a double submit)."""

T = TypeVar("T")

SORRY = (
    "Sorry — something went wrong on my side and nothing was changed. "
    "Please try again; if it keeps happening, tell your Leaderbot admin."
)


@dataclass(frozen=True, kw_only=True)
class CoreSettings:
    link_base: str = "http://127.0.0.1:3978"
    """Public base URL of the server: links to full items and the dashboard."""
    max_text: int = 2000
    """Longest ask/blocker/update text accepted; longer gets a clear refusal."""
    links: Links | None = None
    """Personal, signed dashboard links (the server signs with its key); None where nothing
    can sign, e.g. a CLI process whose key the server does not share: plain links then."""


class Core:
    """Platform-neutral request handling (see module docstring)."""

    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        clock: Clock,
        settings: CoreSettings | None = None,
        observer: RequestObserver | None = None,
    ) -> None:
        self.uow = uow
        self.clock = clock
        self.settings = settings or CoreSettings()
        self.observer = observer
        """Told how each request ended (the server's metrics); None counts nothing."""
        self._known: dict[tuple[Platform, str, str], Caller] = {}
        """Callers already identified, so every request after a user's first skips a database
        round trip on the ack path. An identity moves to another person or organization only
        by ``me link`` or ``org join``: this process then forgets them all, and a process that
        did not run the command finds out in the request's own unit of work (:class:`_Stale`)."""
        self._identifying: weakref.WeakValueDictionary[tuple[Platform, str, str], asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )
        """One lock per user being identified, alive while a request holds it."""

    async def configured_workspace(
        self, *, platform: Platform, external_id: str, name: str = "", join_sole: bool = True
    ) -> Workspace:
        """The workspace the server's configuration names (the single Slack token's team, a
        Teams tenant), joining an organization by the fresh-install rule of
        :func:`bot.services.people.configured_workspace` when it is new."""
        async with self.uow() as uow:
            workspace = await people_service.configured_workspace(
                uow,
                platform=platform,
                external_id=external_id,
                name=name,
                now=self.clock.now(),
                join_sole=join_sole,
            )
            await uow.commit()
            return workspace

    async def install_workspace(
        self,
        *,
        platform: Platform,
        external_id: str,
        name: str,
        installer_id: str,
        installer: Profile,
        invitation: str = "",
    ) -> people_service.Installation:
        """An installation (Slack OAuth): a new workspace founds its own organization with the
        installer as its admin, who is greeted with the set-up steps; made with a partner's
        ``invitation`` code, it joins the inviting organization instead
        (:func:`bot.services.org.install`)."""
        async with self.uow() as uow:
            installed = await org_service.install(
                uow,
                platform=platform,
                external_id=external_id,
                name=name,
                installer_id=installer_id,
                installer=installer,
                code=invitation,
                now=self.clock.now(),
            )
            await uow.commit()
            return installed

    async def inviting(self, invitation: str) -> str | None:
        """The name of the organization a partner's invitation code joins, while it is usable."""
        async with self.uow() as uow:
            found = await org_service.inviting(uow, code=invitation, now=self.clock.now())
            return found.name if found else None

    async def identify(
        self,
        *,
        platform: Platform,
        workspace_external_id: str,
        user_id: str,
        profile: Profile | None = None,
    ) -> Caller | None:
        """Map a platform user to a Caller. A user seen for the first time gets an identity:
        matched to a person of the workspace's organization by email, else a new person from
        ``profile``. Returns None when the workspace is not linked to any organization (nothing
        is written), or when the user is unknown and no profile was given (the adapter then
        fetches one and calls again).

        Get-or-create: two first requests of one user at once both find no identity and both
        create one. In one process they take turns (a lock per user), so the later ones find
        the first one's identity; across processes the unique (workspace, user) constraint makes
        one lose with ``Conflict``, and the loser reads the winner's identity instead."""
        key = (platform, workspace_external_id, user_id)
        known = self._known.get(key)
        if known is not None:
            return known
        lock = self._identifying.setdefault(key, asyncio.Lock())
        async with lock:  # this process's other first requests of the user wait for this one
            known = self._known.get(key)
            if known is not None:
                return known
            for attempt in range(IDENTIFY_ATTEMPTS):
                try:
                    caller = await self._identify(
                        platform=platform,
                        workspace_external_id=workspace_external_id,
                        user_id=user_id,
                        profile=profile,
                    )
                    break
                except Conflict:  # another process created it first (or took the handle)
                    if attempt + 1 == IDENTIFY_ATTEMPTS:
                        raise
            if caller is not None:
                self._remember_caller(key, caller)
            return caller

    async def _identify(
        self,
        *,
        platform: Platform,
        workspace_external_id: str,
        user_id: str,
        profile: Profile | None,
    ) -> Caller | None:
        async with self.uow() as uow:
            workspace = await uow.workspaces.first(
                platform=platform, external_id=workspace_external_id
            )
            if workspace is None:
                return None
            person = await people_service.identify(
                uow, workspace=workspace, user_id=user_id, profile=profile, now=self.clock.now()
            )
            identity = await uow.identities.first(workspace_id=workspace.id, user_id=user_id)
            await uow.commit()
        if person is None:
            return None
        return people_service.caller_of(
            person,
            platform=platform,
            workspace_id=workspace.id,
            reported_timezone=identity.reported_timezone if identity else "",
        )

    def _remember_caller(self, key: tuple[Platform, str, str], caller: Caller) -> None:
        if len(self._known) >= KNOWN_CALLERS:
            self._known.clear()
        self._known[key] = caller

    async def report_timezone(
        self, caller: Caller, *, workspace_external_id: str, user_id: str, timezone: str
    ) -> Caller:
        """The platform reports ``timezone`` for the caller (Teams' ``localTimezone``): taken
        by the rule of :func:`bot.services.people.report_timezone`; the caller as it now is.
        An adapter calls this only when the zone differs from ``caller.reported_timezone``."""
        if caller.workspace_id is None or not valid_timezone(timezone):
            return caller
        async with self.uow() as uow:
            person = await people_service.report_timezone(
                uow, workspace_id=caller.workspace_id, user_id=user_id, timezone=timezone
            )
            await uow.commit()
        if person is None:
            return caller
        updated = replace(
            caller, timezone=person.timezone, reported_timezone=timezone, channel_id=None
        )
        self._remember_caller((caller.platform, workspace_external_id, user_id), updated)
        return replace(updated, channel_id=caller.channel_id)

    async def caller_for_handle(self, handle: str, *, platform: Platform) -> Caller | None:
        """The person with this handle: the console's and the CLI's way in, where there is no
        chat identity to verify. The person whose console identity has that name (the demo
        organization's people) comes first, else the first organization's with that handle."""
        handle = handle.lstrip("@").lower()
        async with self.uow() as uow:
            console = await uow.identities.first(
                platform=Platform.CONSOLE, user_id=handle, order_by="id"
            )
            person = (
                await uow.people.get(console.person_id)
                if console is not None
                else await uow.people.first(handle=handle, order_by="id")
            )
        if person is None:
            return None
        return people_service.caller_of(person, platform=platform, workspace_id=None)

    async def remember_conversation(
        self, *, platform: Platform, workspace_external_id: str, user_id: str, conversation_ref: str
    ) -> None:
        """Store where to DM a user (Slack IM channel id, Teams conversation reference JSON)."""
        async with self.uow() as uow:
            workspace = await uow.workspaces.first(
                platform=platform, external_id=workspace_external_id
            )
            if workspace is not None and await people_service.remember_conversation(
                uow, workspace=workspace, user_id=user_id, conversation_ref=conversation_ref
            ):
                await uow.commit()

    async def remember_channel(
        self,
        *,
        platform: Platform,
        workspace_external_id: str,
        channel_id: str,
        conversation_ref: str,
    ) -> None:
        """Store how to post proactively into a project's home channel (Teams needs the channel's
        conversation reference; the adapter passes it on every message seen in that channel)."""
        async with self.uow() as uow:
            workspace = await uow.workspaces.first(
                platform=platform, external_id=workspace_external_id
            )
            if workspace is None:
                return
            changed = False
            for channel in await uow.channels.find(
                workspace_id=workspace.id, channel_id=channel_id
            ):
                if channel.conversation_ref != conversation_ref:
                    channel.conversation_ref = conversation_ref
                    await uow.channels.save(channel)
                    changed = True
            if changed:
                await uow.commit()

    async def command(self, caller: Caller, text: str, *, delivery: str | None = None) -> Reply:
        """Run one command of the grammar (``ask …``, ``help``, …). ``delivery``: the platform's
        key for this request (see :meth:`_run`)."""

        try:
            command = parse(
                text,
                today=local_date(self.clock.now(), caller.timezone),
                max_text=self.settings.max_text,
            )
        except LeaderbotError as error:
            return self._done(caller, "unknown", Outcome.REFUSED, _refusal(error))

        async def run(ctx: Ctx) -> Reply:
            return await run_command(ctx, command)

        reply = await self._run(
            caller, run, delivery, crossing=type(command) in CROSSING, kind=command_kind(command)
        )
        if CALLERS_CHANGED in reply.changed:
            self._known.clear()
        return reply

    async def action(
        self,
        caller: Caller,
        *,
        action: str,
        value: str,
        text: str = "",
        delivery: str | None = None,
    ) -> Reply:
        """Handle a button click: ``action`` is Action.id (``ask.approve``), ``value`` Action.value,
        ``text`` what the user typed into the action's input (rationale, question, comment)."""
        handler = ACTIONS.get(action)
        if handler is None:
            refusal = _refusal(UsageError("That button is no longer supported."))
            return self._done(caller, "unknown", Outcome.REFUSED, refusal)

        async def run(ctx: Ctx) -> Reply:
            return await handler(ctx, value, text)

        return await self._run(caller, run, delivery, kind=action)

    async def refusal(self, caller: Caller, *, action: str, value: str) -> Reply | None:
        """The refusal a click on ``action`` would get, or None when the caller may go on: an
        adapter asks this before it opens the action's input (a modal), so only someone who
        may act is asked for a rationale. Reads only."""
        check = PRECHECKS.get(action)
        if check is None:
            return None

        async def run(ctx: Ctx) -> Reply:
            await check(ctx, value)
            return Reply()

        reply = await self._run(caller, run, kind=f"{action}.check")
        return None if reply.ok else reply

    async def card(self, caller: Caller, *, item: str) -> Reply:
        """The card of ``item`` (``ask:12``) as the caller should see it now — with the
        buttons that apply to them — as the replacement; what a platform shows a reader when
        it refreshes a card for them (Teams' Universal Actions ``refresh``). Reads only."""
        found = cards.item_of(f"{item}:")
        if found is None:
            return _refusal(UsageError("That card refers to an item I can't read."))
        kind, item_id = found

        async def run(ctx: Ctx) -> Reply:
            card = await cards.card_for(
                ctx.uow,
                kind=kind,
                item_id=item_id,
                reader=ctx.person,
                now=ctx.now,
                link_base=ctx.link_base,
            )
            return Reply(replacement=card)

        return await self._run(caller, run, kind="card")

    async def actors(self, *, organization_id: int, key: str) -> list[int]:
        """Who may act now on the item a message (by its ``key``) is about; none when it is
        not an ask or a blocker, or is closed. Reads only."""
        found = cards.item_of(key)
        if found is None:
            return []
        async with bound(self.uow(), organization_id) as uow:
            return await cards.actors(uow, kind=found[0], item_id=found[1], now=self.clock.now())

    async def form(self, caller: Caller, form_id: str) -> Form:
        """The form for ``ask``/``blocker``/``update`` with choices filled for this caller, as
        they now are (:meth:`_as_now`). Raises NotFound when the caller is no longer known."""

        async def build(ctx: Ctx) -> Form:
            return await form_for(
                ctx.uow, caller=ctx.caller, form_id=form_id, max_text=ctx.max_text
            )

        return await self._as_now(caller, build)

    async def submit_form(
        self,
        caller: Caller,
        *,
        form_id: str,
        values: Mapping[str, str],
        delivery: str | None = None,
    ) -> Reply:
        """Run the command a submitted form stands for."""

        async def run(ctx: Ctx) -> Reply:
            command = command_from_form(
                form_id, values, today=ctx.today, max_text=self.settings.max_text
            )
            return await run_command(ctx, command)

        return await self._run(caller, run, delivery, kind="form")

    async def anchor_thread(
        self, *, key: str, workspace_id: int, channel_id: str, root_id: str
    ) -> None:
        """Record where a thread's root landed (called by a sender after posting a message whose
        ``anchors_thread`` is set), so later replies go into it."""
        async with self.uow() as uow:
            if not await uow.threads.first(
                key=key, workspace_id=workspace_id, channel_id=channel_id
            ):
                await uow.threads.add(
                    Thread(
                        key=key, workspace_id=workspace_id, channel_id=channel_id, root_id=root_id
                    )
                )
                await uow.commit()

    async def home(self, caller: Caller) -> tuple[tuple[Message, ...], tuple[Message, ...]]:
        """What a home screen shows (Slack App Home): what waits on the caller, and one status
        card per project they have a role or RACI letter on — both read in one request, so
        both are of the organization the caller is in now."""
        waiting = 0

        async def run(ctx: Ctx) -> Reply:
            nonlocal waiting
            asked = await run_command(ctx, c.AsksCmd())
            waiting = len(asked.messages)
            cards = [
                await projects.status_message(ctx, project)
                for project in await projects.projects_of(ctx)
            ]
            return replace(asked, messages=(*asked.messages, *cards))

        shown = await self._run(caller, run, kind="home")
        if not shown.ok:
            return shown.messages, ()
        return shown.messages[:waiting], shown.messages[waiting:]

    async def inbox(self, caller: Caller, *, channels: bool = False) -> list[tuple[str, Message]]:
        """Console messages now due for this person (``you``) and, with ``channels``, for their
        project channels; those of the organization they are in now (:meth:`_as_now`)."""

        async def take(ctx: Ctx) -> list[tuple[str, Message]]:
            await asks.announce_pending(ctx.uow, now=ctx.now, link_base=ctx.link_base)
            taken = await inbox.take(
                ctx.uow, person_id=ctx.person.id, now=ctx.now, channels=channels
            )
            await ctx.uow.commit()
            return taken

        return await self._as_now(caller, take)

    async def _run(
        self,
        caller: Caller,
        body: Callable[[Ctx], Awaitable[Reply]],
        delivery: str | None = None,
        *,
        crossing: bool = False,
        kind: str,
    ) -> Reply:
        """One request, one transaction: commit on success; on a user error roll back and
        answer with its sentence; on a bug roll back, log, and apologise.

        ``delivery`` (a platform's event id, trigger id or activity id) is recorded in the same
        transaction: a retry or replay of a request that committed is answered without running
        it again, and one whose first delivery changed nothing (never arrived, failed, was
        refused) runs as if it were the first. ``crossing``: the command is one of
        :data:`CROSSING`, whose handler itself checks who may cross organizations. ``kind``
        names the request for the observer."""

        async def attempt(ctx: Ctx) -> Reply:
            if delivery is not None and not await ctx.uow.inbound.record(delivery, at=ctx.now):
                log.info("delivery %s already handled: not run again", delivery)
                return Reply(messages=(text(ALREADY_HANDLED),), ok=False, repeated=True)
            reply = await body(ctx)
            await ctx.uow.commit()
            return _personal(reply, ctx)

        try:
            reply = await self._as_now(caller, attempt, crossing=crossing)
        except LeaderbotError as error:
            return self._done(caller, kind, Outcome.REFUSED, _refusal(error))
        except Exception:
            log.exception(
                "request failed: platform=%s person=%s", caller.platform, caller.person_id
            )
            return self._done(caller, kind, Outcome.ERROR, Reply(messages=(text(SORRY),), ok=False))
        outcome = (
            Outcome.REPEATED if reply.repeated else Outcome.OK if reply.ok else Outcome.REFUSED
        )
        return self._done(caller, kind, outcome, reply)

    async def _as_now(
        self, caller: Caller, body: Callable[[Ctx], Awaitable[T]], *, crossing: bool = False
    ) -> T:
        """``body`` in one unit of work bound to the caller's organization (unbound when
        ``crossing``), for the caller as they are now: one identified before another process
        ran ``me link`` or ``org join`` (:class:`_Stale`) is identified again and ``body`` runs
        for who they have become, never in the organization they left. The one path every
        request reading as its caller takes; ``body`` commits what it changes. Raises
        NotFound when the caller no longer resolves to anyone."""
        try:
            async with self.uow() if crossing else self._bound(caller) as uow:
                return await body(await self._context(uow, caller))
        except _Stale:
            fresh = await self._identify_again(caller)
            if fresh is None:
                raise NotFound(UNKNOWN) from None
        return await self._as_now(fresh, body, crossing=crossing)

    def _done(self, caller: Caller, kind: str, outcome: Outcome, reply: Reply) -> Reply:
        """Tell the observer how the request ended; returns ``reply``."""
        if self.observer is not None:
            self.observer.request_done(platform=caller.platform, kind=kind, outcome=outcome)
        return reply

    async def _identify_again(self, caller: Caller) -> Caller | None:
        """The caller as their identity now is, after another process moved it (``me link``,
        ``org join``); None when it was not a cached chat identity or it no longer resolves to
        someone else. Its cached entry is dropped either way."""
        cached = replace(caller, channel_id=None, shared=False)
        key = next((k for k, known in self._known.items() if known == cached), None)
        if key is None:
            return None
        del self._known[key]
        platform, workspace, user = key
        fresh = await self.identify(
            platform=platform, workspace_external_id=workspace, user_id=user
        )
        if fresh is None or fresh == cached:
            return None
        return replace(fresh, channel_id=caller.channel_id)

    def _bound(self, caller: Caller) -> UnitOfWork:
        """The request's unit of work, bound to the caller's organization: the one place the
        tenancy boundary is drawn for requests (bot.tenancy)."""
        return bound(self.uow(), caller.organization_id)

    async def _context(self, uow: UnitOfWork, caller: Caller) -> Ctx:
        person = await uow.people.get(caller.person_id)
        if person is None or person.organization_id != caller.organization_id:
            raise _Stale
        return Ctx(
            uow=uow,
            caller=caller,
            person=person,
            now=self.clock.now(),
            link_base=self.settings.link_base,
            links=self.settings.links or UnsignedLinks(self.settings.link_base),
            max_text=self.settings.max_text,
        )


def _personal(reply: Reply, ctx: Ctx) -> Reply:
    """The reply with its item links signed for the caller, its one reader; left plain when
    others read it too (``Caller.shared``: the page then says how to get a personal link)."""
    if ctx.caller.shared:
        return reply
    replacement = reply.replacement
    return replace(
        reply,
        messages=tuple(personal(m, ctx.person, ctx.links) for m in reply.messages),
        replacement=personal(replacement, ctx.person, ctx.links) if replacement else None,
    )


UNKNOWN = "I don't know you yet. Ask your Leaderbot admin to add you."


class _Stale(Exception):
    """The caller's person is gone or in another organization: the caller was identified
    before another process ran ``me link`` or ``org join`` (the request's unit of work, read
    anyway, is the cheap place to notice). :meth:`Core._as_now` identifies them again."""


def command_kind(command: object) -> str:
    """A command's name for counting: ``AskCmd`` → ``ask``, ``KpiAddCmd`` → ``kpi.add``."""
    name = type(command).__name__.removesuffix("Cmd")
    return re.sub(r"(?<!^)(?=[A-Z])", ".", name).lower()


def _refusal(error: LeaderbotError) -> Reply:
    lines = [error.message] + ([error.hint] if error.hint else [])
    return Reply(messages=(text(*lines),), ok=False)
