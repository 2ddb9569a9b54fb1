"""The Slack side end to end: signed requests to the real /slack/events route, the real core on
SQLite, the outbox drained through the real SlackSender into the fake Slack Web API.

The issue's scenario: a lead raises an ask by slash command → the assignee gets a DM with
buttons (and the project channel a post) → someone else clicks Approve and is refused, privately,
with nothing changed → the assignee approves → both messages are updated in place, the decision
is logged, the requester is told. Plus modals, retries, double clicks, App Home and DMs.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from adapters.slack import SlackSender
from bot.clock import ManualClock
from bot.dispatch import Core
from bot.model import AskState, Organization, Platform
from bot.ports import UnitOfWorkFactory
from bot.services.demo import seed_demo
from cadence.drain import DrainReport, drain_until_idle
from cadence.limiter import Limiter
from tests.fakes_slack import TEAM_ID, FakeSlack
from tests.scenario.slack.conftest import (
    SEPSIS_CHANNEL,
    USERS,
    SlackRoute,
    add_users,
    answered,
    command,
    fixture,
    replies,
    serve_slack,
    settings_for,
    until,
)

MONDAY = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
"""Within working hours in London and New York, so DMs ("pings") go out at once."""


@pytest.fixture
async def core(uow_factory: UnitOfWorkFactory) -> Core:
    clock = ManualClock(MONDAY)
    await seed_demo(uow_factory, clock)
    return Core(uow=uow_factory, clock=clock)


@pytest.fixture
async def route(core: Core, slack: FakeSlack) -> AsyncIterator[SlackRoute]:
    add_users(slack)
    served, client = await serve_slack(core, settings_for(slack))
    yield served
    await client.close()


def click(
    slack: FakeSlack, handle: str, *, posted: dict[str, Any], action_index: int, reply_to: str
) -> dict[str, Any]:
    """A block_actions payload for a click on a button of a message the bot posted."""
    payload = fixture("block_actions.json")
    user_id = USERS[handle][0]
    payload["user"].update(id=user_id, username=handle, name=handle)
    channel = posted["channel"]
    payload["channel"] = {
        "id": channel,
        "name": "directmessage" if channel.startswith("D") else "sepsis",
    }
    payload["container"].update(channel_id=channel)
    payload["message"]["blocks"] = posted["blocks"]
    (actions,) = [b for b in posted["blocks"] if b["type"] == "actions"]
    button = actions["elements"][action_index]
    payload["actions"][0].update(
        action_id=button["action_id"],
        value=button["value"],
        text=button["text"],
        block_id=actions.get("block_id", "b"),
    )
    payload["response_url"] = slack.response_url(reply_to)
    return payload


async def drain(core: Core, route: SlackRoute) -> DrainReport:
    assert route.bolt is not None
    sender = SlackSender(route.bolt)
    try:
        return await drain_until_idle(core.uow, senders={Platform.SLACK: sender}, clock=core.clock)
    finally:
        await sender.close()


async def raise_ask(core: Core, route: SlackRoute, slack: FakeSlack) -> int:
    """Ana (first seen) makes #sepsis the project's home, then asks Dana (first seen) for
    nurses: both commands are answered in the ack itself, each newcomer's ``users.info`` asked
    before it (issue #14: no "One moment…" when the answer can come in the ack)."""
    status, body = await route.command(
        command(slack, "ana", "project channel #SEPSIS", reply_to="home")
    )
    assert status == 200
    linked = json.loads(body)
    assert "home" in linked["text"] and linked["response_type"] == "ephemeral"

    text = "ask <@U0DANA|dana> two more nurses on nights &amp; weekends area:staffing #SEPSIS"
    status, body = await route.command(command(slack, "ana", text, reply_to="ask"))
    assert status == 200  # Dana is new: her users.info comes before the ack, within its budget
    sent = json.loads(body)
    assert not replies(slack, "home") and not replies(slack, "ask")
    found = re.search(r"Ask #(\d+) sent to Dana Lee", sent["text"])
    assert found, sent["text"]
    assert [c.args["user"] for c in slack.calls if c.method == "users.info"] == ["U0ANA", "U0DANA"]
    return int(found.group(1))


async def test_ask_by_slash_command_decided_with_buttons(
    core: Core, route: SlackRoute, slack: FakeSlack
) -> None:
    ask_id = await raise_ask(core, route, slack)
    report = await drain(core, route)
    assert report.sent >= 2
    (dm_call,) = slack.posts("D0DANA")
    (channel_call,) = slack.posts(SEPSIS_CHANNEL)
    dm, channel_post = dm_call.args, channel_call.args
    assert slack.of("conversations.open") == [{"users": "U0DANA"}]
    (actions,) = [b for b in dm["blocks"] if b["type"] == "actions"]
    labels = [e["text"]["text"] for e in actions["elements"]]
    assert labels == ["Approve", "Decline", "Need info"]
    # The channel's copy shows the ask and who decides it, with no button to decide it.
    assert not [b for b in channel_post["blocks"] if b["type"] == "actions"]
    assert "Dana Lee" in str(channel_post["blocks"])
    for post in (dm, channel_post):
        assert "two more nurses on nights &amp; weekends" in post["text"]

    # Ben may not decide Dana's ask (a copy of her card reached him): a private refusal,
    # nothing changes.
    status, _ = await route.interaction(
        click(slack, "ben", posted=dm, action_index=0, reply_to="ben")
    )
    assert status == 200
    (refusal,) = await until(lambda: replies(slack, "ben"), "Ben's refusal")
    assert refusal["response_type"] == "ephemeral" and refusal["replace_original"] is False
    async with core.uow() as uow:
        ask = await uow.asks.get(ask_id)
        assert ask is not None and ask.state is AskState.OPEN
        assert await uow.decisions.count() == 0

    # Dana approves from her DM: her copy changes at once; the outbox updates both copies.
    calls_before = len(slack.calls)
    status, body = await route.interaction(
        click(slack, "dana", posted=dm, action_index=0, reply_to="dana")
    )
    assert status == 200 and body == ""
    assert len(slack.calls) == calls_before  # no Web API call before the ack
    # One message to the decider per decision: her card, showing the outcome, and no more.
    (answer,) = await until(lambda: replies(slack, "dana"), "Dana's answer")
    assert answer["replace_original"] is True
    assert not [b for b in answer["blocks"] if b["type"] == "actions"]
    assert "Approved by Dana Lee" in str(answer["blocks"])

    await drain(core, route)
    assert slack.posts("D0DANA") == [dm_call]  # her copy was updated, nothing new posted
    await asyncio.sleep(0.05)
    assert len(replies(slack, "dana")) == 1
    updates = {u["channel"]: u for u in slack.of("chat.update")}
    assert set(updates) == {"D0DANA", SEPSIS_CHANNEL}
    assert updates["D0DANA"]["ts"] == dm_call.answer["ts"]
    assert updates[SEPSIS_CHANNEL]["ts"] == channel_call.answer["ts"]
    for update in updates.values():
        assert not [b for b in update["blocks"] if b["type"] == "actions"]
        assert "Approved" in update["text"]
        footer = [b for b in update["blocks"] if b["type"] == "context"]
        assert "Dana Lee" in footer[0]["elements"][0]["text"]
    told = slack.posts("D0ANA")
    assert told and "approved" in told[-1].args["text"].lower()
    async with core.uow() as uow:
        ask = await uow.asks.get(ask_id)
        assert ask is not None and ask.state is AskState.APPROVED
        (decision,) = await uow.decisions.find(subject_kind="ask")
        assert decision.subject_id == ask_id and decision.outcome.lower().startswith("approve")

    # A double click and a Slack retry never decide twice.
    again = click(slack, "dana", posted=dm, action_index=0, reply_to="dana-again")
    await route.interaction(again)
    (second,) = await until(lambda: replies(slack, "dana-again"), "the double-click answer")
    assert second["replace_original"] is False
    # Slack's retry of that refused click (same payload, same trigger_id): a refusal changed
    # nothing and recorded nothing, so it is answered the same way again.
    status, _ = await route.interaction(
        again, headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    )
    assert status == 200
    (_, retried) = await until(
        lambda: len(replies(slack, "dana-again")) == 2 and replies(slack, "dana-again"),
        "the retry's answer",
    )
    assert "already approved" in retried["text"]
    async with core.uow() as uow:
        assert await uow.decisions.count() == 1


def submission(
    slack: FakeSlack, handle: str, opened: dict[str, Any], values: dict[str, Any]
) -> dict[str, Any]:
    """The view_submission for a modal the bot opened, with ``values`` as Slack's state shape."""
    payload = fixture("view_submission.json")
    user_id = USERS[handle][0]
    payload["user"].update(id=user_id, username=handle, name=handle)
    view = opened["view"]
    payload["view"].update(
        callback_id=view["callback_id"],
        private_metadata=view["private_metadata"],
        blocks=view["blocks"],
        state={"values": {name: {"value": value} for name, value in values.items()}},
    )
    return payload


async def test_a_known_user_is_answered_in_the_ack_unless_the_core_is_slow(
    core: Core, route: SlackRoute, slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    await raise_ask(core, route, slack)  # Ana and Dana are known from here on
    text = "ask <@U0DANA|dana> weekend cover area:staffing #SEPSIS"
    status, body = await route.command(command(slack, "ana", text, reply_to="fast"))
    assert status == 200 and "sent to Dana Lee" in json.loads(body)["text"]
    assert not replies(slack, "fast")

    quick = core.handle

    async def slow(*args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(0.2)
        return await quick(*args, **kwargs)

    monkeypatch.setattr(core, "handle", slow)
    assert route.bolt is not None
    monkeypatch.setattr(route.bolt.after_ack, "budget", 0.05)
    status, body = await route.command(command(slack, "ana", text, reply_to="slow"))
    assert status == 200 and "Working on it" in json.loads(body)["text"]
    (late,) = await until(lambda: replies(slack, "slow"), "the late reply")
    assert "sent to Dana Lee" in late["text"] and late["response_type"] == "ephemeral"


async def test_the_ack_goes_out_before_the_work_after_it_is_done(
    core: Core, route: SlackRoute, slack: FakeSlack
) -> None:
    await raise_ask(core, route, slack)  # Ana and Dana are known from here on
    slow = slack.hold("views.open")
    asked = route.command(command(slack, "ana", "ask", reply_to="modal"))
    status, body = await asyncio.wait_for(asked, 5)  # answered while views.open still waits
    assert status == 200 and body == ""
    await until(lambda: slack.of("views.open"), "views.open")
    assert route.bolt is not None
    finished = asyncio.ensure_future(route.bolt.after_ack.wait())
    await asyncio.sleep(0.05)
    assert not finished.done()  # the modal is still being opened: a shutdown waits for it
    slow.set()
    await asyncio.wait_for(finished, 5)
    assert slack.calls[-1].method == "views.open" and slack.calls[-1].answer["ok"]


async def test_bare_ask_opens_a_modal_whose_submission_raises_the_ask(
    core: Core, route: SlackRoute, slack: FakeSlack
) -> None:
    await raise_ask(core, route, slack)  # Ana and Dana are known from here on
    status, body = await route.command(command(slack, "ana", "ask", reply_to="modal"))
    assert status == 200 and body == ""
    (opened,) = await until(lambda: slack.of("views.open"), "views.open")
    view = opened["view"]
    assert view["type"] == "modal" and view["callback_id"] == "leaderbot.form"
    kinds = {b["block_id"]: b["element"]["type"] for b in view["blocks"]}
    assert kinds == {
        "project": "static_select",
        "text": "plain_text_input",
        "area": "static_select",
        "person": "static_select",
        "needed_by": "datepicker",
    }
    # A refusal stays in the modal, under the text field, so it can be fixed.
    empty = submission(
        slack,
        "ana",
        opened,
        {
            "project": {"type": "static_select", "selected_option": {"value": "SEPSIS"}},
            "text": {"type": "plain_text_input", "value": ""},
        },
    )
    status, body = await route.interaction(empty)
    assert (
        status == 200 and '"response_action":"errors"' in body.replace(" ", "") and '"text"' in body
    )
    filled = submission(
        slack,
        "ana",
        opened,
        {
            "project": {"type": "static_select", "selected_option": {"value": "SEPSIS"}},
            "text": {"type": "plain_text_input", "value": "Budget for screening tablets"},
            "area": {"type": "static_select", "selected_option": {"value": "budget"}},
            "person": {"type": "static_select", "selected_option": None},
            "needed_by": {"type": "datepicker", "selected_date": "2026-12-04"},
        },
    )
    status, body = await route.interaction(filled)
    assert status == 200 and body == ""
    (reply,) = await until(lambda: replies(slack, "modal"), "the modal's reply")
    assert "Raj Patel" in reply["text"]
    async with core.uow() as uow:
        (ask,) = await uow.asks.find(text="Budget for screening tablets")
        assert ask.area == "budget" and str(ask.needed_by) == "2026-12-04"


async def test_decline_asks_for_a_rationale_in_a_modal(
    core: Core, route: SlackRoute, slack: FakeSlack
) -> None:
    ask_id = await raise_ask(core, route, slack)
    await drain(core, route)
    (dm_call,) = slack.posts("D0DANA")
    # Ben may not decide it: refused at once, never asked "Why?".
    status, _ = await route.interaction(
        click(slack, "ben", posted=dm_call.args, action_index=1, reply_to="ben")
    )
    assert status == 200
    (refusal,) = await until(lambda: replies(slack, "ben"), "Ben's refusal")
    assert refusal["text"].startswith("Only Dana Lee") and "Nothing was changed" in refusal["text"]
    assert refusal["response_type"] == "ephemeral" and refusal["replace_original"] is False
    assert not slack.of("views.open")

    status, body = await route.interaction(
        click(slack, "dana", posted=dm_call.args, action_index=1, reply_to="decline")
    )
    assert status == 200 and body == ""
    (opened,) = await until(lambda: slack.of("views.open"), "the rationale modal")
    assert opened["view"]["callback_id"] == "leaderbot.input"
    assert opened["view"]["title"]["text"] == "Decline"
    status, body = await route.interaction(
        submission(
            slack,
            "dana",
            opened,
            {"text": {"type": "plain_text_input", "value": "No budget until April <!here>"}},
        )
    )
    assert status == 200 and body == ""
    (answer,) = await until(lambda: replies(slack, "decline"), "the decline answer")
    assert answer["replace_original"] is True and "Declined by Dana Lee" in str(answer)
    await drain(core, route)
    assert len(replies(slack, "decline")) == 1
    update = next(u for u in slack.of("chat.update") if u["channel"] == "D0DANA")
    assert "No budget until April &lt;!here&gt;" in str(update["blocks"])
    async with core.uow() as uow:
        ask = await uow.asks.get(ask_id)
        assert ask is not None and ask.state is AskState.DECLINED
        assert ask.rationale == "No budget until April <!here>"


async def test_blocker_threads_in_the_project_channel(
    core: Core, route: SlackRoute, slack: FakeSlack
) -> None:
    await raise_ask(core, route, slack)
    status, body = await route.command(
        command(
            slack,
            "ana",
            "blocker lab IT access blocked area:staffing severity:high #SEPSIS",
            reply_to="blocker",
        )
    )
    assert status == 200
    raised = json.loads(body)
    found = re.search(r"#(\d+)", raised["text"])
    assert found, raised["text"]
    await drain(core, route)
    root = next(c for c in slack.posts(SEPSIS_CHANNEL) if "lab IT access" in c.args["text"])
    assert "thread_ts" not in root.args
    (dm_call,) = [c for c in slack.posts("D0DANA") if "lab IT access" in c.args["text"]]
    elements = [e for b in dm_call.args["blocks"] if b["type"] == "actions" for e in b["elements"]]
    labels = [e["text"]["text"] for e in elements if e["type"] == "button"]
    assert labels == ["Acknowledge", "Resolve"]
    (menu,) = [e for e in elements if e["type"] == "static_select"]
    assert [o["text"]["text"] for o in menu["options"]][:1] == ["In 1 hour"]
    # The DM links to the blocker's thread: posted after the root in the same drain pass.
    assert slack.calls.index(root) < slack.calls.index(dm_call)
    (asked,) = slack.of("chat.getPermalink")
    assert asked == {"channel": SEPSIS_CHANNEL, "message_ts": root.answer["ts"]}
    root_ts = root.answer["ts"].replace(".", "")
    permalink = f"https://leader.slack.com/archives/{SEPSIS_CHANNEL}/p{root_ts}"
    blocks = dm_call.args["blocks"]
    (at,) = [i for i, b in enumerate(blocks) if permalink in str(b)]
    assert blocks[at]["text"]["text"] == f"<{permalink}|View the thread>"
    assert blocks[at + 1]["type"] == "actions"  # right above the buttons
    await route.interaction(
        click(slack, "dana", posted=dm_call.args, action_index=0, reply_to="ack")
    )
    await until(lambda: replies(slack, "ack"), "the acknowledgement")
    await drain(core, route)
    threaded = [c for c in slack.posts(SEPSIS_CHANNEL) if c.args.get("thread_ts")]
    assert threaded and all(c.args["thread_ts"] == root.answer["ts"] for c in threaded)

    # Every copy shows the new state: the DM loses Acknowledge (Resolve stays), and keeps its
    # thread link; the root post says who acknowledged it.
    def updated(channel: str, ts: str) -> dict[str, Any]:
        return [u for u in slack.of("chat.update") if (u["channel"], u["ts"]) == (channel, ts)][-1]

    dm_now = updated("D0DANA", dm_call.answer["ts"])
    assert button_labels(dm_now) == ["Resolve"]
    assert f"<{permalink}|View the thread>" in str(dm_now["blocks"])
    assert "Acknowledged by Dana Lee" in str(updated(SEPSIS_CHANNEL, root.answer["ts"]))

    _, body = await route.command(
        command(slack, "dana", f"resolve {found.group(1)} IT granted access", reply_to="fix")
    )
    assert "resolved" in body
    await drain(core, route)
    dm_now = updated("D0DANA", dm_call.answer["ts"])
    assert not [b for b in dm_now["blocks"] if b["type"] == "actions"]
    assert "Resolved by Dana Lee: IT granted access" in str(dm_now["blocks"])
    assert "Resolved by Dana Lee" in str(updated(SEPSIS_CHANNEL, root.answer["ts"]))


def button_labels(message: dict[str, Any]) -> list[str]:
    """The labels of a posted message's buttons (menus left out)."""
    return [
        e["text"]["text"]
        for b in message["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["type"] == "button"
    ]


async def test_app_home_and_direct_messages(
    core: Core, route: SlackRoute, slack: FakeSlack
) -> None:
    await raise_ask(core, route, slack)
    home = fixture("event_app_home_opened.json")
    status, _ = await route.event(home)
    assert status == 200
    (published,) = await until(lambda: slack.of("views.publish"), "views.publish")
    assert published["user_id"] == "U0DANA" and published["view"]["type"] == "home"
    headers = [b["text"]["text"] for b in published["view"]["blocks"] if b["type"] == "header"]
    assert headers[0] == "Waiting on you" and "Your projects" in headers
    assert "two more nurses" in str(published["view"]["blocks"])
    # Dana is on both demo projects: each gets its status card under "Your projects".
    projects = str(published["view"]["blocks"]).split("Your projects", 1)[1]
    assert "#FALLS" in projects and "#SEPSIS" in projects

    message = fixture("event_message_im.json")
    status, _ = await route.event(message)
    assert status == 200
    (answer,) = await until(lambda: slack.posts("D0ANA"), "the DM answer")
    assert "two more nurses" in answer.args["text"]
    async with core.uow() as uow:
        (identity,) = await uow.identities.find(user_id="U0ANA")
        assert identity.conversation_ref == "D0ANA"

    # A re-delivered event (Slack's retry, same event_id) of one processed: not run again.
    posts = len(slack.posts("D0ANA"))
    status, _ = await route.event(message, headers={"X-Slack-Retry-Num": "1"})
    assert status == 200
    await asyncio.sleep(0.05)
    assert len(slack.posts("D0ANA")) == posts

    # A retry whose first delivery never reached us (a restart, a 5xx): processed.
    lost = {**message, "event_id": "Ev0LOST0001"}
    status, _ = await route.event(lost, headers={"X-Slack-Retry-Num": "2"})
    assert status == 200
    await until(lambda: len(slack.posts("D0ANA")) == posts + 1, "the retried DM's answer")
    await asyncio.sleep(0.05)
    assert len(slack.posts("D0ANA")) == posts + 1


async def test_the_fast_path_acks_with_the_reply_and_calls_slack_after(
    core: Core, route: SlackRoute, slack: FakeSlack
) -> None:
    await raise_ask(core, route, slack)
    calls = len(slack.calls)
    status, body = await route.command(
        command(slack, "ana", "ask <@U0DANA|dana> a porter for the ED #SEPSIS", reply_to="fast")
    )
    assert status == 200 and "sent to Dana Lee" in body and '"ephemeral"' in body
    assert len(slack.calls) == calls and replies(slack, "fast") == []
    assert TEAM_ID == "T0LEADER"


async def test_a_replayed_slash_command_creates_nothing_new(
    core: Core, route: SlackRoute, slack: FakeSlack
) -> None:
    await raise_ask(core, route, slack)
    async with core.uow() as uow:
        before = await uow.asks.count()
    fields = command(slack, "ana", "ask <@U0DANA|dana> a porter for the ED #SEPSIS", reply_to="1")
    status, first = await route.command(fields)
    assert status == 200 and "sent to Dana Lee" in first
    status, again = await route.command(fields)  # a double submit: same body, same trigger_id
    assert status == 200 and "already received this exact request" in again
    assert "Nothing was changed" in again
    async with core.uow() as uow:
        assert await uow.asks.count() == before + 1


async def test_a_blocker_dm_links_its_thread_after_a_busy_channel(
    core: Core, route: SlackRoute, slack: FakeSlack, slack_sender: Callable[..., SlackSender]
) -> None:
    """Three posts in the channel in the last seconds hold the blocker's root post back
    (Slack's one-per-second pacing); its rung DM waits for it, and so still has its link."""
    assert route.bolt is not None
    senders = {Platform.SLACK: slack_sender(route.bolt)}
    limiter = Limiter(core.clock)  # the server's drain keeps one: pacing spans passes

    async def paced() -> None:
        await drain_until_idle(core.uow, senders=senders, clock=core.clock, limiter=limiter)

    await raise_ask(core, route, slack)
    for n, text in enumerate(("update #SEPSIS pump trial started", "ask pump budget area:budget")):
        _, body = await route.command(command(slack, "ana", text, reply_to=f"busy{n}"))
        assert "#SEPSIS" in body or "Ask #" in body  # Ana is known now: answered in the ack
    await paced()
    text = "blocker pumps stuck at customs area:staffing #SEPSIS"
    _, body = await route.command(command(slack, "ana", text, reply_to="blocker"))
    assert "Blocker #" in body
    await paced()
    assert len(slack.posts(SEPSIS_CHANNEL)) == 3  # the ask and updates; the root waits
    assert not [c for c in slack.posts("D0DANA") if "customs" in c.args["text"]]
    assert isinstance(core.clock, ManualClock)
    core.clock.advance(timedelta(seconds=5))
    await paced()
    root = next(c for c in slack.posts(SEPSIS_CHANNEL) if "customs" in c.args["text"])
    (dm,) = [c for c in slack.posts("D0DANA") if "customs" in c.args["text"]]
    assert slack.calls.index(root) < slack.calls.index(dm)
    root_ts = root.answer["ts"].replace(".", "")
    assert f"/archives/{SEPSIS_CHANNEL}/p{root_ts}|View the thread>" in str(dm.args["blocks"])


def home_click(handle: str, *, view: dict[str, Any], label: str, item: int) -> dict[str, Any]:
    """A block_actions payload for a click on the App Home tab: Slack sends the view, and no
    channel and no ``response_url``."""
    payload = fixture("block_actions.json")
    payload["user"].update(id=USERS[handle][0], username=handle, name=handle)
    payload["container"] = {"type": "view", "view_id": "V0HOME"}
    payload["view"] = {"id": "V0HOME", "type": "home", "blocks": view["blocks"]}
    for key in ("channel", "message", "response_url"):
        del payload[key]
    button = next(
        e
        for b in view["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e.get("text", {}).get("text") == label and e.get("value") == str(item)
    )
    payload["actions"][0].update(
        action_id=button["action_id"], value=button["value"], text=button["text"]
    )
    return payload


async def test_an_app_home_click_answers_in_place(
    core: Core, route: SlackRoute, slack: FakeSlack
) -> None:
    ask_id = await raise_ask(core, route, slack)
    await drain(core, route)
    await route.event(fixture("event_app_home_opened.json"))
    (home,) = await until(lambda: slack.of("views.publish"), "the Home tab")
    waiting = str(home["view"]["blocks"]).split("Your projects", 1)[0]
    assert f"Ask #{ask_id}" in waiting

    # Ben is refused on his Home tab before any modal opens.
    await route.interaction(home_click("ben", view=home["view"], label="Decline", item=ask_id))
    (_, refused) = await until(
        lambda: len(slack.of("views.publish")) == 2 and slack.of("views.publish"), "Ben's tab"
    )
    assert refused["user_id"] == "U0BEN" and "Only Dana Lee" in str(refused["view"]["blocks"])
    assert not slack.of("views.open")

    status, _ = await route.interaction(
        home_click("dana", view=home["view"], label="Approve", item=ask_id)
    )
    assert status == 200
    (_, _, again) = await until(
        lambda: len(slack.of("views.publish")) == 3 and slack.of("views.publish"), "the new tab"
    )
    assert again["user_id"] == "U0DANA" and again["view"]["type"] == "home"
    blocks = again["view"]["blocks"]
    assert blocks[0]["text"]["text"] == f"Ask #{ask_id} · #SEPSIS — Approved"
    assert "Approved by Dana Lee" in str(blocks[1])
    waiting = str(blocks).split("Waiting on you", 1)[1].split("Your projects", 1)[0]
    assert f"Ask #{ask_id}" not in waiting and "Ask #2 · #FALLS" in waiting  # the demo's
    async with core.uow() as uow:
        ask = await uow.asks.get(ask_id)
        assert ask is not None and ask.state is AskState.APPROVED

    # The card's other copies follow: her DM and the channel post are updated in place, even
    # though her DM's address changed (the user id, then the DM channel the tab told).
    await drain(core, route)
    assert {u["channel"] for u in slack.of("chat.update")} == {"D0DANA", SEPSIS_CHANNEL}
    assert len(slack.posts("D0DANA")) == 1  # her card: nothing new posted


async def test_a_card_sent_again_after_an_answer_loses_its_buttons_once_decided(
    core: Core, route: SlackRoute, slack: FakeSlack
) -> None:
    ask_id = await raise_ask(core, route, slack)
    _, body = await route.command(
        command(slack, "dana", f"info {ask_id} Which nights?", reply_to="info")
    )
    assert "more information" in body
    await drain(core, route)
    question = next(c for c in slack.posts("D0ANA") if "Which nights?" in c.args["text"])
    await route.interaction(
        click(slack, "ana", posted=question.args, action_index=0, reply_to="answer")
    )
    (opened,) = await until(lambda: slack.of("views.open"), "the answer modal")
    answer = {"text": {"type": "plain_text_input", "value": "Fri and Sat"}}
    await route.interaction(submission(slack, "ana", opened, answer))
    await until(lambda: replies(slack, "answer"), "the answer's reply")
    await drain(core, route)
    reopened = slack.posts("D0DANA")[-1]
    assert button_labels(reopened.args) == ["Approve", "Decline", "Need info"]

    await route.interaction(
        click(slack, "dana", posted=reopened.args, action_index=0, reply_to="approve")
    )
    await until(lambda: replies(slack, "approve"), "the approval")
    await drain(core, route)
    (update,) = [u for u in slack.of("chat.update") if u["ts"] == reopened.answer["ts"]]
    assert button_labels(update) == [] and "Approved by Dana Lee" in str(update["blocks"])


async def test_a_bare_ask_from_someone_no_longer_known_is_answered_not_dropped(
    core: Core, route: SlackRoute, slack: FakeSlack, uow_factory: UnitOfWorkFactory
) -> None:
    """Another process moved Ana away and her identity went (a demo reset erasing a linked
    workspace, say): her cached caller is stale, so the modal cannot be built — she is told."""
    await raise_ask(core, route, slack)  # Ana is known (cached) from here on
    async with uow_factory() as uow:
        elsewhere = await uow.organizations.add(Organization(name="Elsewhere"))
        ana = await uow.people.first(handle="ana")
        assert ana is not None
        for identity in await uow.identities.find(person_id=ana.id):
            await uow.identities.delete(identity.id)
        ana.organization_id = elsewhere.id
        await uow.people.save(ana)
        await uow.commit()
    status, body = await route.command(command(slack, "ana", "ask", reply_to="gone"))
    assert status == 200
    told = await answered(slack, body, "gone")
    assert "I don't know you yet" in told["text"]
    assert not slack.of("views.open")
