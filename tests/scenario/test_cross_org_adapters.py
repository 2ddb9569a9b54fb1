"""The cross-organization suite through the real adapters (issue #10): B's user Zoe drives A's
project keys, ask and blocker ids and handles through the signed ``/slack/events`` route (against
the fake Slack Web API), the ``/api/messages`` route (against the fake Bot Connector) and the
CLI's CSV export, and reads nothing of A, writes nothing of A, is told nothing of A.

"Reads nothing" is measured where the handlers read: every unit of work a request opens through
the tenancy boundary is watched from above it (:class:`Watched`), and no row of A may come out
of it. With the boundary switched off the same sweep does see A's rows
(:func:`test_without_the_boundary_the_sweep_reads_a`), so these tests can fail.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from adapters.cli import main
from adapters.teams import TeamsSettings
from bot import tenancy
from bot.handlers.actions import ACTIONS
from bot.model import Platform
from bot.ports import UnitOfWork, UnitOfWorkFactory
from storage.database import Database
from storage.migrate import upgrade
from tests.fake_connector import FakeConnector
from tests.fakes_slack import TEAM_ID, FakeSlack
from tests.scenario.slack.conftest import fixture, serve_slack, settings_for
from tests.scenario.teams.conftest import load_activity, serve
from tests.scenario.test_cross_org import (
    World,
    _commands,
    _leaks,
    _rows,
    world,
)

__all__ = ["world"]  # the fixture, shared with test_cross_org

TENANT_B = "tenant-b"
ZOE = "UZ"
"""Zoe's user id in B's Slack workspace and B's Teams tenant (set up by ``world``)."""


@pytest.fixture
def database(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'cross.db'}"


@pytest.fixture
async def uow_factory(database: str) -> AsyncIterator[UnitOfWorkFactory]:
    """One SQLite file, which the CLI opens too."""
    await upgrade(database)
    db = Database(database)
    yield db.uow
    await db.close()


class Watched:
    """A unit of work seen from above the boundary: every row its repositories hand out is
    noted as (repository, id)."""

    def __init__(self, inner: UnitOfWork, seen: set[tuple[str, int]]) -> None:
        self._inner, self._seen = inner, seen

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        if name.startswith("_") or not hasattr(value, "find"):
            return value
        return _WatchedRepository(name, value, self._seen)

    async def __aenter__(self) -> Watched:
        await self._inner.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self._inner.__aexit__(*exc)


class _WatchedRepository:
    def __init__(self, name: str, inner: Any, seen: set[tuple[str, int]]) -> None:
        self._name, self._inner, self._seen = name, inner, seen

    def __getattr__(self, method: str) -> Any:
        call = getattr(self._inner, method)
        if method not in ("get", "find", "first"):
            return call

        async def watched(*args: Any, **kwargs: Any) -> Any:
            found = await call(*args, **kwargs)
            for row in found if isinstance(found, list) else [found]:
                if row is not None and hasattr(row, "id"):
                    self._seen.add((self._name, row.id))
            return found

        return watched


BOUND_HERE = ("bot.dispatch", "adapters.cli", "adapters.web.exports")
"""The modules that open the bound units of work of requests and of the CLI's export."""


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> Callable[[bool], set[tuple[str, int]]]:
    """Watch every bound unit of work of requests and exports; ``boundary=False`` switches the
    tenancy wrapper off (the unit of work is handed out unbound), to prove the watch sees it."""

    def watch(boundary: bool = True) -> set[tuple[str, int]]:
        rows: set[tuple[str, int]] = set()

        def watched_bound(uow: UnitOfWork, organization_id: int) -> UnitOfWork:
            inner = tenancy.bound(uow, organization_id) if boundary else uow
            return Watched(inner, rows)  # type: ignore[return-value]

        for where in BOUND_HERE:
            monkeypatch.setattr(f"{where}.bound", watched_bound)
        return rows

    return watch


def _of_a(world: World, rows: set[tuple[str, int]]) -> list[tuple[str, int]]:
    return sorted(
        (name, id)
        for name, id in rows
        if (id in world.a_ids.get(name, set())) or (name == "organizations" and id == world.a)
    )


async def _slack_workspace_is_the_fakes(world: World) -> None:
    """B's Slack workspace is the team the fake's single token belongs to (``auth.test``)."""
    async with world.core.uow() as uow:
        workspace = await uow.workspaces.first(organization_id=world.caller.organization_id)
        assert workspace is not None and workspace.platform is Platform.SLACK
        workspace.external_id = TEAM_ID
        await uow.workspaces.save(workspace)
        await uow.commit()


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    fake = await FakeSlack().start()
    yield fake
    await fake.close()


@pytest.fixture
async def connector() -> AsyncIterator[FakeConnector]:
    fake = await FakeConnector().start()
    yield fake
    await fake.close()


