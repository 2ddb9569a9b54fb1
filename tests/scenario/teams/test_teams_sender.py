"""The Teams sender against the fake Bot Connector: where each delivery lands, and what each
connector answer means for the outbox (sent / retry with Retry-After / failed / unreachable)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.teams import TeamsSender, TeamsSettings, build_teams
from adapters.teams.refs import channel_reference
from adapters.teams.settings import EMULATOR_APP_ID
from bot.messages import Action, Message, to_json
from bot.model import OutboxMessage, Platform
from bot.ports import Delivery, SendOutcome
from tests.fake_connector import FakeConnector
from tests.scenario.teams.conftest import TENANT

Check = Callable[[dict[str, Any]], None]
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DM = "a:1Bn0kafor7Yx2Wv4Ut6Sr8Qp0On2Ml4Kj6Ih8Gf0Ed2Cb4Aa"
CHANNEL = "19:c0ffee1234abcd5678ef90123456789a@thread.tacv2"
CARD = Message(
    title="Ask from Ana Lopez",
    sections=("Approve 0.5 FTE",),
    actions=(Action(id="ask.approve", label="Approve", value="12"),),
    key="ask:12:assigned",
)


def personal_ref(service_url: str) -> dict[str, Any]:
    return {
        "bot": {"id": "28:7f2b6a5e-9c0d-4e1f-8a3b-2c4d6e8f0a1b", "name": "Leaderbot"},
        "user": {"id": "29:1Zb4", "aadObjectId": "0b7c4d2e-5f61-4a7b-8c9d-1e2f3a4b5c6d"},
        "conversation": {"id": DM, "conversationType": "personal", "tenantId": TENANT},
        "channelId": "msteams",
        "serviceUrl": service_url,
    }


@pytest.fixture
def sender(connector: FakeConnector) -> TeamsSender:
    adapter, _ = build_teams(None, TeamsSettings())  # type: ignore[arg-type]  # no turns here
    refs = {DM: personal_ref(connector.url)}
    refs[CHANNEL] = channel_reference(refs[DM], CHANNEL)

    async def ref_for(outbox: OutboxMessage) -> dict[str, Any] | None:
        return refs.get(outbox.address)

    return TeamsSender(adapter, ref_for=ref_for, bot_app_id=EMULATOR_APP_ID, now=lambda: NOW)


def delivery(
    message: Message = CARD, *, channel: bool = False, address: str | None = None, **extra: Any
) -> Delivery:
    outbox = OutboxMessage(
        organization_id=1,
        key=f"{message.key}@1:x",
        platform=Platform.TEAMS,
        workspace_id=1,
        address=address or (CHANNEL if channel else DM),
        person_id=None if channel else 2,
        project_id=1 if channel else None,
        payload=to_json(message),
        next_attempt_at=NOW,
        created_at=NOW,
    )
    return Delivery(outbox=outbox, message=message, **extra)


async def test_dm_is_a_card_in_the_personal_chat(
    sender: TeamsSender, connector: FakeConnector, assert_valid_card: Check
) -> None:
    result = await sender.send(delivery())
    assert result.outcome is SendOutcome.SENT and result.platform_ref
    (call,) = connector.activities()
    assert call.conversation_id == DM
    (card,) = call.cards
    assert_valid_card(card)
    assert card["actions"][0]["verb"] == "ask.approve"


async def test_channel_post_starts_a_thread_and_replies_go_in_it(
    sender: TeamsSender, connector: FakeConnector
) -> None:
    root = Message(title="Blocker: lab IT access", key="blocker:3:root", anchors_thread="blocker:3")
    posted = await sender.send(delivery(root, channel=True))
    assert posted.outcome is SendOutcome.SENT
    (create,) = connector.activities("create")
    assert create.body["channelData"]["channel"]["id"] == CHANNEL
    assert create.body["isGroup"] is True and create.cards

    reply = Message(sections=("Escalated to Carmen",), key="blocker:3:esc1", thread_key="blocker:3")
    answered = await sender.send(delivery(reply, channel=True, thread_root=posted.platform_ref))
    assert answered.outcome is SendOutcome.SENT
    thread_post = connector.activities()[-1]
    assert thread_post.conversation_id == f"{CHANNEL};messageid={posted.platform_ref}"
    assert thread_post.body["text"] == "Escalated to Carmen"


async def test_replacing_updates_in_place(sender: TeamsSender, connector: FakeConnector) -> None:
    decided = Message(title="Approved by Ben", key="ask:12:decided", replaces_key="ask:12:assigned")
    result = await sender.send(delivery(decided, replaces_ref="1772443301000"))
    assert (result.outcome, result.platform_ref) == (SendOutcome.SENT, "1772443301000")
    (update,) = connector.activities()
    assert (update.kind, update.conversation_id, update.activity_id) == (
        "update",
        DM,
        "1772443301000",
    )
    assert update.cards[0]["body"][0]["text"] == "Approved by Ben"


@pytest.mark.parametrize(
    ("status", "retry_after", "outcome", "wait", "unreachable"),
    [
        (429, "7", SendOutcome.RETRY, 7.0, False),
        (429, "Mon, 02 Mar 2026 09:00:30 GMT", SendOutcome.RETRY, 30.0, False),
        (412, None, SendOutcome.RETRY, None, False),
        (502, None, SendOutcome.RETRY, None, False),
        (503, None, SendOutcome.RETRY, None, False),
        (504, None, SendOutcome.RETRY, None, False),
        (403, None, SendOutcome.FAILED, None, True),
        (404, None, SendOutcome.FAILED, None, False),
        (400, None, SendOutcome.FAILED, None, False),
    ],
)
async def test_connector_errors_map_to_outbox_outcomes(
    sender: TeamsSender,
    connector: FakeConnector,
    status: int,
    retry_after: str | None,
    outcome: SendOutcome,
    wait: float | None,
    unreachable: bool,
) -> None:
    connector.fail_next(status, retry_after=retry_after, code="MessageWritesBlocked")
    result = await sender.send(delivery())
    assert (result.outcome, result.retry_after, result.unreachable) == (outcome, wait, unreachable)
    assert str(status) in result.error
    assert not connector.activities()  # one attempt: retrying is the drain's job
    assert (await sender.send(delivery())).outcome is SendOutcome.SENT


async def test_unreachable_connector_is_retried(
    sender: TeamsSender, connector: FakeConnector
) -> None:
    await connector.close()
    result = await sender.send(delivery())
    assert result.outcome is SendOutcome.RETRY


async def test_no_stored_reference_fails_clearly(sender: TeamsSender) -> None:
    result = await sender.send(delivery(address="a:unknown"))
    assert result.outcome is SendOutcome.FAILED and "reference" in result.error
