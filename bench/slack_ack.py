"""How fast does the real server ack ``/leader ask …`` compared with a bolt app that only acks?

Both servers run in this process on 127.0.0.1 and get the same load: signed slash-command
requests from 20 concurrent connections, sent by a separate load process (as Slack's requests
come from elsewhere: the generator's own work is not charged to the server under test), in
alternating rounds after a warm-up round each (each side's median round is reported). The real
one is the whole server (``adapters.app.build_application``) on a fresh SQLite database with
the demo organization, its heap frozen as ``leaderbot serve`` does once it is up; each request
raises a real ask before the ack, as production does (routing, the ask written and committed;
its audit event and messages are written by the drain's next pass, which this bench runs after
each round and times). Slack's Web API is a local fake that only ever sees bolt's one
``auth.test``. Prints both throughputs, p50/p99 latencies and the ratio, then one JSON line with
every figure. Target: ratio ≥ 0.8 and p99 < 50 ms.

    .venv/bin/python -m bench.slack_ack [--requests 2000] [--concurrency 20] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, TCPConnector, web
from pydantic import SecretStr
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from adapters.app import build_application, freeze_startup_heap, migrate
from adapters.settings import Settings
from adapters.slack.app import EVENTS_PATH, WORKING
from bot.context import Profile
from bot.model import Platform
from bot.services.demo import seed_demo
from cadence.announce import announce_raised
from tests.fakes_slack import BOT_TOKEN, TEAM_ID, FakeSlack, form_body, sign

SECRET = "bench-signing-secret"
COMMAND = "/leader"
USERS = {"U0ANA": "ana", "U0DANA": "dana"}


def slash(i: int, response_url: str) -> str:
    return form_body(
        {
            "team_id": TEAM_ID,
            "channel_id": "C0SEPSIS",
            "channel_name": "sepsis",
            "user_id": "U0ANA",
            "user_name": "ana",
            "command": COMMAND,
            "text": f"ask <@U0DANA|dana> bench item {i} area:staffing #SEPSIS",
            "response_url": response_url,
            # Unique per request, as Slack's are: a trigger_id seen before is a replay.
            "trigger_id": f"bench.{i}.{time.time_ns()}",
        }
    )


async def start(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}/slack/events"


async def load(url: str, *, requests: int, concurrency: int, response_url: str) -> dict[str, float]:
    """Send ``requests`` signed commands over ``concurrency`` connections; latency figures.
    ``late`` counts acks that said "Working on it…" (the core missed the ack budget and the
    reply went to response_url instead); ``failures`` counts non-200 answers and the core's
    apology (the ask was not raised)."""
    latencies: list[float] = []
    # Built and signed up front (well inside Slack's 5-minute window): the load process then
    # only sends, which keeps its share of this machine's two cores small.
    prepared = [
        (
            body.encode(),
            {"Content-Type": "application/x-www-form-urlencoded", **sign(SECRET, body)},
        )
        for body in (slash(i, response_url) for i in range(requests))
    ]
    queue = iter(prepared)
    failures = late = 0

    async def worker(session: ClientSession) -> None:
        nonlocal failures, late
        for body, headers in queue:
            began = time.perf_counter()
            async with session.post(url, data=body, headers=headers) as response:
                text = await response.text()
            latencies.append(time.perf_counter() - began)
            failures += response.status != 200 or "Sorry" in text
            late += WORKING.rstrip("…") in text

    async with ClientSession(connector=TCPConnector(limit=concurrency)) as session:
        began = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
    latencies.sort()
    return {
        "requests": len(latencies),
        "failures": failures,
        "late": late,
        "throughput_rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 2),
    }


async def load_elsewhere(
    url: str, *, requests: int, concurrency: int, response_url: str
) -> dict[str, float]:
    """:func:`load`, run by a separate load process (``--load``); its figures."""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.slack_ack",
        "--load",
        url,
        "--requests",
        str(requests),
        "--concurrency",
        str(concurrency),
        "--response-url",
        response_url,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await child.communicate()
    if child.returncode:
        raise RuntimeError(f"the load process failed ({child.returncode})")
    figures: dict[str, float] = json.loads(out)
    return figures


def bare_bolt(api_url: str, *, at_ack: bool = False) -> web.Application:
    """The baseline: a bolt app whose command listener only acks, with bolt's defaults (its
    runner checks for the ack every 10 ms). ``at_ack``: answered when the listener returns
    (``process_before_response``, as Leaderbot runs bolt), for reference only."""
    bolt = AsyncApp(
        name="bare",
        signing_secret=SECRET,
        client=AsyncWebClient(token=BOT_TOKEN, base_url=api_url),
        process_before_response=at_ack,
    )

    @bolt.command(COMMAND)
    async def only_ack(ack: Any) -> None:
        await ack()

    async def events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    app = web.Application()
    app.router.add_post(EVENTS_PATH, events)  # bolt's own aiohttp adapter, nothing of ours
    return app


async def real_server(api_url: str, database: Path) -> tuple[web.Application, Any]:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=f"sqlite+aiosqlite:///{database}",
        slack_bot_token=SecretStr(BOT_TOKEN),
        slack_signing_secret=SecretStr(SECRET),
        slack_api_url=api_url,
        microsoft_app_id="",
        log_level="WARNING",
    )
    await migrate(settings)
    application = await build_application(settings)
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
    freeze_startup_heap()  # as `leaderbot serve` does once it is up
    return application.web, application


def median_round(rounds: list[dict[str, float]]) -> dict[str, Any]:
    """The round with the median throughput, with every round's throughput beside it."""
    middle = sorted(rounds, key=lambda r: r["throughput_rps"])[len(rounds) // 2]
    return {**middle, "rounds_rps": [r["throughput_rps"] for r in rounds]}


async def main(requests: int, concurrency: int, rounds: int = 3) -> dict[str, Any]:
    logging.basicConfig(level=logging.WARNING)
    fake = await FakeSlack().start()
    figures: dict[str, Any] = {"requests": requests, "concurrency": concurrency, "rounds": rounds}
    with tempfile.TemporaryDirectory() as tmp:
        bare_runner, bare_url = await start(bare_bolt(fake.url))
        quick_runner, quick_url = await start(bare_bolt(fake.url, at_ack=True))
        web_app, application = await real_server(fake.url, Path(tmp) / "bench.db")
        real_runner, real_url = await start(web_app)
        try:
            run = partial(
                load_elsewhere, concurrency=concurrency, response_url=fake.response_url("bench")
            )

            async def announce() -> dict[str, float]:
                """The drain's next pass: the round's asks get their audit events and
                messages (work after the ack, timed here, not part of the ack figures)."""
                began = time.perf_counter()
                asks = await announce_raised(
                    application.uow, now=application.clock.now(), link_base=""
                )
                elapsed = time.perf_counter() - began
                return {"asks": asks, "ms": round(elapsed * 1000), "per_s": round(asks / elapsed)}

            await run(bare_url, requests=requests)  # warm-up rounds
            await run(real_url, requests=requests)
            await announce()
            # Alternate the two, round after round: this machine's speed drifts by ±10 %
            # over a minute, and both sides should see the same drift.
            bares, reals, quicks, announced = [], [], [], []
            for _ in range(rounds):
                bares.append(await run(bare_url, requests=requests))
                reals.append(await run(real_url, requests=requests))
                announced.append(await announce())
                quicks.append(await run(quick_url, requests=requests))
            bare, real = median_round(bares), median_round(reals)
            figures["bare_at_ack"] = median_round(quicks)
            figures["announce"] = sorted(announced, key=lambda a: a["per_s"])[len(announced) // 2]
        finally:
            await real_runner.cleanup()
            await bare_runner.cleanup()
            await quick_runner.cleanup()
            await application.close()
            await fake.close()
    figures["bare"] = bare
    figures["leaderbot"] = real
    figures["ratio"] = round(real["throughput_rps"] / bare["throughput_rps"], 3)
    figures["target_met"] = figures["ratio"] >= 0.8 and real["p99_ms"] < 50
    return figures


def real_vs(figures: dict[str, Any], other: dict[str, Any]) -> float:
    return float(figures["leaderbot"]["throughput_rps"]) / float(other["throughput_rps"])


def report(figures: dict[str, Any]) -> None:
    for name in ("bare", "leaderbot"):
        f = figures[name]
        print(
            f"{name:>10}: {f['throughput_rps']:8.1f} req/s   p50 {f['p50_ms']:6.2f} ms   "
            f"p99 {f['p99_ms']:6.2f} ms   "
            f"late acks {f['late']}   failures {f['failures']}"
        )
    print(f"     ratio: {figures['ratio']:.3f} (target ≥ 0.8; p99 target < 50 ms)")
    quick = figures["bare_at_ack"]
    print(
        f"  for reference, a bare app answered at the ack (process_before_response): "
        f"{quick['throughput_rps']:.1f} req/s, p99 {quick['p99_ms']:.2f} ms "
        f"(ratio {real_vs(figures, quick):.3f}; not the target's baseline)"
    )
    a = figures["announce"]
    print(
        f"  announce: a round's {a['asks']} asks announced after it in {a['ms']} ms "
        f"({a['per_s']} asks/s; the drain's work after the acks)"
    )
    print(json.dumps(figures, separators=(",", ":")))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--load", metavar="URL", help="be the load process: load URL, print JSON")
    parser.add_argument("--response-url", default="")
    args = parser.parse_args()
    if args.load:
        print(
            json.dumps(
                asyncio.run(
                    load(
                        args.load,
                        requests=args.requests,
                        concurrency=args.concurrency,
                        response_url=args.response_url,
                    )
                )
            )
        )
    else:
        report(asyncio.run(main(args.requests, args.concurrency, args.rounds)))
