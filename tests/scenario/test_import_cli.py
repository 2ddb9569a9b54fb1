"""``leaderbot import``: each kind of file through the CLI entry point, on SQLite and (when
configured) PostgreSQL; a bad file fails whole with every bad line listed; a second import of
the same file changes nothing; the organization is chosen, never guessed (issue 12 §5)."""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from adapters.cli import main
from bot.model import (
    CadencePreference,
    Frequency,
    Letter,
    Organization,
    Person,
    Project,
    RaciEntry,
    Role,
    Stakeholder,
)
from storage.database import Database

EXAMPLES = Path(__file__).parents[2] / "examples"


def run(argv: list[str], capsys: pytest.CaptureFixture[str], code: int = 0) -> str:
    assert main(argv) == code, capsys.readouterr()
    captured = capsys.readouterr()
    return captured.out if code == 0 else captured.err


def example(name: str, tmp_path: Path) -> str:
    """A copy of ``examples/<name>`` (the samples the docs point at)."""
    shutil.copy(EXAMPLES / name, tmp_path / name)
    return str(tmp_path / name)


@dataclass(frozen=True)
class Stored:
    """Every row an import may write, comparable as a whole (ids included)."""

    organizations: list[Organization]
    people: list[Person]
    projects: list[Project]
    stakeholders: list[Stakeholder]
    raci: list[RaciEntry]
    preferences: list[CadencePreference]
    audit: int


async def _state(url: str) -> Stored:
    db = Database(url)
    try:
        async with db.uow() as uow:
            return Stored(
                organizations=await uow.organizations.find(order_by="id"),
                people=await uow.people.find(order_by="id"),
                projects=await uow.projects.find(order_by="id"),
                stakeholders=await uow.stakeholders.find(order_by="id"),
                raci=await uow.raci.find(order_by="id"),
                preferences=await uow.preferences.find(order_by="id"),
                audit=await uow.audit.count(),
            )
    finally:
        await db.close()


def state(url: str) -> Stored:
    """What the database holds now (on a loop of its own, as the CLI runs on)."""
    return asyncio.run(_state(url))


