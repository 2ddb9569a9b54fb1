"""Migration 0012, directory versions per organization: a write moves the counter of the
organization its row belongs to (directly, or through its person or project) and no other, on
SQLite and PostgreSQL; a row moved to another organization moves both; the migration goes down
to the per-table counters and up again."""

from __future__ import annotations

from storage.migrate import upgrade
from tests.integration.test_migration_0009 import _downgrade, _sql, _version, fresh_url

__all__ = ["fresh_url"]

PEOPLE_0002 = "SELECT version FROM directory_versions WHERE name = 'people'"
COUNTERS = "SELECT name, organization_id, version FROM directory_versions ORDER BY 1, 2"

SEED = (
    "INSERT INTO organizations (id, name, admin_ids) VALUES (1, 'North', '[]'), (2, 'South', '[]')",
    "INSERT INTO people (id, organization_id, handle, name, email, timezone, work_start, work_end)"
    " VALUES (1, 1, 'ana', 'Ana', '', 'UTC', '08:00:00', '18:00:00'),"
    " (2, 2, 'sam', 'Sam', '', 'UTC', '08:00:00', '18:00:00')",
    "INSERT INTO workspaces (id, organization_id, platform, external_id, name)"
    " VALUES (1, 1, 'slack', 'T1', '')",
)


async def _counters(url: str) -> dict[tuple[str, int], int]:
    (rows,) = await _sql(url, COUNTERS)
    return {(str(name), int(str(org))): int(str(version)) for name, org, version in rows}


def _moved(before: dict[tuple[str, int], int], after: dict[tuple[str, int], int]) -> set[object]:
    return {key for key in after.keys() | before.keys() if after.get(key) != before.get(key)}


async def test_a_write_moves_its_own_organizations_counter_only(fresh_url: str) -> None:
    await upgrade(fresh_url)
    await _sql(fresh_url, *SEED)
    before = await _counters(fresh_url)
    assert {("organizations", 1), ("organizations", 2), ("people", 1), ("people", 2)} <= set(before)
    await _sql(
        fresh_url,
        "INSERT INTO identities (person_id, platform, workspace_id, user_id, unreachable)"
        " VALUES (1, 'slack', 1, 'U1', false)",
    )
    after = await _counters(fresh_url)
    assert _moved(before, after) == {("identities", 1)}  # through its person, North's only
    await _sql(fresh_url, "UPDATE people SET name = 'Sam S' WHERE id = 2")
    assert _moved(after, await _counters(fresh_url)) == {("people", 2)}
    before = await _counters(fresh_url)
    await _sql(fresh_url, "UPDATE people SET organization_id = 1 WHERE id = 2")
    assert _moved(before, await _counters(fresh_url)) == {("people", 1), ("people", 2)}
    before = await _counters(fresh_url)
    await _sql(fresh_url, "DELETE FROM identities")
    assert _moved(before, await _counters(fresh_url)) == {("identities", 1)}


async def test_down_to_per_table_counters_and_up_again(fresh_url: str) -> None:
    await upgrade(fresh_url)
    await _downgrade(fresh_url, "0011")
    assert await _version(fresh_url) == "0011"
    await _sql(fresh_url, *SEED)
    ((people,),) = (
        await _sql(fresh_url, "SELECT version FROM directory_versions WHERE name = 'people'")
    )[0]
    assert people > 1  # 0002's per-table counter counts again
    await upgrade(fresh_url)
    before = await _counters(fresh_url)
    await _sql(fresh_url, "UPDATE organizations SET name = 'South S' WHERE id = 2")
    assert _moved(before, await _counters(fresh_url)) == {("organizations", 2)}
