"""``leaderbot demo reset``: the demo organization erased and seeded again, in one transaction,
after a confirmation; every other organization's rows exactly as they were (issue 12 §5)."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.cli import main
from bot.model import Letter, Organization, Person
from bot.services import asks, projects, raci
from bot.services.demo import demo_organizations
from bot.tenancy import RULES, bound
from storage.database import Database

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)

Rows = dict[str, list[Any]]


async def _rows(url: str, organization_id: int) -> Rows:
    """Every row the organization has, repository by repository (its own row included)."""
    db = Database(url)
    try:
        async with db.uow() as uow:
            scoped = bound(uow, organization_id)
            found: Rows = {"organizations": await scoped.organizations.find()}
            for name in RULES:
                found[name] = await getattr(scoped, name).find(order_by="id")
            return found
    finally:
        await db.close()


def rows(url: str, organization_id: int) -> Rows:
    return asyncio.run(_rows(url, organization_id))


def counts(found: Rows) -> dict[str, int]:
    return {name: len(items) for name, items in found.items()}


async def _use_the_demo_and_add_another_organization(url: str) -> int:
    """A decision and a new person in the demo; a second organization with its own project,
    RACI and audit trail. Returns the second organization's id."""
    db = Database(url)
    try:
        async with db.uow() as uow:
            raj = await uow.people.first(handle="raj")
            ask = await uow.asks.first(area="budget")
            assert raj and ask
            await asks.decide(
                uow,
                ask_id=ask.id,
                organization_id=raj.organization_id,
                decider=raj,
                outcome="approve",
                text="Yes",
                now=NOW,
                link_base="",
            )
            await uow.people.add(
                Person(organization_id=raj.organization_id, handle="farah", name="Farah")
            )
            other = await uow.organizations.add(Organization(name="Other Trust"))
            zoe = await uow.people.add(Person(organization_id=other.id, handle="zoe", name="Zoe"))
            other.admin_ids = [zoe.id]
            await uow.organizations.save(other)
            hidden = await projects.create(
                uow, organization_id=other.id, key="HIDDEN", name="Hidden", creator=zoe, now=NOW
            )
            await raci.set_letter(
                uow, project=hidden, person=zoe, letter=Letter.A, area="*", actor=zoe, now=NOW
            )
            await uow.commit()
            return other.id
    finally:
        await db.close()


async def _demo_id(url: str) -> int:
    db = Database(url)
    try:
        async with db.uow() as uow:
            [demo] = await demo_organizations(uow)
            return demo.id
    finally:
        await db.close()


def test_reset_restores_the_demo_and_leaves_other_organizations_as_they_were(
    cli_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "seed"]) == 0
    fresh = rows(cli_db, 1)
    other = asyncio.run(_use_the_demo_and_add_another_organization(cli_db))
    used, theirs = rows(cli_db, 1), rows(cli_db, other)
    assert counts(used) != counts(fresh)
    capsys.readouterr()

    assert main(["demo", "reset", "--yes"]) == 0

    out = capsys.readouterr().out
    assert out.startswith("This erases Northfield Health (demo) (organization 1: 7 people, ")
    assert out.endswith("The demo organization is as new.\n")
    assert rows(cli_db, other) == theirs  # not a row of another organization changed
    assert not any(rows(cli_db, 1).values())  # nothing of the old demo is left
    restored = rows(cli_db, asyncio.run(_demo_id(cli_db)))
    assert counts(restored) == counts(fresh)
    assert [p.handle for p in restored["people"]] == [p.handle for p in fresh["people"]]
    assert {a.state for a in restored["asks"]} == {"open"}


def test_reset_asks_first_and_no_changes_nothing(
    cli_db: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["demo", "seed"]) == 0
    asyncio.run(_use_the_demo_and_add_another_organization(cli_db))
    before = rows(cli_db, 1)
    capsys.readouterr()

    monkeypatch.setattr("sys.stdin", io.StringIO("no\n"))
    assert main(["demo", "reset"]) == 1
    assert capsys.readouterr().out.endswith("Type yes to reset it: Nothing was changed.\n")
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # a script without --yes
    assert main(["demo", "reset"]) == 1
    assert rows(cli_db, 1) == before

    monkeypatch.setattr("sys.stdin", io.StringIO("yes\n"))
    assert main(["demo", "reset"]) == 0
    assert "as new" in capsys.readouterr().out
    assert rows(cli_db, 1)["organizations"] == []


def test_reset_without_a_demo_organization_says_so(
    cli_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "reset", "--yes"]) == 1
    assert capsys.readouterr().err == (
        "leaderbot: error: there is no demo organization to reset: `leaderbot demo seed` loads "
        "one into an empty database\n"
    )
