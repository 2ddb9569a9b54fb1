"""Delivery benchmark: 2,000 messages through a rate-limited fake platform API.

The fake API accepts at most one message per second per channel plus a global limit per second,
and answers ``429`` with ``Retry-After`` past either. The outbox (SQLite) is drained by
``cadence.drain`` on a virtual clock, so the run takes seconds of wall time for minutes of
platform time. Two runs: the limiter configured with both limits (as for Teams, whose per-tenant
limit is published), and with the per-channel limit only (the global one is learnt from 429s).
Prints the achieved rate against the allowed maximum (target >= 90 %), 429s, duplicates and lost
messages (both must be 0).

    .venv/bin/python bench/delivery.py [--messages 2000] [--channels 100] [--global-limit 50]

The last line is the figures as one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import tempfile
import time
from collections import Counter, deque
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.clock import ManualClock  # noqa: E402
from bot.messages import Message, Target  # noqa: E402
from bot.model import (  # noqa: E402
    Organization,
    OutboxState,
    Platform,
    Project,
    ProjectChannel,
    Workspace,
)
from bot.ports import Delivery, SendOutcome, SendResult, UnitOfWorkFactory  # noqa: E402
from bot.services.delivery import deliver  # noqa: E402
from cadence.drain import DrainPolicy, drain_once  # noqa: E402
from cadence.limiter import Limit, Limiter, Rule  # noqa: E402
from storage.database import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402

START = datetime(2026, 11, 23, 9, tzinfo=UTC)
ONE_SECOND = timedelta(seconds=1)


class FakeApi:
    """A platform that enforces its limits on the virtual clock and counts what it accepted."""

    platform = Platform.SLACK

    def __init__(self, clock: ManualClock, *, global_limit: int) -> None:
        self.clock = clock
        self.global_limit = global_limit
        self.last: dict[str, datetime] = {}
        self.window: deque[datetime] = deque()
        self.accepted: Counter[str] = Counter()
        self.times: list[datetime] = []
        self.rejected = 0

    def _too_many(self, wait: timedelta) -> SendResult:
        self.rejected += 1
        return SendResult(
            outcome=SendOutcome.RETRY,
            retry_after=float(math.ceil(wait.total_seconds())),
            error="ratelimited",
        )

    async def send(self, delivery: Delivery) -> SendResult:
        now, address = self.clock.now(), delivery.outbox.address
        last = self.last.get(address)
        if last is not None and now - last < ONE_SECOND:
            return self._too_many(ONE_SECOND - (now - last))
        while self.window and now - self.window[0] >= ONE_SECOND:
            self.window.popleft()
        if len(self.window) >= self.global_limit:
            return self._too_many(ONE_SECOND - (now - self.window[0]))
        self.last[address] = now
        self.window.append(now)
        self.accepted[delivery.outbox.key] += 1
        self.times.append(now)
        return SendResult(outcome=SendOutcome.SENT, platform_ref=f"ts-{len(self.times)}")


async def _seed(uow_factory: UnitOfWorkFactory, *, messages: int, channels: int) -> None:
    async with uow_factory() as uow:
        org = await uow.organizations.add(Organization(name="Bench"))
        workspace = await uow.workspaces.add(
            Workspace(organization_id=org.id, platform=Platform.SLACK, external_id="T1")
        )
        projects = []
        for n in range(channels):
            project = await uow.projects.add(
                Project(organization_id=org.id, key=f"P{n}", name=f"Project {n}")
            )
            await uow.channels.add(
                ProjectChannel(project_id=project.id, workspace_id=workspace.id, channel_id=f"C{n}")
            )
            projects.append(project)
        for n in range(messages):
            project = projects[n % channels]
            await deliver(
                uow,
                Message(title=f"update {n}", target=Target(project_id=project.id), key=f"m:{n}"),
                organization_id=org.id,
                now=START,
            )
        await uow.commit()


async def run(
    *, messages: int, channels: int, global_limit: int, knows_global: bool
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'delivery.db'}"
        await upgrade(url)
        database = Database(url)
        uow_factory = database.uow
        await _seed(uow_factory, messages=messages, channels=channels)
        clock = ManualClock(START)
        api = FakeApi(clock, global_limit=global_limit)
        rules = [Rule(scope="conversation", limits=(Limit(count=1, seconds=1.0),))]
        if knows_global:
            rules.append(Rule(scope="tenant", limits=(Limit(count=global_limit, seconds=1.0),)))
        limiter = Limiter(clock, {Platform.SLACK: tuple(rules)})
        policy = DrainPolicy(batch=200)
        wall = time.perf_counter()
        passes = 0
        ideal = messages / min(channels, global_limit)
        while len(api.accepted) < messages and clock.now() - START < timedelta(seconds=ideal * 4):
            await drain_once(
                uow_factory,
                senders={api.platform: api},
                clock=clock,
                limiter=limiter,
                policy=policy,
            )
            passes += 1
            clock.advance(timedelta(milliseconds=100))
        wall = time.perf_counter() - wall
        async with uow_factory() as uow:
            unsent = await uow.outbox.count(state__ne=OutboxState.SENT)
        await database.close()
    span = (api.times[-1] - api.times[0]).total_seconds() + 1 if api.times else 0.0
    allowed = float(min(channels, global_limit))
    achieved = len(api.accepted) / span if span else 0.0
    return {
        "limiter_knows_global_limit": knows_global,
        "messages": messages,
        "channels": channels,
        "allowed_per_s": allowed,
        "achieved_per_s": round(achieved, 2),
        "efficiency": round(achieved / allowed, 3),
        "virtual_s": round(span, 1),
        "wall_s": round(wall, 1),
        "drain_passes": passes,
        "http_429": api.rejected,
        "duplicates": sum(n - 1 for n in api.accepted.values() if n > 1),
        "lost": messages - len(api.accepted),
        "unsent_rows": unsent,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--channels", type=int, default=100)
    parser.add_argument("--global-limit", type=int, default=50)
    args = parser.parse_args()
    results = []
    for knows_global in (True, False):
        result = asyncio.run(
            run(
                messages=args.messages,
                channels=args.channels,
                global_limit=args.global_limit,
                knows_global=knows_global,
            )
        )
        results.append(result)
        label = "both limits known" if knows_global else "per-channel limit only"
        print(
            f"{label:>24}: {result['achieved_per_s']:.1f}/s of {result['allowed_per_s']:.0f}/s "
            f"allowed ({result['efficiency']:.0%}), {result['http_429']} × 429, "
            f"{result['duplicates']} duplicates, {result['lost']} lost "
            f"({result['virtual_s']} s virtual, {result['wall_s']} s wall)"
        )
    figures = {
        "runs": results,
        "targets_met": all(r["duplicates"] == 0 and r["lost"] == 0 for r in results)
        and results[0]["efficiency"] >= 0.9,
    }
    print(json.dumps(figures, separators=(",", ":")))


if __name__ == "__main__":
    main()
