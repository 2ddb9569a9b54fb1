"""What the Slack benchmarks share: Slack played by a separate process, and servers run as such.

Slack is elsewhere: its requests come from another machine and its Web API runs there. So one
child process (:class:`Slack`, this module run as ``python -m bench.load``) plays both: it sends
the signed slash commands over N connections, and it is the Web API (``tests/fakes_slack.py``'s
``FakeSlack``) the server under test delivers to. Neither cost is charged to the server. Each
server under test is a process of its own (:class:`Server`), started the way an operator starts
it, so every side of a comparison runs alone in its process on the same two cores.

The parent talks to the Slack process in JSON lines on its stdin/stdout: ``tokens`` and
``users`` tell the fake what to accept and answer, ``round`` sends a list of commands and
returns the figures (:func:`run_round`).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import ClientError, ClientSession, TCPConnector

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from adapters.slack.app import WORKING  # noqa: E402
from tests.fakes_slack import FakeSlack, form_body, sign  # noqa: E402

SECRET = "bench-signing-secret"
COMMAND = "/leader"
CARD = ":card@"
"""What an ask card's outbox key holds (``ask:{id}:card@{workspace}:{address}``): the fake
counts the cards it received by the keys in their Slack metadata."""

Figures = dict[str, Any]


def percentile(ordered: Sequence[float], share: float) -> float:
    """The value ``share`` of the way up ``ordered`` (nearest rank), in ms."""
    return round(ordered[max(int(len(ordered) * share) - 1, 0)] * 1000, 2)


def median_round(rounds: Sequence[Figures], key: str = "throughput_rps") -> Figures:
    """The round with the median ``key``, with every round's ``key`` beside it (the spread)."""
    middle = sorted(rounds, key=lambda r: r.get(key) or 0.0)[len(rounds) // 2]
    return {**middle, f"rounds_{key}": [r.get(key) for r in rounds]}


def ratio(numerator: float | None, denominator: float) -> float | None:
    return round(numerator / denominator, 3) if numerator else None


def verdict(met: bool) -> str:
    return "met" if met else "NOT MET"


# --- the Slack process's side ---------------------------------------------------------------


def _prepared(commands: Sequence[Mapping[str, str]], response_url: str) -> list[tuple[bytes, Any]]:
    """Signed bodies, built up front (well inside Slack's 5-minute window) so that sending costs
    the load process as little as possible. Each gets a unique ``trigger_id``, as Slack's do."""
    bodies = (
        form_body(
            {
                "command": COMMAND,
                "response_url": response_url,
                "trigger_id": f"bench.{i}.{time.time_ns()}",
                **fields,
            }
        )
        for i, fields in enumerate(commands)
    )
    return [
        (body.encode(), {"Content-Type": "application/x-www-form-urlencoded", **sign(SECRET, body)})
        for body in bodies
    ]


@dataclass
class _Tally:
    expect: Sequence[str] = ()
    """What every answer must say one of (besides the "Working on it…" of a late one)."""
    latencies: list[float] = field(default_factory=list)
    failures: int = 0
    late: int = 0
    unexpected: str = ""
    """The first failure's status and answer (or transport error), to tell why."""

    async def send(self, session: ClientSession, url: str, body: bytes, headers: Any) -> str:
        """Post one command; the ack's text."""
        began = time.perf_counter()
        try:
            async with session.post(url, data=body, headers=headers) as response:
                text = await response.text()
        except (ClientError, TimeoutError) as error:
            self.failures += 1
            self.unexpected = self.unexpected or f"{type(error).__name__}: {error}"
            return ""
        with contextlib.suppress(ValueError, AttributeError):
            text = str(json.loads(text).get("text", text))  # bolt's ack is JSON ("…" escaped)
        self.latencies.append(time.perf_counter() - began)
        # "Working on it…": the ack budget ran out, the answer went to response_url instead.
        late = WORKING in text
        self.late += late
        # A non-200, or a reply that is not the expected one: not carried out (as far as the
        # ack tells: a late one is not held against it here).
        failed = response.status != 200 or not (
            late or any(e in text for e in self.expect) or not self.expect
        )
        self.failures += failed
        if failed and not self.unexpected:
            self.unexpected = f"{response.status} {text[:300]}"
        return text

    def figures(self, elapsed: float) -> Figures:
        ordered = sorted(self.latencies)
        return {
            "requests": len(ordered),
            "failures": self.failures,
            "late": self.late,
            "throughput_rps": round(len(ordered) / elapsed, 1) if elapsed else 0.0,
            "p50_ms": round(statistics.median(ordered) * 1000, 2) if ordered else None,
            "p99_ms": percentile(ordered, 0.99) if ordered else None,
            "max_ms": round(ordered[-1] * 1000, 2) if ordered else None,
            **({"unexpected": self.unexpected} if self.unexpected else {}),
        }


async def _cards_since(fake: FakeSlack, start: int, wanted: int, *, timeout: float) -> int:
    """Wait until ``wanted`` distinct ask cards were posted since call ``start`` (or the
    timeout); how many were."""
    seen: set[str] = set()
    checked = start
    deadline = time.perf_counter() + timeout
    while len(seen) < wanted and time.perf_counter() < deadline:
        calls = fake.calls
        for call in calls[checked:]:
            if call.method == "chat.postMessage" and call.answer:
                key = str((call.args.get("metadata") or {}).get("event_payload", {}).get("key"))
                if CARD in key:
                    seen.add(key)
        checked = len(calls)
        if len(seen) < wanted:
            await asyncio.sleep(0.005)
    return len(seen)


async def run_round(
    fake: FakeSlack,
    *,
    url: str,
    commands: Sequence[Mapping[str, str]],
    concurrency: int,
    cards: int = 0,
    trickle: Sequence[Mapping[str, str]] = (),
    every: float = 1.0,
    expect: Sequence[str] = (),
    expect_beside: Sequence[str] = (),
    timeout: float = 120.0,
) -> Figures:
    """Send ``commands`` over ``concurrency`` connections; the acks' figures. With ``cards``,
    also wait until the fake has received that many ask cards: ``sustained_rps`` is the
    commands per second from the first request to the last card. ``trickle``: other commands
    sent one every ``every`` seconds on a connection of their own while the load runs (a new
    user's first contact), their figures apart. ``expect``, ``expect_beside``: what every
    answer to one of ``commands``, ``trickle`` must say one of, or it counts as a failure."""
    response_url = fake.response_url("bench")
    prepared = _prepared(commands, response_url)
    # Each its own response_url, to time its answer when the ack only said "Working on it…".
    extra = _prepared(
        [{**c, "response_url": fake.response_url(f"first{i}")} for i, c in enumerate(trickle)],
        response_url,
    )
    answered: list[float] = []
    queue = iter(prepared)
    tally, side = _Tally(expect), _Tally(expect_beside)
    start = len(fake.calls)

    async def worker(session: ClientSession) -> None:
        for body, headers in queue:
            await tally.send(session, url, body, headers)

    async def answer(name: str, began: float) -> None:
        for _ in range(2000):
            if any(said == name for said, _ in fake.responses):
                answered.append(time.perf_counter() - began)
                return
            await asyncio.sleep(0.005)

    async def trickling(session: ClientSession, done: asyncio.Event) -> None:
        waits = []
        for i, (body, headers) in enumerate(extra):
            if done.is_set():
                break
            began = time.perf_counter()
            text = await side.send(session, url, body, headers)
            if WORKING in text:  # acked late: the answer follows through response_url
                waits.append(asyncio.ensure_future(answer(f"first{i}", began)))
            else:
                answered.append(time.perf_counter() - began)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), every)
        await asyncio.gather(*waits)

    async with (
        ClientSession(connector=TCPConnector(limit=concurrency)) as session,
        ClientSession(connector=TCPConnector(limit=1)) as lone,
    ):
        done = asyncio.Event()
        began = time.perf_counter()
        beside = asyncio.ensure_future(trickling(lone, done))
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        acked = time.perf_counter() - began
        done.set()
        await beside
    figures = tally.figures(acked)
    if trickle:
        ordered = sorted(answered)
        figures["first_contacts"] = side.figures(0.0) | {
            "sent_every_s": every,
            "answered": len(ordered),
            "answer_p50_ms": round(statistics.median(ordered) * 1000, 2) if ordered else None,
            "answer_max_ms": round(ordered[-1] * 1000, 2) if ordered else None,
        }
    if cards:
        received = await _cards_since(fake, start, cards, timeout=timeout)
        whole = time.perf_counter() - began
        figures["cards_expected"] = cards
        figures["cards_received"] = received
        figures["sustained_s"] = round(whole, 3)
        figures["sustained_rps"] = round(len(commands) / whole, 1) if received >= cards else None
    return figures


