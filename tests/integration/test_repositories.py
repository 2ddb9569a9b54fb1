"""The repository contract of bot.ports, on every implementation: the in-memory fake, SQLite and
PostgreSQL (when LEADERBOT_TEST_POSTGRES_URL is set). That the migrations build exactly the
declared tables is tests/integration/test_schema.py."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from bot.errors import Conflict
from bot.model import (
    Ask,
    AskState,
    Blocker,
    Delegation,
    Letter,
    Measure,
    Organization,
    OutboxMessage,
    OutboxState,
    Person,
    Platform,
    Project,
    ProjectStatus,
    RaciEntry,
    Severity,
)
from bot.ports import UnitOfWork, UnitOfWorkFactory
from storage.engine import create_engine, normalize_url
from tests.parents import add_parents

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
LEASE = NOW + timedelta(minutes=2)
PARIS = timezone(timedelta(hours=1))


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """Which implementation ``uow_factory`` is on in this test."""
    return str(request.node.callspec.params["uow_factory"])


@pytest.fixture
async def parents(uow_factory: UnitOfWorkFactory) -> None:
    """The organizations, workspace, people and projects the bare ids below point at."""
    await add_parents(uow_factory)


def ask(**changes: Any) -> Ask:
    fields: dict[str, Any] = {
        "organization_id": 1,
        "project_id": 1,
        "requester_id": 1,
        "assignee_id": 2,
        "area": "staffing",
        "text": "two more nurses",
        "created_at": NOW,
    }
    return Ask(**(fields | changes))


ALL = tuple(Platform)


def message(
    key: str,
    *,
    due: datetime = NOW,
    state: OutboxState = OutboxState.PENDING,
    platform: Platform = Platform.SLACK,
) -> OutboxMessage:
    return OutboxMessage(
        organization_id=1,
        key=key,
        platform=platform,
        workspace_id=1,
        address="D1",
        payload="{}",
        state=state,
        next_attempt_at=due,
        created_at=NOW,
    )


async def add_all(uow: UnitOfWork, *asks: Ask) -> list[int]:
    return [(await uow.asks.add(a)).id for a in asks]


@pytest.mark.usefixtures("parents")
async def test_add_assigns_ids_and_get_returns_an_equal_copy(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        first, second = ask(), ask(text="a budget")
        assert (await uow.asks.add(first)) is first
        await uow.asks.add(second)
        assert 0 < first.id < second.id
        assert await uow.asks.get(first.id) == first
        assert await uow.asks.get(second.id + 100) is None
        await uow.commit()
    async with uow_factory() as uow:
        loaded = await uow.asks.get(first.id)
        assert loaded == first
        assert loaded is not first


@pytest.mark.usefixtures("parents")
async def test_add_refuses_an_item_that_already_has_an_id(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        stored = await uow.asks.add(ask())
        with pytest.raises(ValueError):
            await uow.asks.add(stored)


@pytest.mark.usefixtures("parents")
async def test_changes_without_save_are_not_stored(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        item = await uow.asks.add(ask(consulted_ids=[3]))
        item.text = "changed after add"
        loaded = await uow.asks.get(item.id)
        assert loaded is not None
        loaded.text = "changed after get"
        loaded.consulted_ids.append(4)
        (found,) = await uow.asks.find(id=item.id)
        assert (found.text, found.consulted_ids) == ("two more nurses", [3])


@pytest.mark.usefixtures("parents")
async def test_save_writes_every_field(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        item = await uow.asks.add(ask())
        item.state = AskState.APPROVED
        item.decided_by_id = 2
        item.decided_at = NOW + timedelta(hours=1)
        item.rationale = "fine"
        item.consulted_ids = [5, 6]
        await uow.asks.save(item)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.asks.get(item.id) == item


@pytest.mark.usefixtures("parents")
async def test_save_of_an_unknown_id_fails(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        with pytest.raises(LookupError):
            await uow.asks.save(ask(id=41))


@pytest.mark.usefixtures("parents")
async def test_delete_removes_and_ignores_unknown_ids(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        keep, drop = await add_all(uow, ask(), ask())
        await uow.asks.delete(drop)
        await uow.asks.delete(drop + 100)
        await uow.commit()
    async with uow_factory() as uow:
        assert [a.id for a in await uow.asks.find()] == [keep]


@pytest.mark.usefixtures("parents")
async def test_find_criteria(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        a, b, c, d = await add_all(
            uow,
            ask(assignee_id=2, needed_by=date(2026, 12, 1)),
            ask(assignee_id=3, needed_by=date(2026, 12, 5), state=AskState.APPROVED),
            ask(assignee_id=4, created_at=NOW + timedelta(days=1)),
            ask(assignee_id=2, area="budget", created_at=NOW + timedelta(days=2)),
        )

        async def ids(**where: Any) -> list[int]:
            return [x.id for x in await uow.asks.find(order_by="id", **where)]

        assert await ids(assignee_id=2) == [a, d]
        assert await ids(assignee_id=[3, 4]) == [b, c]
        assert await ids(assignee_id=(2,), area="budget") == [d]
        assert await ids(assignee_id=set()) == []
        assert await ids(needed_by=None) == [c, d]
        assert await ids(needed_by=[date(2026, 12, 1), None]) == [a, c, d]
        assert await ids(needed_by__ne=None) == [a, b]
        assert await ids(needed_by__ne=date(2026, 12, 1)) == [b, c, d]
        assert await ids(assignee_id__ne=[2, 3]) == [c]
        assert await ids(needed_by__lt=date(2026, 12, 5)) == [a]
        assert await ids(needed_by__lte=date(2026, 12, 5)) == [a, b]
        assert await ids(needed_by__gt=date(2026, 12, 1)) == [b]
        assert await ids(created_at__gte=NOW + timedelta(days=1)) == [c, d]
        assert await ids(created_at__lt=(NOW + timedelta(days=1)).astimezone(PARIS)) == [a, b]
        assert await ids(area__gte="c") == [a, b, c]
        assert await ids(state=AskState.APPROVED) == [b]
        assert await ids(state="approved") == [b]
        assert await ids(state__ne=AskState.OPEN, assignee_id__gte=3) == [b]


async def test_find_refuses_unknown_fields_and_suffixes(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        wheres: list[dict[str, Any]] = [{"colour": 1}, {"area__like": "x"}, {"needed_by__lt": None}]
        for where in wheres:
            with pytest.raises(ValueError):
                await uow.asks.find(**where)
        with pytest.raises(ValueError):
            await uow.asks.find(order_by="-colour")


@pytest.mark.usefixtures("parents")
async def test_order_limit_first_and_count(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        a, b, c, d = await add_all(
            uow,
            ask(needed_by=date(2026, 12, 3)),
            ask(),
            ask(needed_by=date(2026, 12, 1)),
            ask(needed_by=date(2026, 12, 3)),
        )
        ordered = [x.id for x in await uow.asks.find(order_by="needed_by")]
        assert ordered == [c, a, d, b]  # NULLs last, ties by id
        descending = [x.id for x in await uow.asks.find(order_by="-needed_by")]
        assert descending == [b, d, a, c]
        assert [x.id for x in await uow.asks.find(order_by="-id", limit=2)] == [d, c]
        assert [x.id for x in await uow.asks.find()] == [a, b, c, d]
        first = await uow.asks.first(order_by="needed_by", needed_by__ne=None)
        assert first is not None and first.id == c
        assert await uow.asks.first(area="nothing") is None
        assert await uow.asks.count() == 4
        assert await uow.asks.count(needed_by=date(2026, 12, 3)) == 2


@pytest.mark.usefixtures("parents")
async def test_field_types_round_trip(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        person = await uow.people.add(
            Person(organization_id=1, handle="ana", name="Ana", work_start=time(7, 30))
        )
        project = await uow.projects.add(
            Project(organization_id=1, key="SEPSIS", name="Sepsis", status="paused")  # type: ignore[arg-type]
        )
        measure = await uow.measures.add(Measure(project_id=1, name="LOS", target=5))
        holiday = await uow.delegations.add(
            Delegation(
                organization_id=1,
                delegator_id=1,
                delegate_id=2,
                starts_on=date(2026, 12, 24),
                ends_on=date(2027, 1, 2),
            )
        )
        blocker = await uow.blockers.add(
            Blocker(
                organization_id=1,
                project_id=1,
                reporter_id=1,
                area="it",
                severity=Severity.CRITICAL,
                text="no lab access",
                ladder=[7, 3, 9],
                next_escalation_at=datetime(2026, 11, 23, 15, 30, tzinfo=PARIS),
                created_at=NOW,
            )
        )
        await uow.commit()
    async with uow_factory() as uow:
        loaded_person = await uow.people.get(person.id)
        assert loaded_person is not None and loaded_person.work_start == time(7, 30)
        loaded_project = await uow.projects.get(project.id)
        assert loaded_project is not None and loaded_project.status is ProjectStatus.PAUSED
        loaded_measure = await uow.measures.get(measure.id)
        assert loaded_measure is not None
        assert loaded_measure.target == 5.0 and isinstance(loaded_measure.target, float)
        assert await uow.delegations.get(holiday.id) == holiday
        loaded = await uow.blockers.get(blocker.id)
        assert loaded is not None
        assert loaded.ladder == [7, 3, 9]
        assert loaded.severity is Severity.CRITICAL
        assert loaded.next_escalation_at == datetime(2026, 11, 23, 14, 30, tzinfo=UTC)
        assert loaded.next_escalation_at.tzinfo == UTC and loaded.created_at.tzinfo == UTC


@pytest.mark.usefixtures("parents")
async def test_naive_datetimes_are_refused(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        with pytest.raises(ValueError):
            await uow.asks.add(ask(created_at=datetime(2026, 11, 23, 10, 0)))
    async with uow_factory() as uow:
        with pytest.raises(ValueError):
            await uow.asks.find(created_at__lt=datetime(2026, 11, 23, 10, 0))


async def test_leaving_without_commit_rolls_back(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        kept = await uow.organizations.add(Organization(name="Trust"))
        await uow.commit()
        kept.name = "Renamed"
        await uow.organizations.save(kept)
        await uow.organizations.add(Organization(name="Never"))
    async with uow_factory() as uow:
        await uow.organizations.add(Organization(name="Rolled back"))
        await uow.rollback()
        await uow.organizations.add(Organization(name="After rollback"))
        await uow.commit()
    async with uow_factory() as uow:
        names = [o.name for o in await uow.organizations.find()]
        assert names == ["Trust", "After rollback"]


async def test_uncommitted_changes_are_invisible_to_other_units(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as writer:
        await writer.organizations.add(Organization(name="Pending"))
        async with uow_factory() as reader:
            assert await reader.organizations.count() == 0
        await writer.commit()
    async with uow_factory() as reader:
        assert await reader.organizations.count() == 1


@pytest.mark.usefixtures("parents")
async def test_unique_constraints_raise_conflict(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.people.add(Person(organization_id=1, handle="ana", name="Ana"))
        await uow.people.add(Person(organization_id=2, handle="ana", name="Other Ana"))
        duplicate = Person(organization_id=1, handle="ana", name="Second Ana")
        with pytest.raises(Conflict):
            await uow.people.add(duplicate)
        assert duplicate.id == 0


@pytest.mark.usefixtures("parents")
async def test_save_into_a_unique_key_raises_conflict(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.projects.add(Project(organization_id=1, key="SEPSIS", name="Sepsis"))
        falls = await uow.projects.add(Project(organization_id=1, key="FALLS", name="Falls"))
        falls.key = "SEPSIS"
        with pytest.raises(Conflict):
            await uow.projects.save(falls)


@pytest.mark.usefixtures("parents")
async def test_exactly_one_accountable_per_project_and_area(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        for person_id, letter, area in [
            (1, Letter.A, "budget"),
            (2, Letter.A, "staffing"),
            (3, Letter.R, "budget"),
            (4, Letter.R, "budget"),
        ]:
            await uow.raci.add(
                RaciEntry(project_id=1, area=area, person_id=person_id, letter=letter)
            )
        await uow.raci.add(RaciEntry(project_id=2, area="budget", person_id=5, letter=Letter.A))
        with pytest.raises(Conflict):
            await uow.raci.add(RaciEntry(project_id=1, area="budget", person_id=6, letter=Letter.A))


@pytest.mark.usefixtures("parents")
async def test_enqueue_is_idempotent_on_the_key(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        first = message("ask:1:card@1:dana")
        assert await uow.outbox.enqueue(first) is True
        assert first.id > 0
        again = message("ask:1:card@1:dana")
        assert await uow.outbox.enqueue(again) is False
        assert again.id == 0
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.outbox.enqueue(message("ask:1:card@1:dana")) is False
        assert await uow.outbox.count() == 1


@pytest.mark.usefixtures("parents")
async def test_enqueue_all_writes_each_new_key_and_says_which(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        assert await uow.outbox.enqueue(message("ask:1:card@1:dana")) is True
        rows = [message("ask:2:card@1:dana"), message("ask:1:card@1:dana"), message("ask:3@1:C")]
        assert await uow.outbox.enqueue_all(rows) == [True, False, True]
        assert [row.id > 0 for row in rows] == [True, False, True]
        assert await uow.outbox.enqueue_all([]) == []
        await uow.commit()
    async with uow_factory() as uow:
        assert sorted(m.key for m in await uow.outbox.find()) == [
            "ask:1:card@1:dana",
            "ask:2:card@1:dana",
            "ask:3@1:C",
        ]


@pytest.mark.usefixtures("parents")
async def test_save_all_writes_every_row_and_refuses_one_not_stored(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        rows = [message(f"ask:{i}@1:C") for i in (1, 2, 3)]
        await uow.outbox.enqueue_all(rows)
        for i, row in enumerate(rows):
            row.next_attempt_at = LEASE + timedelta(minutes=i)
            row.error = f"try {i}"
        await uow.outbox.save_all(rows[:2])
        await uow.commit()
    async with uow_factory() as uow:
        stored = {m.key: (m.next_attempt_at, m.error) for m in await uow.outbox.find()}
        assert stored == {
            "ask:1@1:C": (LEASE, "try 0"),
            "ask:2@1:C": (LEASE + timedelta(minutes=1), "try 1"),
            "ask:3@1:C": (NOW, ""),
        }
        ghost = message("ask:9@1:C")
        ghost.id = 999
        with pytest.raises(LookupError):
            await uow.outbox.save_all([ghost])


@pytest.mark.usefixtures("parents")
async def test_claim_due_takes_pending_due_messages_oldest_first(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        for key, due, state in [
            ("late", NOW - timedelta(minutes=1), OutboxState.PENDING),
            ("future", NOW + timedelta(seconds=1), OutboxState.PENDING),
            ("sent", NOW - timedelta(hours=1), OutboxState.SENT),
            ("oldest", NOW - timedelta(hours=2), OutboxState.PENDING),
            ("now", NOW, OutboxState.PENDING),
            ("failed", NOW - timedelta(hours=1), OutboxState.FAILED),
            ("also-late", NOW - timedelta(minutes=1), OutboxState.PENDING),
        ]:
            await uow.outbox.enqueue(message(key, due=due, state=state))
        await uow.commit()
    async with uow_factory() as uow:
        claimed = await uow.outbox.claim_due(now=NOW, limit=3, platforms=ALL, lease_until=LEASE)
        assert {m.key for m in claimed} == {"oldest", "late", "also-late"}
        assert {m.next_attempt_at for m in claimed} == {LEASE}
        rest = await uow.outbox.claim_due(now=NOW, limit=10, platforms=ALL, lease_until=LEASE)
        assert [m.key for m in rest] == ["now"]
        await uow.rollback()
    async with uow_factory() as uow:
        again = await uow.outbox.claim_due(now=NOW, limit=10, platforms=ALL, lease_until=LEASE)
        assert [m.key for m in again] == ["late", "oldest", "now", "also-late"]  # id order
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.outbox.claim_due(now=NOW, limit=10, platforms=ALL, lease_until=LEASE) == []


@pytest.mark.usefixtures("parents")
async def test_claim_due_leaves_platforms_this_process_cannot_send_to(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        await uow.outbox.enqueue(message("console", platform=Platform.CONSOLE))
        await uow.outbox.enqueue(message("teams", platform=Platform.TEAMS))
        await uow.outbox.enqueue(message("slack"))
        await uow.commit()
    async with uow_factory() as uow:
        claimed = await uow.outbox.claim_due(
            now=NOW, limit=10, platforms=[Platform.SLACK], lease_until=LEASE
        )
        assert [m.key for m in claimed] == ["slack"]


@pytest.mark.usefixtures("parents")
async def test_concurrent_claims_never_share_a_message(uow_factory: UnitOfWorkFactory) -> None:
    """Two units claim at once (separate tasks, as two drains do): each row goes to one of them;
    what the one that rolls back had claimed is due again, what the other sent is not.

    The second claims as soon as the first's claim returned, while the first is still saving
    and committing (on PostgreSQL its rows are locked then and passed over by the second; on
    SQLite the one writer makes the second wait for the first's commit): which one claims first
    is fixed, so the test does not depend on how the two tasks happen to be scheduled. It runs
    on every backend."""
    async with uow_factory() as uow:
        for n in range(6):
            await uow.outbox.enqueue(message(f"m{n}", due=NOW - timedelta(minutes=n)))
        await uow.commit()
    claims: dict[str, list[str]] = {}
    first_claimed = asyncio.Event()

    async def keep() -> None:
        async with uow_factory() as uow:
            rows = await uow.outbox.claim_due(now=NOW, limit=4, platforms=ALL, lease_until=LEASE)
            claims["kept"] = [m.key for m in rows]
            first_claimed.set()
            for item in rows:
                item.state = OutboxState.SENT
                await uow.outbox.save(item)
            await uow.commit()

    async def roll_back() -> None:
        await first_claimed.wait()
        async with uow_factory() as uow:
            rows = await uow.outbox.claim_due(now=NOW, limit=4, platforms=ALL, lease_until=LEASE)
            claims["rolled back"] = [m.key for m in rows]
            await uow.rollback()

    await asyncio.gather(keep(), roll_back())
    kept, rolled_back = claims["kept"], claims["rolled back"]
    assert sorted(kept + rolled_back) == [f"m{n}" for n in range(6)]
    assert len(kept) == 4
    async with uow_factory() as three:
        left = await three.outbox.claim_due(now=NOW, limit=4, platforms=ALL, lease_until=LEASE)
        assert sorted(m.key for m in left) == sorted(rolled_back)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sqlite:///./leaderbot.db", "sqlite+aiosqlite:///./leaderbot.db"),
        ("sqlite+aiosqlite:////var/lib/lb.db", "sqlite+aiosqlite:////var/lib/lb.db"),
        ("postgres://u:p@db:5432/lb", "postgresql+asyncpg://u:p@db:5432/lb"),
        ("postgresql://u@db/lb?sslmode=require", "postgresql+asyncpg://u@db/lb?ssl=require"),
        ("postgresql+asyncpg://u@db/lb", "postgresql+asyncpg://u@db/lb"),
    ],
)
def test_database_urls_are_normalized_to_async_drivers(given: str, expected: str) -> None:
    assert normalize_url(given).render_as_string(hide_password=False) == expected


async def test_sqlite_connections_use_wal_and_wait_for_the_writer(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'pragmas.db'}")
    try:
        async with engine.connect() as connection:
            pragmas = [
                (await connection.exec_driver_sql(f"PRAGMA {name}")).scalar_one()
                for name in ("journal_mode", "busy_timeout", "foreign_keys")
            ]
    finally:
        await engine.dispose()
    assert pragmas == ["wal", 5000, 1]
