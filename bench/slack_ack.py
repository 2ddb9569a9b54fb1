"""How fast does ``leaderbot serve`` take ``/leader ask …``, against bolt answered at the ack?

Three servers, each in a process of its own on 127.0.0.1, get the same load: signed slash
commands over 20 connections, from a separate process that is also Slack's Web API
(:mod:`bench.load`). The rounds alternate, after a warm-up round each, and each side's median
round is reported with every round's figure beside it (the spread).

- **The baseline**: a bolt app whose listener only acks, answered when the listener returns
  (``process_before_response=True``, as Leaderbot runs bolt). Its work is CPU-bound, as the
  server's is, so the ratio does not move with the machine's speed. Bolt with its defaults (an
  ack poll every 10 ms, which bounds it by the clock rather than the CPU) is printed for
  information only.
- **Leaderbot**: ``leaderbot serve`` itself, on a fresh SQLite database with the demo
  organization — the same startup as in production, heap freeze and cadence included, so the
  drain (every ``DRAIN_SECONDS``, 2 s by default) announces and delivers the asks beside the
  acks. Each command raises an ask to one of ``--spread`` bench people, in a project of their
  own with its channel, so Slack's one message per second per channel does not bound the run.

Figures: **ack-only** (commands acked per second, p50/p99) and **sustained** (commands per
second from the first request until the fake has received every ask's card, the decider's and
the channel's: the whole pipeline), each as a ratio of bolt answered at the ack. Targets: ack
≥ 0.5 × with p99 < 50 ms at 20 connections; sustained ≥ 0.35 ×.

Beside them, **the libraries' ceiling** for sustained: what one bolt ack (bolt's process is
CPU-bound, so its cost is 1 / its throughput) plus ``CARDS_PER_ASK`` ``chat.postMessage`` calls
through slack_sdk (CPU time per call in a process of their own, at the drain's concurrency, one
aiohttp session, as ``SlackSender`` sends) cost together: the best sustained ratio any
one-process server built on these two libraries could reach, with nothing stored, routed or
rendered. A target above it cannot be met on them; one just below it leaves no room for the
rest of the work. The last line is one JSON
object with every figure. Figures are only comparable within one run: run it on a quiet
machine.

    .venv/bin/python -m bench.slack_ack [--requests 2000] [--concurrency 20] [--rounds 3]
    .venv/bin/python -m bench.slack_ack --quick       # a smoke run: 200 requests, 1 round
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.load import (
    COMMAND,
    ROOT,
    SECRET,
    Figures,
    Server,
    Slack,
    leaderbot_serve,
    median_round,
    ratio,
    verdict,
)
from bench.seed import prepare, serve_settings, spread
from tests.fakes_slack import BOT_TOKEN

ACK_TARGET = 0.5
SUSTAINED_TARGET = 0.35
P99_TARGET_MS = 50.0
CARDS_PER_ASK = 2
"""The decider's card and the project channel's."""
ASKED = "sent to"
"""What the ack of a raised ask says ("Ask #12 sent to Bench 3 — asked by name.")."""


def bare_bolt(*, port: int, api_url: str, at_ack: bool) -> None:
    """Serve a bolt app whose command listener only acks (the baseline's process)."""
    from aiohttp import web
    from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
    from slack_bolt.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

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
    app.router.add_post("/slack/events", events)  # bolt's own aiohttp adapter, nothing of ours
    app.router.add_get("/slack/events", lambda _: web.Response(text="up"))
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


async def _bare_sends(api_url: str, count: int, concurrency: int) -> None:
    """Post ``count`` ask-sized cards with slack_sdk; print its process's CPU time per call."""
    from aiohttp import ClientSession
    from slack_sdk.web.async_client import AsyncWebClient

    from adapters.slack.render import render
    from bot.messages import Message

    card = Message(
        title="Ask #12 from Ana Silva",
        sections=(
            "*Two more nurses for the night shift* in #SEPSIS, needed by Friday.",
            "Sepsis bundle compliance is at 61 % against a target of 80 %.",
        ),
    )
    blocks = render(card)
    async with ClientSession() as session:
        client = AsyncWebClient(token=BOT_TOKEN, base_url=api_url, session=session)
        calls = iter(range(count))

        async def sender() -> None:
            for i in calls:
                await client.chat_postMessage(
                    channel=f"CBARE{i}",
                    text=card.title,
                    blocks=blocks,
                    unfurl_links=False,
                    metadata={"event_type": "bare", "event_payload": {"key": f"bare:{i}"}},
                )

        began = time.process_time()
        await asyncio.gather(*(sender() for _ in range(concurrency)))
        print(json.dumps({"cpu_us_per_call": (time.process_time() - began) / count * 1e6}))


async def sends_cost(api_url: str, *, count: int) -> float:
    """Microseconds of CPU per ``chat.postMessage`` through slack_sdk (a process of its own)."""
    from cadence.drain import DrainPolicy

    argv = ["-m", "bench.slack_ack", "--sends", str(count), "--api-url", api_url]
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        *argv,
        "--send-concurrency",
        str(DrainPolicy().concurrency),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await child.communicate()
    if child.returncode:
        raise RuntimeError(f"the bare sends ended ({child.returncode})")
    return float(json.loads(out.decode().strip().splitlines()[-1])["cpu_us_per_call"])


def ceiling(bolt_rps: float, send_us: float) -> float:
    """The best sustained ratio on these libraries: 1 / (1 + cards × send cost × bolt rate)."""
    return round(1 / (1 + CARDS_PER_ASK * send_us / 1e6 * bolt_rps), 3)


def bolt_process(api_url: str, *, at_ack: bool) -> Server:
    argv = ["-m", "bench.slack_ack", "--bare", "{port}", "--api-url", api_url]
    return Server([*argv, "--at-ack"] if at_ack else argv, env={}, ready="/slack/events")


async def measure(
    *, requests: int, concurrency: int, rounds: int, size: int, drain_seconds: float | None
) -> Figures:
    figures: Figures = {"requests": requests, "concurrency": concurrency, "rounds": rounds}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        async with Slack() as slack:
            extra = {"DRAIN_SECONDS": str(drain_seconds)} if drain_seconds else {}
            settings, env = serve_settings(
                url, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_API_URL=slack.api_url, **extra
            )
            await prepare(settings)
            asks = await spread(url, size=size)
            commands = asks.commands(requests)
            async with (
                bolt_process(slack.api_url, at_ack=True) as at_ack,
                bolt_process(slack.api_url, at_ack=False) as defaults,
                leaderbot_serve(env) as leaderbot,
            ):

                async def run(server: Server) -> Figures:
                    cards = CARDS_PER_ASK * requests if server is leaderbot else 0
                    return await slack.round(
                        server.url,
                        commands,
                        concurrency=concurrency,
                        cards=cards,
                        expect=[ASKED] if server is leaderbot else [],
                    )

                sides = {"bolt_at_ack": at_ack, "bolt_defaults": defaults, "leaderbot": leaderbot}
                for server in sides.values():  # warm-up
                    await run(server)
                # Alternate, round after round: a machine's speed drifts over a minute, and
                # every side should see the same drift.
                seen: dict[str, list[Figures]] = {name: [] for name in sides}
                sends: list[float] = []
                for _ in range(rounds):
                    for name, server in sides.items():
                        seen[name].append(await run(server))
                    sends.append(await sends_cost(slack.api_url, count=requests))
    for name, runs in seen.items():
        figures[name] = median_round(runs)
    figures["leaderbot_sustained"] = median_round(seen["leaderbot"], "sustained_rps")
    base = figures["bolt_at_ack"]["throughput_rps"]
    real, sustained = figures["leaderbot"], figures["leaderbot_sustained"]
    figures["ack_ratio"] = ratio(real["throughput_rps"], base)
    figures["sustained_ratio"] = ratio(sustained["sustained_rps"], base)
    figures["send_us"] = [round(us) for us in sends]
    figures["sustained_ceiling"] = ceiling(base, statistics.median(sends))
    figures["ratio_vs_bolt_defaults"] = ratio(
        real["throughput_rps"], figures["bolt_defaults"]["throughput_rps"]
    )
    figures["ack_target_met"] = bool(
        figures["ack_ratio"]
        and figures["ack_ratio"] >= ACK_TARGET
        and real["p99_ms"] < P99_TARGET_MS
        and not real["failures"]
    )
    figures["sustained_target_met"] = bool(
        figures["sustained_ratio"] and figures["sustained_ratio"] >= SUSTAINED_TARGET
    )
    figures["targets_met"] = figures["ack_target_met"] and figures["sustained_target_met"]
    return figures


def line(name: str, f: Figures) -> str:
    return (
        f"{name:>14}: {f['throughput_rps']:8.1f} req/s   p50 {f['p50_ms']:6.2f} ms   "
        f"p99 {f['p99_ms']:6.2f} ms   late acks {f['late']}   failures {f['failures']}   "
        f"(rounds {f['rounds_throughput_rps']})"
    )


def report(figures: Figures) -> None:
    for name in ("bolt_at_ack", "leaderbot"):
        print(line(name, figures[name]))
    real, sustained = figures["leaderbot"], figures["leaderbot_sustained"]
    print(
        f"     ack-only: {figures['ack_ratio']} × bolt at the ack, p99 {real['p99_ms']} ms "
        f"(target ≥ {ACK_TARGET} × with p99 < {P99_TARGET_MS:.0f} ms at "
        f"{figures['concurrency']} connections): {verdict(figures['ack_target_met'])}"
    )
    print(
        f"    sustained: {sustained['sustained_rps']} asks/s acked, announced and delivered "
        f"({sustained['cards_received']}/{sustained['cards_expected']} cards in "
        f"{sustained['sustained_s']} s; rounds {sustained['rounds_sustained_rps']}) = "
        f"{figures['sustained_ratio']} × bolt at the ack (target ≥ {SUSTAINED_TARGET} ×): "
        f"{verdict(figures['sustained_target_met'])}"
    )
    print(
        f"      ceiling: one bolt ack + {CARDS_PER_ASK} slack_sdk chat.postMessage "
        f"({figures['send_us']} µs of CPU per call, each round) and nothing else: at most "
        f"{figures['sustained_ceiling']} × sustained on these libraries in one process "
        f"(target {SUSTAINED_TARGET} ×: "
        f"{'above it' if figures['sustained_ceiling'] < SUSTAINED_TARGET else 'below it'})"
    )
    defaults = figures["bolt_defaults"]
    print(
        f"  for information, bolt with its defaults (10 ms ack poll; not the baseline): "
        f"{defaults['throughput_rps']:.1f} req/s, p99 {defaults['p99_ms']:.2f} ms "
        f"(leaderbot {figures['ratio_vs_bolt_defaults']} × it)"
    )
    print(json.dumps(figures, separators=(",", ":")))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--spread", type=int, help="people (and projects) the asks go to (default: requests / 2)"
    )
    parser.add_argument(
        "--drain-seconds", type=float, help="the server's DRAIN_SECONDS (default: its own, 2 s)"
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run: 200 requests, 1 round")
    parser.add_argument("--bare", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--api-url", help=argparse.SUPPRESS)
    parser.add_argument("--at-ack", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--sends", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--send-concurrency", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.sends:
        asyncio.run(_bare_sends(args.api_url, args.sends, args.send_concurrency))
        return 0
    if args.bare:
        bare_bolt(port=args.bare, api_url=args.api_url, at_ack=args.at_ack)
        return 0
    if args.quick:
        args.requests, args.rounds = 200, 1
    figures = asyncio.run(
        measure(
            requests=args.requests,
            concurrency=args.concurrency,
            rounds=args.rounds,
            size=args.spread or max(args.requests // 2, 1),
            drain_seconds=args.drain_seconds,
        )
    )
    report(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