async def timed_apart_from_gc(work: Awaitable[Figures]) -> Figures:
    """``work`` with this process's garbage collector off, after a collection.

    Why: this process times the acks, and it also keeps every call the server made to the
    fake. Collecting them over and over (a full collection every few seconds, each longer
    as the calls pile up: 40 ms, then 100 ms, 300 ms, 700 ms in a tenants run) stalled the
    timer with requests in flight, and those pauses were read as the server's latency. What
    was kept so far is frozen out of later collections; a round's own garbage waits for the
    next one."""
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        return await work
    finally:
        gc.enable()


async def _serve_requests() -> None:
    """The Slack process: start the fake, say where it is, then obey the parent's lines."""
    fake = await FakeSlack().start()
    print(json.dumps({"api_url": fake.url}), flush=True)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**26)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    try:
        while line := await reader.readline():
            order = json.loads(line)
            op = order.pop("op")
            answer: Figures = {}
            if op == "tokens":
                for token, team in order["teams"].items():
                    fake.tokens.add(token)
                    fake.teams[token] = team
            elif op == "users":
                fake.users.update(order["users"])
            elif op == "round":
                answer = await timed_apart_from_gc(run_round(fake, **order))
            print(json.dumps(answer), flush=True)
    finally:
        await fake.close()


