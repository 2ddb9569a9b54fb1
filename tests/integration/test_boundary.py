"""bot.tenancy on every backend: a unit bound to organization B sees and touches nothing of A.

A is the demo organization (asks, blockers, updates, KPIs, reviews, decisions, audit, outbox),
plus explicit rows for the tables the seed leaves empty; B is a second organization with rows of
its own, so each check also shows that B's rows stay visible (a filter that hides everything
would pass the "nothing of A" half alone).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from bot.clock import ManualClock
from bot.errors import NotFound
from bot.model import (
    CadencePreference,
    CodeKind,
    ConversationEntry,
    ConversationKind,
    Decision,
    Delegation,
    Feedback,
    FeedbackKind,
    Identity,
    LinkCode,
    Organization,
    Person,
    Platform,
    Project,
    Thread,
    Workspace,
)
from bot.ports import UnitOfWork, UnitOfWorkFactory
from bot.services.demo import seed_demo
from bot.tenancy import RULES, bound

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
REPOSITORIES = ["organizations", *RULES]


async def _seed(uow_factory: UnitOfWorkFactory) -> tuple[int, int, dict[str, set[int]]]:
    """Organizations A (demo) and B; every repository's ids of A's rows."""
    await seed_demo(uow_factory, ManualClock(NOW))
    async with uow_factory() as uow:
        a = await uow.organizations.first(order_by="id")
        assert a is not None
        ana = await uow.people.first(organization_id=a.id, handle="ana")
        workspace = await uow.workspaces.first(organization_id=a.id)
        assert ana is not None and workspace is not None
        await uow.preferences.add(CadencePreference(person_id=ana.id))
        await uow.feedback.add(
            Feedback(person_id=ana.id, period="2026-W47", kind=FeedbackKind.USEFUL, created_at=NOW)
        )
        await uow.threads.add(
            Thread(key="ask:1", workspace_id=workspace.id, channel_id="#sepsis", root_id="1")
        )
        await uow.delegations.add(
            Delegation(
                organization_id=a.id,
                delegator_id=ana.id,
                delegate_id=ana.id,
                starts_on=date(2026, 11, 23),
                ends_on=date(2026, 11, 30),
            )
        )
        sepsis = await uow.projects.first(organization_id=a.id, key="SEPSIS")
        assert sepsis is not None
        await uow.decisions.add(
            Decision(
                organization_id=a.id,
                project_id=sepsis.id,
                subject_kind="free",
                outcome="Pilot in ward 3",
                decided_by_id=ana.id,
                decided_at=NOW,
            )
        )
        ask = await uow.asks.first(organization_id=a.id, order_by="id")
        assert ask is not None
        await uow.conversation.add(
            ConversationEntry(
                organization_id=a.id,
                ask_id=ask.id,
                author_id=ana.id,
                kind=ConversationKind.QUESTION,
                text="Which wards?",
                created_at=NOW,
            )
        )
        await uow.codes.add(
            LinkCode(
                kind=CodeKind.ORG_INVITE,
                code_hash="a-code-hash",
                organization_id=a.id,
                created_by_id=ana.id,
                created_at=NOW,
                expires_at=NOW + timedelta(days=1),
            )
        )
        await uow.commit()
    async with uow_factory() as uow:
        ids_of_a = {
            name: {row.id for row in await _repo(uow, name).find()} for name in REPOSITORIES
        }
        b = await uow.organizations.add(Organization(name="Other Org"))
        space = await uow.workspaces.add(
            Workspace(organization_id=b.id, platform=Platform.SLACK, external_id="TB")
        )
        zoe = await uow.people.add(Person(organization_id=b.id, handle="zoe", name="Zoe Other"))
        await uow.identities.add(
            Identity(person_id=zoe.id, workspace_id=space.id, platform=Platform.SLACK, user_id="U")
        )
        await uow.projects.add(Project(organization_id=b.id, key="SEPSIS", name="B's own"))
        await uow.commit()
    for name, ids in ids_of_a.items():
        assert ids, f"the seed left {name} empty: the test would prove nothing there"
    return a.id, b.id, ids_of_a


def _repo(uow: UnitOfWork, name: str) -> Any:
    return getattr(uow, name)


async def test_a_unit_bound_to_b_reads_nothing_of_a(uow_factory: UnitOfWorkFactory) -> None:
    _, b, ids_of_a = await _seed(uow_factory)
    async with bound(uow_factory(), b) as uow:
        for name in REPOSITORIES:
            repo = _repo(uow, name)
            found = {row.id for row in await repo.find()}
            assert not found & ids_of_a[name], name
            assert await repo.count() == len(found), name
            assert not {row.id for row in await repo.find(id=sorted(ids_of_a[name]))}, name
            assert await repo.count(id=sorted(ids_of_a[name])) == 0, name
            for id in ids_of_a[name]:
                assert await repo.get(id) is None, (name, id)
                assert await repo.first(id=id) is None, (name, id)
        assert [o.name for o in await uow.organizations.find()] == ["Other Org"]
        assert [p.name for p in await uow.projects.find(key="SEPSIS")] == ["B's own"]
        assert [p.handle for p in await uow.people.find()] == ["zoe"]
        assert len(await uow.identities.find()) == 1


async def test_a_unit_bound_to_b_cannot_write_a_row_of_a(uow_factory: UnitOfWorkFactory) -> None:
    _, b, ids_of_a = await _seed(uow_factory)
    async with uow_factory() as plain:
        rows = {name: await _repo(plain, name).get(min(ids_of_a[name])) for name in REPOSITORIES}
    for name, row in rows.items():
        async with bound(uow_factory(), b) as uow:
            repo = _repo(uow, name)
            with pytest.raises((NotFound, RuntimeError)):
                await repo.save(row)
            with pytest.raises((NotFound, RuntimeError)):
                await repo.delete(row.id)
            copy = type(row)(**{**vars(row), "id": 0})
            with pytest.raises(NotFound):
                await repo.add(copy)
    async with uow_factory() as plain:
        after = {name: await _repo(plain, name).get(min(ids_of_a[name])) for name in REPOSITORIES}
    assert after == rows


async def test_a_row_of_b_pointing_at_a_is_refused(uow_factory: UnitOfWorkFactory) -> None:
    a, b, _ = await _seed(uow_factory)
    async with uow_factory() as plain:
        sepsis_a = await plain.projects.first(organization_id=a, key="SEPSIS")
        zoe = await plain.people.first(organization_id=b, handle="zoe")
        ask = await plain.asks.first(organization_id=a)
    assert sepsis_a is not None and zoe is not None and ask is not None
    async with bound(uow_factory(), b) as uow:
        with pytest.raises(NotFound):
            await uow.asks.add(
                type(ask)(**{**vars(ask), "id": 0, "organization_id": b, "requester_id": zoe.id})
            )
        with pytest.raises(NotFound):
            await uow.asks.set_if(ask.id, "text", "hijacked", expected=ask.text)
    async with uow_factory() as plain:
        assert await plain.asks.get(ask.id) == ask
