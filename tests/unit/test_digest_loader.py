"""The batch digest loader: who gets which project and item, in a constant number of queries."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast

import pytest

from bot.errors import NotFound
from bot.model import (
    Ask,
    AskState,
    Blocker,
    CadencePreference,
    Decision,
    Delegation,
    Detail,
    Frequency,
    Letter,
    Measure,
    Observation,
    Organization,
    Person,
    Project,
    ProjectStatus,
    RaciEntry,
    Rag,
    Review,
    Role,
    Severity,
    Stakeholder,
    ThresholdLevel,
    Update,
)
from bot.ports import UnitOfWork
from bot.services.digests import compose_for, load_digest_inputs
from tests.fakes import make_memory_uow_factory

NOW = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
LINK = "https://lb.example.org"


class CountingRepository:
    """Passes every call through to a repository and counts the queries it makes."""

    def __init__(self, inner: Any, name: str, calls: Counter[str]) -> None:
        self._inner, self._name, self._calls = inner, name, calls

    def __getattr__(self, method: str) -> Any:
        target = getattr(self._inner, method)
        if method in ("find", "first", "get", "count"):

            async def counted(*args: Any, **kwargs: Any) -> Any:
                self._calls[f"{self._name}.{method}"] += 1
                return await target(*args, **kwargs)

            return counted
        return target


class CountingUnitOfWork:
    """A unit of work whose repositories count the queries made through them."""

    def __init__(self, inner: UnitOfWork) -> None:
        self._inner = inner
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        return CountingRepository(value, name, self.calls) if hasattr(value, "find") else value


async def add(uow: UnitOfWork, repo: str, *items: Any) -> list[Any]:
    return [await getattr(uow, repo).add(item) for item in items]


async def seed_leader(uow: UnitOfWork, org: int, n: int) -> int:
    """One sponsor with a busy project: ask, blocker at their rung, update, KPI review, decision,
    a colleague informed on every area, and a delegate this week."""
    leader, lead, delegate, watcher = await add(
        uow,
        "people",
        Person(organization_id=org, handle=f"boss{n}", name=f"Boss {n}"),
        Person(organization_id=org, handle=f"lead{n}", name=f"Lead {n}"),
        Person(organization_id=org, handle=f"deputy{n}", name=f"Deputy {n}"),
        Person(organization_id=org, handle=f"watch{n}", name=f"Watcher {n}"),
    )
    (project,) = await add(
        uow, "projects", Project(organization_id=org, key=f"P{n}", name=f"Project {n}")
    )
    await add(
        uow,
        "stakeholders",
        Stakeholder(project_id=project.id, person_id=leader.id, role=Role.SPONSOR),
    )
    await add(
        uow,
        "raci",
        RaciEntry(project_id=project.id, area="*", person_id=leader.id, letter=Letter.A),
        RaciEntry(project_id=project.id, area="*", person_id=watcher.id, letter=Letter.I),
    )
    await add(
        uow,
        "asks",
        Ask(
            organization_id=org,
            project_id=project.id,
            requester_id=lead.id,
            assignee_id=leader.id,
            area="*",
            text=f"Approve pilot {n}",
            created_at=NOW - timedelta(days=1),
        ),
    )
    await add(
        uow,
        "blockers",
        Blocker(
            organization_id=org,
            project_id=project.id,
            reporter_id=lead.id,
            area="*",
            severity=Severity.HIGH,
            text=f"Blocked {n}",
            ladder=[leader.id],
            created_at=NOW - timedelta(days=1),
        ),
    )
    await add(
        uow,
        "updates",
        Update(
            project_id=project.id,
            author_id=lead.id,
            period="2026-W48",
            rag=Rag.AMBER,
            progress=f"Progress {n}",
            created_at=NOW - timedelta(days=1),
        ),
    )
    (measure,) = await add(uow, "measures", Measure(project_id=project.id, name="LOS", target=4))
    (observation,) = await add(
        uow,
        "observations",
        Observation(
            measure_id=measure.id,
            observed_on=date(2026, 11, 20),
            value=6,
            level=ThresholdLevel.ALERT,
            recorded_at=NOW - timedelta(days=2),
        ),
    )
    await add(
        uow,
        "reviews",
        Review(
            project_id=project.id,
            measure_id=measure.id,
            observation_id=observation.id,
            sponsor_id=leader.id,
            level=ThresholdLevel.ALERT,
            created_at=NOW - timedelta(days=2),
        ),
    )
    await add(
        uow,
        "decisions",
        Decision(
            organization_id=org,
            project_id=project.id,
            subject_kind="free",
            outcome=f"Go ahead {n}",
            decided_by_id=leader.id,
            decided_at=NOW - timedelta(days=2),
        ),
    )
    await add(
        uow,
        "delegations",
        Delegation(
            organization_id=org,
            delegator_id=leader.id,
            delegate_id=delegate.id,
            starts_on=date(2026, 11, 20),
            ends_on=date(2026, 11, 30),
        ),
    )
    return int(leader.id)


async def seed_many(count: int) -> tuple[Any, list[int]]:
    factory = make_memory_uow_factory()
    async with factory() as uow:
        (org,) = await add(uow, "organizations", Organization(name="Trust"))
        leaders = [await seed_leader(uow, org.id, n) for n in range(count)]
        await uow.commit()
    return factory, leaders


async def queries_for(count: int) -> Counter[str]:
    factory, ids = await seed_many(count)
    async with factory() as inner:
        uow = CountingUnitOfWork(inner)
        inputs = await load_digest_inputs(
            cast(UnitOfWork, uow), leader_ids=ids, now=NOW, link_base=LINK
        )
    assert len(inputs) == count
    assert all(len(i.projects) == 1 and i.projects[0].asks_awaiting for i in inputs)
    return uow.calls


async def test_query_count_does_not_grow_with_leaders() -> None:
    five, fifty = await queries_for(5), await queries_for(50)
    assert five == fifty
    assert all(name.endswith(".find") for name in fifty)  # no get/first per item
    assert sum(fifty.values()) <= 17  # 16, and the asks' conversations (issue 13 §4)


@pytest.fixture
async def world() -> dict[str, Any]:
    """Two projects and the people around them, as ids by name."""
    factory = make_memory_uow_factory()
    async with factory() as uow:
        (org,) = await add(uow, "organizations", Organization(name="Trust"))
        ben, ana, cy, dee, eve, fay = await add(
            uow,
            "people",
            *(
                Person(organization_id=org.id, handle=h, name=h.title())
                for h in ("ben", "ana", "cy", "dee", "eve", "fay")
            ),
        )
        org.escalation_contact_id = cy.id
        await uow.organizations.save(org)
        sepsis, closed = await add(
            uow,
            "projects",
            Project(organization_id=org.id, key="SEPSIS", name="Sepsis"),
            Project(organization_id=org.id, key="OLD", name="Old", status=ProjectStatus.CLOSED),
        )
        await add(
            uow,
            "stakeholders",
            Stakeholder(project_id=sepsis.id, person_id=ben.id, role=Role.SPONSOR),
            Stakeholder(project_id=closed.id, person_id=ben.id, role=Role.SPONSOR),
            Stakeholder(project_id=sepsis.id, person_id=ana.id, role=Role.LEAD),
        )
        await add(
            uow,
            "raci",
            RaciEntry(project_id=sepsis.id, area="budget", person_id=ben.id, letter=Letter.A),
            RaciEntry(project_id=sepsis.id, area="staffing", person_id=ben.id, letter=Letter.A),
            RaciEntry(project_id=sepsis.id, area="it", person_id=dee.id, letter=Letter.C),
            RaciEntry(project_id=sepsis.id, area="budget", person_id=eve.id, letter=Letter.R),
        )

        def ask(text: str, *, area: str = "budget", days: int = 1, **kw: Any) -> Ask:
            return Ask(
                organization_id=org.id,
                project_id=sepsis.id,
                requester_id=ana.id,
                assignee_id=ben.id,
                area=area,
                text=text,
                created_at=NOW - timedelta(days=days),
                **kw,
            )

        open_ask, *_ = await add(
            uow,
            "asks",
            ask("Approve 0.5 FTE", needed_by=date(2026, 11, 27)),
            ask("Old approved", state=AskState.APPROVED, days=2),
            ask("New IT laptops", area="it", days=2),
            ask("Ancient IT ask", area="it", days=30, state=AskState.DECLINED),
        )
        ladder = [dee.id, ben.id, cy.id]
        escalated, _ = await add(
            uow,
            "blockers",
            Blocker(
                organization_id=org.id,
                project_id=sepsis.id,
                reporter_id=ana.id,
                area="it",
                severity=Severity.CRITICAL,
                text="Lab IT down",
                ladder=ladder,
                level=2,
                created_at=NOW - timedelta(days=3),
            ),
            Blocker(
                organization_id=org.id,
                project_id=sepsis.id,
                reporter_id=ana.id,
                area="staffing",
                severity=Severity.LOW,
                text="Rota gap",
                ladder=ladder,
                level=0,
                created_at=NOW - timedelta(days=20),
            ),
        )
        await add(
            uow,
            "updates",
            Update(
                project_id=sepsis.id,
                author_id=ana.id,
                period="2026-W47",
                rag=Rag.RED,
                progress="Last week",
                created_at=NOW - timedelta(days=8),
            ),
            Update(
                project_id=sepsis.id,
                author_id=ana.id,
                period="2026-W48",
                rag=Rag.GREEN,
                progress="Recovering",
                created_at=NOW - timedelta(days=1),
            ),
        )
        await add(
            uow,
            "decisions",
            *(
                Decision(
                    organization_id=org.id,
                    project_id=sepsis.id,
                    subject_kind="free",
                    outcome=f"{days} days ago",
                    decided_by_id=ben.id,
                    decided_at=NOW - timedelta(days=days),
                )
                for days in (3, 10, 20)
            ),
        )
        await add(
            uow,
            "delegations",
            Delegation(
                organization_id=org.id,
                delegator_id=ben.id,
                delegate_id=fay.id,
                starts_on=date(2026, 11, 20),
                ends_on=date(2026, 11, 30),
            ),
            Delegation(
                organization_id=org.id,
                delegator_id=ben.id,
                delegate_id=eve.id,
                starts_on=date(2026, 11, 1),
                ends_on=date(2026, 11, 10),
            ),
        )
        await add(
            uow,
            "preferences",
            CadencePreference(
                person_id=dee.id,
                frequency=Frequency.BIWEEKLY,
                detail=Detail.DETAILED,
                max_lines=8,
                local_time=time(7, 0),
            ),
        )
        await uow.commit()
    return {
        "factory": factory,
        "ben": ben.id,
        "ana": ana.id,
        "cy": cy.id,
        "dee": dee.id,
        "eve": eve.id,
        "fay": fay.id,
        "open_ask": open_ask.id,
        "escalated": escalated.id,
    }


async def load(world: dict[str, Any], *names: str, **kw: Any) -> dict[str, Any]:
    async with world["factory"]() as uow:
        inputs = await load_digest_inputs(
            uow, leader_ids=[world[n] for n in names], now=NOW, link_base=LINK, **kw
        )
    return {i.leader.handle: i for i in inputs}


async def test_sponsor_gets_active_projects_with_their_items(world: dict[str, Any]) -> None:
    ben = (await load(world, "ben"))["ben"]
    assert ben.period == "2026-W48"
    assert ben.detail is Detail.CONCISE and ben.max_lines == 12
    (sepsis,) = ben.projects  # the closed project is left out
    assert sepsis.project.key == "SEPSIS"
    assert sepsis.why == "sponsor; A: budget, staffing"
    assert [a.text for a in sepsis.asks_awaiting] == ["Approve 0.5 FTE", "New IT laptops"]
    assert sepsis.latest_update is not None and sepsis.latest_update.progress == "Recovering"
    assert sepsis.blockers_at_rung == ()  # both blockers wait on someone else
    assert [d.outcome for d in sepsis.decisions] == ["3 days ago"]
    assert sepsis.informed == ()  # Ben is A, not C/I
    assert ben.names[world["ana"]] == "Ana"


async def test_consulted_leader_sees_new_items_in_their_area(world: dict[str, Any]) -> None:
    dee = (await load(world, "dee"))["dee"]
    assert dee.period == "2026-W47+48"
    assert dee.detail is Detail.DETAILED and dee.max_lines == 8
    (sepsis,) = dee.projects
    assert sepsis.why == "C: it"
    # "Lab IT down" is not at Dee's rung any more, and it is new in her area
    assert sorted(i.text for i in sepsis.informed) == ["Lab IT down", "New IT laptops"]
    assert [d.outcome for d in sepsis.decisions] == ["3 days ago", "10 days ago"]  # biweekly


async def test_executive_gets_blocker_at_their_rung(world: dict[str, Any]) -> None:
    cy = (await load(world, "cy"))["cy"]
    (sepsis,) = cy.projects
    assert sepsis.why == "escalated to you"
    assert [b.id for b in sepsis.blockers_at_rung] == [world["escalated"]]
    assert sepsis.asks_awaiting == ()


async def test_active_delegate_decides_delegators_asks(world: dict[str, Any]) -> None:
    digests = await load(world, "fay", "eve")
    (sepsis,) = digests["fay"].projects
    assert sepsis.why == "deciding for Ben"
    assert [a.text for a in sepsis.asks_awaiting] == ["Approve 0.5 FTE", "New IT laptops"]
    assert digests["eve"].projects == ()  # an R letter and an expired delegation


async def test_since_and_previous_are_passed_per_leader(world: dict[str, Any]) -> None:
    digests = await load(
        world,
        "ben",
        "dee",
        since={world["ben"]: NOW - timedelta(days=15)},
        previous={world["ben"]: {"ask:1": "abc"}},
    )
    assert [d.outcome for d in digests["ben"].projects[0].decisions] == [
        "3 days ago",
        "10 days ago",
    ]
    assert digests["ben"].previous == {"ask:1": "abc"}
    assert digests["dee"].previous == {}


async def test_unknown_leaders_are_skipped(world: dict[str, Any]) -> None:
    assert await load(world) == {}
    async with world["factory"]() as uow:
        assert await load_digest_inputs(uow, leader_ids=[999], now=NOW, link_base=LINK) == []


async def test_compose_for_previews_a_digest(world: dict[str, Any]) -> None:
    async with world["factory"]() as uow:
        result = await compose_for(uow, person_id=world["ben"], now=NOW, link_base=LINK)
        with pytest.raises(NotFound):
            await compose_for(uow, person_id=999, now=NOW, link_base=LINK)
    assert result.message.key == f"digest:{world['ben']}:2026-W48"
    assert f"ask:{world['open_ask']}" in result.fingerprints
    assert any(a.id == "ask.approve" for a in result.message.actions)
