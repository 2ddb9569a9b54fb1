"""The Slack bolt app: slash command, buttons, modals, App Home, OAuth install (DESIGN §4).

Every listener translates its payload into one :class:`bot.inbound.Inbound`, hands it to
:meth:`Core.handle`, and translates the outcome back. The core identifies the caller and the
people mentioned in the same unit of work as the command, so a known user's request is one
transaction and no Web API call; a first-seen user (or mention) is answered "these profiles are
needed", asked of ``users.info``, and handed in once more — two transactions. Slack gives up on
an ack after 3 s: each listener is wrapped (:mod:`adapters.slack.after_ack`) so that Slack is
answered the moment it acks, and acked anyway with "Working on it…" once :data:`ACK_BUDGET` is
spent, the reply then following through ``response_url``. So a command whose answer is ready
within the budget — a newcomer's ``users.info`` included — is answered in the ack itself. bolt
runs with ``process_before_response`` (its default runner would check for the ack every 10 ms
instead). ``views.open`` and ``respond`` come after the ack. Outbound messages to other people
go through the outbox and :mod:`adapters.slack.sender`.

Retries and replays: Slack re-sends an Events API delivery (header ``X-Slack-Retry-Num``, same
``event_id``) when the first was not acked in 3 s or never arrived (a restart, a 5xx); a double
submit replays a slash command or a click with its ``trigger_id``. Each is passed to the core as
the request's delivery key (:func:`delivery`), recorded in the unit of work of the change: a
delivery never processed is processed, one already processed is answered without redoing it
(silently for events, whose first delivery posted the answer). A double click is two distinct
payloads; the core refuses the second decision (the ask is no longer open).
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from functools import partial
from http.cookies import SimpleCookie
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.async_authorize import AsyncAuthorize
from slack_bolt.oauth.async_callback_options import (
    AsyncCallbackOptions,
    AsyncFailureArgs,
    AsyncSuccessArgs,
)
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from adapters.slack.after_ack import AfterAck
from adapters.slack.home import home_view
from adapters.slack.inbound import profile_of, to_plain
from adapters.slack.modals import (
    FORM_CALLBACK,
    INPUT_CALLBACK,
    TEXT_FIELD,
    USER_PREFIX,
    form_view,
    input_view,
    metadata_of,
    values_of,
)
from adapters.slack.render import (
    cut_plain,
    fallback,
    parse_action_id,
    plain,
    render,
    reply_body,
)
from adapters.slack.settings import OFF, SlackSettings
from adapters.slack.tokens import EncryptedInstallationStore, RecentBots, fernet
from adapters.slack.wire import bolt_request
from bot.context import Profile, Reply
from bot.dispatch import Core
from bot.inbound import (
    CheckClick,
    Click,
    HomeScreen,
    Inbound,
    NeedProfiles,
    OpenForm,
    Request,
    ShowHome,
    Submit,
    Text,
)
from bot.messages import InputKind, Message, text
from bot.model import Platform

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
FORMS = ("ask", "blocker", "update")
WORKING = "Working on it…"
ACK_BUDGET = 2.0
"""Seconds the fast path may spend before acking anyway (Slack gives up at 3 s): a busy
database delays the answer, never the ack."""
UNKNOWN_USER = text(
    "Sorry — I couldn't look you up in Slack, so nothing was done. Please try again."
)
UNKNOWN_MENTION = text(
    "I couldn't look up everyone you mentioned, so nothing was done.",
    "Check the names and try again.",
)
NO_MODAL = text("I couldn't open the form. Type the command with its text instead (try help).")
ERROR_TEXT = 300
"""How much of a refusal a modal shows under its field."""
_ACTION_ID = re.compile(r"^[\w.-]+\|")
STATE_EXPIRY = 600

AckObserver = Callable[[str, float], None]
"""Told each request's transport (``http``, ``socket_mode``) and its seconds until the ack."""


