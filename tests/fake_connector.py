"""A fake Bot Connector service: the Teams side of every outgoing activity, on 127.0.0.1.

Tests set it as the ``serviceUrl`` of the activities they post (and of stored conversation
references), so botbuilder's real ConnectorClient talks HTTP to it. It records every call,
answers member look-ups from :attr:`FakeConnector.members`, and can be told to fail the next
calls with a status (429 with ``Retry-After``, 5xx, 403 …).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass(frozen=True)
class Call:
    method: str
    kind: str
    """``send`` (POST …/activities), ``reply`` (POST …/activities/{id}), ``update`` (PUT),
    ``create`` (POST /v3/conversations: a new channel thread) or ``member`` (GET)."""
    conversation_id: str
    activity_id: str | None
    body: dict[str, Any]

    @property
    def cards(self) -> list[dict[str, Any]]:
        """The Adaptive Cards this activity carried."""
        activity = self.body.get("activity", self.body) if self.kind == "create" else self.body
        return [
            a["content"]
            for a in activity.get("attachments") or []
            if a.get("contentType") == "application/vnd.microsoft.card.adaptive"
        ]


@dataclass
class _Failure:
    status: int
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class FakeConnector:
    members: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Bot Framework user id (``29:…``) → TeamsChannelAccount JSON (name, email, aadObjectId)."""
    calls: list[Call] = field(default_factory=list)
    _failures: list[_Failure] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1_700_000_000_001))
    _runner: web.AppRunner | None = None
    url: str = ""

    async def start(self) -> FakeConnector:
        app = web.Application()
        base = "/v3/conversations"
        app.router.add_post(base, self._create)
        app.router.add_post(base + "/{conversation}/activities", self._send)
        app.router.add_post(base + "/{conversation}/activities/{activity}", self._reply)
        app.router.add_put(base + "/{conversation}/activities/{activity}", self._update)
        app.router.add_get(base + "/{conversation}/members/{member}", self._member)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/"
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def fail_next(
        self, status: int, *, times: int = 1, retry_after: str | None = None, code: str = ""
    ) -> None:
        """Answer the next ``times`` activity calls with ``status`` (and ``Retry-After``)."""
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        body = {"error": {"code": code or f"Status{status}", "message": f"fake {status}"}}
        self._failures.extend(_Failure(status, headers, body) for _ in range(times))

    def activities(self, kind: str | None = None) -> list[Call]:
        """Recorded activity calls (not member look-ups), optionally of one kind."""
        return [c for c in self.calls if c.kind != "member" and (kind is None or c.kind == kind)]

    def _new_id(self) -> str:
        return str(next(self._ids))

    async def _record(self, request: web.Request, kind: str) -> web.Response | Call:
        body = await request.json() if request.can_read_body else {}
        call = Call(
            method=request.method,
            kind=kind,
            conversation_id=request.match_info.get("conversation", ""),
            activity_id=request.match_info.get("activity"),
            body=body,
        )
        if self._failures:
            failure = self._failures.pop(0)
            return web.json_response(failure.body, status=failure.status, headers=failure.headers)
        self.calls.append(call)
        return call

    async def _send(self, request: web.Request) -> web.Response:
        call = await self._record(request, "send")
        return call if isinstance(call, web.Response) else web.json_response({"id": self._new_id()})

    async def _reply(self, request: web.Request) -> web.Response:
        call = await self._record(request, "reply")
        return call if isinstance(call, web.Response) else web.json_response({"id": self._new_id()})

    async def _update(self, request: web.Request) -> web.Response:
        call = await self._record(request, "update")
        if isinstance(call, web.Response):
            return call
        return web.json_response({"id": call.activity_id})

    async def _create(self, request: web.Request) -> web.Response:
        call = await self._record(request, "create")
        if isinstance(call, web.Response):
            return call
        channel = ((call.body.get("channelData") or {}).get("channel") or {}).get("id", "")
        activity_id = self._new_id()
        return web.json_response(
            {"id": f"{channel};messageid={activity_id}", "activityId": activity_id}
        )

    async def _member(self, request: web.Request) -> web.Response:
        member = self.members.get(request.match_info["member"])
        self.calls.append(
            Call("GET", "member", request.match_info["conversation"], None, {"id": member})
        )
        if member is None:
            return web.json_response(
                {"error": {"code": "MemberNotFoundInConversation", "message": "no"}}, status=404
            )
        return web.json_response(member)
