"""A local fake of Slack: the Web API, ``response_url`` webhooks, and request signing.

The real ``slack_sdk`` clients talk to it through ``base_url`` (``SLACK_API_URL``); it checks the
bearer token, records every call, answers the way Slack documents (``ok``, ``channel``, ``ts``,
``ok: false`` + ``error``), and can be told to fail the next call of a method with a 429 and
``Retry-After``, a 5xx, or a Slack error code, or to answer a call late (after doing it). Posted
messages are kept per channel with their metadata, and ``conversations.history`` /
``conversations.replies`` answer with them as Slack does (top-level messages newest first,
``oldest``, ``limit`` and cursors; metadata only with ``include_all_metadata``).

Socket Mode too: ``apps.connections.open`` (with :data:`APP_TOKEN`) answers a ``ws://127.0.0.1``
URL of the fake's own WebSocket endpoint, which greets each connection with ``hello`` as Slack
does; :meth:`FakeSlack.envelope` sends a request on it and the app's acks are kept in ``acks``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from aiohttp import web
from aiohttp.test_utils import TestServer

TEAM_ID = "T0LEADER"
BOT_TOKEN = "xoxb-fake-token"
BOT_USER = "UBOT0001"
APP_TOKEN = "xapp-1-A0LEADER-1-fakeapptoken"


def sign(secret: str, body: str, timestamp: int | None = None) -> dict[str, str]:
    """The headers Slack sends with a request: ``v0=HMAC-SHA256(secret, "v0:{ts}:{body}")``."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}


def form_body(fields: Mapping[str, str]) -> str:
    """A slash command as Slack posts it (``application/x-www-form-urlencoded``)."""
    return urlencode(fields)


def payload_body(payload: Mapping[str, Any]) -> str:
    """An interactivity payload as Slack posts it (``payload=<json>``, form-encoded)."""
    return urlencode({"payload": json.dumps(payload)})


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    token: str
    answer: dict[str, Any] = field(default_factory=dict)
    """What the fake answered (``ts`` of a post, for instance)."""


@dataclass
class Failure:
    status: int = 200
    error: str = ""
    retry_after: int | None = None


