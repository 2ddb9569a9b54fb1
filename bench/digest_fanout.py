"""Digest fan-out benchmark: compose every weekly digest of a large synthetic organization.

2,000 leaders, 500 projects, 20,000 asks, 5,000 blockers, 50,000 KPI observations in SQLite
on SQLite and on PostgreSQL (a scratch database created on LEADERBOT_TEST_POSTGRES_URL's server and
dropped after), each seeded and measured by a child process of its own, so neither the seeding's
memory nor the other backend's is counted. Prints, per backend, the time to load and compose
every digest, the SQL statements issued for N = 200 and N = 2,000 leaders (batch queries: the
count must not grow with N; counted on every connection, SQLite's included: see
:class:`StatementCounter`; a read SQLite stopped on the event loop at its budget runs again on
a reader and is seen twice, which is printed and left out of the comparison), and peak RSS.
Target, per backend: statements counted (none counted proves nothing, and fails the target)
and constant in N, < 3 s, RSS < 200 MB.

    .venv/bin/python bench/digest_fanout.py [--leaders 2000] [--postgres URL | --postgres '']
    .venv/bin/python bench/digest_fanout.py --quick     # a smoke run: 200 leaders

The last line is the figures as one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
from sqlalchemy import Engine, Pool, event, insert, update  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.util import await_only  # noqa: E402

from adapters.settings import Settings  # noqa: E402
from bot.digest import compose_digest  # noqa: E402
from bot.model import (  # noqa: E402
    Ask,
    AskState,
    Blocker,
    BlockerState,
    CadencePreference,
    Decision,
    Detail,
    Identity,
    Letter,
    Measure,
    Observation,
    Organization,
    Person,
    Platform,
    Project,
    RaciEntry,
    Rag,
    Review,
    Role,
    Severity,
    Stakeholder,
    ThresholdLevel,
    Update,
    Workspace,
)
from bot.services.digests import load_digest_inputs  # noqa: E402
from storage.database import Database  # noqa: E402
from storage.engine import create_engine  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.tables import TABLES  # noqa: E402

NOW = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
TARGET_S = 3.0
TARGET_RSS_MB = 200
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
AREAS = ("*", "budget", "staffing", "it")
TIMEZONES = ("Europe/London", "America/New_York", "Asia/Kolkata", "Australia/Sydney")


def _rows(items: list[Any]) -> list[dict[str, Any]]:
    return [asdict(item) for item in items]


def _synthesize(leaders: int, projects: int, seed: int = 42) -> dict[type[Any], list[Any]]:
    """Every row of the organization, ids assigned here so rows can point at each other."""
    rng = random.Random(seed)
    leads = projects
    people = [
        Person(
            id=i + 1,
            organization_id=1,
            handle=f"p{i + 1}",
            name=f"Person {i + 1}",
            timezone=TIMEZONES[i % len(TIMEZONES)],
        )
        for i in range(leaders + leads)
    ]
    leader_ids = [p.id for p in people[:leaders]]
    lead_ids = [p.id for p in people[leaders:]]
    data: dict[type[Any], list[Any]] = {
        Organization: [Organization(id=1, name="Synthetic Health", escalation_contact_id=1)],
        Workspace: [Workspace(id=1, organization_id=1, platform=Platform.CONSOLE, external_id="c")],
        Person: people,
        Identity: [
            Identity(
                id=p.id, person_id=p.id, workspace_id=1, platform=Platform.CONSOLE, user_id=p.handle
            )
            for p in people
        ],
        CadencePreference: [
            CadencePreference(
                id=i, person_id=pid, detail=Detail.CONCISE if i % 3 else Detail.DETAILED
            )
            for i, pid in enumerate(leader_ids, start=1)
        ],
    }
    data[Project] = [
        Project(id=j, organization_id=1, key=f"PRJ{j}", name=f"Project {j}")
        for j in range(1, projects + 1)
    ]
    stakeholders, raci = [], []
    accountable: dict[tuple[int, str], int] = {}
    for j in range(1, projects + 1):
        sponsor = leader_ids[(j - 1) % leaders]
        stakeholders.append(Stakeholder(project_id=j, person_id=sponsor, role=Role.SPONSOR))
        stakeholders.append(Stakeholder(project_id=j, person_id=lead_ids[j - 1], role=Role.LEAD))
        for k, area in enumerate(AREAS):
            person = leader_ids[(j - 1 + k * projects) % leaders]
            accountable[(j, area)] = person
            raci.append(RaciEntry(project_id=j, area=area, person_id=person, letter=Letter.A))
        for letter in (Letter.C, Letter.I):
            raci.append(
                RaciEntry(
                    project_id=j,
                    area=rng.choice(AREAS),
                    person_id=rng.choice(leader_ids),
                    letter=letter,
                )
            )
    data[Stakeholder] = [
        Stakeholder(id=i, project_id=s.project_id, person_id=s.person_id, role=s.role)
        for i, s in enumerate(stakeholders, start=1)
    ]
    data[RaciEntry] = [
        RaciEntry(
            id=i, project_id=r.project_id, area=r.area, person_id=r.person_id, letter=r.letter
        )
        for i, r in enumerate(raci, start=1)
    ]
    asks = []
    for i in range(1, 20_001):
        j, area = rng.randint(1, projects), rng.choice(AREAS)
        created = NOW - timedelta(days=rng.uniform(0, 60))
        asks.append(
            Ask(
                id=i,
                organization_id=1,
                project_id=j,
                requester_id=lead_ids[j - 1],
                assignee_id=accountable[(j, area)],
                area=area,
                text=f"Approve resource request {i} for the next phase of the project",
                needed_by=(created + timedelta(days=rng.randint(3, 30))).date(),
                state=AskState.OPEN if rng.random() < 0.2 else rng.choice(list(AskState)),
                created_at=created,
            )
        )
    data[Ask] = asks
    blockers = []
    for i in range(1, 5_001):
        j, area = rng.randint(1, projects), rng.choice(AREAS)
        blockers.append(
            Blocker(
                id=i,
                organization_id=1,
                project_id=j,
                reporter_id=lead_ids[j - 1],
                area=area,
                severity=rng.choice(list(Severity)),
                text=f"Blocked on dependency {i}",
                state=BlockerState.OPEN if rng.random() < 0.3 else BlockerState.RESOLVED,
                ladder=[accountable[(j, area)], leader_ids[(j - 1) % leaders], 1],
                level=rng.randint(0, 2),
                next_escalation_at=NOW + timedelta(days=rng.randint(1, 5)),
                created_at=NOW - timedelta(days=rng.uniform(0, 60)),
            )
        )
    data[Blocker] = blockers
    data[Measure] = [
        Measure(id=m, project_id=(m - 1) // 3 + 1, name=f"KPI {m}", warn=50.0, alert=80.0)
        for m in range(1, projects * 3 + 1)
    ]
    observations: list[Observation] = []
    reviews: list[Review] = []
    for i in range(1, 50_001):
        m = rng.randint(1, projects * 3)
        value = rng.uniform(0, 100)
        level = (
            ThresholdLevel.ALERT
            if value > 80
            else ThresholdLevel.WARN
            if value > 50
            else ThresholdLevel.OK
        )
        observed = NOW - timedelta(days=rng.randint(0, 365))
        observations.append(
            Observation(
                id=i,
                measure_id=m,
                observed_on=observed.date(),
                value=value,
                level=level,
                recorded_at=observed,
            )
        )
        if level is not ThresholdLevel.OK and rng.random() < 0.05:
            j = (m - 1) // 3 + 1
            reviews.append(
                Review(
                    id=len(reviews) + 1,
                    project_id=j,
                    measure_id=m,
                    observation_id=i,
                    sponsor_id=leader_ids[(j - 1) % leaders],
                    level=level,
                    created_at=observed,
                )
            )
    data[Observation], data[Review] = observations, reviews
    data[Update] = [
        Update(
            id=i,
            project_id=(i - 1) % projects + 1,
            author_id=lead_ids[(i - 1) % projects],
            period="2026-W47",
            rag=rng.choice(list(Rag)),
            progress="Steady progress on the pilot wards",
            created_at=NOW - timedelta(days=rng.uniform(0, 28)),
        )
        for i in range(1, projects * 4 + 1)
    ]
    data[Decision] = [
        Decision(
            id=i,
            organization_id=1,
            project_id=rng.randint(1, projects),
            subject_kind="free",
            outcome=f"Decision {i}",
            decided_by_id=rng.choice(leader_ids),
            decided_at=NOW - timedelta(days=rng.uniform(0, 30)),
        )
        for i in range(1, 5_001)
    ]
    return data


async def seed(url: str, leaders: int, projects: int) -> None:
    await upgrade(url)
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            data = _synthesize(leaders, projects)
            # The executive is one of the people, inserted after the organization: named after.
            organization = data[Organization][0]
            executive, organization.escalation_contact_id = organization.escalation_contact_id, None
            for entity, items in data.items():
                for at in range(0, len(items), 5000):
                    batch = _rows(items[at : at + 5000])
                    await connection.execute(insert(TABLES[entity]), batch)
            table = TABLES[Organization]
            await connection.execute(
                update(table).where(table.c.id == organization.id),
                {"escalation_contact_id": executive},
            )
    finally:
        await engine.dispose()


class StatementCounter:
    """Counts the SQL statements every connection of this process runs, whoever opens it.

    SQLAlchemy's cursor events see PostgreSQL's statements, but not what storage runs on a
    ``sqlite3`` connection directly (its batching and directory reads): there, SQLite's own
    trace callback, set on every connection as it is opened, sees each statement, however it
    was issued. Only statements that read or write data count (not ``BEGIN``, ``SAVEPOINT``,
    ``PRAGMA``, nor a trigger's inner statements), the same on both backends."""

    DATA = ("select", "insert", "update", "delete", "with")

    def __init__(self) -> None:
        self.statements = 0
        self.untraced = 0
        """SQLite connections the callback could not be set on (the count would be short)."""

    def __enter__(self) -> StatementCounter:
        event.listen(Pool, "connect", self._connected)
        event.listen(Engine, "before_cursor_execute", self._executed)
        return self

    def __exit__(self, *_: object) -> None:
        event.remove(Pool, "connect", self._connected)
        event.remove(Engine, "before_cursor_execute", self._executed)

    def _sql(self, sql: str) -> None:
        if sql.lstrip().lower().startswith(self.DATA):
            self.statements += 1

    def _connected(self, dbapi_connection: Any, _record: object) -> None:
        raw = getattr(dbapi_connection, "driver_connection", dbapi_connection)
        if isinstance(raw, sqlite3.Connection):
            raw.set_trace_callback(self._sql)
        elif isinstance(getattr(raw, "_conn", None), sqlite3.Connection):
            # aiosqlite: its sqlite3 connection belongs to its thread; set it there.
            await_only(raw._execute(raw._conn.set_trace_callback, self._sql))
        elif "sqlite" in type(raw).__module__:
            self.untraced += 1

    def _executed(self, connection: Any, _cursor: Any, sql: str, *_: object) -> None:
        if connection.dialect.name != "sqlite":  # SQLite's are counted by the trace
            self._sql(sql)


async def measure(url: str, leaders: int) -> dict[str, Any]:
    settings = Settings(_env_file=None, database_url=url, microsoft_app_id="")  # type: ignore[call-arg]
    figures: dict[str, Any] = {}
    with StatementCounter() as counter:
        figures.update(await _load_all(settings, counter, leaders))
    figures["untraced_connections"] = counter.untraced
    figures["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return figures


async def _load_all(settings: Settings, counter: StatementCounter, leaders: int) -> dict[str, Any]:
    """Every digest's inputs loaded and composed, for a tenth of the leaders and for all."""
    figures: dict[str, Any] = {}
    async with Database(settings.database_url) as database:  # seeded (and migrated) before
        # A first unit of work loads the directory copy (a cost of the process, not of N).
        async with database.uow() as uow:
            await load_digest_inputs(uow, leader_ids=[1], now=NOW, link_base="https://lb.example")
        figures["warm_up_statements"] = counter.statements
        for n in (leaders // 10, leaders):
            counter.statements = 0
            stopped = database.reads_stopped
            started = time.perf_counter()
            async with database.uow() as uow:
                inputs = await load_digest_inputs(
                    uow, leader_ids=list(range(1, n + 1)), now=NOW, link_base="https://lb.example"
                )
            loaded = time.perf_counter()
            lines = sum(len(compose_digest(data).message.sections) for data in inputs)
            done = time.perf_counter()
            figures[f"n{n}"] = {
                "leaders": n,
                "digests": len(inputs),
                "sections": lines,
                "statements": counter.statements,
                # SQLite: reads stopped on the event loop at its budget and run again on a
                # reader, so seen twice (a cost of the first large read of a kind, not of N).
                "stopped": database.reads_stopped - stopped,
                "load_s": round(loaded - started, 3),
                "compose_s": round(done - loaded, 3),
                "total_s": round(done - started, 3),
            }
    return figures


@contextmanager
def postgres_database(server: str) -> Iterator[str]:
    """A scratch database on the PostgreSQL server of ``server`` (a URL), dropped after."""
    name = f"leaderbot_digest_bench_{os.getpid()}"
    admin = make_url(server).set(drivername="postgresql")

    async def run(sql: str) -> None:
        connection = await asyncpg.connect(admin.render_as_string(hide_password=False))
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}"'))
    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def child(*args: str) -> str:
    """Run this script with ``args`` in a child process (its memory is its own); its stdout."""
    done = subprocess.run(
        [sys.executable, __file__, *args], check=True, stdout=subprocess.PIPE, text=True
    )
    return done.stdout


def backend(url: str, args: argparse.Namespace) -> dict[str, Any]:
    """Seed ``url`` and measure it, each in a child process; the figures and the target."""
    size = ["--leaders", str(args.leaders), "--projects", str(args.projects)]
    started = time.perf_counter()
    child("--seed-only", "--url", url, *size)
    seeded = time.perf_counter() - started
    figures: dict[str, Any] = json.loads(child("--measure-only", "--url", url, *size))
    figures["seed_s"] = round(seeded, 1)
    return judged(figures, args.leaders)


def judged(figures: dict[str, Any], leaders: int) -> dict[str, Any]:
    """``figures`` with the target's verdict: no statement counted proves nothing, so fails."""
    small, large = figures[f"n{leaders // 10}"], figures[f"n{leaders}"]
    figures["statements_counted"] = bool(
        small["statements"] and large["statements"] and not figures["untraced_connections"]
    )
    figures["statements_constant"] = (
        small["statements"] - small["stopped"] == large["statements"] - large["stopped"]
    )
    figures["target_met"] = (
        figures["statements_counted"]
        and figures["statements_constant"]
        and large["total_s"] < TARGET_S
        and figures["peak_rss_mb"] < TARGET_RSS_MB
    )
    return figures


def report(name: str, figures: dict[str, Any], leaders: int) -> None:
    print(f"{name} (seeded in {figures['seed_s']} s, child process):")
    for row in (figures[f"n{leaders // 10}"], figures[f"n{leaders}"]):
        print(
            f"  N={row['leaders']:>5}: {row['digests']} digests, {row['statements']} SQL "
            f"statements ({row['stopped']} of them reads stopped on the loop at its budget and "
            f"run again on a reader), load {row['load_s']:.2f} s + compose "
            f"{row['compose_s']:.2f} s = {row['total_s']:.2f} s"
        )
    counted = "" if figures["statements_counted"] else " — no statements counted: no proof"
    print(
        f"  peak RSS {figures['peak_rss_mb']} MB; statements constant in N: "
        f"{figures['statements_constant']}{counted}"
    )
    print(
        f"  target (statements counted and constant in N, < {TARGET_S:g} s, RSS < "
        f"{TARGET_RSS_MB} MB): {'met' if figures['target_met'] else 'NOT MET'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leaders", type=int, default=2000)
    parser.add_argument("--projects", type=int, default=500)
    parser.add_argument(
        "--postgres",
        default=os.environ.get("LEADERBOT_TEST_POSTGRES_URL", DEFAULT_POSTGRES),
        help="PostgreSQL server to create a scratch database on ('' to skip PostgreSQL)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run: 200 leaders, 50 projects"
    )
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--seed-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--measure-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.leaders, args.projects = 200, 50
    if args.seed_only:
        asyncio.run(seed(args.url, args.leaders, args.projects))
        return
    if args.measure_only:
        print(json.dumps(asyncio.run(measure(args.url, args.leaders))))
        return
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        figures["sqlite"] = backend(f"sqlite+aiosqlite:///{Path(tmp) / 'fanout.db'}", args)
    report("SQLite", figures["sqlite"], args.leaders)
    if args.postgres:
        with postgres_database(args.postgres) as url:
            figures["postgresql"] = backend(url, args)
        report("PostgreSQL", figures["postgresql"], args.leaders)
    figures["targets_met"] = all(f["target_met"] for f in figures.values())
    print(json.dumps(figures, separators=(",", ":")))


if __name__ == "__main__":
    main()
