"""Outbox deliveries → Slack's Web API (``chat.postMessage`` / ``chat.update``).

One attempt per call, and an answer saying what should happen next: the cadence drain owns
pacing and retries, so this client has slack_sdk's retry handlers switched off (otherwise a 429
would be slept on inside the drain and retried twice over). The one exception: a token Slack
refuses as unauthorized while the installation store holds a newer one (another process saw a
reinstall) is tried once more with that one at once.

Where a delivery goes:
- ``outbox.address`` is a channel id (project channel, or a DM channel ``D…``), or a user id
  (``U…``/``W…``) whose DM is opened with ``conversations.open`` first (cached per process). The
  sender writes nothing to the database: it runs inside the drain's transaction, and a second
  writer would wait on it forever under SQLite. The DM channel becomes the identity's
  ``conversation_ref`` through the inbound side (a DM, a command typed in the DM, App Home);
- ``delivery.thread_root`` set: a reply in that thread (``thread_ts``);
- ``delivery.replaces_ref`` set: ``chat.update`` of that message instead of a new post;
- ``delivery.linked_thread`` set: a "View the thread" link to that thread's root
  (``chat.getPermalink``), e.g. in a blocker's DM to its rung owner.

Not twice: every post carries its outbox key in Slack message metadata
(``event_type`` :data:`METADATA_TYPE`, ``event_payload.key``). The sender waits
:data:`SEND_TIMEOUT` (30 s) for Slack's answer; a delivery the drain marks ``uncertain`` (an
earlier try timed out, got a 5xx, or its process died before recording it) is first looked for
in the channel (``conversations.history``, or ``conversations.replies`` of its thread, with
``include_all_metadata``, from a minute before the row was written); found, its ``ts`` is the
result and nothing is posted. A lookup that fails for a reason worth retrying is retried, never
skipped; one Slack refuses (a missing ``*:history`` scope, say) is logged and the post goes.

``SendResult.platform_ref`` is ``"{channel}:{ts}"``: the channel Slack actually posted in (a DM's
``D…``, not the user id) and the message ``ts``, which is what ``chat.update`` needs. Refs and
thread roots given back to this sender may be ``"{channel}:{ts}"`` or a bare ``ts`` (then the
delivery's address is the channel); the drain records a thread root as this ref.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.app import SlackBolt
from adapters.slack.render import fallback, render, with_thread_link
from bot.model import Platform, Thread
from bot.ports import Delivery, SendOutcome, SendResult

log = logging.getLogger(__name__)

RETRYABLE_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
GONE_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "user_not_found",
        "user_disabled",
        "cannot_dm_bot",
        "messages_tab_disabled",
    }
)
"""The address can never be reached again (channel gone, bot removed, user left)."""
AUTH_ERRORS = frozenset({"invalid_auth", "not_authed", "token_revoked", "account_inactive"})
"""The token was refused: the workspace's bot may have a new one (a reinstall)."""
USER_PREFIXES = ("U", "W")
SEND_TIMEOUT = 30
"""Seconds to wait for Slack's answer: Slack can take a while to accept a post, and a post given
up on too early is the one that lands twice (issue 11)."""
METADATA_TYPE = "leaderbot_outbox"
LOOKBACK = 60
"""Seconds before the outbox row was written that a lookup starts at (clock skew)."""
LOOKUP_PAGES = 5
"""Pages of 200 messages a lookup reads at most: a busy channel's older messages are not ours."""