class SlackBolt(AsyncApp):
    """bolt's app, plus what our routes and the outbox sender need to reach."""

    def __init__(
        self,
        *,
        core: Core,
        slack: SlackSettings,
        bots: RecentBots | None = None,
        stores: tuple[Any, ...] = (),
        team: SingleTeam | None = None,
        on_ack: AckObserver | None = None,
        **bolt: Any,
    ) -> None:
        super().__init__(process_before_response=True, **bolt)
        self.on_ack = on_ack
        self.core = core
        self.slack = slack
        self.after_ack = AfterAck(budget=ACK_BUDGET)
        """The listeners' work after their acks (see :mod:`adapters.slack.after_ack`)."""
        self.bots = bots
        """OAuth mode: where each workspace's bot token is; None with a single bot token."""
        self.stores = stores
        """OAuth stores whose tables are created on startup (``create_tables``)."""
        self.team = team
        """Single-token mode: the token's own team, learnt at startup; None with OAuth."""

    async def async_dispatch(self, req: AsyncBoltRequest) -> BoltResponse:
        """bolt's dispatch, timed for ``on_ack``: it returns at the ack (see
        :mod:`adapters.slack.after_ack`), over HTTP and Socket Mode alike."""
        started = time.perf_counter()
        try:
            return await super().async_dispatch(req)
        finally:
            if self.on_ack is not None:
                self.on_ack(req.mode, time.perf_counter() - started)


class StoredBotAuthorize(AsyncAuthorize):
    """Authorize from the installation store alone. bolt's default calls ``auth.test`` on every
    request (a Web API call before the ack); the stored bot row already has all it returns.
    Token rotation is not supported (Leaderbot asks for no rotating tokens)."""

    def __init__(self, store: AsyncInstallationStore) -> None:
        self.store = store  # the base class's __init__ does nothing

    async def __call__(
        self,
        *,
        context: AsyncBoltContext,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None,
        actor_enterprise_id: str | None = None,
        actor_team_id: str | None = None,
        actor_user_id: str | None = None,
    ) -> AuthorizeResult | None:
        bot = await self.store.async_find_bot(
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=context.is_enterprise_install,
        )
        if bot is None:
            return None
        return AuthorizeResult(
            enterprise_id=bot.enterprise_id,
            team_id=bot.team_id,
            bot_user_id=bot.bot_user_id,
            bot_id=bot.bot_id,
            bot_token=bot.bot_token,
            bot_scopes=bot.bot_scopes,
            user_id=user_id,
        )


class SingleTeam(AsyncAuthorize):
    """Single-token mode (``SLACK_BOT_TOKEN``): the token's own team — asked of ``auth.test`` at
    startup, and linked to an organization then (:meth:`Core.configured_workspace`) — is the
    one workspace served. A request from any other team is refused by bolt with
    :data:`OTHER_TEAM` (commands and clicks see it, events get nothing) before any listener
    runs, so it writes nothing. Until ``auth.test`` has answered (Slack unreachable at startup)
    each request tries it again."""

    def __init__(self, *, core: Core, token: str, base_url: str) -> None:
        self.core = core
        self.client = AsyncWebClient(token=token, base_url=base_url)
        self.token = token
        self.team_id: str | None = None
        self.bot_user_id: str | None = None
        self.bot_id: str | None = None
        self._connecting = asyncio.Lock()

    async def connect(self) -> bool:
        """Learn the token's team and link it; False (and one log line) when Slack says no."""
        if self.team_id is not None:
            return True
        async with self._connecting:  # requests arriving together ask Slack once
            return self.team_id is not None or await self._connect()

    async def _connect(self) -> bool:
        try:
            answer = await self.client.auth_test()
        except (SlackApiError, OSError, TimeoutError) as error:
            reason = error.response.get("error") if isinstance(error, SlackApiError) else error
            log.error("Slack auth.test failed for SLACK_BOT_TOKEN: %s", reason)
            return False
        team_id = str(answer.get("team_id") or "")
        if not team_id:
            log.error("Slack auth.test named no team for SLACK_BOT_TOKEN")
            return False
        await self.core.configured_workspace(
            platform=Platform.SLACK, external_id=team_id, name=str(answer.get("team") or "")
        )
        self.bot_user_id = answer.get("user_id")
        self.bot_id = answer.get("bot_id")
        self.team_id = team_id
        log.info("Slack: serving workspace %s (%s)", team_id, answer.get("team") or "")
        return True

    async def __call__(
        self,
        *,
        context: AsyncBoltContext,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None,
        actor_enterprise_id: str | None = None,
        actor_team_id: str | None = None,
        actor_user_id: str | None = None,
    ) -> AuthorizeResult | None:
        if not await self.connect() or team_id != self.team_id:
            return None
        return AuthorizeResult(
            enterprise_id=enterprise_id,
            team_id=team_id,
            bot_user_id=self.bot_user_id,
            bot_id=self.bot_id,
            bot_token=self.token,
            user_id=user_id,
        )


