"""RACI routing, the escalation ladder and who may decide: pure rules over loaded rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.errors import RoutingError
from bot.model import Delegation, Letter, Project, RaciEntry, Role, Stakeholder
from bot.routing import (
    Routing,
    accountable,
    areas,
    deciders,
    ladder,
    ladder_roles,
    may_decide,
    route,
    rung_label,
    sponsor_of,
)

SEPSIS = Project(id=1, organization_id=1, key="SEPSIS", name="Sepsis screening")
DANA, LEE, KIM, SAM, ALEX, EXEC = 1, 2, 3, 4, 5, 9
NAMES = {DANA: "Dana", LEE: "Lee", KIM: "Kim", SAM: "Sam", ALEX: "Alex", EXEC: "Exec"}


def raci(*rows: tuple[str, int, str]) -> list[RaciEntry]:
    return [
        RaciEntry(project_id=SEPSIS.id, area=area, person_id=person, letter=Letter(letter))
        for area, person, letter in rows
    ]


def sponsor(person_id: int) -> list[Stakeholder]:
    return [
        Stakeholder(project_id=SEPSIS.id, person_id=KIM, role=Role.CHAMPION),
        Stakeholder(project_id=SEPSIS.id, person_id=person_id, role=Role.SPONSOR),
    ]


def routed(area: str, entries: Sequence[RaciEntry], stakeholders: Sequence[Stakeholder]) -> Routing:
    return route(project=SEPSIS, area=area, raci=entries, stakeholders=stakeholders, names=NAMES)


MATRIX = raci(
    ("staffing", DANA, "A"),
    ("staffing", SAM, "R"),
    ("staffing", KIM, "C"),
    ("staffing", ALEX, "I"),
    ("*", LEE, "A"),
    ("*", SAM, "C"),
    ("*", KIM, "I"),
    ("*", DANA, "I"),
)


# --- route -----------------------------------------------------------------------------------


def test_the_accountable_of_the_area() -> None:
    got = routed("staffing", MATRIX, sponsor(EXEC))
    assert got == Routing(
        assignee_id=DANA,
        assignee_name="Dana",
        reason="Accountable for staffing on SEPSIS per RACI",
        consulted_ids=(KIM, SAM),
        informed_ids=(ALEX,),  # Kim is consulted already; Dana is the assignee
        responsible_ids=(SAM,),
    )


def test_area_is_matched_case_insensitively() -> None:
    assert routed("Staffing", MATRIX, []).assignee_id == DANA


def test_the_default_accountable_when_the_area_has_none() -> None:
    got = routed("budget", MATRIX, sponsor(EXEC))
    assert got.assignee_id == LEE
    assert got.reason == "Accountable by default (area *) on SEPSIS per RACI"
    assert got.consulted_ids == (SAM,)
    assert got.informed_ids == (KIM, DANA)


def test_the_default_area_itself() -> None:
    got = routed("*", MATRIX, [])
    assert (got.assignee_id, got.reason) == (
        LEE,
        "Accountable by default (area *) on SEPSIS per RACI",
    )


def test_the_sponsor_when_no_accountable() -> None:
    got = routed("it", raci(("it", KIM, "C")), sponsor(EXEC))
    assert got.assignee_id == EXEC
    assert got.assignee_name == "Exec"
    assert got.reason == "sponsor of SEPSIS (no Accountable for it in the RACI)"
    assert got.consulted_ids == (KIM,)


def test_the_sponsor_for_the_default_area() -> None:
    got = routed("*", [], sponsor(EXEC))
    assert got.reason == "sponsor of SEPSIS (no default (*) Accountable in the RACI)"


def test_the_assignee_is_never_consulted_or_informed() -> None:
    entries = raci(("it", DANA, "A"), ("it", DANA, "C"), ("*", DANA, "I"), ("*", DANA, "R"))
    got = routed("it", entries, [])
    assert got.consulted_ids == got.informed_ids == got.responsible_ids == ()


def test_nobody_to_receive_it() -> None:
    with pytest.raises(RoutingError) as caught:
        routed("it", raci(("it", KIM, "C")), sponsor(EXEC)[:1])
    assert caught.value.message == (
        "SEPSIS has no Accountable for 'it', no default (*) Accountable and no sponsor, "
        "so nobody can receive this."
    )
    assert caught.value.hint == "Ask an admin: raci set @person A it #SEPSIS"


def test_nobody_for_the_default_area() -> None:
    with pytest.raises(RoutingError, match="SEPSIS has no default \\(\\*\\) Accountable and no"):
        routed("*", [], [])


def test_an_unknown_name_is_a_question_mark() -> None:
    got = route(project=SEPSIS, area="staffing", raci=MATRIX, stakeholders=[], names={})
    assert got.assignee_name == "?"


# --- ladder ----------------------------------------------------------------------------------


def test_ladder_is_accountable_sponsor_executive() -> None:
    assert ladder(area="staffing", raci=MATRIX, stakeholders=sponsor(SAM), executive_id=EXEC) == [
        DANA,
        SAM,
        EXEC,
    ]


def test_ladder_falls_back_to_the_default_accountable() -> None:
    assert ladder(area="it", raci=MATRIX, stakeholders=sponsor(SAM), executive_id=None) == [
        LEE,
        SAM,
    ]


def test_ladder_drops_repeats_and_missing_rungs() -> None:
    assert ladder(area="it", raci=[], stakeholders=sponsor(EXEC), executive_id=EXEC) == [EXEC]
    assert ladder(area="it", raci=[], stakeholders=[], executive_id=None) == []


def labels(area: str, rows: list[RaciEntry], sponsor_id: int) -> list[str]:
    roles = ladder_roles(area=area, raci=rows, stakeholders=sponsor(sponsor_id), executive_id=EXEC)
    return [f"{NAMES[p]} ({rung_label(p, roles)})" for p in roles.rungs()]


def test_rung_labels_are_the_roles_each_holder_has() -> None:
    assert labels("staffing", MATRIX, SAM) == [
        "Dana (Accountable)",
        "Sam (sponsor)",
        "Exec (executive)",
    ]
    # The sponsor is also the Accountable: one rung with both roles; the executive stays one.
    assert labels("staffing", MATRIX, DANA) == [
        "Dana (Accountable and sponsor)",
        "Exec (executive)",
    ]


def test_no_accountable_shifts_no_label() -> None:
    assert labels("it", [], SAM) == ["Sam (sponsor)", "Exec (executive)"]
    assert labels("it", [], EXEC) == ["Exec (sponsor and executive)"]


# --- deciding --------------------------------------------------------------------------------


def delegation(delegator: int, delegate: int, starts: date, ends: date) -> Delegation:
    return Delegation(
        organization_id=1,
        delegator_id=delegator,
        delegate_id=delegate,
        starts_on=starts,
        ends_on=ends,
    )


HOLIDAY = [
    delegation(DANA, SAM, date(2026, 12, 20), date(2026, 12, 31)),
    delegation(SAM, ALEX, date(2026, 12, 1), date(2026, 12, 31)),  # not transitive
    delegation(LEE, KIM, date(2026, 12, 1), date(2026, 12, 31)),  # someone else's
]


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2026, 12, 19), {DANA}),
        (date(2026, 12, 20), {DANA, SAM}),  # first day included
        (date(2026, 12, 31), {DANA, SAM}),  # last day included
        (date(2027, 1, 1), {DANA}),
    ],
)
def test_deciders_are_the_assignee_and_active_delegates(today: date, expected: set[int]) -> None:
    assert deciders(assignee_id=DANA, delegations=HOLIDAY, today=today) == frozenset(expected)


def test_may_decide() -> None:
    on_holiday = date(2026, 12, 24)
    assert may_decide(SAM, assignee_id=DANA, delegations=HOLIDAY, today=on_holiday)
    assert not may_decide(ALEX, assignee_id=DANA, delegations=HOLIDAY, today=on_holiday)
    assert not may_decide(KIM, assignee_id=DANA, delegations=HOLIDAY, today=on_holiday)
    assert not may_decide(SAM, assignee_id=DANA, delegations=HOLIDAY, today=date(2026, 12, 1))


# --- helpers ---------------------------------------------------------------------------------


def test_sponsor_of_and_areas() -> None:
    assert sponsor_of(sponsor(EXEC)) == EXEC
    assert sponsor_of(sponsor(EXEC)[:1]) is None
    assert areas(MATRIX) == ["*", "staffing"]
    assert accountable(MATRIX, "staffing") == DANA
    assert accountable(MATRIX, "budget") is None


# --- properties ------------------------------------------------------------------------------

PEOPLE = st.integers(1, 6)
AREA_NAMES = st.sampled_from(["*", "it", "budget", "staffing"])
ENTRIES = st.lists(
    st.builds(
        lambda area, person, letter: RaciEntry(
            project_id=1, area=area, person_id=person, letter=letter
        ),
        AREA_NAMES,
        PEOPLE,
        st.sampled_from(list(Letter)),
    ),
    max_size=12,
)
STAKEHOLDERS = st.lists(
    st.builds(
        lambda person, role: Stakeholder(project_id=1, person_id=person, role=role),
        PEOPLE,
        st.sampled_from(list(Role)),
    ),
    max_size=4,
)


@given(AREA_NAMES, ENTRIES, STAKEHOLDERS)
def test_route_follows_the_fallback_order(
    area: str, entries: list[RaciEntry], stakeholders: list[Stakeholder]
) -> None:
    expected = accountable(entries, area) or accountable(entries, "*") or sponsor_of(stakeholders)
    if expected is None:
        with pytest.raises(RoutingError):
            routed(area, entries, stakeholders)
        return
    got = routed(area, entries, stakeholders)
    assert got.assignee_id == expected
    lists = (got.consulted_ids, got.informed_ids, got.responsible_ids)
    for ids in lists:
        assert got.assignee_id not in ids
        assert len(set(ids)) == len(ids)
    assert not set(got.consulted_ids) & set(got.informed_ids)


@given(AREA_NAMES, ENTRIES, STAKEHOLDERS, st.none() | PEOPLE)
def test_ladder_has_no_repeats_and_starts_with_the_assignee(
    area: str, entries: list[RaciEntry], stakeholders: list[Stakeholder], executive: int | None
) -> None:
    rungs = ladder(area=area, raci=entries, stakeholders=stakeholders, executive_id=executive)
    assert len(set(rungs)) == len(rungs)
    assert len(rungs) <= 3
    if rungs and (accountable(entries, area) or accountable(entries, "*")):
        assert rungs[0] == routed(area, entries, stakeholders).assignee_id
