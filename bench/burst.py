"""Does the ack budget hold under a burst? 500 signed ``/leader ask …`` commands at once.

Issue #14 §3: on SQLite every statement once ran on the event loop, so a burst of 500
simultaneous commands with cold caches had all 500 acks over 3 s (the ack budget's timer could
not fire while a query ran). Here the server is ``leaderbot serve`` itself, in a fresh process
of its own (cold: no directory copy, no statement built yet), with the drain running, on a
database prepared beforehand (the demo organization, its users known to it). This process is
Slack: it sends every command at once over its own connection, signed, and then a second
burst to the same, now warm, server. Slack's Web API and ``response_url`` are a local fake.

Each burst's figures: the acks' slowest, p99 and p50 latency, how many came after 3 s (the
target: none), how many said "Working on it…" (the core took longer than the 2 s ack budget, so
the answer followed on response_url — still acked in time), and failures (non-200 or the
core's apology). On SQLite, and on PostgreSQL with ``--postgres URL`` (a server URL: the bench
makes and drops a database of its own there). Then one JSON line with every figure.

    .venv/bin/python -m bench.burst [--requests 500] [--postgres postgresql://…/postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import ClientSession, web
from pydantic import SecretStr
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from adapters.app import build_application, migrate
from adapters.settings import Settings
from adapters.slack.app import EVENTS_PATH, WORKING
from bot.context import Profile
from bot.model import Platform
from bot.services.demo import seed_demo
from storage.engine import normalize_url
from tests.fakes_slack import BOT_TOKEN, TEAM_ID, FakeSlack, form_body, sign

SECRET = "burst-signing-secret"
USERS = {"U0ANA": "ana", "U0DANA": "dana"}
LIMIT_S = 3.0
"""Slack retries a command whose ack takes longer (and the user sees an error)."""


def settings(database_url: str, api_url: str, port: int = 0) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=database_url,
        port=port or 3978,
        slack_bot_token=SecretStr(BOT_TOKEN),
        slack_signing_secret=SecretStr(SECRET),
        slack_api_url=api_url,
        microsoft_app_id="",
        log_level="WARNING",
    )


def environment(server: Settings) -> dict[str, str]:
    """``server`` as the environment ``leaderbot serve`` reads."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MICROSOFT"))},
        "DATABASE_URL": server.database_url,
        "PORT": str(server.port),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": server.slack_api_url,
        "MICROSOFT_APP_ID": "",
        "LOG_LEVEL": "WARNING",
        "DASHBOARD_SECRET": "burst-dashboard-secret",
    }


async def prepare(database_url: str, api_url: str) -> None:
    """The demo organization, Ana and Dana known on Slack, #SEPSIS linked: what the burst's
    commands need, written by an application that is gone before the server starts."""
    await migrate(settings(database_url, api_url))
    application = await build_application(settings(database_url, api_url))
    try:
        await seed_demo(application.uow, application.clock)
        core = application.core
        await core.configured_workspace(platform=Platform.SLACK, external_id=TEAM_ID)
        for user_id, handle in USERS.items():
            await core.identify(
                platform=Platform.SLACK,
                workspace_external_id=TEAM_ID,
                user_id=user_id,
                profile=Profile(name=handle, email=f"{handle}@northfield.example"),
            )
        ana = await core.identify(
            platform=Platform.SLACK, workspace_external_id=TEAM_ID, user_id="U0ANA"
        )
        assert ana is not None
        reply = await core.command(replace(ana, channel_id="C0SEPSIS"), "project channel #SEPSIS")
        assert reply.ok, reply
    finally:
        await application.close()


def command(i: int, response_url: str) -> str:
    return form_body(
        {
            "team_id": TEAM_ID,
            "channel_id": "C0SEPSIS",
            "channel_name": "sepsis",
            "user_id": "U0ANA",
            "user_name": "ana",
            "command": "/leader",
            "text": f"ask <@U0DANA|dana> burst item {i} area:staffing #SEPSIS",
            "response_url": response_url,
            "trigger_id": f"burst.{i}.{time.time_ns()}",
        }
    )