OTHER_TEAM = (
    "This Slack workspace is not connected to this Leaderbot, so nothing was done. "
    "Ask the person who runs Leaderbot to install it here."
)


def build_slack_app(
    *,
    core: Core,
    settings: SlackSettings,
    engine: Any | None = None,
    on_ack: AckObserver | None = None,
) -> SlackBolt | None:
    """The bolt app for ``settings``, or None (and one log line) when Slack is not configured.

    Args:
        engine: the project's SQLAlchemy ``AsyncEngine``; OAuth mode keeps installations and
            OAuth states in it (slack_sdk's own tables, created when the server starts).
        on_ack: told how long each request took to be acked (the server's metrics).
    """
    if not settings.configured:
        log.info(OFF)
        return None
    client = AsyncWebClient(base_url=settings.base_url)  # each request's token: its authorize
    common: dict[str, Any] = {
        "name": "leaderbot",
        "signing_secret": settings.signing_secret,
        "client": client,
        "core": core,
        "slack": settings,
        "on_ack": on_ack,
    }
    if settings.oauth:
        if engine is None:
            log.info("Slack is off: OAuth mode (SLACK_CLIENT_ID) needs the database engine")
            return None
        tables = AsyncSQLAlchemyInstallationStore(client_id=settings.client_id, engine=engine)
        stored: AsyncInstallationStore = tables
        if settings.encryption_key:
            try:
                stored = EncryptedInstallationStore(tables, fernet(settings.encryption_key))
            except ValueError as error:
                log.error("Slack is off: %s", error)
                return None
        bots = RecentBots(stored)
        states = AsyncSQLAlchemyOAuthStateStore(expiration_seconds=STATE_EXPIRY, engine=engine)
        bolt = SlackBolt(
            bots=bots,
            stores=(tables, states),
            authorize=StoredBotAuthorize(bots),
            oauth_settings=AsyncOAuthSettings(
                client_id=settings.client_id,
                client_secret=settings.client_secret,
                scopes=list(settings.scopes),
                installation_store=bots,
                state_store=states,
                callback_options=AsyncCallbackOptions(
                    success=partial(_installed, core, settings.base_url),
                    failure=_install_failed,
                ),
            ),
            **common,
        )
    else:
        team = SingleTeam(core=core, token=settings.bot_token, base_url=settings.base_url)
        bolt = SlackBolt(
            team=team, authorize=team, user_facing_authorize_error_message=OTHER_TEAM, **common
        )
    Listeners(core=core, command=settings.command, after_ack=bolt.after_ack).register(bolt)
    return bolt


