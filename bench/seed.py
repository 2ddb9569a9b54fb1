"""Seeding for the Slack benchmarks: the demo organization, then bulk rows beside it.

Only the demo goes through the core (``seed_demo``); everything a benchmark adds in bulk — the
people and projects its asks are spread over, a thousand other organizations — is written with
multi-row ``INSERT``s in one transaction, ids assigned here, so a thousand organizations take
seconds rather than minutes. SQLite only: rows with ids given by hand would leave PostgreSQL's
sequences behind.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import SecretStr
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from sqlalchemy import MetaData, func, insert, select

from adapters.app import core_session
from adapters.settings import Settings
from bench.load import SECRET
from bot.model import (
    Identity,
    Letter,
    Organization,
    Person,
    Platform,
    Project,
    ProjectChannel,
    RaciEntry,
    Workspace,
)
from bot.services.demo import seed_demo
from storage.engine import create_engine
from storage.tables import TABLES
from tests.fakes_slack import BOT_USER, TEAM_ID

ALL_DAY = time(0, 0)
"""A working window that ends where it starts is the whole weekday (bot.calendar): a bench
person's ask card goes at once instead of waiting for their working hours."""
WEEKDAY_ZONES = ("UTC", "Pacific/Kiritimati", "Pacific/Pago_Pago", "Pacific/Auckland")
BOT_SCOPES = "commands,chat:write,im:write,users:read"


def weekday_zone(now: datetime | None = None) -> str | None:
    """A zone where today is a weekday, so bench people are in their working hours; None on
    the few hours of a weekend where no zone has a weekday (cards then wait for Monday)."""
    now = now or datetime.now(UTC)
    for name in WEEKDAY_ZONES:
        if now.astimezone(ZoneInfo(name)).weekday() < 5:
            return name
    return None


@dataclass(frozen=True, kw_only=True)
class Spread:
    """Who the asks of a load go to: person ``n`` (``UB{n}``), Accountable of project ``B{n}``
    (its channel ``CB{n}``), so no conversation gets more than a couple of messages a round and
    Slack's one message per second per channel does not bound what is measured."""

    requester: str
    """The Slack user id that sends every command (ana, of the demo)."""
    size: int

    def command(self, i: int) -> dict[str, str]:
        n = i % self.size + 1
        return {
            "team_id": TEAM_ID,
            "channel_id": f"CB{n}",
            "channel_name": f"b{n}",
            "user_id": self.requester,
            "user_name": "ana",
            "text": f"ask <@UB{n}|b{n}> bench item {i} #B{n}",
        }

    def commands(self, count: int) -> list[dict[str, str]]:
        return [self.command(i) for i in range(count)]


async def prepare(settings: Settings) -> None:
    """Migrate and seed the demo organization (``leaderbot serve --demo`` does the same)."""
    async with core_session(settings) as session:
        await seed_demo(session.uow, session.clock)


async def _next_ids(connection: Any, entities: Iterable[type[Any]]) -> dict[type[Any], int]:
    ids = {}
    for entity in entities:
        table = TABLES[entity]
        ids[entity] = int((await connection.scalar(select(func.max(table.c.id)))) or 0) + 1
    return ids


async def _insert(connection: Any, rows: Mapping[type[Any], Sequence[Any]]) -> None:
    for entity, items in rows.items():
        for at in range(0, len(items), 5000):
            batch = [asdict(item) for item in items[at : at + 5000]]
            await connection.execute(insert(TABLES[entity]), batch)


async def spread(url: str, *, size: int) -> Spread:
    """Link the demo organization to the Slack workspace ``TEAM_ID``, give ana a Slack identity,
    and add ``size`` people and projects to spread asks over (:class:`Spread`)."""
    zone = weekday_zone() or "UTC"
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            people = TABLES[Person]
            ana = (await connection.execute(select(people).where(people.c.handle == "ana"))).one()
            kinds = (Workspace, Person, Identity, Project, ProjectChannel, RaciEntry)
            ids = await _next_ids(connection, kinds)
            org = ana.organization_id
            workspace = Workspace(
                id=ids[Workspace], organization_id=org, platform=Platform.SLACK, external_id=TEAM_ID
            )
            bench = [
                Person(
                    id=ids[Person] + n,
                    organization_id=org,
                    handle=f"b{n + 1}",
                    name=f"Bench {n + 1}",
                    email=f"b{n + 1}@bench.example",
                    timezone=zone,
                    work_start=ALL_DAY,
                    work_end=ALL_DAY,
                )
                for n in range(size)
            ]
            identities = [
                Identity(
                    id=ids[Identity] + n,
                    person_id=person.id,
                    workspace_id=workspace.id,
                    platform=Platform.SLACK,
                    user_id=f"U{person.handle.upper()}",
                )
                for n, person in enumerate(bench)
            ]
            identities.append(
                Identity(
                    id=ids[Identity] + size,
                    person_id=ana.id,
                    workspace_id=workspace.id,
                    platform=Platform.SLACK,
                    user_id="U0ANA",
                )
            )
            projects = [
                Project(id=ids[Project] + n, organization_id=org, key=f"B{n + 1}", name=f"B{n + 1}")
                for n in range(size)
            ]
            channels = [
                ProjectChannel(
                    id=ids[ProjectChannel] + n,
                    project_id=project.id,
                    workspace_id=workspace.id,
                    channel_id=f"C{project.key}",
                )
                for n, project in enumerate(projects)
            ]
            accountable = [
                RaciEntry(
                    id=ids[RaciEntry] + n,
                    project_id=project.id,
                    area="*",
                    person_id=person.id,
                    letter=Letter.A,
                )
                for n, (project, person) in enumerate(zip(projects, bench, strict=True))
            ]
            await _insert(
                connection,
                {
                    Workspace: [workspace],
                    Person: bench,
                    Identity: identities,
                    Project: projects,
                    ProjectChannel: channels,
                    RaciEntry: accountable,
                },
            )
    finally:
        await engine.dispose()
    return Spread(requester="U0ANA", size=size)


