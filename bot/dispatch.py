"""The one entry point of the core for every adapter: :meth:`Core.handle` of an
:class:`bot.inbound.Inbound` — text, a click or a form in; a reply out.

Each request runs in one unit of work: the caller and the people it names are identified
(across organizations, as a workspace's platform id names its organization), then the request
runs bound to the caller's organization (bot.tenancy), so no handler can read or write another
organization's rows: the service validates, changes state, writes audit events and outbound
messages (outbox), and the unit commits once. A LeaderbotError rolls everything back and becomes
a one-line reply with a usage hint. Nothing else ever reaches the user: an unexpected exception
is logged and answered with an apology.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Generic, TypeVar

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
from bot.inbound import (
    CheckClick,
    Click,
    Handled,
    Hello,
    HomeScreen,
    Inbound,
    NeedProfiles,
    OpenForm,
    RefreshCard,
    Request,
    ShowHome,
    Submit,
    Text,
    mentioned,
    with_handles,
)
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
"""Tries of a request whose identification loses a race (another process created the identity,
which the next try reads) or whose caller turns out stale, before either is a bug."""
LOST_PAUSE_S = 0.01
"""The pause before the next try after a lost race, times the tries so far: the winner's write
may not be committed yet (SQLite's group commit keeps its batch open while units wait for the
writer, the loser's next try among them), and a try at once would read the same absence."""
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
        self._known: dict[_Key, Caller] = {}
        """Callers already identified, so every request after a user's first skips a database
        round trip on the ack path. An identity moves to another person or organization only
        by ``me link`` or ``org join``: this process then forgets them all, and a process that
        did not run the command finds out in the request's own unit of work (:class:`_Stale`)."""
        self._identifying: weakref.WeakValueDictionary[_Key, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )
        """One lock per user being identified, alive while a request holds it."""

    async def configured_workspace(
        self, *, platform: Platform, external_id: str, name: str = "", join_sole: bool = True
    ) -> Workspace:
        """The workspace the server's configuration names (the single Slack token's team, a
        Teams tenant), joining an organization by the fresh-install rule of
        :func:`bot.services.people.configured_workspace` when it is new (once more when
        another process linked it at the same moment: then it is found)."""
        try:
            return await self._configure(platform, external_id, name, join_sole)
        except Conflict:  # another unit linked it at that moment: once committed, this finds it
            await asyncio.sleep(LOST_PAUSE_S)
            return await self._configure(platform, external_id, name, join_sole)

    async def _configure(
        self, platform: Platform, external_id: str, name: str, join_sole: bool
    ) -> Workspace:
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

    async def handle(self, inbound: Inbound) -> Handled:
        """Answer one user's request, in one unit of work: identify the caller and the users
        the request mentions or picks (get-or-create, :func:`bot.services.people.identify`),
        store what the adapter asks to remember (where to DM the caller, how to post into the
        channel, the zone the platform reports) when it changed, record the delivery key, run
        the request bound to the caller's organization (bot.tenancy), and commit once.

        Identification is cross-organization by nature (a workspace's platform id names the
        organization), so it reads and writes through the plain unit of work; the request
        itself sees the caller's organization only (``org join`` excepted: :data:`CROSSING`).

        Answers :class:`NeedProfiles`, having written nothing, when a user to identify is new
        and ``inbound.profiles`` has no profile of them; the adapter fetches them and calls
        again. Never raises: a refusal is a reply, a bug is logged and apologised for.

        Get-or-create: two first requests of one user at once both find no identity and both
        create one. In one process they take turns (a lock per user being identified), so the
        later ones find the first one's identity; across processes the unique (workspace, user)
        constraint makes one lose with ``Conflict``, and the loser runs again, reading the
        winner's identity instead."""
        who = _Who(caller=inbound.caller) if inbound.caller else _Who(inbound=inbound)
        return await self._serve(inbound.request, who, inbound.delivery)

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

    async def inbox(self, caller: Caller, *, channels: bool = False) -> list[tuple[str, Message]]:
        """Console messages now due for this person (``you``) and, with ``channels``, for their
        project channels; those of the organization they are in now."""

        async def take(ctx: Ctx) -> list[tuple[str, Message]]:
            await asks.announce_pending(ctx.uow, now=ctx.now, link_base=ctx.link_base)
            return await inbox.take(
                ctx.uow, person_id=ctx.person.id, now=ctx.now, channels=channels
            )

        taken = await self._attempt(_Who(caller=caller), _always(_Plan("inbox", take)), _Turn())
        assert not isinstance(taken, NeedProfiles)  # a caller given is never new
        return taken

    async def actors(self, *, organization_id: int, key: str) -> list[int]:
        """Who may act now on the item a message (by its ``key``) is about; none when it is
        not an ask or a blocker, or is closed. Reads only."""
        found = cards.item_of(key)
        if found is None:
            return []
        async with bound(self.uow(), organization_id) as uow:
            return await cards.actors(uow, kind=found[0], item_id=found[1], now=self.clock.now())

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

    # -- a caller already identified: the wrappers the core's own tests and the CLI use --------

    async def identify(
        self,
        *,
        platform: Platform,
        workspace_external_id: str,
        user_id: str,
        profile: Profile | None = None,
    ) -> Caller | None:
        """The Caller of a platform user, identified as :meth:`handle` identifies one; None
        when the workspace is linked to no organization, or the user is new and no
        ``profile`` was given (nothing is written then)."""
        key = (platform, workspace_external_id, user_id)
        known = self._known.get(key)
        if known is not None:
            return known
        who = _Who(
            inbound=Inbound(
                platform=platform,
                workspace=workspace_external_id,
                user_id=user_id,
                request=ShowHome(),
                profiles={user_id: profile} if profile is not None else {},
            )
        )

        async def caller(ctx: Ctx) -> Caller:
            return replace(ctx.caller, channel_id=None, shared=False)

        try:
            found = await self._attempt(who, _always(_Plan("identify", caller)), _Turn())
        except NotFound:  # the workspace is linked to no organization
            return None
        return None if isinstance(found, NeedProfiles) else found

    async def command(self, caller: Caller, text: str, *, delivery: str | None = None) -> Reply:
        """:meth:`handle` of a command typed by ``caller``."""
        return _reply(await self._serve(Text(text=text), _Who(caller=caller), delivery))

    async def action(
        self,
        caller: Caller,
        *,
        action: str,
        value: str,
        text: str = "",
        delivery: str | None = None,
    ) -> Reply:
        """:meth:`handle` of a click by ``caller`` (see :class:`bot.inbound.Click`)."""
        click = Click(action=action, value=value, text=text)
        return _reply(await self._serve(click, _Who(caller=caller), delivery))

    async def refusal(self, caller: Caller, *, action: str, value: str) -> Reply | None:
        """The refusal a click on ``action`` would get, or None when the caller may go on."""
        checked = _reply(
            await self._serve(CheckClick(action=action, value=value), _Who(caller=caller), None)
        )
        return None if checked.ok else checked

    async def card(self, caller: Caller, *, item: str) -> Reply:
        """The card of ``item`` as ``caller`` should see it now (:class:`RefreshCard`)."""
        return _reply(await self._serve(RefreshCard(item=item), _Who(caller=caller), None))

    async def form(self, caller: Caller, form_id: str) -> Form:
        """The form ``form_id`` with its choices filled for ``caller``, as they now are. Raises
        the refusal (NotFound when the caller is no longer known)."""
        reply = _reply(await self._serve(OpenForm(form_id=form_id), _Who(caller=caller), None))
        if reply.form is None:
            raise LeaderbotError(_said(reply.messages))
        return reply.form

    async def submit_form(
        self,
        caller: Caller,
        *,
        form_id: str,
        values: Mapping[str, str],
        delivery: str | None = None,
    ) -> Reply:
        """:meth:`handle` of a form ``caller`` submitted (people in ``values`` as handles)."""
        submitted = Submit(form_id=form_id, values=values)
        return _reply(await self._serve(submitted, _Who(caller=caller), delivery))

    async def home(self, caller: Caller) -> tuple[tuple[Message, ...], tuple[Message, ...]]:
        """:meth:`handle` of ``caller``'s home screen: (what waits on them, project cards)."""
        shown = await self._serve(ShowHome(), _Who(caller=caller), None)
        assert isinstance(shown, HomeScreen)
        return shown.waiting, shown.projects

    # -- the one path of every request ---------------------------------------------------------

    async def _serve(self, request: Request, who: _Who, delivery: str | None) -> Handled:
        """``request`` for ``who``, its outcome told to the observer (see :meth:`handle`)."""
        turn = _Turn()
        home = who.inbound is not None and who.inbound.home and isinstance(request, Click | Submit)

        def plan(caller: Caller, handles: Mapping[str, str]) -> _Plan[Reply]:
            planned = self._plan(request, caller, handles, delivery, turn)
            return self._then_home(planned, turn) if home else planned

        try:
            found = await self._attempt(who, plan, turn)
        except LeaderbotError as error:
            if turn.wrote and who.inbound is not None:
                await self._keep(who)
            found = self._done(who, turn.kind, Outcome.REFUSED, _refusal(error))
        except Exception:
            log.exception("request failed: platform=%s kind=%s", who.platform, turn.kind)
            found = self._done(
                who, turn.kind, Outcome.ERROR, Reply(messages=(text(SORRY),), ok=False)
            )
        else:
            if isinstance(found, NeedProfiles):
                return found
            outcome = (
                Outcome.REPEATED if found.repeated else Outcome.OK if found.ok else Outcome.REFUSED
            )
            self._done(who, turn.kind, outcome, found)
        if isinstance(request, ShowHome):
            return _screen(found, turn)
        if turn.home is not None:
            return replace(_screen(turn.home, turn), reply=found)
        return found

    async def _keep(self, who: _Who) -> None:
        """After a refusal, what identification wrote in the rolled-back unit of work, again
        on its own (a new user's identity, a DM channel): the next request needs no profile."""

        async def nothing(ctx: Ctx) -> None:
            return None

        try:
            await self._attempt(who, _always(_Plan("identify", nothing)), _Turn())
        except Exception:  # the refusal is still the answer; identifying is retried next time
            log.exception("keeping identities after a refusal failed")

    async def _attempt(
        self,
        who: _Who,
        plan: Callable[[Caller, Mapping[str, str]], _Plan[T]],
        turn: _Turn,
    ) -> T | NeedProfiles:
        """:meth:`_once`, again while identification loses a race to another process, or the
        caller turns out stale: one identified before another process ran ``me link`` or
        ``org join`` (:class:`_Stale`) is identified again and the request runs for who they
        have become, never in the organization they left."""
        for attempt in range(IDENTIFY_ATTEMPTS):
            try:
                found = await self._once(who, plan, turn)
            except _Lost:  # another unit created the identity (or workspace) first: read it
                if attempt + 1 == IDENTIFY_ATTEMPTS:
                    raise Conflict("Someone else was being added at the same moment.") from None
                await asyncio.sleep(LOST_PAUSE_S * (attempt + 1))
            except _Stale:
                who = self._forget(who, turn)
            else:
                if isinstance(found, NeedProfiles) and who.given:
                    assert who.inbound is not None
                    if who.inbound.user_id in found.user_ids:
                        break  # the stale caller's identity is gone: nobody to answer as
                return found
        raise NotFound(UNKNOWN)

    async def _once(
        self,
        who: _Who,
        plan_for: Callable[[Caller, Mapping[str, str]], _Plan[T]],
        turn: _Turn,
    ) -> T | NeedProfiles:
        """One unit of work: identify, remember, run bound, commit; then cache who it saw."""
        turn.reset()
        async with self._turns(who), self.uow() as uow:
            identified = await self._identified(uow, who, turn)
            if isinstance(identified, NeedProfiles):
                return identified  # nothing written: leaving without commit rolls back
            caller, handles = identified
            plan = plan_for(caller, handles)
            turn.kind = plan.kind
            ctx = await self._context(
                uow if plan.crossing else bound(uow, caller.organization_id), caller
            )
            result = await plan.run(ctx)
            await uow.commit()
        for key, seen in turn.seen.items():
            self._remember_caller(key, seen)
        if isinstance(result, Reply) and CALLERS_CHANGED in result.changed:
            self._known.clear()
        return result

    @contextlib.asynccontextmanager
    async def _turns(self, who: _Who) -> AsyncIterator[None]:
        """Hold the lock of each user ``who`` names that this process has not identified yet,
        so its other first requests of them wait and then find the identity (in one order,
        so two requests naming the same newcomers never wait on each other)."""
        async with contextlib.AsyncExitStack() as held:
            for key in sorted(k for k in who.users() if k not in self._known):
                await held.enter_async_context(self._identifying.setdefault(key, asyncio.Lock()))
            yield

    async def _identified(
        self, uow: UnitOfWork, who: _Who, turn: _Turn
    ) -> tuple[Caller, dict[str, str]] | NeedProfiles:
        """The caller (where the request was made) and each user it names' handle, by user
        id; what the inbound value asks to remember stored when it changed."""
        if who.caller is not None:
            turn.cached = True
            return who.caller, {}
        inbound = who.inbound
        assert inbound is not None
        callers: dict[str, Caller] = {}
        new: list[str] = []
        workspace: Workspace | None = None
        # The workspace is not linked yet and the configuration serves it: nobody in it is
        # known, and it is linked below, once every profile is at hand.
        unlinked = False
        for user_id in who.user_ids():
            key = (inbound.platform, inbound.workspace, user_id)
            cached = self._known.get(key)
            if cached is not None:
                aliased = await self._aliased(uow, cached, user_id, inbound, turn)
                if aliased is not cached:
                    turn.seen[key] = aliased
                callers[user_id] = aliased
                continue
            if workspace is None and not unlinked:
                workspace = await uow.workspaces.first(
                    platform=inbound.platform, external_id=inbound.workspace
                )
                unlinked = workspace is None
                if unlinked and inbound.configured is None:
                    raise NotFound(UNLINKED)
            found = None
            if workspace is not None:
                found = await _read_caller(uow, workspace, user_id=user_id)
                if found is None and user_id != inbound.user_id:
                    # A mention may name someone by their other platform id (Identity.alias).
                    found = await _read_caller(uow, workspace, alias=user_id)
            if found is None:
                new.append(user_id)
            else:
                found = await self._aliased(uow, found, user_id, inbound, turn)
                callers[user_id] = turn.seen[key] = found
        turn.cached = inbound.user_id not in new and (
            (inbound.platform, inbound.workspace, inbound.user_id) not in turn.seen
        )
        needed = tuple(user_id for user_id in new if user_id not in inbound.profiles)
        if needed:
            return NeedProfiles(user_ids=needed)
        if unlinked:
            workspace = await self._link(uow, inbound, turn)
        for user_id in new:
            assert workspace is not None
            callers[user_id] = await self._create(uow, workspace, user_id, inbound, turn)
        caller = await self._remembered(uow, callers[inbound.user_id], inbound, turn)
        callers[inbound.user_id] = caller
        here = replace(caller, channel_id=inbound.channel_id, shared=inbound.shared)
        return here, {user_id: found.handle for user_id, found in callers.items()}

    async def _link(self, uow: UnitOfWork, inbound: Inbound, turn: _Turn) -> Workspace:
        """The workspace the configuration serves (``Inbound.configured``), linked in the
        request's own unit of work: a fresh process's first request from a known tenant costs
        no unit of its own, and a new tenant's first user is linked with their identity."""
        assert inbound.configured is not None
        try:
            workspace = await people_service.configured_workspace(
                uow,
                platform=inbound.platform,
                external_id=inbound.workspace,
                name="",
                now=self.clock.now(),
                join_sole=inbound.configured.join_sole,
            )
        except Conflict:  # another process linked it first: the next try finds it
            raise _Lost from None
        turn.wrote = True
        return workspace

    async def _create(
        self, uow: UnitOfWork, workspace: Workspace, user_id: str, inbound: Inbound, turn: _Turn
    ) -> Caller:
        """A new user's identity (and person, unless matched by email), from their profile."""
        profile = inbound.profiles[user_id]
        if user_id == inbound.user_id and inbound.alias:
            profile = replace(profile, alias=inbound.alias)
        try:
            person = await people_service.identify(
                uow, workspace=workspace, user_id=user_id, profile=profile, now=self.clock.now()
            )
        except Conflict:  # another process created it first (or took the handle)
            raise _Lost from None
        assert person is not None  # a profile was given
        turn.wrote = True
        caller = people_service.caller_of(
            person,
            platform=inbound.platform,
            workspace_id=workspace.id,
            alias=profile.alias,
        )
        turn.seen[(inbound.platform, inbound.workspace, user_id)] = caller
        return caller

    async def _aliased(
        self, uow: UnitOfWork, caller: Caller, user_id: str, inbound: Inbound, turn: _Turn
    ) -> Caller:
        """``caller`` (of ``user_id``) after storing the alias the platform gave for them —
        the caller's own (``Inbound.alias``), or one in a profile fetched for someone known
        who has none stored yet — where it differs."""
        profile = inbound.profiles.get(user_id)
        alias = inbound.alias if user_id == inbound.user_id else profile.alias if profile else ""
        if not alias or alias == caller.alias or caller.workspace_id is None:
            return caller  # the same object: nothing to store (the common case)
        if await people_service.remember_alias(
            uow, workspace_id=caller.workspace_id, user_id=user_id, alias=alias
        ):
            turn.wrote = True
        return replace(caller, alias=alias)

    async def _remembered(
        self, uow: UnitOfWork, caller: Caller, inbound: Inbound, turn: _Turn
    ) -> Caller:
        """The caller after storing what ``inbound`` asks to remember, where it changed."""
        workspace_id = caller.workspace_id
        assert workspace_id is not None  # a chat identity's caller
        key = (inbound.platform, inbound.workspace, inbound.user_id)
        zone = inbound.timezone
        if zone and zone != caller.reported_timezone and valid_timezone(zone):
            person = await people_service.report_timezone(
                uow, workspace_id=workspace_id, user_id=inbound.user_id, timezone=zone
            )
            if person is not None:
                caller = replace(caller, timezone=person.timezone, reported_timezone=zone)
                turn.seen[key] = caller
                turn.wrote = True
        if inbound.conversation and await people_service.remember_conversation(
            uow,
            workspace_id=workspace_id,
            user_id=inbound.user_id,
            conversation_ref=inbound.conversation,
            address=inbound.conversation_address,
        ):
            turn.wrote = True
        if (
            inbound.channel_reference
            and inbound.channel_id
            and await people_service.remember_channel(
                uow,
                workspace_id=workspace_id,
                channel_id=inbound.channel_id,
                conversation_ref=inbound.channel_reference,
            )
        ):
            turn.wrote = True
        return caller

    def _forget(self, who: _Who, turn: _Turn) -> _Who:
        """``who`` to identify afresh after :class:`_Stale`: the cached caller forgotten, and
        read from the database next time. Raises NotFound when it was not cached (it was read
        just now, so it no longer resolves to anyone)."""
        if not turn.cached:
            raise NotFound(UNKNOWN)
        if who.inbound is not None:
            inbound = who.inbound
            self._known.pop((inbound.platform, inbound.workspace, inbound.user_id), None)
            return replace(who, given=True)
        assert who.caller is not None
        caller = who.caller
        cached = replace(caller, channel_id=None, shared=False)
        key = next((k for k, known in self._known.items() if known == cached), None)
        if key is None:
            raise NotFound(UNKNOWN)
        del self._known[key]
        platform, workspace, user_id = key
        return _Who(
            inbound=Inbound(
                platform=platform,
                workspace=workspace,
                user_id=user_id,
                request=ShowHome(),
                channel_id=caller.channel_id,
                shared=caller.shared,
            ),
            given=True,
        )

    def _then_home(self, plan: _Plan[Reply], turn: _Turn) -> _Plan[Reply]:
        """``plan``, then the home screen read in the same unit, into ``turn.home`` (a request
        made on the home screen: ``Inbound.home``)."""
        screen = self._home(turn)

        async def then_home(ctx: Ctx) -> Reply:
            reply = await plan.run(ctx)
            turn.home = await screen.run(ctx)
            return reply

        return _Plan(plan.kind, then_home, crossing=plan.crossing)

    def _plan(
        self,
        request: Request,
        caller: Caller,
        handles: Mapping[str, str],
        delivery: str | None,
        turn: _Turn,
    ) -> _Plan[Reply]:
        """What ``request`` runs once its caller and the people it names are known."""
        match request:
            case Text(text=typed):
                try:
                    command = parse(
                        with_handles(typed, handles),
                        today=local_date(self.clock.now(), caller.timezone),
                        max_text=self.settings.max_text,
                    )
                except LeaderbotError as error:
                    return _refused("unknown", error)
                return self._changing(
                    command_kind(command),
                    lambda ctx: run_command(ctx, command),
                    delivery,
                    crossing=type(command) in CROSSING,
                )
            case Click(action=action, value=value, text=typed):
                clicked = ACTIONS.get(action)
                if clicked is None:
                    return _refused("unknown", UsageError("That button is no longer supported."))
                return self._changing(action, lambda ctx: clicked(ctx, value, typed), delivery)
            case Submit(form_id=form_id, values=values, people=people):
                filled = {**values, **{name: handles[user] for name, user in people.items()}}

                async def submitted(ctx: Ctx) -> Reply:
                    command = command_from_form(
                        form_id, filled, today=ctx.today, max_text=self.settings.max_text
                    )
                    return await run_command(ctx, command)

                return self._changing("form", submitted, delivery)
            case CheckClick(action=action, value=value):
                return self._reading(f"{action}.check", _checked(PRECHECKS.get(action), value))
            case OpenForm(form_id=form_id):

                async def opened(ctx: Ctx) -> Reply:
                    form = await form_for(
                        ctx.uow, caller=ctx.caller, form_id=form_id, max_text=ctx.max_text
                    )
                    return Reply(form=form)

                return self._reading("form.open", opened)
            case RefreshCard(item=item):
                return self._reading("card", _card_of(item))
            case Hello():
                return self._reading("hello", _nothing)
            case ShowHome():
                return self._home(turn)

    def _home(self, turn: _Turn) -> _Plan[Reply]:
        """The caller's home screen: what waits on them (``turn.waiting`` messages), then a
        status card per project of theirs; :func:`_screen` splits the two."""

        async def shown(ctx: Ctx) -> Reply:
            asked = await run_command(ctx, c.AsksCmd())
            turn.waiting = len(asked.messages)
            cards = [
                await projects.status_message(ctx, project)
                for project in await projects.projects_of(ctx)
            ]
            return replace(asked, messages=(*asked.messages, *cards))

        return self._reading("home", shown)

    def _changing(
        self,
        kind: str,
        run: Callable[[Ctx], Awaitable[Reply]],
        delivery: str | None,
        *,
        crossing: bool = False,
    ) -> _Plan[Reply]:
        """A request that may change state. ``delivery`` (a platform's event id, trigger id or
        activity id) is recorded in the same unit of work: a retry or replay of a request that
        committed is answered without running it again, and one whose first delivery changed
        nothing (never arrived, failed, was refused) runs as if it were the first."""

        async def once(ctx: Ctx) -> Reply:
            if delivery is not None and not await ctx.uow.inbound.record(delivery, at=ctx.now):
                log.info("delivery %s already handled: not run again", delivery)
                return Reply(messages=(text(ALREADY_HANDLED),), ok=False, repeated=True)
            return _personal(await run(ctx), ctx)

        return _Plan(kind, once, crossing=crossing)

    def _reading(self, kind: str, run: Callable[[Ctx], Awaitable[Reply]]) -> _Plan[Reply]:
        """A request that only reads (what a reader sees now): no delivery key is recorded."""

        async def read(ctx: Ctx) -> Reply:
            return _personal(await run(ctx), ctx)

        return _Plan(kind, read)

    def _done(self, who: _Who, kind: str, outcome: Outcome, reply: Reply) -> Reply:
        """Tell the observer how the request ended; returns ``reply``."""
        if self.observer is not None:
            self.observer.request_done(platform=who.platform, kind=kind, outcome=outcome)
        return reply

    def _remember_caller(self, key: _Key, caller: Caller) -> None:
        if len(self._known) >= KNOWN_CALLERS:
            self._known.clear()
        self._known[key] = caller

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
UNLINKED = (
    "This workspace is not connected to any Leaderbot organization, so nothing was done. "
    "Ask the person who runs Leaderbot to install it here."
)

_Key = tuple[Platform, str, str]
"""A platform user: (platform, workspace's platform id, user id)."""


class _Stale(Exception):
    """The caller's person is gone or in another organization: the caller was identified
    before another process ran ``me link`` or ``org join`` (the request's unit of work, read
    anyway, is the cheap place to notice). :meth:`Core._attempt` identifies them again."""


class _Lost(Exception):
    """Identification lost a race to another process (a unique constraint): try again."""


@dataclass(frozen=True, kw_only=True)
class _Who:
    """Whom a request is for: a platform user to identify, or a caller already identified
    (the console, the CLI, the core's own tests). ``given``: a caller known before, identified
    afresh after :class:`_Stale`: when their identity has gone meanwhile, they no longer
    resolve to anyone (they are not a newcomer to create)."""

    inbound: Inbound | None = None
    caller: Caller | None = None
    given: bool = False

    @property
    def platform(self) -> Platform:
        found = self.inbound or self.caller
        assert found is not None
        return found.platform

    def user_ids(self) -> Iterator[str]:
        """The caller, then each user the request mentions or picks, once."""
        if self.inbound is None:
            return iter(())
        request = self.inbound.request
        named = (
            mentioned(request.text)
            if isinstance(request, Text)
            else request.people.values()
            if isinstance(request, Submit)
            else ()
        )
        return iter(dict.fromkeys((self.inbound.user_id, *named)))

    def users(self) -> Iterator[_Key]:
        """The platform users :meth:`user_ids` names."""
        inbound = self.inbound
        if inbound is None:
            return iter(())
        return ((inbound.platform, inbound.workspace, user) for user in self.user_ids())


@dataclass
class _Turn:
    """What one request's attempts learnt along the way."""

    kind: str = "unknown"
    """The request's name for the observer, once known."""
    wrote: bool = False
    """Identification wrote something (an identity, a DM channel): kept after a refusal."""
    cached: bool = False
    """The caller came from this process's cache (or was given): it may be stale."""
    seen: dict[_Key, Caller] = field(default_factory=dict)
    """Callers read or created in the unit of work: cached once it commits."""
    waiting: int = 0
    """A home screen's messages that are what waits on the caller (the rest: project cards)."""
    home: Reply | None = None
    """The home screen read after a request made on it (``Inbound.home``)."""

    def reset(self) -> None:
        self.wrote, self.cached, self.seen, self.home = False, False, {}, None


@dataclass(frozen=True)
class _Plan(Generic[T]):
    """What a request runs in its unit of work, once its caller is known."""

    kind: str
    run: Callable[[Ctx], Awaitable[T]]
    crossing: bool = False


async def _read_caller(uow: UnitOfWork, workspace: Workspace, **by: str) -> Caller | None:
    """The caller of a user of ``workspace`` who has an identity (found ``by`` its
    ``user_id`` or its ``alias``: never outside the workspace); None for a new user."""
    identity = await uow.identities.first(workspace_id=workspace.id, order_by="id", **by)
    person = await uow.people.get(identity.person_id) if identity is not None else None
    if identity is None or person is None:
        return None
    return people_service.caller_of(
        person,
        platform=workspace.platform,
        workspace_id=workspace.id,
        reported_timezone=identity.reported_timezone,
        alias=identity.alias,
    )


def _always(plan: _Plan[T]) -> Callable[[Caller, Mapping[str, str]], _Plan[T]]:
    """The same plan whoever the caller is (an operator path, identifying alone)."""
    return lambda caller, handles: plan


def _refused(kind: str, error: LeaderbotError) -> _Plan[Reply]:
    """A request refused before it runs (it does not parse, its button is gone)."""

    async def refuse(ctx: Ctx) -> Reply:
        raise error

    return _Plan(kind, refuse)


def _checked(
    check: Callable[[Ctx, str], Awaitable[None]] | None, value: str
) -> Callable[[Ctx], Awaitable[Reply]]:
    """A click's precheck: an ok reply when the caller may go on (or nothing is checked)."""

    async def run(ctx: Ctx) -> Reply:
        if check is not None:
            await check(ctx, value)
        return Reply()

    return run


async def _nothing(ctx: Ctx) -> Reply:
    """What a :class:`Hello` runs: identifying the caller and remembering were the request."""
    return Reply()


def _card_of(item: str) -> Callable[[Ctx], Awaitable[Reply]]:
    """The card of ``item`` as the reader sees it now, as the replacement."""

    async def run(ctx: Ctx) -> Reply:
        found = cards.item_of(f"{item}:")
        if found is None:
            raise UsageError("That card refers to an item I can't read.")
        kind, item_id = found
        card = await cards.card_for(
            ctx.uow,
            kind=kind,
            item_id=item_id,
            reader=ctx.person,
            now=ctx.now,
            link_base=ctx.link_base,
        )
        return Reply(replacement=card)

    return run


def _screen(shown: Reply, turn: _Turn) -> HomeScreen:
    """A home screen's reply as its two parts (or the refusal, as what waits)."""
    if not shown.ok:
        return HomeScreen(waiting=shown.messages)
    return HomeScreen(
        waiting=shown.messages[: turn.waiting], projects=shown.messages[turn.waiting :]
    )


def _reply(handled: Handled) -> Reply:
    """The reply to a request made for a caller already identified (never a new user)."""
    assert isinstance(handled, Reply)
    return handled


def command_kind(command: object) -> str:
    """A command's name for counting: ``AskCmd`` → ``ask``, ``KpiAddCmd`` → ``kpi.add``."""
    name = type(command).__name__.removesuffix("Cmd")
    return re.sub(r"(?<!^)(?=[A-Z])", ".", name).lower()


def _refusal(error: LeaderbotError) -> Reply:
    lines = [error.message] + ([error.hint] if error.hint else [])
    return Reply(messages=(text(*lines),), ok=False)


def _said(messages: tuple[Message, ...]) -> str:
    """A refusal's words, as one line."""
    return " ".join(line for message in messages for line in message.sections)