def mount_slack(app: web.Application, bolt: SlackBolt, *, events: bool = True) -> None:
    """Add ``POST /slack/events`` (and, with OAuth, ``GET /slack/install`` and
    ``/slack/oauth_redirect``) to the server's aiohttp application. ``events`` False: requests
    arrive over Socket Mode instead (:mod:`adapters.slack.socket_mode`), and no HTTP route
    takes them."""

    async def on_events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await bolt_request(request)))

    if events:
        app.router.add_post(EVENTS_PATH, on_events)
    team = bolt.team
    if team is not None:

        async def connect(_: web.Application) -> None:
            await team.connect()

        app.on_startup.append(connect)
    after_ack = getattr(bolt, "after_ack", None)
    if isinstance(after_ack, AfterAck):

        async def finish(_: web.Application) -> None:
            await after_ack.wait()

        app.on_shutdown.append(finish)
    flow = bolt.oauth_flow
    if flow is None:
        return

    async def install(request: web.Request) -> web.Response:
        bolt_request = await to_bolt_request(request)
        response = await flow.handle_installation(bolt_request)
        invitation = request.query.get(INVITATION_PARAMETER, "").strip()
        if invitation and response.status == 200:
            joins = await bolt.core.inviting(invitation)
            response.body = response.body.replace("<body>", f"<body>{_joining(joins)}", 1)
            cookie = _invitation_cookie(invitation, path=flow.redirect_uri_path)
            response.headers["set-cookie"] = [*response.headers.get("set-cookie", ()), cookie]
        return await to_aiohttp_response(response)

    async def redirect(request: web.Request) -> web.Response:
        bolt_request = await to_bolt_request(request)
        return await to_aiohttp_response(await flow.handle_callback(bolt_request))

    async def create_tables(_: web.Application) -> None:
        for store in bolt.stores:
            await store.create_tables()

    app.router.add_get(flow.install_path, install)
    app.router.add_get(flow.redirect_uri_path, redirect)
    app.on_startup.append(create_tables)


INVITATION_PARAMETER = "code"
"""``/slack/install?code=XXXX-…``: the partner's ``org invite`` code the installation joins with."""
INVITATION_COOKIE = "leaderbot-invitation"
"""Carries the invitation from the install page to the OAuth redirect, the way bolt's state
cookie carries the state: Slack's round trip passes back only its own parameters."""


def _invitation_cookie(invitation: str, *, path: str) -> str:
    value = re.sub(r"[^A-Za-z0-9-]", "", invitation)[:64]
    return (
        f"{INVITATION_COOKIE}={value}; Secure; HttpOnly; SameSite=Lax; Path={path}; "
        f"Max-Age={STATE_EXPIRY}"
    )


def _joining(organization: str | None) -> str:
    """What the install page says about the invitation before the installer clicks."""
    if organization is None:
        return (
            "<p>That invitation code cannot be used (mistyped, already used or expired): "
            "installing founds an organization of its own.</p>"
        )
    return (
        f"<p>With this invitation, your workspace joins <b>{html.escape(organization)}</b>: "
        "its people see that organization's projects, and it sees theirs.</p>"
    )


def _invitation(request: AsyncBoltRequest) -> str:
    """The invitation cookie of the OAuth redirect, "" when there is none."""
    cookies = SimpleCookie()
    for header in request.headers.get("cookie", []):
        cookies.load(header)
    found = cookies.get(INVITATION_COOKIE)
    return found.value if found is not None else ""


async def _installed(core: Core, base_url: str, args: AsyncSuccessArgs) -> BoltResponse:
    """A workspace installed the app. A new workspace founds its own organization, whose
    installer (their ``users.info`` profile, asked with the installation's bot token) is its
    admin and is greeted by DM with the set-up steps — or, installed with a partner's
    invitation (:data:`INVITATION_COOKIE`), joins the inviting organization; a reinstall keeps
    its organization. Then bolt's success page."""
    installation = args.installation
    if installation.team_id and installation.user_id:
        client = AsyncWebClient(token=installation.bot_token, base_url=base_url)
        try:
            answer = await client.users_info(user=installation.user_id)
            user = answer.get("user") or {}
        except SlackApiError as error:
            log.warning("users.info failed for the installer: %s", error.response.get("error"))
            user = {"id": installation.user_id}
        await core.install_workspace(
            platform=Platform.SLACK,
            external_id=installation.team_id,
            name=installation.team_name or "",
            installer_id=installation.user_id,
            installer=profile_of(user),
            invitation=_invitation(args.request),
        )
    return await args.default.success(args)


async def _install_failed(args: AsyncFailureArgs) -> BoltResponse:
    log.warning("Slack install failed: %s%s", args.reason, f" ({args.error})" if args.error else "")
    return await args.default.failure(args)


