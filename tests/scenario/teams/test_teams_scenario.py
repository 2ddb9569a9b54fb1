"""Issue 4's acceptance through the real core and the real Teams adapter: a lead raises an ask
in a channel → the assignee gets a card → the wrong person's click is refused → the assignee
approves → the card is updated, the decision logged and the requester told.

Activities are recorded Teams payloads POSTed to /api/messages (auth disabled); outbox rows go out
through cadence's drain and the Teams sender; everything the bot sends lands on the fake Bot
Connector."""

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from adapters.teams import (
    TeamsSender,
    TeamsSettings,
    build_teams,
    uow_readers_lookup,
    uow_ref_lookup,
)
from adapters.teams.settings import EMULATOR_APP_ID
from bot.clock import ManualClock
from bot.dispatch import Core
from bot.model import AskState, Platform
from bot.ports import UnitOfWorkFactory
from bot.services.demo import seed_demo
from cadence.drain import DrainReport, drain_until_idle
from tests.fake_connector import Call, FakeConnector
from tests.scenario.teams.conftest import BOT_ID, TENANT, load_activity

MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
CHANNEL = "19:c0ffee1234abcd5678ef90123456789a@thread.tacv2"
BOT_MENTION = {
    "type": "mention",
    "text": "<at>Leaderbot</at>",
    "mentioned": {"id": BOT_ID, "name": "Leaderbot"},
}
PEOPLE = {
    handle: {
        "id": f"29:{handle}-bf",
        "name": name,
        "email": f"{handle}@northfield.example",
        "aadObjectId": f"aad-{handle}",
    }
    for handle, name in (("ana", "Ana Silva"), ("dana", "Dana Lee"), ("ben", "Ben Okafor"))
}


@pytest.fixture
async def core(uow_factory: UnitOfWorkFactory) -> Core:
    clock = ManualClock(MONDAY)
    await seed_demo(uow_factory, clock)
    return Core(uow=uow_factory, clock=clock)


def account(handle: str) -> dict[str, Any]:
    person = PEOPLE[handle]
    return {"id": person["id"], "name": person["name"], "aadObjectId": person["aadObjectId"]}


def dm(handle: str) -> str:
    return f"a:{handle}-personal-chat"


def personal(name: str, handle: str, url: str, **changes: Any) -> dict[str, Any]:
    activity = load_activity(name, url, **{"from": account(handle)}, **changes)
    activity["conversation"]["id"] = dm(handle)
    return activity


def in_channel(url: str, handle: str, command: str, *mentioned: str) -> dict[str, Any]:
    entities = [BOT_MENTION] + [
        {
            "type": "mention",
            "text": f"<at>{PEOPLE[h]['name']}</at>",
            "mentioned": {"id": PEOPLE[h]["id"], "name": PEOPLE[h]["name"]},
        }
        for h in mentioned
    ]
    return load_activity(
        "channel_mention",
        url,
        text=f"<at>Leaderbot</at> {command}",
        entities=entities,
        **{"from": account(handle)},
    )


def click(
    url: str, handle: str, *, conversation: dict[str, Any], card_id: str, verb: str, value: str
) -> dict[str, Any]:
    activity = load_activity(
        "adaptive_card_action",
        url,
        **{"from": account(handle)},
        conversation=conversation,
        replyToId=card_id,
    )
    activity["value"]["action"].update(verb=verb, data={"value": value})
    return activity


async def installed(
    core: Core, connector: FakeConnector, post_activity: Any
) -> tuple[TeamsSender, ManualClock]:
    """The demo's people known to Teams; Dana and Ana install the app (their personal chats
    are remembered) and Ana makes the channel #SEPSIS's home. Returns the server's Teams
    sender for the outbox, and the clock."""
    connector.members.update({p["id"]: p for p in PEOPLE.values()})
    for handle in ("dana", "ana"):
        await post_activity(personal("conversation_update_members_added", handle, connector.url))
    await post_activity(in_channel(connector.url, "ana", "project channel #SEPSIS"))
    assert "home" in connector.activities()[-1].body["text"]
    adapter, _ = build_teams(core, TeamsSettings())
    sender = TeamsSender(
        adapter,
        ref_for=uow_ref_lookup(core.uow),
        bot_app_id=EMULATOR_APP_ID,
        now=core.clock.now,
        readers_for=uow_readers_lookup(core),
    )
    assert isinstance(core.clock, ManualClock)
    return sender, core.clock


