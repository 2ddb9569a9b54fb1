"""Issue 13 §3 on Teams: a channel or a team mentioned inside a command (an ``<at>`` entity
whose ``mentioned`` is a conversation, not a user, or a pasted channel link) is text, like a
Slack ``<#C…|name>`` link — never a person nor a second project. Through the real Teams
endpoint and the real core, on the fake Bot Connector."""

from __future__ import annotations

from typing import Any

from bot.dispatch import Core
from tests.fake_connector import FakeConnector
from tests.scenario.teams.conftest import load_activity
from tests.scenario.teams.test_teams_scenario import BOT_MENTION, account, core, installed

__all__ = ["core"]  # the scenario's fixture: the demo seeded on a manual clock

ED_TEAM = {
    "type": "mention",
    "text": "<at>ED team</at>",
    "mentioned": {"id": "19:ed0123456789abcdef@thread.tacv2", "name": "ED team", "type": "channel"},
}
NIGHT_NURSES = {  # a tag: a group of people, none of them in particular
    "type": "mention",
    "text": "<at>Night nurses</at>",
    "mentioned": {"id": "MmQ0NjE2YjMtYjg5Ny00", "name": "Night nurses", "type": "tag"},
}
NURSING = {  # a team, as older clients send it: no ``type``, a conversation id
    "type": "mention",
    "text": "<at>Nursing</at>",
    "mentioned": {"id": "19:nursing0123456789@thread.skype", "name": "Nursing"},
}


async def say(post_activity: Any, connector: FakeConnector, command: str, *entities: Any) -> str:
    """Ana's ``command`` in the channel, addressed to the bot; the text of the bot's reply."""
    await post_activity(
        load_activity(
            "channel_mention",
            connector.url,
            text=f"<at>Leaderbot</at> {command}",
            entities=[BOT_MENTION, *entities],
            **{"from": account("ana")},
        )
    )
    return str(connector.activities()[-1].body.get("text", ""))


async def people(core: Core) -> list[str]:
    async with core.uow() as uow:
        return sorted(p.name for p in await uow.people.find())


async def test_a_channel_or_team_mentioned_in_an_ask_is_text(
    core: Core, connector: FakeConnector, post_activity: Any
) -> None:
    await installed(core, connector, post_activity)
    before = await people(core)
    said = await say(
        post_activity,
        connector,
        "ask fund the pilot #SEPSIS as agreed in <at>ED team</at> and <at>Nursing</at> with "
        "<at>Night nurses</at> area:staffing",
        ED_TEAM,
        NURSING,
        NIGHT_NURSES,
    )
    assert said == (
        "Ask #3 sent to Dana Lee — Accountable for staffing on SEPSIS per RACI. It is outside "
        "their working hours, so it reaches them at Mon 23 Nov 08:00 (Dana Lee's time, EST). "
        "Consulted for input: Raj Patel."
    )
    async with core.uow() as uow:
        ask = await uow.asks.get(3)
    assert ask is not None and ask.text == (
        "fund the pilot as agreed in #ED-team and #Nursing with Night nurses"
    )
    assert await people(core) == before  # nobody called "ED team", "Nursing" or "Night nurses"


async def test_a_pasted_channel_link_in_an_ask_is_text(
    core: Core, connector: FakeConnector, post_activity: Any
) -> None:
    await installed(core, connector, post_activity)
    link = (
        '<a href="https://teams.microsoft.com/l/channel/19%3aed0123456789abcdef%40thread.tacv2/'
        'ED%20team?groupId=g1&amp;tenantId=t1">ED team</a>'
    )
    said = await say(
        post_activity, connector, f"ask fund the pilot #SEPSIS per {link} area:staffing"
    )
    assert said.startswith("Ask #3 sent to Dana Lee — Accountable for staffing on SEPSIS")
    async with core.uow() as uow:
        ask = await uow.asks.get(3)
    assert ask is not None and ask.text == "fund the pilot per #ED-team"


async def test_a_channel_mentioned_alone_names_the_project(
    core: Core, connector: FakeConnector, post_activity: Any
) -> None:
    # In #SEPSIS's home channel, a mentioned channel called FALLS is the project meant.
    await installed(core, connector, post_activity)
    falls = {
        "type": "mention",
        "text": "<at>FALLS</at>",
        "mentioned": {"id": "19:falls0123@thread.tacv2", "name": "FALLS", "type": "channel"},
    }
    await say(post_activity, connector, "status <at>FALLS</at>", falls)
    (card,) = connector.activities()[-1].cards
    assert card["body"][0]["text"] == "#FALLS \u2014 Fewer inpatient falls"


async def test_a_typed_mention_of_an_id_is_text_not_a_person(
    core: Core, connector: FakeConnector, post_activity: Any
) -> None:
    # Teams sends what was typed HTML-encoded: "<@aad-dana>" typed is "&lt;@aad-dana&gt;".
    # Only a mention entity names a person; typed, the id is just words.
    await installed(core, connector, post_activity)
    before = await people(core)
    calls = len(connector.calls)
    said = await say(post_activity, connector, "ask &lt;@aad-dana&gt; fund the pilot #SEPSIS")
    assert "Dana Lee" not in said and "aad-dana" in said, said
    assert not [c for c in connector.calls[calls:] if c.kind == "member"]
    assert await people(core) == before
    async with core.uow() as uow:
        assert await uow.asks.count() == 2  # the demo's two; none raised