def tenant_team(n: int) -> str:
    return f"TORG{n:04d}"


def tenant_user(n: int, k: int) -> str:
    return f"UORG{n:04d}X{k:03d}"


async def tenants(url: str, *, organizations: int, people: int) -> None:
    """Add ``organizations`` organizations of ``people`` people each, every one with its Slack
    workspace (:func:`tenant_team`), its people's identities (:func:`tenant_user`), and its
    first person its admin and the Accountable of its one project, ``OPS``."""
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            kinds = (Organization, Workspace, Person, Identity, Project, RaciEntry)
            ids = await _next_ids(connection, kinds)
            rows: dict[type[Any], list[Any]] = {kind: [] for kind in kinds}
            for n in range(organizations):
                org_id, first = ids[Organization] + n, ids[Person] + n * people
                rows[Organization].append(
                    Organization(id=org_id, name=f"Tenant {n}", admin_ids=[first])
                )
                rows[Workspace].append(
                    Workspace(
                        id=ids[Workspace] + n,
                        organization_id=org_id,
                        platform=Platform.SLACK,
                        external_id=tenant_team(n),
                        name=f"Tenant {n}",
                    )
                )
                rows[Project].append(
                    Project(id=ids[Project] + n, organization_id=org_id, key="OPS", name="Ops")
                )
                rows[RaciEntry].append(
                    RaciEntry(
                        id=ids[RaciEntry] + n,
                        project_id=ids[Project] + n,
                        area="*",
                        person_id=first,
                        letter=Letter.A,
                    )
                )
                for k in range(people):
                    rows[Person].append(
                        Person(
                            id=first + k,
                            organization_id=org_id,
                            handle=f"p{k}",
                            name=f"Person {k} of {n}",
                            email=f"p{k}@tenant{n}.example",
                        )
                    )
                    rows[Identity].append(
                        Identity(
                            id=ids[Identity] + n * people + k,
                            person_id=first + k,
                            workspace_id=ids[Workspace] + n,
                            platform=Platform.SLACK,
                            user_id=tenant_user(n, k),
                        )
                    )
            await _insert(connection, rows)
    finally:
        await engine.dispose()


def bot_token(team_id: str) -> str:
    return f"xoxb-bench-{team_id.lower()}"


async def install(url: str, *, client_id: str, teams: Sequence[str]) -> None:
    """The app installed in every team of ``teams``: rows in slack_sdk's own ``slack_bots``
    table (shaped as its SQLAlchemy store declares it), one bot token each (:func:`bot_token`)."""
    bots = AsyncSQLAlchemyInstallationStore.build_bots_table(MetaData(), "slack_bots")
    now = datetime.now(UTC).replace(tzinfo=None)
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(bots.metadata.create_all)
            await connection.execute(
                insert(bots),
                [
                    {
                        "client_id": client_id,
                        "app_id": "A0LEADER",
                        "team_id": team,
                        "team_name": team,
                        "bot_token": bot_token(team),
                        "bot_id": "B0LEADER",
                        "bot_user_id": BOT_USER,
                        "bot_scopes": BOT_SCOPES,
                        "is_enterprise_install": False,
                        "installed_at": now,
                    }
                    for team in teams
                ],
            )
    finally:
        await engine.dispose()


def serve_settings(url: str, **env: str) -> tuple[Settings, dict[str, str]]:
    """The settings a benchmarked ``leaderbot serve`` runs with: as ``Settings`` (to prepare
    its database) and as the environment its process gets."""
    values = {
        "DATABASE_URL": url,
        "SLACK_SIGNING_SECRET": SECRET,
        "DASHBOARD_SECRET": "bench-dashboard-secret",
        "LOG_LEVEL": "WARNING",
        **env,
    }
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=url,
        slack_signing_secret=SecretStr(values["SLACK_SIGNING_SECRET"]),
        microsoft_app_id="",
    )
    return settings, values