async def drain(core: Core, sender: TeamsSender) -> DrainReport:
    """What the server's drain job does, until nothing is left to send now."""
    return await drain_until_idle(core.uow, senders={Platform.TEAMS: sender}, clock=core.clock)


async def test_ask_in_a_channel_decided_on_a_card(
    core: Core, connector: FakeConnector, post_activity: Any, assert_valid_card: Any
) -> None:
    sender, clock = await installed(core, connector, post_activity)
    url = connector.url
    # Ana raises the ask in #SEPSIS's home channel, naming Dana.
    await post_activity(
        in_channel(
            url,
            "ana",
            "ask <at>Dana Lee</at> approve 0.5 FTE for the pilot by 2026-12-04"
            " #SEPSIS area:staffing",
            "dana",
        )
    )
    confirmation = connector.activities()[-1]
    assert confirmation.conversation_id.startswith(CHANNEL)
    assert "sent to Dana Lee" in confirmation.body["text"], confirmation.body["text"]
    number = re.search(r"Ask \\?#(\d+)", confirmation.body["text"])
    assert number is not None
    async with core.uow() as uow:
        ask = await uow.asks.get(int(number.group(1)))
    assert ask is not None and ask.state is AskState.OPEN

    # The outbox: Dana's personal card, and a new thread in the channel.
    before = len(connector.activities())
    assert (await drain(core, sender)).sent == 1  # the channel post; 05:00 in New York for Dana
    clock.set(MONDAY + timedelta(hours=5))
    assert (await drain(core, sender)).sent == 1  # Dana's card, in her working hours
    delivered = connector.activities()[before:]
    dana_card = _only(delivered, dm("dana"))
    (card,) = dana_card.cards
    assert_valid_card(card)
    assert [a.get("verb") or a["card"]["actions"][0]["verb"] for a in card["actions"]][:3] == [
        "ask.approve",
        "ask.decline",
        "ask.info",
    ]
    (post,) = [c for c in delivered if c.kind == "create"]
    assert post.body["channelData"]["channel"]["id"] == CHANNEL
    for posted_card in post.cards:
        assert_valid_card(posted_card)
        # The channel's copy: the ask and who decides it, no live decision buttons; Dana's
        # Teams refreshes it for her (Universal Actions), and she gets hers.
        assert "actions" not in posted_card and "Dana Lee" in str(posted_card)
        assert posted_card["refresh"]["userIds"] == [PEOPLE["dana"]["id"]]
        assert posted_card["refresh"]["action"]["verb"] == "leaderbot.refresh"
    refresh = post.cards[0]["refresh"]["action"]
    channel_conversation = {"id": CHANNEL, "conversationType": "channel", "tenantId": TENANT}
    seen: dict[str, dict[str, Any]] = {}
    for handle in ("dana", "ben"):
        status, body = await post_activity(
            click(
                url,
                handle,
                conversation=channel_conversation,
                card_id="channel-card",
                verb=refresh["verb"],
                value=refresh["data"]["value"],
            )
        )
        assert status == 200
        seen[handle] = body["value"]
        assert_valid_card(seen[handle])
    assert [a.get("verb") or a["card"]["actions"][0]["verb"] for a in seen["dana"]["actions"]] == [
        "ask.approve",
        "ask.decline",
        "ask.info",
    ]
    assert "actions" not in seen["ben"] and "approve 0.5 FTE" in str(seen["ben"])
    async with core.uow() as uow:
        dana_row = await uow.outbox.first(address=dm("dana"), key__gte=f"ask:{ask.id}:")
        channel_row = await uow.outbox.first(address=CHANNEL, key__gte=f"ask:{ask.id}:")
    assert dana_row is not None and dana_row.platform_ref
    assert channel_row is not None and channel_row.platform_ref

    # Ben clicks Approve on the channel's card: refused, to him only, nothing changes.
    before = len(connector.activities())
    status, body = await post_activity(
        click(
            url,
            "ben",
            conversation={
                "id": f"{CHANNEL};messageid={channel_row.platform_ref}",
                "conversationType": "channel",
                "tenantId": TENANT,
            },
            card_id=channel_row.platform_ref,
            verb="ask.approve",
            value=str(ask.id),
        )
    )
    assert status == 200 and body["statusCode"] == 200
    # Told to Ben only, as a message: the card he clicked stays as it was.
    assert body["type"] == "application/vnd.microsoft.activity.message"
    assert body["value"].startswith("Only Dana Lee") and "Nothing was changed" in body["value"]
    assert len(connector.activities()) == before
    async with core.uow() as uow:
        assert (await uow.asks.get(ask.id)).state is AskState.OPEN
        assert await uow.decisions.count(subject_kind="ask", subject_id=ask.id) == 0

    # Dana approves from her personal card: the card updates in place, the decision is logged.
    dana_conversation = {
        "id": dm("dana"),
        "conversationType": "personal",
        "tenantId": TENANT,
    }
    approve = click(
        url,
        "dana",
        conversation=dana_conversation,
        card_id=dana_row.platform_ref,
        verb="ask.approve",
        value=str(ask.id),
    )
    status, body = await post_activity(copy.deepcopy(approve))
    assert status == 200
    decided = body["value"]
    assert_valid_card(decided)
    assert "actions" not in decided
    assert "Dana Lee" in str(decided)
    update = connector.activities()[-1]
    assert (update.kind, update.conversation_id, update.activity_id) == (
        "update",
        dm("dana"),
        dana_row.platform_ref,
    )
    async with core.uow() as uow:
        assert (await uow.asks.get(ask.id)).state is AskState.APPROVED
        assert await uow.decisions.count(subject_kind="ask", subject_id=ask.id) == 1

    # The channel's card is updated in its thread, and the requester is told in her chat.
    before = len(connector.activities())
    await drain(core, sender)
    after = connector.activities()[before:]
    (channel_update,) = [c for c in after if c.conversation_id.startswith(CHANNEL)]
    assert channel_update.kind == "update" and "actions" not in channel_update.cards[0]
    (told,) = [c for c in after if c.conversation_id == dm("ana")]
    assert "approved by Dana Lee" in str(told.cards or told.body["text"])

    # A repeated click never decides twice.
    await post_activity(copy.deepcopy(approve))
    async with core.uow() as uow:
        assert await uow.decisions.count(subject_kind="ask", subject_id=ask.id) == 1