def delivery(body: Mapping[str, Any]) -> str | None:
    """The key Slack sends again with a retry (``event_id``) or a replay (``trigger_id``)."""
    if isinstance(event_id := body.get("event_id"), str) and event_id:
        return f"slack:event:{event_id}"
    if isinstance(trigger := body.get("trigger_id"), str) and trigger:
        return f"slack:trigger:{trigger}"
    return None


def _payload(messages: tuple[Message, ...]) -> dict[str, Any]:
    """An ephemeral reply (``ack``/``respond`` keyword arguments)."""
    return {**reply_body(messages or (text("Done."),)), "response_type": "ephemeral"}


Respond = Callable[..., Awaitable[Any]]


def _webhook(response_url: str | None) -> Respond | None:
    if not response_url:
        return None
    return AsyncWebhookClient(response_url).send


class Listeners:
    """The bolt listeners, closed over one core: each translates its payload into one
    :class:`bot.inbound.Inbound`, hands it to :meth:`Core.handle` (:meth:`_handle`), and
    translates the outcome back."""

    def __init__(self, *, core: Core, command: str, after_ack: AfterAck) -> None:
        self.core = core
        self.command = command
        self.after_ack = after_ack

    def register(self, bolt: AsyncApp) -> None:
        """Each listener answers Slack at its ack and finishes after it (``after_ack``)."""
        acked, after = self.after_ack.until_ack, self.after_ack.after
        bolt.command(self.command)(acked(self.on_command, late=_payload((text(WORKING),))))
        bolt.action(_ACTION_ID)(acked(self.on_action))
        bolt.view_submission(FORM_CALLBACK)(acked(self.on_form))
        bolt.view_submission(INPUT_CALLBACK)(acked(self.on_input))
        bolt.event("app_home_opened")(after(self.on_home))
        bolt.event("app_mention")(after(self.on_mention))
        bolt.event("message")(after(self.on_message))

    async def _handle(self, inbound: Inbound, client: AsyncWebClient) -> Reply | HomeScreen:
        """The core's outcome; when it needs profiles of newcomers, they are asked of
        ``users.info`` and the same request handed in once more. A profile Slack will not
        give is a refusal: nothing was done."""
        handled = await self.core.handle(inbound)
        if not isinstance(handled, NeedProfiles):
            return handled
        profiles = dict(inbound.profiles)
        for user_id in handled.user_ids:
            profile = await _profile(client, user_id)
            if profile is None:
                notice = UNKNOWN_USER if user_id == inbound.user_id else UNKNOWN_MENTION
                return Reply(messages=(notice,), ok=False)
            profiles[user_id] = profile
        again = await self.core.handle(replace(inbound, profiles=profiles))
        if isinstance(again, NeedProfiles):  # a profile given is always taken: never twice
            return Reply(messages=(UNKNOWN_USER,), ok=False)
        return again

    async def _reply(self, inbound: Inbound, client: AsyncWebClient) -> Reply:
        handled = await self._handle(inbound, client)
        assert isinstance(handled, Reply)  # a HomeScreen answers ShowHome and Inbound.home only
        return handled

    async def _on_tab(
        self, inbound: Inbound, client: AsyncWebClient
    ) -> tuple[Reply, HomeScreen | None]:
        """A request made on the App Home tab: its reply, and the tab as it is after it, read
        in the same unit of work (None when refused: the tab is then read afresh)."""
        handled = await self._handle(replace(inbound, home=True), client)
        if isinstance(handled, HomeScreen):
            assert handled.reply is not None
            return handled.reply, handled
        return handled, None

    # -- slash command ------------------------------------------------------------------

    async def on_command(
        self,
        ack: Callable[..., Awaitable[Any]],
        body: dict[str, Any],
        client: AsyncWebClient,
        respond: Respond,
        context: AsyncBoltContext,
    ) -> None:
        """Answered in the ack when the core is done within :data:`ACK_BUDGET` (a newcomer's
        ``users.info`` included), else through ``response_url`` after "Working on it…"
        (:mod:`adapters.slack.after_ack`); a bare ``ask``/``blocker``/``update`` opens its
        modal."""
        typed = to_plain(body.get("text") or "")
        request = OpenForm(form_id=typed.lower()) if typed.lower() in FORMS else Text(text=typed)
        channel = body.get("channel_id")
        in_dm = body.get("channel_name") == "directmessage"
        reply = await self._reply(
            _inbound(
                body,
                context,
                body["user_id"],
                request,
                channel=channel,
                conversation=_dm_channel(channel) if in_dm else None,
            ),
            client,
        )
        if reply.form is None or reply.messages:
            if not await ack(**_payload(reply.messages)):
                await respond(**_payload(reply.messages))
        else:
            await ack()
        if reply.form is not None:
            metadata = {"channel": channel or "", "response_url": body.get("response_url") or ""}
            await self._open(client, body, form_view(reply.form, metadata=metadata))

    async def _open(
        self, client: AsyncWebClient, body: dict[str, Any], view: dict[str, Any]
    ) -> None:
        try:
            await client.views_open(trigger_id=body["trigger_id"], view=view)
        except SlackApiError as error:
            log.warning("views.open failed: %s", error.response.get("error"))
            tell = _webhook(body.get("response_url"))
            if tell is not None:
                await tell(**_payload((NO_MODAL,)))

    # -- buttons --------------------------------------------------------------------------

    async def on_action(
        self,
        ack: Callable[..., Awaitable[Any]],
        body: dict[str, Any],
        action: dict[str, Any],
        client: AsyncWebClient,
        respond: Respond,
        context: AsyncBoltContext,
    ) -> None:
        """A click's ack carries nothing: it comes after the work, or at the budget. A button
        that asks for text opens its modal — only for who may act: anyone else is refused
        first, never asked "Why?"."""
        name, kind = parse_action_id(action.get("action_id", ""))
        value = action.get("value") or (action.get("selected_option") or {}).get("value") or ""
        channel = (body.get("channel") or {}).get("id")
        user_id = body["user"]["id"]
        request: Request = (
            Click(action=name, value=value)
            if kind is InputKind.NONE
            else CheckClick(action=name, value=value)
        )
        inbound = _inbound(body, context, user_id, request, channel=channel)
        if _on_home(body):
            reply, shown = await self._on_tab(inbound, client)
        else:
            reply, shown = await self._reply(inbound, client), None
        await ack()
        if isinstance(request, Click) or not reply.ok:
            await self._answer_click(
                reply, body=body, context=context, client=client, respond=respond, shown=shown
            )
            return
        metadata = {
            "action": name,
            "value": value,
            "channel": channel or "",
            "response_url": body.get("response_url") or "",
            "home": "1" if _on_home(body) else "",
        }
        title = ((action.get("text") or {}).get("text")) or "Leaderbot"
        await self._open(client, body, input_view(title=title, kind=kind, metadata=metadata))

    async def _answer_click(
        self,
        reply: Reply,
        *,
        body: Mapping[str, Any],
        context: AsyncBoltContext,
        client: AsyncWebClient,
        respond: Respond,
        shown: HomeScreen | None = None,
    ) -> None:
        """A click's answer where it was clicked: on the App Home tab (which sends no
        ``response_url``) the tab is published again with the outcome on top; on a message,
        the clicked message updated in place (see :func:`_show_click`)."""
        if _on_home(body):
            user_id = body["user"]["id"]
            await self._publish_home(client, body, context, user_id, reply=reply, shown=shown)
            return
        await _show_click(reply, respond)

    async def _publish_home(
        self,
        client: AsyncWebClient,
        body: Mapping[str, Any],
        context: AsyncBoltContext,
        user_id: str,
        *,
        reply: Reply | None = None,
        conversation: str | None = None,
        shown: HomeScreen | None = None,
    ) -> None:
        """The Home tab as it now is (``shown``, when read with what was just done on it),
        with the outcome of what was just done on it on top."""
        if shown is None:
            inbound = _inbound(body, context, user_id, ShowHome(), conversation=conversation)
            read = await self._handle(inbound, client)
            if not isinstance(read, HomeScreen):  # the user could not be looked up
                return
            shown = read
        notice = _outcome(reply) if reply is not None else ()
        view = home_view(waiting=shown.waiting, projects=shown.projects, notice=notice)
        await client.views_publish(user_id=user_id, view=view)

    # -- modals ---------------------------------------------------------------------------

    async def on_form(
        self,
        ack: Callable[..., Awaitable[Any]],
        body: dict[str, Any],
        view: dict[str, Any],
        client: AsyncWebClient,
        context: AsyncBoltContext,
    ) -> None:
        values = values_of(view)
        picked = {
            k: v.removeprefix(USER_PREFIX) for k, v in values.items() if v.startswith(USER_PREFIX)
        }
        typed = {k: v for k, v in values.items() if k not in picked}
        form_id = metadata_of(view).get("form", "")
        submitted = Submit(form_id=form_id, values=typed, people=picked)
        await self._submission(
            ack, body, view, client, context, submitted, field=_error_field(view)
        )

    async def on_input(
        self,
        ack: Callable[..., Awaitable[Any]],
        body: dict[str, Any],
        view: dict[str, Any],
        client: AsyncWebClient,
        context: AsyncBoltContext,
    ) -> None:
        metadata = metadata_of(view)
        typed = values_of(view).get(TEXT_FIELD, "")
        click = Click(
            action=metadata.get("action", ""), value=metadata.get("value", ""), text=typed
        )
        await self._submission(ack, body, view, client, context, click, field=TEXT_FIELD)

    async def _submission(
        self,
        ack: Callable[..., Awaitable[Any]],
        body: dict[str, Any],
        view: dict[str, Any],
        client: AsyncWebClient,
        context: AsyncBoltContext,
        request: Request,
        *,
        field: str,
    ) -> None:
        """Submit a modal: a refusal within the ack budget is shown in the modal under
        ``field`` (the user can fix it) and success closes it; the reply goes to where the
        modal came from."""
        metadata = metadata_of(view)
        user_id = body["user"]["id"]
        channel = metadata.get("channel") or None
        inbound = _inbound(body, context, user_id, request, channel=channel)
        if metadata.get("home"):
            reply, shown = await self._on_tab(inbound, client)
        else:
            reply, shown = await self._reply(inbound, client), None
        refusal = cut_plain(plain(*reply.messages), ERROR_TEXT)
        if not reply.ok and await ack(response_action="errors", errors={field: refusal}):
            return  # shown in the modal, under the field, to be fixed there
        await ack()
        if metadata.get("home"):
            await self._publish_home(client, body, context, user_id, reply=reply, shown=shown)
            return
        tell = _webhook(metadata.get("response_url"))
        if reply.replacement is not None and tell is not None:
            await tell(
                text=fallback(reply.replacement),
                blocks=render(reply.replacement),
                replace_original=True,
            )
        if tell is not None:
            if reply.messages or reply.replacement is None:
                await tell(**_payload(reply.messages), replace_original=False)
        else:
            await client.chat_postMessage(channel=user_id, **_message(reply.messages))

    # -- events ---------------------------------------------------------------------------

    async def on_home(
        self,
        body: dict[str, Any],
        event: dict[str, Any],
        client: AsyncWebClient,
        context: AsyncBoltContext,
    ) -> None:
        """The App Home tab opened: published as it now is; its channel is the user's DM
        channel with the bot, remembered for DMs."""
        if event.get("tab", "home") != "home":
            return
        conversation = _dm_channel(event.get("channel"))
        await self._publish_home(client, body, context, event["user"], conversation=conversation)

    async def on_message(
        self,
        body: dict[str, Any],
        event: dict[str, Any],
        client: AsyncWebClient,
        context: AsyncBoltContext,
    ) -> None:
        """A DM to the bot is a command typed without the slash; other messages (edits, bots,
        channel chatter) are not for us."""
        if event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id"):
            return
        channel = event.get("channel")
        if not event.get("user") or not channel:
            return
        typed = Text(text=to_plain(event.get("text") or "") or "help")
        inbound = _inbound(
            body, context, event["user"], typed, channel=channel, conversation=_dm_channel(channel)
        )
        reply = await self._reply(inbound, client)
        if not reply.repeated:
            await client.chat_postMessage(channel=channel, **_message(reply.messages))

    async def on_mention(
        self,
        body: dict[str, Any],
        event: dict[str, Any],
        client: AsyncWebClient,
        context: AsyncBoltContext,
    ) -> None:
        """``@Leaderbot ask …`` in a channel: answered to the author only."""
        raw = event.get("text") or ""
        if context.bot_user_id:
            raw = re.sub(rf"^\s*<@{re.escape(context.bot_user_id)}(\|[^>]*)?>", "", raw)
        channel = event.get("channel")
        if not event.get("user") or not channel:
            return
        typed = Text(text=to_plain(raw) or "help")
        reply = await self._reply(
            _inbound(body, context, event["user"], typed, channel=channel), client
        )
        if not reply.repeated:
            await client.chat_postEphemeral(
                channel=channel, user=event["user"], **_message(reply.messages)
            )


