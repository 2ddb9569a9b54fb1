"""The outbox sender against the fake Slack Web API: posts, threads, updates in place, DMs to a
user id, and what each Slack answer means for the drain (sent / retry / failed)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.slack import SlackSender, build_slack_app
from adapters.slack.sender import split_ref
from bot.clock import SystemClock
from bot.dispatch import Core
from bot.messages import Action, Message, to_json
from bot.model import OutboxMessage, Platform, Thread
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


def delivery(address: str, message: Message = CARD, **refs: Any) -> Delivery:
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
def sender(slack: FakeSlack, slack_sender: Callable[..., SlackSender]) -> SlackSender:
    bolt = build_slack_app(
        core=Core(uow=_no_database, clock=SystemClock()), settings=settings_for(slack)
    )
    assert bolt is not None
    return slack_sender(bolt)


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


async def test_a_linked_thread_becomes_a_permalink_or_is_left_out(
    sender: SlackSender, slack: FakeSlack
) -> None:
    root = await sender.send(delivery("C0SEPSIS"))
    assert root.platform_ref
    thread = Thread(
        key="blocker:3", workspace_id=1, channel_id="C0SEPSIS", root_id=root.platform_ref
    )
    linked = await sender.send(delivery("U0DANA", linked_thread=thread))
    assert linked.outcome is SendOutcome.SENT
    (asked,) = slack.of("chat.getPermalink")
    assert asked == {
        "channel": "C0SEPSIS",
        "message_ts": split_ref(root.platform_ref, channel="")[1],
    }
    dm = slack.posts("D0DANA")[-1].args
    (link,) = [b for b in dm["blocks"] if "View the thread" in str(b)]
    assert link["text"]["text"].startswith("<https://leader.slack.com/archives/C0SEPSIS/p")

    # A root Slack has no permalink for (deleted, never posted): the DM goes, without the link.
    gone = Thread(key="blocker:4", workspace_id=1, channel_id="C0SEPSIS", root_id="1600000000.1")
    unlinked = await sender.send(delivery("U0DANA", linked_thread=gone))
    assert unlinked.outcome is SendOutcome.SENT
    assert "View the thread" not in str(slack.posts("D0DANA")[-1].args["blocks"])


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


async def test_each_post_carries_its_outbox_key_in_message_metadata(
    sender: SlackSender, slack: FakeSlack
) -> None:
    await sender.send(delivery("C0SEPSIS"))
    (post,) = slack.of("chat.postMessage")
    assert post["metadata"] == {
        "event_type": "leaderbot_outbox",
        "event_payload": {"key": "ask:7:card@1:C0SEPSIS"},
    }
    assert sender.client.timeout >= 30  # Slack gets at least 30 s to answer


async def test_an_answer_slower_than_the_timeout_is_found_in_history_not_posted_twice(
    slack: FakeSlack, slack_sender: Callable[..., SlackSender]
) -> None:
    slack.clock = lambda: NOW.timestamp() + 5
    bolt = build_slack_app(
        core=Core(uow=_no_database, clock=SystemClock()), settings=settings_for(slack)
    )
    assert bolt is not None
    impatient = slack_sender(bolt, timeout=1)
    answered = slack.answer_late("chat.postMessage")
    first = await impatient.send(delivery("C0SEPSIS"))
    assert first.outcome is SendOutcome.RETRY and "Timeout" in first.error
    answered.set()
    row = delivery("C0SEPSIS").outbox
    again = await impatient.send(delivery("C0SEPSIS", uncertain=True))
    (kept,) = slack.keyed(row.key)
    assert again.outcome is SendOutcome.SENT
    assert again.platform_ref == f"C0SEPSIS:{kept['ts']}"
    assert len(slack.of("chat.postMessage")) == 1
    (looked,) = slack.of("conversations.history")
    assert looked["channel"] == "C0SEPSIS"
    assert looked["include_all_metadata"] in ("1", "true", True)
    assert float(looked["oldest"]) == NOW.timestamp() - 60


async def test_an_uncertain_delivery_not_in_history_is_posted_once(
    sender: SlackSender, slack: FakeSlack
) -> None:
    slack.clock = lambda: NOW.timestamp()
    other = await sender.send(delivery("C0SEPSIS", Message(title="Another", key="other")))
    assert other.outcome is SendOutcome.SENT
    result = await sender.send(delivery("C0SEPSIS", uncertain=True))
    assert result.outcome is SendOutcome.SENT
    assert len(slack.keyed("ask:7:card@1:C0SEPSIS")) == 1
    # In a thread the replies are looked through (history lists only top-level messages).
    root = other.platform_ref
    assert root
    reply = delivery("C0SEPSIS", Message(title="Reply", key="reply"), thread_root=root)
    await sender.send(reply)
    found = await sender.send(
        delivery("C0SEPSIS", Message(title="Reply", key="reply"), thread_root=root, uncertain=True)
    )
    (kept,) = slack.keyed("reply@1:C0SEPSIS")
    assert found.platform_ref == f"C0SEPSIS:{kept['ts']}"
    assert slack.of("conversations.replies")[0]["ts"] == split_ref(root, channel="")[1]


async def test_a_failed_lookup_is_retried_a_refused_one_posts(
    sender: SlackSender, slack: FakeSlack
) -> None:
    slack.fail_next("conversations.history", status=503)
    down = await sender.send(delivery("C0SEPSIS", uncertain=True))
    assert down.outcome is SendOutcome.RETRY
    assert slack.of("chat.postMessage") == []  # never posted blind
    slack.fail_next("conversations.history", error="missing_scope")
    posted = await sender.send(delivery("C0SEPSIS", uncertain=True))
    assert posted.outcome is SendOutcome.SENT
    assert len(slack.of("chat.postMessage")) == 1
