"""Migration 0014, identities' alias: existing identities start with none ("") and keep
everything else, a mention's look-up by (workspace, alias) has its index, on SQLite and
PostgreSQL; the directory triggers still count identity writes after the column is added and
after it is dropped again."""

from __future__ import annotations

import json

from storage.migrate import upgrade
from tests.integration.test_migration_0009 import _downgrade, _sql, _version, fresh_url
from tests.integration.test_migration_0013 import SEED, _identity_counter

__all__ = ["fresh_url"]


def _reference(user: str) -> str:
    """A stored personal chat reference, as the Teams adapter writes one, from ``user``."""
    return json.dumps({"user": {"id": user}, "conversation": {"id": f"a:{user}"}})


TEAMS_SEED = (
    *SEED,
    "INSERT INTO identities (person_id, workspace_id, platform, user_id, conversation_ref,"
    " unreachable, reported_timezone) VALUES"
    f" (1, 2, 'teams', 'aad-dana', '{_reference('29:dana')}', false, ''),"
    f" (1, 2, 'teams', 'aad-sam', '{_reference('29:shared')}', false, ''),"
    f" (1, 2, 'teams', 'aad-kim', '{_reference('29:shared')}', false, ''),"
    f" (1, 2, 'teams', 'aad-same', '{_reference('aad-same')}', false, '')",
)

ALIAS_WRITE = "UPDATE identities SET alias = '29:ana' WHERE user_id = 'U-dm'"
INDEXES = {
    "sqlite": "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'identities'",
    "postgresql": "SELECT indexname FROM pg_indexes WHERE tablename = 'identities'",
}


async def test_existing_identities_start_without_an_alias_and_mentions_have_an_index(
    fresh_url: str,
) -> None:
    await upgrade(fresh_url, "0012")
    await _sql(fresh_url, *SEED)
    await upgrade(fresh_url, "0014")
    assert await _version(fresh_url) == "0014"
    (rows,) = await _sql(fresh_url, "SELECT user_id, address, alias FROM identities")
    assert {user: (address, alias) for user, address, alias in rows}["U-dm"] == ("D0ANA", "")
    assert {alias for _, _, alias in rows} == {""}
    dialect = "sqlite" if fresh_url.startswith("sqlite") else "postgresql"
    (indexes,) = await _sql(fresh_url, INDEXES[dialect])
    assert "ix_identities_workspace_id_alias" in {name for (name,) in indexes}


async def test_teams_identities_get_the_alias_their_stored_chat_names_unless_shared(
    fresh_url: str,
) -> None:
    await upgrade(fresh_url, "0012")
    await _sql(fresh_url, *TEAMS_SEED)
    await upgrade(fresh_url, "0014")
    (rows,) = await _sql(fresh_url, "SELECT user_id, alias FROM identities")
    aliases = dict(rows)
    assert aliases["aad-dana"] == "29:dana"  # a mention of her needs no look-up after upgrade
    assert (aliases["aad-sam"], aliases["aad-kim"]) == ("", "")  # ambiguous: neither
    assert aliases["aad-same"] == ""  # the same id twice is no alias
    assert aliases["29:ref"] == aliases["29:bad"] == aliases["U-dm"] == ""


async def test_the_directory_triggers_count_alias_writes_up_and_down(fresh_url: str) -> None:
    await upgrade(fresh_url, "0012")
    await _sql(fresh_url, *SEED)
    await upgrade(fresh_url, "0014")
    before = await _identity_counter(fresh_url)
    await _sql(fresh_url, ALIAS_WRITE)
    after = await _identity_counter(fresh_url)
    assert after > before  # a new alias is a directory write: every process reloads it
    await _downgrade(fresh_url, "0013")
    assert await _version(fresh_url) == "0013"
    (rows,) = await _sql(fresh_url, "SELECT address FROM identities WHERE user_id = 'U-dm'")
    assert rows == [("D0ANA",)]  # the rows stay, without their alias
    await _sql(fresh_url, "UPDATE identities SET unreachable = true WHERE user_id = 'U-dm'")
    assert await _identity_counter(fresh_url) > after  # dropping it kept the triggers too
