"""bot.services.responsiveness on every backend: the demo, lived through for three weeks with the
real services (a decision, an escalation, a resolution), measured and worded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.clock import ManualClock
from bot.model import Person
from bot.ports import UnitOfWork, UnitOfWorkFactory
from bot.responsiveness import leader_sentences, project_sentences
from bot.services import asks, blockers
from bot.services.demo import seed_demo
from bot.services.responsiveness import load_responsiveness
from bot.tenancy import bound

SEEDED = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
NOW = SEEDED + timedelta(days=20)


async def _person(uow: UnitOfWork, handle: str) -> Person:
    person = await uow.people.first(handle=handle)
    assert person is not None
    return person


async def _live_three_weeks(uow_factory: UnitOfWorkFactory) -> int:
    await seed_demo(uow_factory, ManualClock(SEEDED))
    async with uow_factory() as uow:
        org = await uow.organizations.first(order_by="id")
        assert org is not None
        raj, carmen = await _person(uow, "raj"), await _person(uow, "carmen")
        budget = await uow.asks.first(assignee_id=raj.id)
        blocker = await uow.blockers.first(organization_id=org.id)
        assert budget is not None and blocker is not None
        await asks.decide(
            uow,
            ask_id=budget.id,
            organization_id=org.id,
            decider=raj,
            outcome="approve",
            text="Funded from the safety budget",
            now=SEEDED + timedelta(days=2),
            link_base="",
        )
        assert await blockers.climb(
            uow, blocker=blocker, now=SEEDED + timedelta(days=3), link_base=""
        )
        await blockers.resolve(
            uow,
            blocker_id=blocker.id,
            organization_id=org.id,
            actor=carmen,
            text="IT granted access",
            now=SEEDED + timedelta(days=5),
        )
        await uow.commit()
        return org.id


async def test_each_leader_and_project_gets_their_figures(uow_factory: UnitOfWorkFactory) -> None:
    org = await _live_three_weeks(uow_factory)
    async with bound(uow_factory(), org) as uow:
        report = await load_responsiveness(uow, organization_id=org, now=NOW)
    leaders = {leader.name: leader.result for leader in report.leaders}
    # Raj decided the budget ask; Dana's staffing ask passed its needed-by date (7 days).
    assert leaders["Raj Patel"].total.decided == 1
    assert leader_sentences(leaders["Raj Patel"])[0] == (
        "You decided 1 ask in a median of 2 days; none is waiting."
    )
    assert leader_sentences(leaders["Dana Lee"], name="Dana Lee")[0] == (
        "Dana Lee decided no asks in the last 12 weeks; 1 is overdue."
    )
    # The blocker climbed from Eve (Accountable for IT) to Carmen (sponsor), who resolved it.
    assert leaders["Dr Carmen Diaz"].total.escalations == 1
    assert leader_sentences(leaders["Dr Carmen Diaz"]) == [
        "You had no asks to decide in the last 12 weeks.",
        "1 blocker that reached you was resolved in a median of 5 days.",
        "1 escalation reached you because an earlier rung did not act in time.",
    ]
    assert [p.key for p in report.projects] == ["FALLS", "SEPSIS"]
    sepsis = report.projects[1].result
    assert (sepsis.total.decided, sepsis.total.unblocked, sepsis.total.escalations) == (1, 1, 1)
    assert project_sentences(sepsis)[1] == (
        "1 blocker that reached its ladder was resolved in a median of 5 days."
    )
    weeks = {w.week: w.figures for w in sepsis.weeks}
    assert weeks["2026-W46"].decided == 1 and weeks["2026-W46"].unblocked == 1


async def test_a_viewer_gets_only_the_leaders_and_projects_named(
    uow_factory: UnitOfWorkFactory,
) -> None:
    org = await _live_three_weeks(uow_factory)
    async with bound(uow_factory(), org) as uow:
        dana = await _person(uow, "dana")
        falls = await uow.projects.first(key="FALLS")
        assert falls is not None
        report = await load_responsiveness(
            uow, organization_id=org, now=NOW, person_ids={dana.id}, project_ids={falls.id}
        )
    assert [leader.name for leader in report.leaders] == ["Dana Lee"]
    assert [p.key for p in report.projects] == ["FALLS"]