def test_the_examples_load_into_a_fresh_database_and_a_second_import_changes_nothing(
    cli_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = run(["import", example("org.yaml", tmp_path)], capsys)
    assert "Created #SEPSIS Sepsis six within the hour, led by @ana." in out
    assert "Imported org.yaml into Northfield Health: " in out
    for name in ("people.csv", "stakeholders.csv", "raci.csv"):
        assert f"Imported {name} into Northfield Health: " in run(
            ["import", example(name, tmp_path)], capsys
        )
    loaded = state(cli_db)

    for name in ("org.yaml", "people.csv", "stakeholders.csv", "raci.csv"):
        out = run(["import", str(tmp_path / name)], capsys)
        assert out == f"{name} matches Northfield Health already. Nothing changed.\n"
    assert state(cli_db) == loaded  # not even an audit event

    people = {p.handle: p for p in loaded.people}
    organization = loaded.organizations[0]
    assert organization.name == "Northfield Health"
    assert organization.admin_ids == [people["ana"].id]
    assert organization.escalation_contact_id == people["eve"].id
    assert people["dana"].timezone == "America/New_York"
    assert people["gus"].email == "gus@northfield.example"  # from people.csv
    handles = {p.id: p.handle for p in people.values()}
    keys = {p.id: p.key for p in loaded.projects}
    roles = {(keys[s.project_id], handles[s.person_id], s.role) for s in loaded.stakeholders}
    assert {
        ("SEPSIS", "ana", Role.LEAD),
        ("SEPSIS", "carmen", Role.SPONSOR),
        ("FALLS", "raj", Role.RESISTOR),  # from stakeholders.csv
        ("SEPSIS", "farah", Role.CHAMPION),
    } <= roles
    matrix = {(keys[e.project_id], e.area, handles[e.person_id], e.letter) for e in loaded.raci}
    assert {
        ("SEPSIS", "*", "carmen", Letter.A),
        ("SEPSIS", "pharmacy", "farah", Letter.A),  # from raci.csv
        ("FALLS", "equipment", "gus", Letter.C),
    } <= matrix
    cadence = {handles[p.person_id]: p for p in loaded.preferences}
    assert cadence["dana"].frequency is Frequency.BIWEEKLY and cadence["dana"].weekday == 3


BAD_ORG = """\
people:
  - {handle: ana, name: Ana Silva, timezone: Europe/London}
  - {handle: zed, name: Zed Ward, timezone: Mars/Olympus}
  - {handle: Bad Handle, name: Nobody}
projects:
  - key: SEPSIS
    name: Sepsis
    lead: ana
    roles:
      - {person: ana, role: sponsor}
      - {person: ghost, role: champion}
    raci:
      - {area: budget, person: ana, letter: A}
      - {area: budget, person: zed, letter: A}
      - {area: it, person: ana, letter: Q}
  - key: SEPSIS
    name: Sepsis again
    lead: ana
"""


def test_a_file_with_several_bad_rows_fails_whole_and_lists_every_bad_line(
    cli_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(["import", example("org.yaml", tmp_path)], capsys)
    before = state(cli_db)
    (tmp_path / "org.yaml").write_text(BAD_ORG)

    err = run(["import", str(tmp_path / "org.yaml")], capsys, code=1)

    assert err.splitlines() == [
        "leaderbot: error: org.yaml has 6 problems:",
        "  org.yaml line 3: unknown timezone 'Mars/Olympus' (use an IANA name like Europe/London)",
        "  org.yaml line 4: handle 'Bad Handle' must be 1–30 letters, digits, '.', '_' or '-' "
        "(like dana.lee)",
        "  org.yaml line 11: unknown person @ghost (not in the organization nor the file)",
        "  org.yaml line 14: two Accountables for budget on #SEPSIS (line 13 already has it)",
        "  org.yaml line 15: RACI letter 'Q' must be R, A, C or I",
        "  org.yaml line 16: duplicate project key #SEPSIS (line 6 already has it)",
        "Nothing was changed.",
    ]
    assert state(cli_db) == before


@pytest.mark.parametrize(
    ("name", "content", "lines"),
    [
        (
            "people.csv",
            "handle,name,email,timezone\nana,Ana,ana@x.example,Europe/Londn\n"
            "ana,Ana again,,\nbo,,not-an-email,\n",
            [
                "line 2: unknown timezone",
                "line 3: @ana appears twice",
                "line 4: name is required",
                "line 4: 'not-an-email' is not an email address",
            ],
        ),
        (
            "stakeholders.csv",
            "project,person,role,note\nSEPSIS,ghost,champion,\nSEPSIS,dana,boss,\n"
            "FALLS,raj,sponsor,\nFALLS,eve,sponsor,\nNOPE,dana,member,\n",
            [
                "line 2: unknown person @ghost",
                "line 3: role 'boss' must be one of",
                "line 5: two sponsors for #FALLS (line 4 already has it)",
                "line 6: unknown project #NOPE",
            ],
        ),
        (
            "raci.csv",
            "project,area,person,letter\nSEPSIS,budget,ghost,A\nFALLS,it,raj,A\nFALLS,it,ben,A\n"
            "FALLS,it,eve,X\n",
            [
                "line 2: unknown person @ghost",
                "line 4: two Accountables for it on #FALLS",
                "line 5: RACI letter 'X'",
            ],
        ),
    ],
)
def test_each_csv_kind_reports_every_bad_line(
    cli_db: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    content: str,
    lines: list[str],
) -> None:
    run(["import", example("org.yaml", tmp_path)], capsys)
    before = state(cli_db)
    (tmp_path / name).write_text(content)
    err = run(["import", str(tmp_path / name)], capsys, code=1)
    listed = err.splitlines()[1:-1]
    assert len(listed) == len(lines), err
    for shown, expected in zip(listed, lines, strict=True):
        assert shown.startswith(f"  {name} {expected}"), err
    assert state(cli_db) == before


async def _second_organization(url: str) -> None:
    db = Database(url)
    try:
        async with db.uow() as uow:
            other = await uow.organizations.add(Organization(name="Other Trust"))
            await uow.people.add(Person(organization_id=other.id, handle="zoe", name="Zoe Kim"))
            await uow.commit()
    finally:
        await db.close()


def test_the_organization_is_named_when_there_are_several_and_the_others_are_untouched(
    cli_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(["import", example("org.yaml", tmp_path)], capsys)
    asyncio.run(_second_organization(cli_db))
    people = example("people.csv", tmp_path)

    err = run(["import", people], capsys, code=1)
    assert err == (
        "leaderbot: error: there are 2 organizations: name one with --org ID "
        "(1 (Northfield Health), 2 (Other Trust))\n"
    )
    before = state(cli_db)
    assert "Added @farah" in run(["import", people, "--org", "2"], capsys)
    after = state(cli_db)
    old = {(p.organization_id, p.handle) for p in before.people}
    new = {(p.organization_id, p.handle) for p in after.people}
    assert new - old == {(2, "ana"), (2, "farah"), (2, "gus")}


def test_kind_flag_and_a_new_organization_from_org_yaml(
    cli_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(["import", example("org.yaml", tmp_path)], capsys)
    shutil.copy(EXAMPLES / "org.yaml", tmp_path / "setup.txt")
    out = run(["import", str(tmp_path / "setup.txt"), "--kind", "org", "--new-org"], capsys)
    assert "Imported setup.txt into Northfield Health: " in out
    out = run(["import", str(tmp_path / "setup.txt"), "--kind", "org", "--new-org"], capsys)
    assert "Created #SEPSIS" in out  # a third one: --new-org never lands in an existing one
    assert [o.id for o in state(cli_db).organizations] == [1, 2, 3]
    err = run(["import", str(tmp_path / "org.yaml"), "--org", "1", "--new-org"], capsys, 1)
    assert err == (
        "leaderbot: error: give --org (import into it) or --new-org (found one), not both\n"
    )

    (tmp_path / "people.csv").write_text("handle,name\nfarah,Farah Haddad\n")
    err = run(["import", str(tmp_path / "people.csv"), "--org", "2", "--as", "nobody"], capsys, 1)
    assert err == "leaderbot: error: --as: I don't know anyone called @nobody\n"


def test_csv_into_an_empty_database_says_what_to_do_first(
    cli_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = run(["import", example("raci.csv", tmp_path)], capsys, code=1)
    assert "the database has no organization yet: import an org.yaml" in err
    assert state(cli_db).organizations == []