async def _sweep_slack(world: World, slack: FakeSlack) -> list[str]:
    """Every command and every button verb on A's ids, signed, as Zoe; all Slack was told."""
    await _slack_workspace_is_the_fakes(world)
    route, client = await serve_slack(world.core, settings_for(slack))
    try:
        said: list[str] = []
        for n, line in enumerate(_commands(world)):
            fields = fixture("slash_command.json")
            fields.update(
                team_id=TEAM_ID,
                user_id=ZOE,
                user_name="zoe",
                text=line,
                channel_id="D0ZOE",
                channel_name="directmessage",
                response_url=slack.response_url(f"c{n}"),
            )
            status, body = await route.command(fields)
            assert status == 200, (line, body)
            said.append(body)
        for verb in ACTIONS:
            for id in world.ask_ids + world.blocker_ids:
                payload = fixture("block_actions.json")
                payload["user"] = {"id": ZOE, "username": "zoe", "team_id": TEAM_ID}
                payload["team"] = {"id": TEAM_ID, "domain": "bayside"}
                payload["actions"][0].update(action_id=f"{verb}|none|0", value=str(id))
                payload["response_url"] = slack.response_url(f"{verb}-{id}")
                status, body = await route.interaction(payload)
                assert status == 200, (verb, id, body)
                said.append(body)
        assert route.bolt is not None
        await route.bolt.after_ack.wait()
    finally:
        await client.close()
    said += [json.dumps(body) for _, body in slack.responses]
    said += [json.dumps(call.args) for call in slack.calls]
    return said


async def _sweep_teams(world: World, connector: FakeConnector) -> list[str]:
    """Every command and every card verb on A's ids, in B's tenant, as Zoe; all Teams got."""
    client = await serve(world.core, TeamsSettings(emulator=True))
    sender = {"id": "29:zoe", "name": "Zoe Quinn", "aadObjectId": ZOE}
    tenant = {"tenantId": TENANT_B, "conversationType": "personal", "id": "a:zoe"}
    said: list[str] = []
    try:
        activities = [
            load_activity("personal_message", connector.url, text=line, **{"from": sender})
            for line in _commands(world)
        ]
        for verb in ACTIONS:
            for id in world.ask_ids + world.blocker_ids:
                click = load_activity("adaptive_card_action", connector.url, **{"from": sender})
                click["value"]["action"].update(verb=verb, data={"value": str(id)})
                activities.append(click)
        for activity in activities:
            activity["conversation"] = dict(tenant)
            activity["channelData"] = {"tenant": {"id": TENANT_B}}
            response = await client.post("/api/messages", json=activity)
            assert response.status < 500, activity
            said.append(await response.text())
    finally:
        await client.close()
    said += [json.dumps(call.body) for call in connector.activities()]
    return said


async def _export(
    world: World, database: str, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> list[str]:
    """``leaderbot export asks|decisions --csv --org B``, as the operator runs it."""
    monkeypatch.setenv("DATABASE_URL", database)
    said = []
    for what in ("asks", "decisions"):
        line = ["export", what, "--csv", "--org", str(world.caller.organization_id)]
        assert await asyncio.to_thread(main, line) == 0  # the CLI runs its own event loop
        out = capsys.readouterr().out
        assert out.startswith("id")
        said.append(out)
    return said


async def _unchanged(world: World, uow_factory: UnitOfWorkFactory, before: Any) -> None:
    after = await _rows(uow_factory)
    for name, rows in before.items():
        for id, row in rows.items():
            if id in world.a_ids.get(name, set()):
                assert after[name].get(id) == row, (name, id)


async def test_b_on_slack_reads_writes_and_hears_nothing_of_a(
    world: World,
    uow_factory: UnitOfWorkFactory,
    slack: FakeSlack,
    seen: Callable[[bool], set[tuple[str, int]]],
) -> None:
    before = await _rows(uow_factory)
    rows = seen(True)
    said = await _sweep_slack(world, slack)
    assert any("Own work" in text for text in said), "Zoe was not recognised"
    assert rows, "the watch saw no read at all"
    assert _of_a(world, rows) == []
    assert [leak for text in said for leak in _leaks(world, text)] == []
    await _unchanged(world, uow_factory, before)


async def test_b_on_teams_reads_writes_and_hears_nothing_of_a(
    world: World,
    uow_factory: UnitOfWorkFactory,
    connector: FakeConnector,
    seen: Callable[[bool], set[tuple[str, int]]],
) -> None:
    before = await _rows(uow_factory)
    rows = seen(True)
    said = await _sweep_teams(world, connector)
    assert any("Own work" in text for text in said), "Zoe was not recognised"
    assert rows, "the watch saw no read at all"
    assert _of_a(world, rows) == []
    assert [leak for text in said for leak in _leaks(world, text)] == []
    await _unchanged(world, uow_factory, before)


async def test_b_export_names_nothing_of_a(
    world: World,
    database: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    seen: Callable[[bool], set[tuple[str, int]]],
) -> None:
    rows = seen(True)
    said = await _export(world, database, monkeypatch, capsys)
    assert rows and _of_a(world, rows) == []
    assert [leak for text in said for leak in _leaks(world, text)] == []


async def test_without_the_boundary_the_sweep_reads_a(
    world: World,
    slack: FakeSlack,
    connector: FakeConnector,
    seen: Callable[[bool], set[tuple[str, int]]],
) -> None:
    """The suite can fail: with the tenancy wrapper off, the same requests hand A's rows to
    the handlers (they refuse afterwards, which is the defence this test does not count on).
    (The export's queries name the organization themselves, so it reads nothing of A either
    way: its test stands on what it prints.)"""
    rows = seen(False)
    await _sweep_slack(world, slack)
    assert _of_a(world, rows), "Slack: the watch would not have noticed a leak"
    rows.clear()
    await _sweep_teams(world, connector)
    assert _of_a(world, rows), "Teams: the watch would not have noticed a leak"
