"""The Slack bolt app: slash command, buttons, modals, App Home, OAuth install (DESIGN §4).

Every listener translates the payload, calls the core, and translates the Reply back. The rule
that keeps Slack's 3-second ack: **no Web API call before ack**. The core is local (database
only), so a command by a known user is run first and acked *with* its reply — unless the core
takes longer than :data:`ACK_BUDGET`, when the ack says "Working on it…" and the reply follows
through ``response_url``. Anything that needs Slack (``users.info`` for a first-seen user or
mention, ``views.open``, ``respond``) happens after the ack: bolt runs with
``process_before_response`` and each listener is wrapped so that Slack is answered the moment
it acks and the rest of it runs afterwards (:mod:`adapters.slack.after_ack`; bolt's default
runner would check for the ack every 10 ms instead). Outbound messages to other people go
through the outbox and :mod:`adapters.slack.sender`.

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
from adapters.slack.inbound import Team, profile_of
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
from adapters.slack.tokens import EncryptedInstallationStore, fernet
from adapters.slack.wire import bolt_request
from bot.context import Caller, Reply
from bot.dispatch import Core
from bot.errors import LeaderbotError
from bot.messages import InputKind, Message, text
from bot.model import Platform

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
FORMS = ("ask", "blocker", "update")
ONE_MOMENT = "One moment…"
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
        bots: AsyncInstallationStore | None = None,
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
        bots: AsyncInstallationStore = tables
        if settings.encryption_key:
            try:
                bots = EncryptedInstallationStore(tables, fernet(settings.encryption_key))
            except ValueError as error:
                log.error("Slack is off: %s", error)
                return None
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
    """The bolt listeners, closed over one core."""

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

    # -- slash command ------------------------------------------------------------------

    async def on_command(
        self,
        ack: Callable[..., Awaitable[Any]],
        body: dict[str, Any],
        client: AsyncWebClient,
        respond: Respond,
        context: AsyncBoltContext,
    ) -> None:
        team = Team(
            core=self.core,
            team_id=context.team_id or body.get("team_id", ""),
            channel_id=body.get("channel_id"),
        )
        user_id, raw = body["user_id"], body.get("text") or ""
        caller = await team.known(user_id)
        plain = await team.plain(raw, team.known) if caller is not None else None
        if caller is not None and plain is not None:
            await self._command(caller, plain, body=body, client=client, ack=ack, respond=respond)
        else:
            await ack(text=ONE_MOMENT, response_type="ephemeral")
            caller = await team.fetch(client, user_id)
            if caller is None:
                await respond(**_payload((UNKNOWN_USER,)))
                return
            plain = await team.plain(raw, partial(team.fetch, client))
            if plain is None:
                await respond(**_payload((UNKNOWN_MENTION,)))
                return
            await self._command(caller, plain, body=body, client=client, ack=None, respond=respond)
        if body.get("channel_name") == "directmessage":
            await self._remember(team.team_id, user_id, body.get("channel_id"))

    async def _command(
        self,
        caller: Caller,
        plain: str,
        *,
        body: dict[str, Any],
        client: AsyncWebClient,
        ack: Respond | None,
        respond: Respond,
    ) -> None:
        """Run the command and answer with ``ack`` when it is not acked yet and the core is done
        within :data:`ACK_BUDGET` (see :mod:`adapters.slack.after_ack`), else with
        ``respond``; a bare ``ask``/``blocker``/``update`` opens its modal."""
        metadata = {
            "channel": body.get("channel_id") or "",
            "response_url": body.get("response_url") or "",
        }
        if plain.lower() in FORMS:
            if ack is not None:
                await ack()
            try:
                form = await self.core.form(caller, plain.lower())
            except LeaderbotError as error:  # the caller is no longer known (their identity went)
                await respond(**_payload((text(str(error)),)))
                return
            await self._open(client, body, form_view(form, metadata=metadata))
            return
        reply = await self.core.command(caller, plain, delivery=delivery(body))
        if ack is None or not await ack(**_payload(reply.messages)):
            await respond(**_payload(reply.messages))
        if reply.form is not None:
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
        name, kind = parse_action_id(action.get("action_id", ""))
        value = action.get("value") or (action.get("selected_option") or {}).get("value") or ""
        channel = (body.get("channel") or {}).get("id")
        team = Team(core=self.core, team_id=context.team_id or "", channel_id=channel)
        user_id = body["user"]["id"]
        answer = partial(self._answer_click, body=body, client=client, respond=respond)
        caller = await team.known(user_id)
        acked = caller is None
        if caller is None:
            await ack()
            caller = await team.fetch(client, user_id)
            if caller is None:
                await answer(None, Reply(messages=(UNKNOWN_USER,), ok=False))
                return
        if kind is not InputKind.NONE:
            # Only who may act is asked for a rationale: anyone else is refused first.
            refusal = await self.core.refusal(caller, action=name, value=value)
            if not acked:
                await ack()
            if refusal is not None:
                await answer(caller, refusal)
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
            return
        reply = await self.core.action(caller, action=name, value=value, delivery=delivery(body))
        if not acked:
            await ack()  # a click's ack carries nothing: after the work, or at the budget
        await answer(caller, reply)

    async def _answer_click(
        self,
        caller: Caller | None,
        reply: Reply,
        *,
        body: Mapping[str, Any],
        client: AsyncWebClient,
        respond: Respond,
    ) -> None:
        """A click's answer where it was clicked: on the App Home tab (which sends no
        ``response_url``) the tab is published again with the outcome on top; on a message,
        the clicked message updated in place (see :func:`_show_click`)."""
        if _on_home(body):
            if caller is not None:
                await self._publish_home(client, caller, body["user"]["id"], reply=reply)
            return
        await _show_click(reply, respond)

    async def _publish_home(
        self, client: AsyncWebClient, caller: Caller, user_id: str, *, reply: Reply | None = None
    ) -> None:
        """The Home tab as it now is, with the outcome of what was just done on it on top."""
        waiting, projects = await self.core.home(caller)
        notice = _outcome(reply) if reply is not None else ()
        view = home_view(waiting=waiting, projects=projects, notice=notice)
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
        metadata = metadata_of(view)
        values = values_of(view)

        async def run(caller: Caller, lookup: Callable[[str], Awaitable[Caller | None]]) -> Reply:
            people = await _handles(values, lookup)
            if people is None:
                return Reply(messages=(UNKNOWN_MENTION,), ok=False)
            return await self.core.submit_form(
                caller, form_id=metadata.get("form", ""), values=people, delivery=delivery(body)
            )

        await self._submission(
            ack, body, client, context, metadata=metadata, run=run, field=_error_field(view)
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

        async def run(caller: Caller, lookup: Callable[[str], Awaitable[Caller | None]]) -> Reply:
            action, value = metadata.get("action", ""), metadata.get("value", "")
            return await self.core.action(
                caller, action=action, value=value, text=typed, delivery=delivery(body)
            )

        await self._submission(
            ack, body, client, context, metadata=metadata, run=run, field=TEXT_FIELD
        )

    async def _submission(
        self,
        ack: Callable[..., Awaitable[Any]],
        body: dict[str, Any],
        client: AsyncWebClient,
        context: AsyncBoltContext,
        *,
        metadata: Mapping[str, str],
        run: Callable[[Caller, Callable[[str], Awaitable[Caller | None]]], Awaitable[Reply]],
        field: str,
    ) -> None:
        """Submit a modal: on the fast path a refusal is shown in the modal under ``field`` (the
        user can fix it) and success closes it; the reply goes to where the modal came from."""
        team = Team(
            core=self.core,
            team_id=context.team_id or (body.get("team") or {}).get("id", ""),
            channel_id=metadata.get("channel") or None,
        )
        user_id = body["user"]["id"]
        caller = await team.known(user_id)
        if caller is not None:
            reply = await run(caller, team.known)
            refusal = cut_plain(plain(*reply.messages), ERROR_TEXT)
            if not reply.ok and await ack(response_action="errors", errors={field: refusal}):
                return  # shown in the modal, under the field, to be fixed there
            await ack()
        else:
            await ack()
            caller = await team.fetch(client, user_id)
            reply = (
                await run(caller, partial(team.fetch, client))
                if caller is not None
                else Reply(messages=(UNKNOWN_USER,), ok=False)
            )
        if metadata.get("home") and caller is not None:
            await self._publish_home(client, caller, user_id, reply=reply)
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
        self, event: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
    ) -> None:
        if event.get("tab", "home") != "home":
            return
        team = Team(core=self.core, team_id=context.team_id or "")
        caller = await team.fetch(client, event["user"])
        if caller is None:
            return
        await self._publish_home(client, caller, event["user"])
        await self._remember(team.team_id, event["user"], event.get("channel"))

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
        if not event.get("user"):
            return
        channel = event.get("channel")
        reply = await self._event_command(body, client, context, event.get("text") or "")
        if reply is not None and not reply.repeated and channel:
            await self._remember(context.team_id or "", event["user"], channel)
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
        reply = await self._event_command(body, client, context, raw)
        if reply is not None and not reply.repeated and event.get("channel"):
            await client.chat_postEphemeral(
                channel=event["channel"],
                user=event["user"],
                **_message(reply.messages),
            )

    async def _event_command(
        self, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext, raw: str
    ) -> Reply | None:
        event = body["event"]
        team = Team(core=self.core, team_id=context.team_id or "", channel_id=event.get("channel"))
        caller = await team.fetch(client, event["user"])
        if caller is None:
            return None
        plain = await team.plain(raw, partial(team.fetch, client))
        if plain is None:
            return Reply(messages=(UNKNOWN_MENTION,), ok=False)
        return await self.core.command(caller, plain or "help", delivery=delivery(body))

    async def _remember(self, team_id: str, user_id: str, channel: str | None) -> None:
        """Keep a user's DM channel with the bot (where their DMs go without conversations.open)."""
        if channel and channel.startswith("D"):
            await self.core.remember_conversation(
                platform=Platform.SLACK,
                workspace_external_id=team_id,
                user_id=user_id,
                conversation_ref=channel,
            )


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


async def _handles(
    values: Mapping[str, str], lookup: Callable[[str], Awaitable[Caller | None]]
) -> dict[str, str] | None:
    """Values picked with Slack's user picker, as handles (None when one is unknown)."""
    out = dict(values)
    for name, value in values.items():
        if value.startswith(USER_PREFIX):
            person = await lookup(value.removeprefix(USER_PREFIX))
            if person is None:
                return None
            out[name] = person.handle
    return out