# --- the parent's side ----------------------------------------------------------------------


class Slack:
    """The Slack process, seen from the benchmark (``async with Slack() as slack``)."""

    def __init__(self) -> None:
        self._child: asyncio.subprocess.Process | None = None
        self.api_url = ""

    async def __aenter__(self) -> Slack:
        self._child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.load",
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=2**26,
        )
        self.api_url = (await self._read())["api_url"]
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._child is not None and self._child.stdin is not None
        self._child.stdin.close()
        await self._child.wait()

    async def _read(self) -> Figures:
        assert self._child is not None and self._child.stdout is not None
        line = await self._child.stdout.readline()
        if not line:
            raise RuntimeError(f"the Slack process ended ({await self._child.wait()})")
        answer: Figures = json.loads(line)
        return answer

    async def _ask(self, op: str, **order: Any) -> Figures:
        assert self._child is not None and self._child.stdin is not None
        self._child.stdin.write(json.dumps({"op": op, **order}).encode() + b"\n")
        await self._child.stdin.drain()
        return await self._read()

    async def tokens(self, teams: Mapping[str, str]) -> None:
        """Bot tokens the fake accepts, each with its team (``auth.test``)."""
        await self._ask("tokens", teams=dict(teams))

    async def users(self, users: Mapping[str, Mapping[str, Any]]) -> None:
        """``users.info`` answers, by user id."""
        await self._ask("users", users=dict(users))

    async def round(
        self, url: str, commands: Sequence[Mapping[str, str]], **options: Any
    ) -> Figures:
        """One round of load against ``url`` (:func:`run_round`'s figures)."""
        return await self._ask("round", url=url, commands=list(commands), **options)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Server:
    """A server under test in a process of its own, listening on ``url`` once started.

    Args:
        argv: what runs it, after ``python``; ``{port}`` is replaced by a free port.
        env: its environment on top of this one's (in a scratch directory, so no ``.env``
            file of the working tree is read).
        ready: the path that answers once it serves.
    """

    def __init__(self, argv: Sequence[str], *, env: Mapping[str, str], ready: str) -> None:
        self.port = free_port()
        self.argv = [a.replace("{port}", str(self.port)) for a in argv]
        self.env = {**os.environ, "PYTHONPATH": str(ROOT), **env, "PORT": str(self.port)}
        self.ready = ready
        self.url = f"http://127.0.0.1:{self.port}/slack/events"
        self._child: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> Server:
        self._child = await asyncio.create_subprocess_exec(
            sys.executable, *self.argv, env=self.env, cwd=tempfile.gettempdir()
        )
        async with ClientSession() as session:
            for _ in range(600):
                if self._child.returncode is not None:
                    raise RuntimeError(f"{self.argv} ended ({self._child.returncode})")
                try:
                    async with session.get(f"http://127.0.0.1:{self.port}{self.ready}"):
                        return self
                except ClientError:
                    await asyncio.sleep(0.1)
        raise RuntimeError(f"{self.argv} did not start in 60 s")

    async def __aexit__(self, *_: object) -> None:
        assert self._child is not None
        if self._child.returncode is None:
            self._child.terminate()  # SIGTERM: the server's graceful stop
        await self._child.wait()


def leaderbot_serve(env: Mapping[str, str]) -> Server:
    """``leaderbot serve`` itself (its CLI entry point), with these settings."""
    return Server(
        ["-c", "import sys; from adapters.cli import main; sys.exit(main())", "serve"],
        env={"HOST": "127.0.0.1", **env},
        ready="/readyz",
    )


if __name__ == "__main__":
    asyncio.run(_serve_requests())
