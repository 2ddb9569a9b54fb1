"""``leaderbot export asks|blockers|decisions|kpis|audit --csv`` and the dashboard's downloads
(``/dashboard/export/{kind}.csv``): every column a governance review needs, the same file from
both, and one organization's rows only (issue 12 §5)."""

from __future__ import annotations

import asyncio
import csv
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from adapters.app import core_session
from adapters.cli import main
from adapters.http import build_web_app
from adapters.settings import Settings
from adapters.web import sign_link
from adapters.web.exports import to_csv
from bot.clock import ManualClock
from bot.model import Organization, Person, Project
from bot.services import asks, blockers
from bot.services.delegation import delegate
from bot.services.exports import Table
from storage.database import Database

ADMIN = "admin-token-for-tests"
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
def demo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> str:
    """The demo organization, one ask asked about, answered and decided by a delegate, a
    resolved blocker, and a second organization; the database URL."""
    for name in list(os.environ):
        if name.upper().startswith(("SLACK_", "MICROSOFT")):
            monkeypatch.delenv(name)
    url = f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    assert main(["demo", "seed"]) == 0
    asyncio.run(_history(url))
    capsys.readouterr()
    return url


async def _history(url: str) -> None:
    settings = Settings(_env_file=None, database_url=url)  # type: ignore[call-arg]
    async with core_session(settings, clock=ManualClock(NOW)) as session, session.uow() as uow:
        people = {p.handle: p for p in await uow.people.find()}
        org = people["ana"].organization_id
        ask = await uow.asks.first(area="budget")
        assert ask is not None
        common = {"ask_id": ask.id, "organization_id": org, "link_base": ""}
        await asks.decide(
            uow,
            **common,
            decider=people["raj"],
            outcome="info",
            text="Which budget line?",
            now=NOW,
        )
        await asks.answer(uow, **common, requester=people["ana"], text="The QI fund", now=NOW)
        await delegate(
            uow,
            delegator=people["raj"],
            delegate_to=people["carmen"],
            until=(NOW + timedelta(days=7)).date(),
            now=NOW,
        )
        await asks.decide(
            uow,
            **common,
            decider=people["carmen"],
            outcome="approve",
            text="=Within the QI fund",
            now=NOW + timedelta(hours=1),
        )
        blocker = await uow.blockers.first(area="it")
        assert blocker is not None
        await blockers.resolve(
            uow,
            blocker_id=blocker.id,
            organization_id=org,
            actor=people["eve"],
            text="Access granted",
            now=NOW + timedelta(hours=2),
        )
        other = await uow.organizations.add(Organization(name="Other Trust"))
        zoe = await uow.people.add(Person(organization_id=other.id, handle="zoe", name="Zoe"))
        await uow.projects.add(Project(organization_id=other.id, key="HIDDEN", name="Hidden"))
        assert zoe.id
        await uow.commit()


def export(kind: str, capsys: pytest.CaptureFixture[str], *extra: str) -> list[dict[str, str]]:
    assert main(["export", kind, "--csv", *extra]) == 0, capsys.readouterr().err
    return list(csv.DictReader(capsys.readouterr().out.splitlines(keepends=True)))