def _only(calls: list[Call], conversation_id: str) -> Call:
    (call,) = [c for c in calls if c.conversation_id == conversation_id]
    return call


async def test_a_blocker_card_keeps_its_remaining_buttons_and_every_copy_follows(
    core: Core, connector: FakeConnector, post_activity: Any, assert_valid_card: Any
) -> None:
    sender, clock = await installed(core, connector, post_activity)
    url = connector.url
    # Teams sends text HTML-encoded: "&amp;" is read as "&".
    await post_activity(
        in_channel(url, "ana", "blocker lab &amp; IT access blocked area:staffing #SEPSIS")
    )
    number = re.search(r"Blocker #(\d+)", connector.activities()[-1].body["text"])
    assert number is not None
    blocker_id = int(number.group(1))
    async with core.uow() as uow:
        blocker = await uow.blockers.get(blocker_id)
        assert blocker is not None and blocker.text == "lab & IT access blocked"

    clock.set(MONDAY + timedelta(hours=5))  # Dana's working hours
    await drain(core, sender)
    async with core.uow() as uow:
        rung = await uow.outbox.first(address=dm("dana"), key__gte=f"blocker:{blocker_id}:rung")
        root = await uow.outbox.first(address=CHANNEL, key__gte=f"blocker:{blocker_id}:root")
    assert rung is not None and rung.platform_ref and root is not None and root.platform_ref

    personal_chat = {"id": dm("dana"), "conversationType": "personal", "tenantId": TENANT}
    channel = {
        "id": f"{CHANNEL};messageid={root.platform_ref}",
        "conversationType": "channel",
        "tenantId": TENANT,
    }

    def execute(verb: str, *, where: dict[str, Any], card: str, text: str = "") -> dict[str, Any]:
        activity = click(
            url, "dana", conversation=where, card_id=card, verb=verb, value=str(blocker_id)
        )
        if text:
            activity["value"]["action"]["data"][f"text.{verb}"] = text
        return activity

    # The root post shows everyone the blocker; Dana's Teams refreshes it for her (her rung).
    (posted,) = [
        c for c in connector.activities() if c.kind == "create" and "lab & IT" in str(c.cards)
    ]
    assert "actions" not in posted.cards[0]
    assert posted.cards[0]["refresh"]["userIds"] == [PEOPLE["dana"]["id"]]

    # She acknowledges there: her view comes back with Resolve (and the snooze menu), not
    # Acknowledge; the channel's card is updated to the state alone.
    status, body = await post_activity(
        execute("blocker.ack", where=channel, card=str(root.platform_ref))
    )
    assert status == 200
    card = body["value"]
    assert_valid_card(card)
    assert titles(card) == ["Resolve", "Snooze"]
    assert "Acknowledged by Dana Lee" in str(card)
    update = connector.activities()[-1]
    assert (update.kind, update.activity_id) == ("update", root.platform_ref)
    assert "actions" not in update.cards[0] and "Acknowledged by Dana Lee" in str(update.cards)

    # The outbox follows: her DM loses Acknowledge; the root post gets its refresh back.
    before = len(connector.activities())
    await drain(core, sender)
    updates = {c.activity_id: c.cards[0] for c in connector.activities()[before:] if c.cards}
    assert titles(updates[rung.platform_ref]) == ["Resolve", "Snooze"]
    assert updates[root.platform_ref]["refresh"]["userIds"] == [PEOPLE["dana"]["id"]]

    # Resolve: no button is left on any copy.
    status, body = await post_activity(
        execute(
            "blocker.resolve",
            where=personal_chat,
            card=str(rung.platform_ref),
            text="IT granted access",
        )
    )
    assert "actions" not in body["value"]
    assert "Resolved by Dana Lee: IT granted access" in str(body["value"])
    before = len(connector.activities())
    await drain(core, sender)
    updated = [c for c in connector.activities()[before:] if c.kind == "update"]
    assert {c.activity_id for c in updated} >= {root.platform_ref}
    assert all("actions" not in c.cards[0] and "refresh" not in c.cards[0] for c in updated)


def titles(card: dict[str, Any]) -> list[str]:
    """The titles of a card's actions."""
    return [a["title"] for a in card.get("actions", [])]


async def test_help_reads_as_paragraphs(
    core: Core, connector: FakeConnector, post_activity: Any
) -> None:
    connector.members.update({p["id"]: p for p in PEOPLE.values()})
    await post_activity(personal("personal_message", "ana", connector.url, text="help"))
    (card,) = connector.activities()[-1].cards
    (said,) = [b["text"] for b in card["body"] if b["text"].startswith("ask [@person]")]
    lines = [line for line in said.split("\n") if line]
    assert len(lines) > 3
    assert "\n\n".join(lines) == said  # every line its own paragraph, not one run-on line
    # "<text>", "[#PROJECT]", "(…)" shown as they are; only the "*" pair that would
    # emphasise is escaped.
    assert not re.search(r"\\[^*]", said), said
    assert "<text> [by <date>] [#PROJECT]" in said
