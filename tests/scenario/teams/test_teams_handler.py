"""The Teams handler through the real /api/messages route (botbuilder CloudAdapter, auth
disabled), fed by recorded Teams activities, with replies landing on the fake Bot Connector.

The core here is a recording fake with Core's signatures: these tests pin the translation
(who the caller is, what text the core gets, what Teams receives), not the product rules."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from bot.context import Caller, Profile, Reply
from bot.inbound import (
    Click,
    Hello,
    Inbound,
    NeedProfiles,
    Request,
    Submit,
    Text,
    mentioned,
    with_handles,
)
from bot.messages import Message, text
from bot.model import Platform, Workspace
from tests.fake_connector import FakeConnector
from tests.scenario.teams.conftest import TENANT, load_activity

Check = Callable[[dict[str, Any]], None]
ANA_BF, ANA_AAD = (
    "29:1Pq9yJ6lDkq0wX4n8bLd3mZ2eA5tHcUvR7sYfGkJ0oNbW1xQ",
    "6a1e0d0f-3c1b-4c56-9a57-0c7a2a9b1a11",
)
BEN_BF, BEN_AAD = (
    "29:1Zb4kP0qW8eR2tY6uI9oA3sD5fG7hJ1kL3zX5cV7bN9mQ",
    "0b7c4d2e-5f61-4a7b-8c9d-1e2f3a4b5c6d",
)
CHANNEL = "19:c0ffee1234abcd5678ef90123456789a@thread.tacv2"
CARD_ID = "1772443301000"
DECIDED = Message(title="Approved by Ben Okafor", sections=("Approve 0.5 FTE for the pilot",))


@dataclass
class FakeCore:
    """Core's adapter-facing methods, recording every call: ``handle`` knows a user once a
    profile of theirs came in, and asks for the profiles of the users it does not know."""

    known: dict[str, Caller] = field(default_factory=dict)
    handled: list[Inbound] = field(default_factory=list)
    """Every inbound handed in, in order (a new user's request comes twice)."""
    runs: list[tuple[Caller, Request]] = field(default_factory=list)
    """The requests run, with their caller (one that needed profiles did not run)."""
    linked: list[dict[str, Any]] = field(default_factory=list)
    fail_with: Exception | None = None

    def ran(self, kind: type) -> list[tuple[Caller, Any]]:
        return [(caller, request) for caller, request in self.runs if isinstance(request, kind)]

    def identified(self) -> list[tuple[str, Profile]]:
        """Users who became known, with the profile they were made from."""
        return [(user, profile) for i in self.handled for user, profile in i.profiles.items()]

    def remembered(self) -> list[str]:
        """Personal conversation references handed in to be stored."""
        return [i.conversation for i in self.handled if i.conversation is not None]

    async def configured_workspace(self, **kwargs: Any) -> Workspace:
        self.linked.append(kwargs)
        return Workspace(id=1, organization_id=1, platform=kwargs["platform"], external_id="t")

    async def handle(self, inbound: Inbound) -> Reply | NeedProfiles:
        self.handled.append(inbound)
        request = inbound.request
        users = [inbound.user_id, *(mentioned(request.text) if isinstance(request, Text) else ())]
        needed = tuple(u for u in users if u not in self.known and u not in inbound.profiles)
        if needed:
            return NeedProfiles(user_ids=needed)
        for user, profile in inbound.profiles.items():
            self.known.setdefault(
                user,
                Caller(
                    person_id=len(self.known) + 1,
                    organization_id=1,
                    handle=profile.name.split()[0].lower(),
                    timezone=profile.timezone or "UTC",
                    platform=Platform.TEAMS,
                    workspace_id=1,
                ),
            )
        caller = replace(self.known[inbound.user_id], channel_id=inbound.channel_id)
        self.runs.append((caller, request))
        if isinstance(request, Text):
            if self.fail_with is not None:
                raise self.fail_with
            handles = {u: self.known[u].handle for u in mentioned(request.text)}
            return Reply(messages=(text(f"ran: {with_handles(request.text, handles)}"),))
        if isinstance(request, Click):
            if caller.handle != "ben":
                return Reply(
                    ok=False,
                    messages=(Message(sections=("Only Ben Okafor can decide this ask.",)),),
                )
            return Reply(replacement=DECIDED)
        if isinstance(request, Submit):
            return Reply(messages=(text("Ask sent."),))
        return Reply()


@pytest.fixture
def core() -> FakeCore:
    return FakeCore()


@pytest.fixture(autouse=True)
def members(connector: FakeConnector) -> None:
    connector.members[ANA_BF] = {
        "id": ANA_BF,
        "name": "Ana Lopez",
        "email": "ana@example.org",
        "aadObjectId": ANA_AAD,
    }
    connector.members[BEN_BF] = {
        "id": BEN_BF,
        "name": "Ben Okafor",
        "email": "ben@example.org",
        "aadObjectId": BEN_AAD,
    }


async def test_personal_message_runs_the_command_and_remembers_the_chat(
    core: FakeCore, connector: FakeConnector, post_activity: Any
) -> None:
    status, _ = await post_activity(load_activity("personal_message", connector.url))
    assert status in (200, 201)
    assert core.identified() == [
        (ANA_AAD, Profile(name="Ana Lopez", email="ana@example.org", timezone="Europe/London"))
    ]
    assert core.handled[0].user_id == ANA_AAD
    assert core.handled[0].workspace == TENANT
    assert [request.text for _, request in core.ran(Text)] == ["help"]
    remembered = core.remembered()[-1]
    reference = json.loads(remembered)
    assert reference["conversation"]["id"].startswith("a:1Xk3")
    assert reference["serviceUrl"] == connector.url and "activityId" not in reference
    # and where a DM goes, so the core never reads the reference
    addresses = {i.conversation_address for i in core.handled if i.conversation == remembered}
    assert addresses == {reference["conversation"]["id"]}
    (reply,) = connector.activities()
    assert reply.kind == "reply" and reply.body["text"] == "ran: help"


async def test_channel_mention_strips_the_bot_and_turns_people_into_handles(
    core: FakeCore, connector: FakeConnector, post_activity: Any
) -> None:
    await post_activity(load_activity("channel_mention", connector.url))
    ((caller, command),) = core.ran(Text)
    handles = {user: core.known[user].handle for user in mentioned(command.text)}
    assert (
        with_handles(command.text, handles)
        == "ask @ben approve 0.5 FTE for the pilot by fri #SEPSIS area:staffing"
    )
    assert caller.channel_id == CHANNEL
    assert BEN_AAD in core.known  # Ben became a person through his AAD id
    assert not core.remembered()  # a channel is not a DM
    assert not any(i.conversation_address for i in core.handled)
    ran = core.handled[-1]  # but how to post there proactively is kept
    assert ran.channel_id == CHANNEL and ran.channel_reference is not None
    assert json.loads(ran.channel_reference)["conversation"]["id"].startswith(CHANNEL)
    (reply,) = connector.activities()
    assert reply.conversation_id == f"{CHANNEL};messageid=1772443244112"


async def test_install_remembers_the_personal_conversation(
    core: FakeCore, connector: FakeConnector, post_activity: Any
) -> None:
    await post_activity(load_activity("conversation_update_members_added", connector.url))
    assert core.linked[0]["external_id"] == TENANT
    installed = core.handled[-1]
    assert isinstance(installed.request, Hello)  # nothing to run, but Ben's chat is remembered
    assert installed.user_id == BEN_AAD and installed.conversation
    address = json.loads(installed.conversation)["conversation"]["id"]
    assert address and installed.conversation_address == address
    assert not connector.activities()


async def test_execute_by_the_assignee_updates_the_card(
    core: FakeCore, connector: FakeConnector, post_activity: Any, assert_valid_card: Check
) -> None:
    status, body = await post_activity(load_activity("adaptive_card_action", connector.url))
    assert status == 200
    assert body["statusCode"] == 200
    assert body["type"] == "application/vnd.microsoft.card.adaptive"
    assert_valid_card(body["value"])
    assert "actions" not in body["value"]
    ((caller, click),) = core.ran(Click)
    assert (click.action, click.value, caller.handle) == ("ask.approve", "12", "ben")
    (update,) = connector.activities()
    assert (update.kind, update.activity_id) == ("update", CARD_ID)
    assert update.cards == [body["value"]]


async def test_execute_by_someone_else_is_refused_to_them_only(
    core: FakeCore, connector: FakeConnector, post_activity: Any, assert_valid_card: Check
) -> None:
    ana = {"id": ANA_BF, "name": "Ana Lopez", "aadObjectId": ANA_AAD}
    status, body = await post_activity(
        load_activity("adaptive_card_action", connector.url, **{"from": ana})
    )
    assert status == 200 and body["statusCode"] == 200
    # A message to Ana only: her card stays as it was, buttons and all (issue 13).
    assert body["type"] == "application/vnd.microsoft.activity.message"
    assert "Only Ben Okafor can decide" in body["value"]
    assert not connector.activities()  # nothing posted or updated for anyone else


async def test_submit_fallback_carries_the_rationale(
    core: FakeCore, connector: FakeConnector, post_activity: Any
) -> None:
    await post_activity(load_activity("submit_fallback_message", connector.url))
    ((_, click),) = core.ran(Click)
    assert (click.action, click.value, click.text) == (
        "ask.decline",
        "12",
        "No budget this quarter",
    )
    assert not core.ran(Text)
    (update,) = connector.activities()
    assert (update.kind, update.activity_id) == ("update", CARD_ID)


async def test_a_failure_is_an_apology_not_a_traceback(
    core: FakeCore, connector: FakeConnector, post_activity: Any
) -> None:
    core.fail_with = RuntimeError("database on fire")
    await post_activity(load_activity("personal_message", connector.url))
    (apology,) = connector.activities()
    assert apology.body["text"].startswith("Sorry, something went wrong")
    assert "fire" not in json.dumps(apology.body) and "Traceback" not in json.dumps(apology.body)


async def test_form_card_submission_runs_the_form(
    core: FakeCore, connector: FakeConnector, post_activity: Any, assert_valid_card: Check
) -> None:
    activity = load_activity("adaptive_card_action", connector.url)
    activity["value"]["action"].update(
        verb="leaderbot.form",
        data={"form": "ask", "field.text": "Two more nurses", "field.project": "SEPSIS"},
    )
    status, body = await post_activity(activity)
    assert status == 200
    ((_, submitted),) = core.ran(Submit)
    assert submitted.form_id == "ask"
    assert submitted.values == {"text": "Two more nurses", "project": "SEPSIS"}
    assert_valid_card(body["value"])
    assert body["value"]["body"][0]["items"][0]["text"] == "Ask sent."


async def test_menu_choice_replaces_the_value(
    core: FakeCore, connector: FakeConnector, post_activity: Any
) -> None:
    activity = load_activity("adaptive_card_action", connector.url)
    activity["value"]["action"].update(
        verb="ask.snooze", data={"value": "12", "choice.ask.snooze": "1w"}
    )
    await post_activity(activity)
    ((_, click),) = core.ran(Click)
    assert (click.action, click.value) == ("ask.snooze", "1w")


async def test_the_emulator_works_without_a_tenant(
    core: FakeCore, connector: FakeConnector, post_activity: Any
) -> None:
    activity = load_activity("personal_message", connector.url, channelId="emulator")
    del activity["conversation"]["tenantId"], activity["channelData"]
    await post_activity(activity)
    assert core.handled[0].workspace == "emulator"
    assert [request.text for _, request in core.ran(Text)] == ["help"]
