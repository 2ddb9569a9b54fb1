"""Digest fan-out benchmark: compose every weekly digest of a large synthetic organization.

2,000 leaders, 500 projects, 20,000 asks, 5,000 blockers, 50,000 KPI observations in SQLite
(seeded once by a child process, so the seeding's memory is not counted). Prints the time to load
and compose every digest, the SQL statements issued for N = 200 and N = 2,000 leaders (batch
queries: the count must not grow with N), and peak RSS. Targets: < 3 s, RSS < 200 MB.

    .venv/bin/python bench/digest_fanout.py [--db PATH] [--leaders 2000]

The last line is the figures as one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import event, insert  # noqa: E402

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
from storage.engine import create_engine  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.tables import TABLES  # noqa: E402
from storage.uow import make_uow_factory  # noqa: E402

NOW = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
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


async def seed(path: Path, leaders: int, projects: int) -> None:
    url = f"sqlite+aiosqlite:///{path}"
    await upgrade(url)
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            for entity, items in _synthesize(leaders, projects).items():
                await connection.execute(insert(TABLES[entity]), _rows(items))
    finally:
        await engine.dispose()


async def measure(path: Path, leaders: int) -> dict[str, Any]:
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    statements = 0

    def count(*_: object) -> None:
        nonlocal statements
        statements += 1

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    uow_factory = make_uow_factory(engine)
    figures: dict[str, Any] = {}
    try:
        for n in (leaders // 10, leaders):
            statements = 0
            started = time.perf_counter()
            async with uow_factory() as uow:
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
                "statements": statements,
                "load_s": round(loaded - started, 3),
                "compose_s": round(done - loaded, 3),
                "total_s": round(done - started, 3),
            }
    finally:
        await engine.dispose()
    figures["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="SQLite file (seeded if missing)")
    parser.add_argument("--leaders", type=int, default=2000)
    parser.add_argument("--projects", type=int, default=500)
    parser.add_argument("--seed-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.seed_only:
        asyncio.run(seed(args.db, args.leaders, args.projects))
        return
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or Path(tmp) / "fanout.db"
        if not db.exists():
            started = time.perf_counter()
            subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--seed-only",
                    "--db",
                    str(db),
                    "--leaders",
                    str(args.leaders),
                    "--projects",
                    str(args.projects),
                ],
                check=True,
            )
            print(f"seeded {db} in {time.perf_counter() - started:.1f} s (child process)")
        figures = asyncio.run(measure(db, args.leaders))
    small, large = figures[f"n{args.leaders // 10}"], figures[f"n{args.leaders}"]
    for row in (small, large):
        print(
            f"N={row['leaders']:>5}: {row['digests']} digests, {row['statements']} SQL "
            f"statements, load {row['load_s']:.2f} s + compose {row['compose_s']:.2f} s "
            f"= {row['total_s']:.2f} s"
        )
    print(f"peak RSS {figures['peak_rss_mb']} MB")
    figures["statements_constant"] = small["statements"] == large["statements"]
    figures["targets_met"] = (
        large["total_s"] < 3.0 and figures["peak_rss_mb"] < 200 and figures["statements_constant"]
    )
    print(json.dumps(figures, separators=(",", ":")))


if __name__ == "__main__":
    main()
