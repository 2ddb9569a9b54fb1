"""Migration 0013, identities' address: existing identities get the address their DMs went to
(a Slack identity its reference, a Teams one its reference's conversation id, "" for a reference
that names none), on SQLite and PostgreSQL; the directory triggers still count identity writes
after the column is added and after it is dropped again."""

from __future__ import annotations

import json

from storage.migrate import upgrade
from tests.integration.test_migration_0009 import _downgrade, _sql, _version, fresh_url

__all__ = ["fresh_url"]

TEAMS_REFERENCE = json.dumps({"conversation": {"id": "a:ana", "conversationType": "personal"}})

SEED = (
    "INSERT INTO organizations (id, name, admin_ids) VALUES (1, 'North', '[]')",
    "INSERT INTO people (id, organization_id, handle, name, email, timezone, work_start, work_end)"
    " VALUES (1, 1, 'ana', 'Ana', '', 'UTC', '08:00:00', '18:00:00')",
    "INSERT INTO workspaces (id, organization_id, platform, external_id, name)"
    " VALUES (1, 1, 'slack', 'T1', ''), (2, 1, 'teams', 'tenant', ''),"
    " (3, 1, 'console', 'console', '')",
    "INSERT INTO identities (person_id, workspace_id, platform, user_id, conversation_ref,"
    " unreachable, reported_timezone) VALUES"
    " (1, 1, 'slack', 'U-dm', 'D0ANA', false, ''),"
    " (1, 1, 'slack', 'U-none', NULL, false, ''),"
    f" (1, 2, 'teams', '29:ref', '{TEAMS_REFERENCE}', false, ''),"
    " (1, 2, 'teams', '29:bad', 'not json', false, ''),"
    """ (1, 2, 'teams', '29:list', '["conversation"]', false, ''),"""
    """ (1, 2, 'teams', '29:noid', '{"conversation": {}}', false, ''),"""
    " (1, 2, 'teams', '29:none', NULL, false, ''),"
    " (1, 3, 'console', 'ana', NULL, false, '')",
)

ADDRESSES = "SELECT user_id, address FROM identities ORDER BY user_id"
IDENTITY_WRITE = "UPDATE identities SET unreachable = true WHERE user_id = 'U-dm'"
IDENTITY_COUNTER = (
    "SELECT version FROM directory_versions WHERE name = 'identities' AND organization_id = 1"
)


async def _identity_counter(url: str) -> int:
    (rows,) = await _sql(url, IDENTITY_COUNTER)
    return int(str(rows[0][0])) if rows else 0


async def test_existing_identities_get_the_address_their_dms_went_to(fresh_url: str) -> None:
    await upgrade(fresh_url, "0012")
    await _sql(fresh_url, *SEED)
    await upgrade(fresh_url, "0013")
    assert await _version(fresh_url) == "0013"
    (rows,) = await _sql(fresh_url, ADDRESSES)
    assert dict(rows) == {
        "29:bad": "",
        "29:list": "",
        "29:noid": "",
        "29:none": "",
        "29:ref": "a:ana",
        "U-dm": "D0ANA",
        "U-none": "",
        "ana": "",
    }


async def test_the_directory_triggers_count_identity_writes_up_and_down(fresh_url: str) -> None:
    await upgrade(fresh_url, "0012")
    await _sql(fresh_url, *SEED)
    await upgrade(fresh_url)
    before = await _identity_counter(fresh_url)
    await _sql(fresh_url, IDENTITY_WRITE)
    after = await _identity_counter(fresh_url)
    assert after > before  # adding the column kept the triggers
    await _downgrade(fresh_url, "0012")
    assert await _version(fresh_url) == "0012"
    (rows,) = await _sql(fresh_url, "SELECT user_id FROM identities WHERE user_id = 'U-dm'")
    assert rows == [("U-dm",)]  # the rows stay, without their address
    await _sql(fresh_url, "UPDATE identities SET unreachable = false WHERE user_id = 'U-dm'")
    assert await _identity_counter(fresh_url) > after  # dropping it kept them too