@dataclass
class FakeSlack:
    """State of the fake; ``url`` is the Web API base once started."""

    tokens: set[str] = field(default_factory=lambda: {BOT_TOKEN})
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    responses: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    """What was posted to response_url webhooks: (id, body)."""
    failures: dict[str, list[Failure]] = field(default_factory=dict)
    installs: dict[str, dict[str, Any]] = field(default_factory=dict)
    """OAuth codes Slack would hand the redirect, each with its ``oauth.v2.access`` answer."""
    client: tuple[str, str] = ("", "")
    """The app's (client id, client secret) ``oauth.v2.access`` accepts (set by OAuth tests)."""
    teams: dict[str, str] = field(default_factory=dict)
    """Bot token → team id, for tokens installed through OAuth (``auth.test``)."""
    server: TestServer | None = None
    held: dict[str, asyncio.Event] = field(default_factory=dict)
    """Methods whose calls are recorded at once but answered only once the event is set."""
    down: bool = False
    """An outage: while set, every Web API call is answered 503."""
    late: dict[str, asyncio.Event] = field(default_factory=dict)
    """Methods whose calls are carried out at once but answered only once the event is set."""
    slow: dict[str, float] = field(default_factory=dict)
    """Seconds each call of a method waits, after being carried out, before it is answered."""
    messages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Channel id → the messages posted there, oldest first, as history returns them."""
    clock: Callable[[], float] = lambda: 1700000000.0
    """Epoch seconds of a new message's ``ts`` (fixed unless a test gives its clock)."""
    sockets: list[web.WebSocketResponse] = field(default_factory=list)
    """Socket Mode connections the app opened, oldest first."""
    acks: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Envelope id → the app's ack of it (``envelope_id`` and any ``payload``)."""
    _ts: int = 0
    _envelopes: int = 0

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("/api/"))

    def response_url(self, name: str) -> str:
        assert self.server is not None
        return str(self.server.make_url(f"/response/{name}"))

    def add_user(self, user_id: str, *, name: str, real_name: str, email: str, tz: str) -> None:
        self.users[user_id] = {
            "id": user_id,
            "team_id": TEAM_ID,
            "name": name,
            "real_name": real_name,
            "tz": tz,
            "profile": {"email": email, "real_name": real_name, "display_name": name},
        }

    def offer_install(
        self, code: str, *, team_id: str, team_name: str, bot_token: str, bot_user: str
    ) -> None:
        """Let ``code`` be exchanged once for an install of the app in ``team_id``: the answer
        is shaped like Slack's documented ``oauth.v2.access`` example; ``bot_token`` becomes a
        token the fake accepts."""
        self.installs[code] = {
            "ok": True,
            "access_token": bot_token,
            "token_type": "bot",
            "scope": "commands,chat:write,im:write,users:read",
            "bot_user_id": bot_user,
            "app_id": "A0LEADER",
            "team": {"name": team_name, "id": team_id},
            "enterprise": None,
            "authed_user": {
                "id": "U0INSTALLER",
                "scope": "",
                "access_token": "xoxp-installer-token",
                "token_type": "user",
            },
            "is_enterprise_install": False,
        }
        self.tokens.add(bot_token)
        self.teams[bot_token] = team_id

    def fail_next(
        self, method: str, *, status: int = 200, error: str = "", retry_after: int | None = None
    ) -> None:
        self.failures.setdefault(method, []).append(
            Failure(status=status, error=error, retry_after=retry_after)
        )

    def hold(self, method: str) -> asyncio.Event:
        """Keep calls of ``method`` waiting for their answer until the returned event is set
        (a slow Slack)."""
        self.held[method] = asyncio.Event()
        return self.held[method]

    def answer_late(self, method: str) -> asyncio.Event:
        """Carry out calls of ``method`` at once but answer them only once the returned event is
        set (a Slack that accepted a post but whose answer is slow in coming)."""
        self.late[method] = asyncio.Event()
        return self.late[method]

    def keyed(self, key: str) -> list[dict[str, Any]]:
        """Every message posted with outbox key ``key`` in its metadata, in any channel."""
        return [
            m
            for kept in self.messages.values()
            for m in kept
            if (m.get("metadata") or {}).get("event_payload", {}).get("key") == key
        ]

    def of(self, method: str) -> list[dict[str, Any]]:
        """Arguments of every recorded call of ``method``, in order."""
        return [c.args for c in self.calls if c.method == method]

    def posts(self, channel: str) -> list[Call]:
        """Successful ``chat.postMessage`` calls to ``channel``, in order."""
        return [
            c
            for c in self.calls
            if c.method == "chat.postMessage" and c.args["channel"] == channel and c.answer
        ]

    def _next_ts(self) -> str:
        self._ts += 1
        return f"{int(self.clock())}.{self._ts:06d}"

    async def _api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        args: dict[str, Any] = dict(request.query)
        raw = await request.text()
        if raw:
            if request.content_type == "application/json":
                args.update(json.loads(raw))
            else:
                args.update(parse_qsl(raw))
        for key in ("blocks", "view", "metadata"):
            if isinstance(args.get(key), str):
                args[key] = json.loads(args[key])
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        token = token or str(args.pop("token", ""))
        call = Call(method=method, args=args, token=token)
        self.calls.append(call)
        if method in self.held:
            await self.held[method].wait()
        if self.down:
            return web.Response(status=503, text="upstream failure")
        queued = self.failures.get(method)
        if queued:
            failure = queued.pop(0)
            if failure.status == 429:
                headers = {"Retry-After": str(failure.retry_after or 1)}
                return web.json_response(
                    {"ok": False, "error": "ratelimited"}, status=429, headers=headers
                )
            if failure.status >= 500:
                return web.Response(status=failure.status, text="upstream failure")
            return web.json_response({"ok": False, "error": failure.error})
        if method == "oauth.v2.access":
            return web.json_response(self._exchange(request, args))
        if method == "apps.connections.open":
            if token != APP_TOKEN:
                return web.json_response({"ok": False, "error": "invalid_auth"})
            assert self.server is not None
            url = str(self.server.make_url("/socket")).replace("http://", "ws://", 1)
            return web.json_response({"ok": True, "url": url})
        if token not in self.tokens:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        call.answer = self._answer(method, args, token)
        if method in self.late:
            await self.late[method].wait()
        if method in self.slow:
            await asyncio.sleep(self.slow[method])
        return web.json_response(call.answer)

    def _exchange(self, request: web.Request, args: dict[str, Any]) -> dict[str, Any]:
        """``oauth.v2.access``: the app's credentials (HTTP Basic, as slack_sdk sends them, or
        form fields) and a code that is used once."""
        sent = (str(args.get("client_id", "")), str(args.get("client_secret", "")))
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            decoded = base64.b64decode(auth.removeprefix("Basic ")).decode()
            user, _, password = decoded.partition(":")
            sent = (user, password)
        if not self.client[0] or sent != self.client:
            return {"ok": False, "error": "invalid_client_id"}
        answer = self.installs.pop(str(args.get("code", "")), None)
        return answer or {"ok": False, "error": "invalid_code"}

    def _answer(self, method: str, args: dict[str, Any], token: str) -> dict[str, Any]:
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://leader.slack.com/",
                "team": "Leader",
                "user": "leaderbot",
                "team_id": self.teams.get(token, TEAM_ID),
                "user_id": BOT_USER,
                "bot_id": "B0LEADER",
            }
        if method == "chat.getPermalink":
            ts = str(args["message_ts"])
            if not any(c.answer.get("ts") == ts for c in self.posts(str(args["channel"]))):
                return {"ok": False, "error": "message_not_found"}
            return {
                "ok": True,
                "channel": args["channel"],
                "permalink": f"https://leader.slack.com/archives/{args['channel']}/p"
                + ts.replace(".", ""),
            }
        if method == "chat.postMessage":
            ts = self._next_ts()
            message = {"type": "message", "bot_id": "B0LEADER", "ts": ts, "text": args.get("text")}
            if args.get("thread_ts"):
                message["thread_ts"] = args["thread_ts"]
            if args.get("metadata"):
                message["metadata"] = args["metadata"]
            self.messages.setdefault(str(args["channel"]), []).append(message)
            return {"ok": True, "channel": args["channel"], "ts": ts, "message": message}
        if method in ("conversations.history", "conversations.replies"):
            return self._history(method, args)
        if method == "chat.update":
            return {"ok": True, "channel": args["channel"], "ts": args["ts"]}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": self._next_ts()}
        if method == "conversations.open":
            return {"ok": True, "channel": {"id": "D" + str(args["users"]).lstrip("UW")}}
        if method == "users.info":
            user = self.users.get(str(args.get("user")))
            return {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}
        if method in ("views.open", "views.publish", "views.update"):
            return {"ok": True, "view": {"id": "V" + self._next_ts().replace(".", "")}}
        return {"ok": True}

    def _history(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        """``conversations.history`` (a channel's top-level messages, newest first) or
        ``conversations.replies`` (a thread's root, then its replies), paged by ``limit`` and
        ``cursor``, from ``oldest`` on."""
        kept = self.messages.get(str(args["channel"]), [])
        oldest = float(args.get("oldest") or 0)
        if method == "conversations.history":
            chosen = [m for m in reversed(kept) if m.get("thread_ts", m["ts"]) == m["ts"]]
        else:
            root = str(args["ts"])
            chosen = [m for m in kept if m["ts"] == root or m.get("thread_ts") == root]
        chosen = [m for m in chosen if float(m["ts"]) >= oldest]
        if str(args.get("include_all_metadata", "")).lower() not in ("1", "true"):
            chosen = [{k: v for k, v in m.items() if k != "metadata"} for m in chosen]
        start, limit = int(args.get("cursor") or 0), int(args.get("limit") or 100)
        page = chosen[start : start + limit]
        more = start + limit < len(chosen)
        return {
            "ok": True,
            "messages": page,
            "has_more": more,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        """Slack's end of a Socket Mode connection: ``hello``, then acks until it closes."""
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self.sockets.append(socket)
        await socket.send_json(
            {
                "type": "hello",
                "num_connections": len(self.sockets),
                "debug_info": {"host": "fake", "approximate_connection_time": 3600},
                "connection_info": {"app_id": "A0LEADER"},
            }
        )
        async for frame in socket:
            ack = json.loads(frame.data)
            self.acks[ack["envelope_id"]] = ack
        return socket

    async def envelope(self, kind: str, payload: Mapping[str, Any]) -> str:
        """Send a request (``slash_commands``, ``interactive``, ``events_api``) on the newest
        connection, as Slack wraps it; returns its envelope id."""
        self._envelopes += 1
        envelope_id = f"envelope-{self._envelopes}"
        await self.sockets[-1].send_json(
            {
                "envelope_id": envelope_id,
                "type": kind,
                "accepts_response_payload": kind != "events_api",
                "retry_attempt": 0,
                "retry_reason": "",
                "payload": dict(payload),
            }
        )
        return envelope_id

    async def _respond(self, request: web.Request) -> web.Response:
        self.responses.append((request.match_info["name"], await request.json()))
        return web.Response(text="ok")

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/response/{name}", self._respond)
        app.router.add_get("/socket", self._socket)
        return app

    async def start(self) -> FakeSlack:
        self.server = TestServer(self.app(), host="127.0.0.1")
        await self.server.start_server()
        return self

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()