def _inbound(
    body: Mapping[str, Any],
    context: AsyncBoltContext,
    user_id: str,
    request: Request,
    *,
    channel: str | None = None,
    conversation: str | None = None,
) -> Inbound:
    """One Slack request as the core's inbound value."""
    team = context.team_id or body.get("team_id") or (body.get("team") or {}).get("id") or ""
    return Inbound(
        platform=Platform.SLACK,
        workspace=str(team),
        user_id=user_id,
        request=request,
        channel_id=channel,
        # A Slack DM channel is both how and where a DM goes.
        conversation=conversation,
        conversation_address=conversation or "",
        delivery=delivery(body),
    )


def _dm_channel(channel: str | None) -> str | None:
    """A user's DM channel with the bot (where their DMs go without conversations.open)."""
    return channel if channel and channel.startswith("D") else None


async def _profile(client: AsyncWebClient, user_id: str) -> Profile | None:
    """A newcomer's profile from ``users.info``; None (and a log line) when Slack says no."""
    try:
        response = await client.users_info(user=user_id)
    except SlackApiError as error:
        log.warning("users.info failed for a Slack user: %s", error.response.get("error"))
        return None
    return profile_of(response.get("user") or {})


def _message(messages: tuple[Message, ...]) -> dict[str, Any]:
    """A reply as ``chat.postMessage`` / ``chat.postEphemeral`` keyword arguments."""
    payload = _payload(messages)
    del payload["response_type"]
    return payload


