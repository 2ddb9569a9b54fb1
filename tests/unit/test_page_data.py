"""The pure parts of the project page and the overview: the RACI grid, a blocker's ladder, the
overview's filters and a project's trend."""

from __future__ import annotations

from datetime import UTC, datetime

from adapters.web.overview import Filters, filters_from, trend_of
from adapters.web.project import ladder, raci_grid
from bot.model import Blocker, BlockerState, Letter, RaciEntry, Severity
from bot.routing import LadderRoles

NAMES = {1: "Raj Patel", 2: "Dr Carmen Diaz", 3: "Dana Lee", 4: "Eve Martin"}


def entry(area: str, person: int, letter: Letter) -> RaciEntry:
    return RaciEntry(project_id=1, area=area, person_id=person, letter=letter)


def test_the_raci_grid_has_a_row_per_area_and_a_column_per_person() -> None:
    grid = raci_grid(
        [
            entry("*", 2, Letter.A),
            entry("budget", 1, Letter.A),
            entry("budget", 2, Letter.I),
            entry("staffing", 3, Letter.A),
            entry("staffing", 1, Letter.C),
        ],
        NAMES,
    )
    assert grid.people == ["Dana Lee", "Dr Carmen Diaz", "Raj Patel"]
    assert [(r.area, r.letters) for r in grid.rows] == [
        ("budget", ["", "I", "A"]),
        ("staffing", ["A", "", "C"]),
        ("*", ["", "A", ""]),
    ]


def blocker(*, level: int, state: BlockerState) -> Blocker:
    return Blocker(
        organization_id=1,
        project_id=1,
        reporter_id=9,
        area="it",
        severity=Severity.HIGH,
        text="Lab access",
        state=state,
        ladder=[4, 2, 3],
        level=level,
        created_at=datetime(2026, 11, 1, tzinfo=UTC),
    )


def test_a_ladder_shows_who_was_passed_who_holds_it_and_who_is_next() -> None:
    roles = LadderRoles(accountable=4, sponsor=2, executive=3)
    rungs = ladder(blocker(level=1, state=BlockerState.OPEN), NAMES, roles)
    assert [(r.name, r.role, r.state) for r in rungs] == [
        ("Eve Martin", "Accountable", "passed"),
        ("Dr Carmen Diaz", "sponsor", "current"),
        ("Dana Lee", "executive", "ahead"),
    ]
    resolved = ladder(
        blocker(level=0, state=BlockerState.RESOLVED),
        NAMES,
        LadderRoles(accountable=4, sponsor=4, executive=3),
    )
    assert (resolved[0].role, resolved[0].state) == ("Accountable and sponsor", "closed")
    assert [r.state for r in resolved] == ["closed", "ahead", "ahead"]


def test_filters_say_what_they_do_not_know_and_keep_what_they_do() -> None:
    filters = filters_from(
        {"project": "#sepsis", "state": "Overdue", "person": "@Dana"},
        projects=["SEPSIS", "FALLS"],
        handles=["dana"],
    )
    assert filters == Filters(project="SEPSIS", state="overdue", person="dana")
    assert filters.query() == {"project": "SEPSIS", "state": "overdue", "person": "dana"}
    assert Filters().query() == {}
    bad = filters_from(
        {"project": "FOO", "state": "late", "person": "zed"}, projects=["SEPSIS"], handles=[]
    )
    assert bad.notices == (
        "No project #FOO here; nothing matches it.",
        "Unknown state 'late': use one of open, overdue, closed, all.",
        "No person @zed here; nothing matches them.",
    )


def test_a_trend_compares_the_latest_rag_with_the_one_before() -> None:
    assert trend_of([]) == trend_of(["green"]) == ""
    assert trend_of(["red", "amber"]) == "improving"
    assert trend_of(["green", "amber"]) == "worsening"
    assert trend_of(["amber", "green", "green"]) == "steady"
