"""bot.services.responsiveness on every backend: the demo lived through for three weeks
(tests/lived_demo.py), measured and worded."""

from __future__ import annotations

from bot.ports import UnitOfWorkFactory
from bot.responsiveness import leader_sentences, project_sentences
from bot.services.responsiveness import load_responsiveness
from bot.tenancy import bound
from tests.lived_demo import NOW, live_three_weeks, person


async def test_each_leader_and_project_gets_their_figures(uow_factory: UnitOfWorkFactory) -> None:
    org = await live_three_weeks(uow_factory)
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
    assert project_sentences(sepsis)[1] == ("1 blocker was resolved in a median of 5 days.")
    weeks = {w.week: w.figures for w in sepsis.weeks}
    assert weeks["2026-W46"].decided == 1 and weeks["2026-W46"].unblocked == 1


async def test_a_viewer_gets_only_the_leaders_and_projects_named(
    uow_factory: UnitOfWorkFactory,
) -> None:
    org = await live_three_weeks(uow_factory)
    async with bound(uow_factory(), org) as uow:
        dana = await person(uow, "dana")
        falls = await uow.projects.first(key="FALLS")
        assert falls is not None
        report = await load_responsiveness(
            uow, organization_id=org, now=NOW, person_ids={dana.id}, project_ids={falls.id}
        )
    assert [leader.name for leader in report.leaders] == ["Dana Lee"]
    assert [p.key for p in report.projects] == ["FALLS"]
