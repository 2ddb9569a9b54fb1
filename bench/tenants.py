"""Does a command cost more when the server holds a thousand other organizations?

Two ``leaderbot serve`` processes (Slack in OAuth mode: every workspace installed, its bot in
slack_sdk's table), each on its own SQLite database, get the same ``/leader ask …`` load from the
demo organization over 20 connections (the load of :mod:`bench.slack_ack`, from the same
separate Slack process):

- **one**: the demo organization alone;
- **many**: the demo organization plus ``--organizations`` (1,000) organizations of
  ``--people`` (100) people each, each in a Slack workspace of its own — and, during each of
  its rounds, a new Slack user's first contact every second: a command by a user id never seen,
  in one of those workspaces, whose ``users.info`` the fake answers.

Rounds alternate after a warm-up round each; each waits until the round's ask cards have been
delivered, so one server's drain does not run into the other's round. Prints both side by side,
the ratio and the first contacts' own latencies. Targets: many ≥ 0.9 × one, p99 < 50 ms (many).
The last line is one JSON object with every figure.

    .venv/bin/python -m bench.tenants [--requests 4000] [--rounds 3] [--organizations 1000]
    .venv/bin/python -m bench.tenants --quick     # a smoke run: 100 organizations, 1 round
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from adapters.slack.app import WORKING
from bench.load import Figures, Slack, leaderbot_serve, median_round, ratio, verdict
from bench.seed import (
    Spread,
    bot_token,
    install,
    prepare,
    serve_settings,
    spread,
    tenant_team,
    tenant_user,
    tenants,
)
from bench.slack_ack import ASKED, CARDS_PER_ASK
from tests.fakes_slack import TEAM_ID

RATIO_TARGET = 0.9
P99_TARGET_MS = 50.0
CLIENT_ID = "bench.client"
EVERY = 1.0
"""Seconds between two new users' first contacts."""


async def database(
    url: str, *, size: int, organizations: int, people: int
) -> tuple[dict[str, str], Spread]:
    """Prepare one server's database; its env and the asks' spread."""
    settings, env = serve_settings(
        url, SLACK_CLIENT_ID=CLIENT_ID, SLACK_CLIENT_SECRET="bench-client-secret"
    )
    await prepare(settings)
    asks = await spread(url, size=size)
    teams = [TEAM_ID]
    if organizations:
        await tenants(url, organizations=organizations, people=people)
        teams += [tenant_team(n) for n in range(organizations)]
    await install(url, client_id=CLIENT_ID, teams=teams)
    return env, asks


class Newcomers:
    """New Slack users, never seen before, each with a first command in a random tenant."""

    def __init__(self, organizations: int) -> None:
        self.organizations = organizations
        self.count = itertools.count(1)
        self.rng = random.Random(14)

    def next(self, many: int) -> tuple[list[dict[str, str]], dict[str, dict[str, Any]]]:
        """``many`` first contacts, and the ``users.info`` answers the fake must give."""
        commands, users = [], {}
        for _ in range(many):
            n, k = self.rng.randrange(self.organizations), next(self.count)
            team, user = tenant_team(n), f"UNEW{k:06d}"
            users[user] = {
                "id": user,
                "team_id": team,
                "name": f"new{k}",
                "real_name": f"Newcomer {k}",
                "tz": "Europe/London",
                "profile": {
                    "email": f"new{k}@tenant{n}.example",
                    "real_name": f"Newcomer {k}",
                    "display_name": f"new{k}",
                },
            }
            commands.append(
                {
                    "team_id": team,
                    "channel_id": f"CNEW{k}",
                    "channel_name": "general",
                    "user_id": user,
                    "user_name": f"new{k}",
                    "text": f"ask <@{tenant_user(n, 1)}|p1> first contact #OPS",
                }
            )
        return commands, users


