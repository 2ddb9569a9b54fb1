"""The outbox sender against the fake Slack Web API: posts, threads, updates in place, DMs to a
user id, and what each Slack answer means for the drain (sent / retry / failed)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adapters.slack import SlackSender, build_slack_app
from adapters.slack.sender import split_ref
from bot.clock import SystemClock
from bot.dispatch import Core
from bot.messages import Action, Message, to_json
from bot.model import OutboxMessage, Platform
from bot.ports import Delivery, SendOutcome, UnitOfWork
from tests.fakes_slack import BOT_TOKEN, FakeSlack
from tests.scenario.slack.conftest import settings_for

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
CARD = Message(
    title="Ask #7 · #SEPSIS",
    sections=("Approve <!channel> overtime",),
    actions=(Action(id="ask.approve", label="Approve", value="7"),),
    key="ask:7:card",
)


def _no_database() -> UnitOfWork:
    raise AssertionError("a single-token sender never reads the database")


def delivery(address: str, message: Message = CARD, **refs: str) -> Delivery:
    row = OutboxMessage(
        id=1,
        organization_id=1,
        key=f"{message.key}@1:{address}",
        platform=Platform.SLACK,
        workspace_id=1,
        address=address,
        payload=to_json(message),
        next_attempt_at=NOW,
        created_at=NOW,
    )
    return Delivery(outbox=row, message=message, **refs)


@pytest.fixture
def sender(slack: FakeSlack) -> SlackSender:
    bolt = build_slack_app(
        core=Core(uow=_no_database, clock=SystemClock()), settings=settings_for(slack)
    )
    assert bolt is not None
    return SlackSender(bolt)


async def test_posts_rendered_blocks_with_the_bot_token(
    sender: SlackSender, slack: FakeSlack
) -> None:
    result = await sender.send(delivery("C0SEPSIS"))
    assert result.outcome is SendOutcome.SENT
    (call,) = slack.calls
    assert (call.method, call.token) == ("chat.postMessage", BOT_TOKEN)
    assert call.args["channel"] == "C0SEPSIS"
    assert call.args["blocks"][0]["text"]["text"] == "Ask #7 · #SEPSIS"
    assert "&lt;!channel&gt;" in call.args["text"]
    assert result.platform_ref == "C0SEPSIS:1700000000.000001"


async def test_a_user_id_gets_its_dm_opened_once(sender: SlackSender, slack: FakeSlack) -> None:
    first = await sender.send(delivery("U0DANA"))
    second = await sender.send(delivery("U0DANA"))
    assert [c.method for c in slack.calls] == [
        "conversations.open",
        "chat.postMessage",
        "chat.postMessage",
    ]
    assert slack.of("conversations.open")[0]["users"] == "U0DANA"
    assert {a["channel"] for a in slack.of("chat.postMessage")} == {"D0DANA"}
    assert first.platform_ref and first.platform_ref.startswith("D0DANA:")
    assert second.outcome is SendOutcome.SENT


async def test_replies_go_in_the_thread_and_replacements_update_in_place(
    sender: SlackSender, slack: FakeSlack
) -> None:
    await sender.send(delivery("C0SEPSIS", thread_root="C0SEPSIS:1700000000.000042"))
    await sender.send(delivery("U0DANA", replaces_ref="D0DANA:1700000000.000007"))
    await sender.send(delivery("C0SEPSIS", replaces_ref="1700000000.000008"))
    assert slack.of("chat.postMessage")[0]["thread_ts"] == "1700000000.000042"
    updates = slack.of("chat.update")
    assert [(u["channel"], u["ts"]) for u in updates] == [
        ("D0DANA", "1700000000.000007"),
        ("C0SEPSIS", "1700000000.000008"),
    ]
    assert "conversations.open" not in [c.method for c in slack.calls]
    assert split_ref("1.2", channel="C1") == ("C1", "1.2")


async def test_rate_limits_server_errors_and_permanent_errors(
    sender: SlackSender, slack: FakeSlack
) -> None:
    slack.fail_next("chat.postMessage", status=429, retry_after=7)
    limited = await sender.send(delivery("C0SEPSIS"))
    assert limited.outcome is SendOutcome.RETRY and limited.retry_after == 7.0

    slack.fail_next("chat.postMessage", status=503)
    down = await sender.send(delivery("C0SEPSIS"))
    assert down.outcome is SendOutcome.RETRY and down.retry_after is None

    slack.fail_next("chat.postMessage", error="channel_not_found")
    gone = await sender.send(delivery("C0SEPSIS"))
    assert gone.outcome is SendOutcome.FAILED and gone.unreachable
    assert "channel_not_found" in gone.error

    slack.fail_next("chat.update", error="cant_update_message")
    stuck = await sender.send(delivery("C0SEPSIS", replaces_ref="C0SEPSIS:1.000001"))
    assert stuck.outcome is SendOutcome.FAILED and not stuck.unreachable

    slack.tokens.clear()
    revoked = await sender.send(delivery("C0SEPSIS"))
    assert revoked.outcome is SendOutcome.FAILED and "invalid_auth" in revoked.error
    # One attempt per send: slack_sdk's own retry handlers are off (the drain owns retries).
    assert len(slack.of("chat.postMessage")) == 4


async def test_an_unreachable_server_is_retried(sender: SlackSender, slack: FakeSlack) -> None:
    await slack.close()
    result = await sender.send(delivery("C0SEPSIS"))
    assert result.outcome is SendOutcome.RETRY and "unreachable" in result.error