async def burst(url: str, *, requests: int, first: int, response_url: str) -> dict[str, Any]:
    """``requests`` signed commands, each on a connection of its own, opened beforehand (as
    Slack's are kept open): all the connections first, then every request at once. A latency
    runs from a request's first byte sent to its answer's last byte read."""
    target = urlsplit(url)
    host, port = target.hostname or "127.0.0.1", target.port or 80
    prepared = []
    for i in range(requests):
        body = command(first + i, response_url)
        headers = {
            "Host": f"{host}:{port}",
            "Content-Type": "application/x-www-form-urlencoded",
            "Content-Length": str(len(body.encode())),
            "Connection": "close",
            **sign(SECRET, body),
        }
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        prepared.append(f"POST {target.path} HTTP/1.1\r\n{head}\r\n{body}".encode())
    connections = await asyncio.gather(
        *(asyncio.open_connection(host, port) for _ in range(requests))
    )
    latencies: list[float] = []
    failures = late = 0

    async def one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, sent: bytes) -> None:
        nonlocal failures, late
        began = time.perf_counter()
        writer.write(sent)
        try:
            answer = await reader.read(-1)
        except OSError:
            failures += 1
            return
        finally:
            writer.close()
        latencies.append(time.perf_counter() - began)
        said = answer.decode(errors="replace")
        failures += not said.startswith("HTTP/1.1 200") or "Sorry" in said
        late += WORKING.rstrip("…") in said

    await asyncio.gather(
        *(
            one(reader, writer, sent)
            for (reader, writer), sent in zip(connections, prepared, strict=True)
        )
    )
    latencies.sort()
    return {
        "requests": requests,
        "acked": len(latencies),
        "over_3s": sum(latency > LIMIT_S for latency in latencies) + requests - len(latencies),
        "working_on_it": late,
        "failures": failures,
        "max_ms": round(latencies[-1] * 1000) if latencies else None,
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000) if latencies else None,
        "p50_ms": round(statistics.median(latencies) * 1000) if latencies else None,
    }


def cpu_seconds(pid: int) -> float:
    """The process's CPU time so far, all its threads (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measured(child: int, url: str, **kw: Any) -> dict[str, Any]:
    """:func:`burst`, with the server's CPU time while it ran."""
    before = cpu_seconds(child)
    figures = await burst(url, **kw)
    return {**figures, "server_cpu_s": round(cpu_seconds(child) - before, 2)}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def until_up(url: str, child: asyncio.subprocess.Process) -> None:
    async with ClientSession() as session:
        for _ in range(600):
            if child.returncode is not None:
                raise RuntimeError(f"the server exited ({child.returncode})")
            try:
                async with session.get(url) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError("the server did not come up")


async def on_backend(name: str, database_url: str, requests: int) -> dict[str, Any]:
    """Cold then warm burst on a fresh ``leaderbot serve`` over ``database_url``."""
    fake = await FakeSlack().start()
    try:
        await prepare(database_url, fake.url)
        server = settings(database_url, fake.url, port=free_port())
        leaderbot = Path(sys.executable).with_name("leaderbot")
        child = await asyncio.create_subprocess_exec(
            str(leaderbot), "serve", env=environment(server)
        )
        try:
            base = f"http://127.0.0.1:{server.port}"
            await until_up(f"{base}/healthz", child)
            url = f"{base}{EVENTS_PATH}"
            reply_to = fake.response_url("burst")
            cold = await measured(child.pid, url, requests=requests, first=0, response_url=reply_to)
            await asyncio.sleep(3)  # the late ones finish; the drain announces meanwhile
            warm = await measured(
                child.pid, url, requests=requests, first=requests, response_url=reply_to
            )
        finally:
            child.send_signal(signal.SIGTERM)
            await child.wait()
    finally:
        await fake.close()
    return {"backend": name, "cold": cold, "warm": warm}