def test_asks_have_area_decider_delegate_dates_rationale_and_the_conversation(
    demo: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", "asks", "--csv"]) == 1
    assert "there are 2 organizations: name one with --org ID" in capsys.readouterr().err

    rows = {r["area"]: r for r in export("asks", capsys, "--org", "1")}
    budget = rows["budget"]
    assert budget["text"] == "Fund the sepsis screening tool licence for AMU (£4,000 a year)"
    assert budget["questions_and_answers"] == (
        "Question from Raj Patel: Which budget line?\nAnswer from Ana Silva: The QI fund"
    )
    assert (budget["state"], budget["decision"]) == ("approved", "approved")
    assert budget["rationale"] == "'=Within the QI fund"  # a spreadsheet shows it as text
    assert (budget["assignee"], budget["decided_by"], budget["for"]) == (
        "Raj Patel",
        "Dr Carmen Diaz",
        "Raj Patel",
    )
    assert budget["requester"] == "Ana Silva"
    assert budget["decided_at"] == "2026-12-01T11:00:00+00:00"
    assert budget["routed_because"].startswith("Accountable for budget")
    assert budget["needed_by"] and budget["raised_at"]
    staffing = rows["staffing"]
    assert (staffing["state"], staffing["decided_by"], staffing["decided_at"]) == ("open", "", "")
    assert staffing["consulted"] == "Dr Carmen Diaz"


def test_blockers_decisions_kpis_and_audit(demo: str, capsys: pytest.CaptureFixture[str]) -> None:
    [blocker] = export("blockers", capsys, "--org", "1")
    assert blocker["area"] == "it" and blocker["severity"] == "high"
    assert (blocker["state"], blocker["resolution"]) == ("resolved", "Access granted")
    assert blocker["ladder"] == "Eve Martin > Dr Carmen Diaz" and blocker["holder"] == "Eve Martin"
    assert blocker["resolved_at"] == "2026-12-01T12:00:00+00:00"

    decisions = export("decisions", capsys, "--org", "1")
    assert [(d["subject"], d["area"], d["decided_by"], d["for"]) for d in decisions] == [
        ("ask", "budget", "Dr Carmen Diaz", "Raj Patel"),
        ("blocker", "it", "Eve Martin", ""),
    ]
    assert decisions[0]["rationale"] == "'=Within the QI fund"

    kpis = export("kpis", capsys, "--org", "1")
    antibiotics = [k for k in kpis if k["measure"] == "Time to antibiotics"]
    assert [k["value"] for k in antibiotics] == ["85", "78", "95"]
    assert {(k["target"], k["warn"], k["alert"], k["direction"]) for k in antibiotics} == {
        ("60", "70", "90", "lower")
    }
    assert [k["level"] for k in antibiotics] == ["warn", "warn", "alert"]

    audit = export("audit", capsys, "--org", "1")
    assert {"ask.info_requested", "ask.answered", "ask.approved", "blocker.resolved"} <= {
        e["action"] for e in audit
    }
    approved = next(e for e in audit if e["action"] == "ask.approved")
    assert approved["actor"] == "Dr Carmen Diaz" and approved["at"] == "2026-12-01T11:00:00+00:00"

    assert export("asks", capsys, "--org", "2") == []  # the other organization has none
    assert export("audit", capsys, "--org", "2") == []


async def _download(url: str, paths: list[str]) -> list[tuple[int, str, str]]:
    db = Database(url)
    app = build_web_app(
        uow=db.uow,
        clock=ManualClock(NOW),
        admin_token=ADMIN,
        dashboard_key=b"dashboard-key-for-tests",
    )
    try:
        async with TestClient(TestServer(app)) as client:
            answers = []
            for path in paths:
                response = await client.get(path)
                answers.append(
                    (
                        response.status,
                        response.headers.get("Content-Type", ""),
                        await response.text(),
                    )
                )
            return answers
    finally:
        await db.close()


def test_the_dashboard_downloads_are_the_same_files(
    demo: str, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = asyncio.run(
        _download(
            demo,
            [
                f"/dashboard/export/decisions.csv?token={ADMIN}&org=1",
                f"/dashboard/export/asks.csv?token={ADMIN}&org=2",
                "/dashboard/export/audit.csv",
                f"/dashboard/export/secrets.csv?token={ADMIN}",
            ],
        )
    )
    decisions, other_asks, anonymous, unknown = answers
    assert decisions[0] == 200 and decisions[1].startswith("text/csv")
    assert main(["export", "decisions", "--csv", "--org", "1"]) == 0
    assert decisions[2] == capsys.readouterr().out
    assert other_asks[0] == 200
    assert other_asks[2].splitlines()[0].startswith("id,project,area,text")
    assert len(other_asks[2].splitlines()) == 1  # organization 2: none of 1's asks
    assert anonymous[0] == 401
    assert unknown[0] == 404 and "decisions.csv" in unknown[2]


def test_cells_a_spreadsheet_would_run_are_text() -> None:
    table = Table(("a", "b", "c"), [("=1+1", "-3", "@cmd"), ("+x", "plain", "-2.5")])
    assert to_csv(table) == "a,b,c\n'=1+1,-3,'@cmd\n'+x,plain,-2.5\n"


async def _person_ids(url: str, *handles: str) -> list[int]:
    db = Database(url)
    try:
        async with db.uow() as uow:
            people = {p.handle: p.id for p in await uow.people.find()}
        return [people[h] for h in handles]
    finally:
        await db.close()


def test_a_personal_link_downloads_only_for_an_admin(demo: str) -> None:
    ana, dana = asyncio.run(_person_ids(demo, "ana", "dana"))  # the demo's admin; a sponsor

    def link(person_id: int) -> str:
        return sign_link(
            key=b"dashboard-key-for-tests",
            organization_id=1,
            person_id=person_id,
            expires_at=NOW + timedelta(days=1),
            path="/dashboard/export/decisions.csv",
        )

    admin, sponsor = asyncio.run(_download(demo, [link(ana), link(dana)]))
    assert admin[0] == 200 and admin[2].startswith("id,")
    assert sponsor[0] == 403 and "only its admins download them" in sponsor[2]
