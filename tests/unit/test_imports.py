"""bot.imports.check: a pure function of the file's rows and the organization's snapshot —
every problem at once with its line, or only the changes that differ (issue 12 §5)."""

from __future__ import annotations

from datetime import time

from bot.imports import (
    CadenceRow,
    Document,
    EditPerson,
    OrganizationRow,
    PersonRow,
    ProjectRow,
    RaciRow,
    RoleRow,
    SetCadence,
    SetLetter,
    SetRole,
    Snapshot,
    check,
)
from bot.model import (
    CadencePreference,
    Detail,
    Frequency,
    Letter,
    Organization,
    Person,
    Project,
    RaciEntry,
    Role,
    Stakeholder,
)

ANA = Person(id=1, organization_id=1, handle="ana", name="Ana", email="ana@x.example")
CARMEN = Person(id=2, organization_id=1, handle="carmen", name="Carmen", timezone="Europe/London")
DANA = Person(id=3, organization_id=1, handle="dana", name="Dana")
SEPSIS = Project(id=1, organization_id=1, key="SEPSIS", name="Sepsis")
SNAPSHOT = Snapshot(
    organization=Organization(id=1, name="Mercy", admin_ids=[1]),
    people=[ANA, CARMEN, DANA],
    projects=[SEPSIS],
    stakeholders=[
        Stakeholder(id=1, project_id=1, person_id=1, role=Role.LEAD),
        Stakeholder(id=2, project_id=1, person_id=2, role=Role.SPONSOR, note="CMO"),
    ],
    raci=[RaciEntry(id=1, project_id=1, area="budget", person_id=2, letter=Letter.A)],
    preferences=[CadencePreference(id=1, person_id=3, frequency=Frequency.BIWEEKLY, weekday=3)],
)


def messages(document: Document) -> list[str]:
    return [str(p) for p in check(document, SNAPSHOT).problems]


def test_what_the_organization_holds_already_is_no_change() -> None:
    document = Document(
        organization=OrganizationRow(line=1, admins=("@ana",)),
        people=(PersonRow(line=2, handle="Carmen", name="Carmen", timezone="Europe/London"),),
        projects=(ProjectRow(line=3, key="#sepsis", name="Sepsis", lead="ana"),),
        roles=(RoleRow(line=4, project="SEPSIS", person="carmen", role="Sponsor", note="CMO"),),
        raci=(RaciRow(line=5, project="SEPSIS", area="Budget", person="carmen", letter="a"),),
        cadence=(CadenceRow(line=6, person="dana", frequency="biweekly", weekday="thu"),),
    )
    assert check(document, SNAPSHOT).changes == ()


def test_only_what_differs_changes() -> None:
    plan = check(
        Document(
            people=(PersonRow(line=2, handle="dana", name="Dana Lee", email=""),),
            roles=(RoleRow(line=3, project="SEPSIS", person="carmen", role="sponsor", note="CEO"),),
            raci=(RaciRow(line=4, project="SEPSIS", area="budget", person="carmen", letter="R"),),
            cadence=(CadenceRow(line=5, person="dana", frequency="daily", time="07:05"),),
        ),
        SNAPSHOT,
    )
    assert plan.changes == (
        EditPerson(handle="dana", changes={"name": "Dana Lee"}),  # an empty email keeps it
        SetRole(project="SEPSIS", person="carmen", role=Role.SPONSOR, note="CEO"),
        SetLetter(project="SEPSIS", area="budget", person="carmen", letter=Letter.R),
        SetCadence(
            person="dana",
            frequency=Frequency.DAILY_DURING_ACTIVE_CYCLE,
            weekday=3,  # kept from the stored preference
            local_time=time(7, 5),
            detail=Detail.CONCISE,
        ),
    )


def test_an_active_project_never_loses_its_sponsor_and_a_new_sponsor_comes_first() -> None:
    demoted = RoleRow(line=2, project="SEPSIS", person="carmen", role="champion")
    assert messages(Document(roles=(demoted,))) == [
        "line 2: this takes the only sponsor of #SEPSIS away: name its new sponsor too"
    ]
    named = RoleRow(line=3, project="SEPSIS", person="dana", role="sponsor")
    plan = check(Document(roles=(demoted, named)), SNAPSHOT)
    assert [(c.person, c.role) for c in plan.changes if isinstance(c, SetRole)] == [
        ("dana", Role.SPONSOR),
        ("carmen", Role.CHAMPION),
    ]


def test_a_new_project_needs_a_lead_a_name_and_a_sponsor() -> None:
    assert messages(Document(projects=(ProjectRow(line=4, key="FALLS", name=""),))) == [
        "line 4: lead is required",
        "line 4: #FALLS needs a name",
        "line 4: new project #FALLS needs a sponsor: give someone role sponsor",
    ]
    plan = check(
        Document(
            projects=(ProjectRow(line=4, key="FALLS", name="Falls", lead="dana"),),
            roles=(
                RoleRow(line=5, project="FALLS", person="dana", role="lead"),
                RoleRow(line=6, project="FALLS", person="ana", role="sponsor"),
            ),
        ),
        SNAPSHOT,
    )
    assert [str(c) for c in plan.changes] == [
        "Created #FALLS Falls, led by @dana.",  # its lead's role row adds nothing more
        "@ana is sponsor of #FALLS.",
    ]


def test_every_bad_field_of_a_line_is_reported() -> None:
    document = Document(
        people=(
            PersonRow(line=2, handle="eve", name="Eve", email="ana@x.example", timezone="Nope"),
        ),
        cadence=(
            CadenceRow(
                line=3, person="eve", frequency="hourly", weekday="someday", time="8", detail="long"
            ),
        ),
    )
    assert messages(document) == [
        "line 2: ana@x.example is already @ana's email",
        "line 2: unknown timezone 'Nope' (use an IANA name like Europe/London)",
        "line 3: cadence 'hourly' must be weekly, biweekly, daily or off",
        "line 3: weekday 'someday' is not a day of the week",
        "line 3: time '8' must be HH:MM, like \"08:30\"",
        "line 3: detail 'long' must be concise or detailed",
    ]


def test_an_organization_without_admins_is_refused() -> None:
    snapshot = Snapshot(
        organization=Organization(id=1, name="New"),
        people=[],
        projects=[],
        stakeholders=[],
        raci=[],
        preferences=[],
    )
    plan = check(Document(organization=OrganizationRow(line=1, name="New")), snapshot)
    assert [str(p) for p in plan.problems] == [
        "line 1: the organization needs an admin: list one under admins"
    ]