class SlackSender:
    """Implements ``bot.ports.Sender`` for Slack (see module docstring)."""

    platform = Platform.SLACK

    def __init__(self, bolt: SlackBolt, *, timeout: int = SEND_TIMEOUT) -> None:
        self.core = bolt.core
        self.bots = bolt.bots
        self.bot_token = bolt.slack.bot_token
        self.timeout = timeout
        self.client = AsyncWebClient(
            base_url=bolt.slack.base_url, timeout=timeout, retry_handlers=[]
        )
        self._teams: dict[int, str] = {}
        self._dms: dict[tuple[str, str], str] = {}

    async def send(self, delivery: Delivery) -> SendResult:
        workspace_id = delivery.outbox.workspace_id
        self._connect()
        token = await self._token(workspace_id)
        if not token:
            return SendResult(
                outcome=SendOutcome.FAILED, error=f"no Slack bot token for workspace {workspace_id}"
            )
        try:
            return await self._attempt(delivery, token=token)
        except SlackApiError as error:
            renewed = await self._renewed(workspace_id, token=token, error=error)
            if renewed is None:
                return _failure(error)
        try:
            return await self._attempt(delivery, token=renewed)
        except SlackApiError as error:
            return _failure(error)

    async def _attempt(self, delivery: Delivery, *, token: str) -> SendResult:
        """One try with ``token``; what Slack refuses is raised, for :meth:`send` to judge."""
        try:
            ref = await self._deliver(delivery, token=token)
        except (ClientError, TimeoutError, OSError) as error:
            return SendResult(
                outcome=SendOutcome.RETRY, error=f"Slack unreachable: {type(error).__name__}"
            )
        return SendResult(outcome=SendOutcome.SENT, platform_ref=ref)

    async def _renewed(self, workspace_id: int, *, token: str, error: SlackApiError) -> str | None:
        """A token to try again with, when Slack refused ``token`` as unauthorized and the
        store holds another (another process reinstalled the app: see
        :class:`adapters.slack.tokens.RecentBots`); None otherwise. Nothing was posted with a
        token Slack refused, so a second try cannot post twice."""
        if self.bots is None or _code(error) not in AUTH_ERRORS:
            return None
        self.bots.forget(enterprise_id=None, team_id=self._teams.get(workspace_id))
        renewed = await self._token(workspace_id)
        return renewed if renewed and renewed != token else None

    def _connect(self) -> None:
        """Give the Web API client one HTTP session, kept open between sends.

        Why: without one, slack_sdk opens a session, a TCP (and TLS) connection and closes them
        again for every API call; under load that setup was a fifth of the server's time. The
        session is made on first use, inside the running loop (aiohttp wants that), and lives
        until :meth:`close`."""
        if self.client.session is None or self.client.session.closed:
            self.client.session = ClientSession(timeout=ClientTimeout(total=self.timeout))

    async def close(self) -> None:
        """Close the HTTP session (the composition root calls this at shutdown)."""
        if self.client.session is not None:
            await self.client.session.close()

    async def _deliver(self, delivery: Delivery, *, token: str) -> str:
        outbox, message = delivery.outbox, delivery.message
        blocks = render(message)
        if delivery.linked_thread is not None:
            permalink = await self._permalink(delivery.linked_thread, token=token)
            if permalink:
                blocks = with_thread_link(blocks, permalink)
        content: dict[str, Any] = {"blocks": blocks, "text": fallback(message)}
        if delivery.replaces_ref:
            channel, ts = split_ref(delivery.replaces_ref, channel=outbox.address)
            updated = await self.client.chat_update(token=token, channel=channel, ts=ts, **content)
            return f"{updated['channel']}:{updated['ts']}"
        channel = outbox.address
        if channel.startswith(USER_PREFIXES):
            channel = await self._open_dm(token=token, user_id=channel)
        if delivery.thread_root:
            content["thread_ts"] = split_ref(delivery.thread_root, channel=channel)[1]
        if delivery.uncertain:
            found = await self._find(
                delivery, channel=channel, token=token, thread_ts=content.get("thread_ts")
            )
            if found is not None:
                log.info("outbox %s was already posted in %s as %s", outbox.key, channel, found)
                return f"{channel}:{found}"
        posted = await self.client.chat_postMessage(
            token=token,
            channel=channel,
            unfurl_links=False,
            unfurl_media=False,
            metadata={"event_type": METADATA_TYPE, "event_payload": {"key": outbox.key}},
            **content,
        )
        return f"{posted['channel']}:{posted['ts']}"

    async def _find(
        self, delivery: Delivery, *, channel: str, token: str, thread_ts: str | None
    ) -> str | None:
        """The ``ts`` of this delivery's message if an earlier try posted it (found by the
        outbox key in its metadata), else None. Raises what a lookup worth retrying raised."""
        oldest = f"{delivery.outbox.created_at.timestamp() - LOOKBACK:.6f}"
        cursor: str | None = None
        for _page in range(LOOKUP_PAGES):
            page: dict[str, Any] = {
                "token": token,
                "channel": channel,
                "oldest": oldest,
                "include_all_metadata": True,
                "limit": 200,
                "cursor": cursor,
            }
            try:
                # History lists a channel's top-level messages only; a reply is in its thread.
                answer = await (
                    self.client.conversations_replies(ts=thread_ts, **page)
                    if thread_ts
                    else self.client.conversations_history(**page)
                )
            except SlackApiError as error:
                if _failure(error).outcome is SendOutcome.RETRY:
                    raise
                log.warning(
                    "cannot look for outbox %s in %s (%s): posting it",
                    delivery.outbox.key,
                    channel,
                    error.response.get("error"),
                )
                return None
            for message in answer.get("messages") or ():
                metadata = message.get("metadata") or {}
                payload = metadata.get("event_payload") or {}
                if (
                    metadata.get("event_type") == METADATA_TYPE
                    and payload.get("key") == delivery.outbox.key
                ):
                    return str(message["ts"])
            cursor = (answer.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                return None
        return None

    async def _permalink(self, thread: Thread, *, token: str) -> str | None:
        """The permalink of a thread's root (``chat.getPermalink``); None when Slack has none
        for it (root deleted, channel archived): the message then goes without the link."""
        channel, ts = split_ref(thread.root_id, channel=thread.channel_id)
        try:
            answer = await self.client.chat_getPermalink(
                token=token, channel=channel, message_ts=ts
            )
        except SlackApiError as error:
            log.info("no permalink for %s in %s: %s", ts, channel, error.response.get("error"))
            return None
        return str(answer.get("permalink") or "") or None

    async def _open_dm(self, *, token: str, user_id: str) -> str:
        """The DM channel with a user (``conversations.open`` returns the same one every time,
        so it is asked once per process)."""
        key = (token, user_id)
        if key not in self._dms:
            opened = await self.client.conversations_open(token=token, users=user_id)
            self._dms[key] = str(opened["channel"]["id"])
        return self._dms[key]

    async def _token(self, workspace_id: int) -> str | None:
        """The single bot token, or (OAuth mode) the token installed for the workspace's team."""
        if self.bots is None:
            return self.bot_token or None
        if workspace_id not in self._teams:
            # A read only (see the module docstring); a workspace's team id never changes.
            async with self.core.uow() as uow:
                workspace = await uow.workspaces.get(workspace_id)
            if workspace is None:
                return None
            self._teams[workspace_id] = workspace.external_id
        bot = await self.bots.async_find_bot(enterprise_id=None, team_id=self._teams[workspace_id])
        return bot.bot_token if bot is not None else None


def split_ref(ref: str, *, channel: str) -> tuple[str, str]:
    """``"C1:1700000000.000100"`` → (``C1``, ts); a bare ts keeps ``channel``."""
    head, sep, tail = ref.rpartition(":")
    return (head, tail) if sep and head else (channel, ref)


def _code(error: SlackApiError) -> str:
    """Slack's ``error`` field (``invalid_auth``), or ""."""
    data = getattr(error.response, "data", None)
    return str(data.get("error") or "") if isinstance(data, Mapping) else ""


def _failure(error: SlackApiError) -> SendResult:
    response = error.response
    status = int(getattr(response, "status_code", 0) or getattr(response, "status", 0) or 0)
    code = _code(error)
    detail = f"Slack answered {status} {code}".strip()
    if status == 429 or status >= 500 or code in RETRYABLE_ERRORS:
        return SendResult(
            outcome=SendOutcome.RETRY,
            retry_after=_retry_after(getattr(response, "headers", None)),
            error=detail,
        )
    return SendResult(outcome=SendOutcome.FAILED, error=detail, unreachable=code in GONE_ERRORS)


def _retry_after(headers: Any) -> float | None:
    if not headers:
        return None
    value = headers.get("Retry-After") or headers.get("retry-after")
    try:
        return max(float(value), 0.0) if value is not None else None
    except (TypeError, ValueError):
        return None