async def bare(requests: int) -> dict[str, Any]:
    """For reference: the same burst at a bolt app that only acks (answered at the ack), in a
    process of its own — what this machine and this load process allow at best."""
    fake = await FakeSlack().start()
    port = free_port()
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.burst", "--bare", str(port), "--api-url", fake.url
    )
    try:
        base = f"http://127.0.0.1:{port}"
        await until_up(f"{base}/healthz", child)
        url = f"{base}{EVENTS_PATH}"
        return await measured(child.pid, url, requests=requests, first=0, response_url="")
    finally:
        child.send_signal(signal.SIGTERM)
        await child.wait()
        await fake.close()


def serve_bare(port: int, api_url: str) -> None:
    """A bolt app whose command listener only acks, answered at the ack, behind bolt's own
    aiohttp adapter."""
    bolt = AsyncApp(
        name="bare",
        signing_secret=SECRET,
        client=AsyncWebClient(token=BOT_TOKEN, base_url=api_url),
        process_before_response=True,
    )

    @bolt.command("/leader")
    async def only_ack(ack: Any) -> None:
        await ack()

    async def events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    app = web.Application()
    app.router.add_post(EVENTS_PATH, events)
    app.router.add_get("/healthz", lambda _: web.json_response({"status": "ok"}))
    web.run_app(app, host="127.0.0.1", port=port, print=None)


async def _admin(url: str, statement: str) -> None:
    engine = create_async_engine(
        normalize_url(url), isolation_level="AUTOCOMMIT", poolclass=NullPool
    )
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


async def main(requests: int, postgres: str | None) -> dict[str, Any]:
    reference = await bare(requests)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        sqlite_url = f"sqlite+aiosqlite:///{Path(tmp) / 'burst.db'}"
        results.append(await on_backend("sqlite", sqlite_url, requests))
    if postgres:
        name = f"leaderbot_burst_{os.getpid()}"
        await _admin(postgres, f'CREATE DATABASE "{name}"')
        try:
            url = normalize_url(postgres).set(database=name).render_as_string(hide_password=False)
            results.append(await on_backend("postgresql", url, requests))
        finally:
            await _admin(postgres, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    met = all(
        r[phase]["over_3s"] == 0 and not r[phase]["failures"]
        for r in results
        for phase in ("cold", "warm")
    )
    return {"requests": requests, "bare_at_ack": reference, "results": results, "target_met": met}


def report(figures: dict[str, Any]) -> None:
    for result in figures["results"]:
        for phase in ("cold", "warm"):
            f = result[phase]
            print(
                f"{result['backend']:>10} {phase}: {f['acked']}/{f['requests']} acked   "
                f"max {f['max_ms']} ms   p99 {f['p99_ms']} ms   p50 {f['p50_ms']} ms   "
                f"over 3 s {f['over_3s']}   'Working on it' {f['working_on_it']}   "
                f"failures {f['failures']}   server CPU {f['server_cpu_s']} s"
            )
    f = figures["bare_at_ack"]
    print(
        f"  for reference, a bolt app that only acks: max {f['max_ms']} ms   p99 {f['p99_ms']} ms"
        f"   p50 {f['p50_ms']} ms   over 3 s {f['over_3s']}   server CPU {f['server_cpu_s']} s"
    )
    backends = " and ".join(r["backend"] for r in figures["results"])
    state = "met" if figures["target_met"] else "not met"
    print(f"target (0 acks later than 3 s, cold and warm, on {backends}): {state}")
    print(json.dumps(figures, separators=(",", ":")))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--postgres", metavar="URL", help="a PostgreSQL server to run on too")
    parser.add_argument("--bare", type=int, metavar="PORT", help="be the reference bolt app")
    parser.add_argument("--api-url", default="")
    args = parser.parse_args()
    if args.bare:
        serve_bare(args.bare, args.api_url)
    else:
        report(asyncio.run(main(args.requests, args.postgres)))