async def measure(
    *, requests: int, concurrency: int, rounds: int, organizations: int, people: int
) -> Figures:
    figures: Figures = {
        "requests": requests,
        "concurrency": concurrency,
        "rounds": rounds,
        "organizations": organizations,
        "people_each": people,
    }
    size = max(requests // 2, 1)
    newcomers = Newcomers(organizations)
    with tempfile.TemporaryDirectory() as tmp:
        async with Slack() as slack:
            env_one, asks = await database(
                f"sqlite+aiosqlite:///{Path(tmp) / 'one.db'}",
                size=size,
                organizations=0,
                people=people,
            )
            env_many, _ = await database(
                f"sqlite+aiosqlite:///{Path(tmp) / 'many.db'}",
                size=size,
                organizations=organizations,
                people=people,
            )
            teams = [TEAM_ID] + [tenant_team(n) for n in range(organizations)]
            await slack.tokens({bot_token(team): team for team in teams})
            for env in (env_one, env_many):
                env["SLACK_API_URL"] = slack.api_url
            commands = asks.commands(requests)
            async with leaderbot_serve(env_one) as one, leaderbot_serve(env_many) as many:

                async def run(name: str) -> Figures:
                    options: dict[str, Any] = {}
                    if name == "many":
                        # More first contacts than the round can take: it stops when the load does.
                        trickle, users = newcomers.next(requests // 100 + 10)
                        await slack.users(users)
                        options = {
                            "trickle": trickle,
                            "every": EVERY,
                            "expect_beside": [ASKED, WORKING],
                        }
                    return await slack.round(
                        (one if name == "one" else many).url,
                        commands,
                        concurrency=concurrency,
                        cards=CARDS_PER_ASK * requests,
                        expect=[ASKED],
                        **options,
                    )

                for name in ("one", "many"):  # warm-up
                    await run(name)
                seen: dict[str, list[Figures]] = {"one": [], "many": []}
                for _ in range(rounds):
                    for name, runs in seen.items():
                        runs.append(await run(name))
    for name, runs in seen.items():
        figures[name] = median_round(runs)
    contacts = [r["first_contacts"] for r in seen["many"]]
    figures["first_contacts"] = {
        "sent": sum(c["requests"] for c in contacts),
        "failures": sum(c["failures"] for c in contacts),
        "late": sum(c["late"] for c in contacts),
        "ack_max_ms": max((c["max_ms"] or 0.0) for c in contacts),
        "ack_p50_ms_per_round": [c["p50_ms"] for c in contacts],
        "answered": sum(c["answered"] for c in contacts),
        "answer_max_ms": max((c["answer_max_ms"] or 0.0) for c in contacts),
        "answer_p50_ms_per_round": [c["answer_p50_ms"] for c in contacts],
    }
    one, many = figures["one"], figures["many"]
    figures["ratio"] = ratio(many["throughput_rps"], one["throughput_rps"])
    figures["target_met"] = bool(
        figures["ratio"]
        and figures["ratio"] >= RATIO_TARGET
        and many["p99_ms"] < P99_TARGET_MS
        and not many["failures"]
    )
    return figures


def report(figures: Figures) -> None:
    for name, label in (("one", "demo alone"), ("many", f"+{figures['organizations']} orgs")):
        f = figures[name]
        print(
            f"{label:>12}: {f['throughput_rps']:8.1f} req/s   p50 {f['p50_ms']:6.2f} ms   "
            f"p99 {f['p99_ms']:6.2f} ms   max {f['max_ms']:7.2f} ms   late acks {f['late']}   "
            f"failures {f['failures']}   (rounds {f['rounds_throughput_rps']})"
        )
    c = figures["first_contacts"]
    print(
        f"  first contacts during the '+orgs' rounds: {c['sent']} new users (one every "
        f"{EVERY:g} s): ack p50 per round {c['ack_p50_ms_per_round']} ms, max "
        f"{c['ack_max_ms']} ms; answered {c['answered']}, answer p50 per round "
        f"{c['answer_p50_ms_per_round']} ms, max {c['answer_max_ms']} ms; late {c['late']}, "
        f"failures {c['failures']}"
    )
    print(
        f"  ratio: {figures['ratio']} (target ≥ {RATIO_TARGET}, p99 < {P99_TARGET_MS:.0f} ms): "
        f"{verdict(figures['target_met'])}"
    )
    print(json.dumps(figures, separators=(",", ":")))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--organizations", type=int, default=1000)
    parser.add_argument("--people", type=int, default=100, help="people per organization")
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run: 100 organizations, 400 requests, 1 round"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.requests, args.rounds, args.organizations = 400, 1, 100
    report(
        asyncio.run(
            measure(
                requests=args.requests,
                concurrency=args.concurrency,
                rounds=args.rounds,
                organizations=args.organizations,
                people=args.people,
            )
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