async def _show_click(reply: Reply, respond: Respond) -> None:
    """The clicker's view of a click: their copy of the message updated at once to show the
    outcome (the outbox then updates every copy) — their one answer — and a message shown to
    them only when there is more to say, or nothing to update (a refusal)."""
    if reply.replacement is not None:
        await respond(
            text=fallback(reply.replacement),
            blocks=render(reply.replacement),
            replace_original=True,
        )
    if reply.messages or reply.replacement is None:
        await respond(**_payload(reply.messages), replace_original=False)


def _on_home(body: Mapping[str, Any]) -> bool:
    """Whether a click (or the modal it opened) came from the App Home tab."""
    return (body.get("view") or {}).get("type") == "home"


def _outcome(reply: Reply) -> tuple[Message, ...]:
    """What a Home tab shows on top after a click: the reply, or else what the clicked item
    now says (its title and outcome line, without its buttons)."""
    if reply.messages or reply.replacement is None:
        return reply.messages or (text("Done."),)
    card = reply.replacement
    return (Message(title=card.title, footer=card.footer),)


def _error_field(view: Mapping[str, Any]) -> str:
    """Where a modal shows a refusal: under its text field, else under its first field."""
    blocks = [b.get("block_id", "") for b in view.get("blocks") or [] if b.get("type") == "input"]
    return TEXT_FIELD if TEXT_FIELD in blocks else (blocks[0] if blocks else TEXT_FIELD)
