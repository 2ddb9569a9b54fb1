"""Issue 10's partner-linking acceptance, with both local fakes running: a Slack organization
invites a Teams tenant (``org invite`` on Slack, ``org join`` on Teams, through the real
adapters); an ask raised on Slack whose Accountable lives on Teams reaches them as an Adaptive
Card, their decision there updates the Slack messages in place and tells the Slack requester;
and the reverse direction.

The Slack workspace and the Teams tenant's own organization are made explicitly (rows), so the
test does not depend on how a first-seen workspace is assigned an organization.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from adapters.slack import SlackSender
from adapters.teams import TeamsSender, TeamsSettings, build_teams, uow_ref_lookup
from adapters.teams.settings import EMULATOR_APP_ID
from bot.clock import ManualClock
from bot.dispatch import Core
from bot.model import AskState, Identity, Organization, Person, Platform, Workspace
from bot.ports import UnitOfWorkFactory
from bot.services.demo import seed_demo
from cadence.drain import drain_until_idle
from tests.fake_connector import FakeConnector
from tests.fakes_slack import TEAM_ID, FakeSlack
from tests.scenario.slack.conftest import (
    SEPSIS_CHANNEL,
    add_users,
    command,
    replies,
    serve_slack,
    settings_for,
    until,
)
from tests.scenario.slack.test_slack_scenario import click as slack_click
from tests.scenario.teams.conftest import TENANT, load_activity, serve
from tests.scenario.teams.test_teams_scenario import click as teams_click

MONDAY = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
"""Working hours in London and in UTC: DMs go out at once."""
TOM = {"id": "29:tom-bf", "name": "Tom Reyes", "aadObjectId": "aad-tom"}
TOM_CHAT = "a:tom-personal-chat"
CODE = re.compile(r"[A-Z2-9]{4}(?:-[A-Z2-9]{4}){3}")


@pytest.fixture
async def uow_factory(tmp_path: Path) -> AsyncIterator[UnitOfWorkFactory]:
    """A migrated SQLite database, as the server runs on."""
    from storage.database import Database
    from storage.migrate import upgrade

    url = f"sqlite+aiosqlite:///{tmp_path / 'partners.db'}"
    await upgrade(url)
    db = Database(url)
    yield db.uow
    await db.close()


@pytest.fixture
async def core(uow_factory: UnitOfWorkFactory) -> Core:
    """The demo organization with its Slack workspace; a partner clinic on Teams with its
    admin Tom, in an organization of its own."""
    clock = ManualClock(MONDAY)
    await seed_demo(uow_factory, clock)
    async with uow_factory() as uow:
        demo = await uow.organizations.first(order_by="id")
        assert demo is not None
        await uow.workspaces.add(
            Workspace(
                organization_id=demo.id, platform=Platform.SLACK, external_id=TEAM_ID, name="NH"
            )
        )
        clinic = await uow.organizations.add(Organization(name="Partner Clinic"))
        tenant = await uow.workspaces.add(
            Workspace(
                organization_id=clinic.id,
                platform=Platform.TEAMS,
                external_id=TENANT,
                name="Clinic",
            )
        )
        tom = await uow.people.add(
            Person(
                organization_id=clinic.id,
                handle="tom",
                name=TOM["name"],
                email="tom@clinic.example",
            )
        )
        await uow.identities.add(
            Identity(
                person_id=tom.id,
                workspace_id=tenant.id,
                platform=Platform.TEAMS,
                user_id=TOM["id"],
            )
        )
        clinic.admin_ids = [tom.id]
        await uow.organizations.save(clinic)
        await uow.commit()
    return Core(uow=uow_factory, clock=clock)


def assert_card(card: dict[str, Any]) -> None:
    """An Adaptive Card 1.5 with the ask's buttons as Action.Execute verbs (the full schema
    check is tests/scenario/teams' business)."""
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.5")
    verbs = [a.get("verb") or a["card"]["actions"][0]["verb"] for a in card["actions"]]
    assert verbs[:3] == ["ask.approve", "ask.decline", "ask.info"]


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    fake = await FakeSlack().start()
    add_users(fake)
    yield fake
    await fake.close()


@pytest.fixture
async def connector() -> AsyncIterator[FakeConnector]:
    fake = await FakeConnector().start()
    fake.members[TOM["id"]] = {**TOM, "email": "tom@clinic.example"}
    yield fake
    await fake.close()


class Both:
    """The two real adapters on one core, and the drain with both senders."""

    def __init__(self, core: Core, slack: FakeSlack, connector: FakeConnector) -> None:
        self.core, self.slack, self.connector = core, slack, connector

    async def __aenter__(self) -> Both:
        self.route, self._slack_client = await serve_slack(self.core, settings_for(self.slack))
        self._teams_client = await serve(self.core)
        adapter, _ = build_teams(self.core, TeamsSettings())
        clock = self.core.clock
        assert isinstance(clock, ManualClock)
        self._slack_sender = SlackSender(self.route.bolt)
        self.senders = {
            Platform.SLACK: self._slack_sender,
            Platform.TEAMS: TeamsSender(
                adapter,
                ref_for=uow_ref_lookup(self.core.uow),
                bot_app_id=EMULATOR_APP_ID,
                now=clock.now,
            ),
        }
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._slack_sender.close()
        await self._teams_client.close()
        await self._slack_client.close()

    async def on_slack(self, handle: str, text: str, reply_to: str) -> str:
        status, body = await self.route.command(
            command(self.slack, handle, text, reply_to=reply_to, channel=SEPSIS_CHANNEL)
        )
        assert status == 200
        if body and "One moment" not in body:  # answered in the ack itself
            answer = json.loads(body)
        else:  # answered after the ack, through response_url
            (answer,) = await until(lambda: replies(self.slack, reply_to), reply_to)
        return json.dumps(answer)  # the text and the blocks

    async def teams_post(self, activity: dict[str, Any]) -> tuple[int, Any]:
        response = await self._teams_client.post("/api/messages", json=activity)
        body = await response.json() if response.content_type == "application/json" else None
        return response.status, body

    async def on_teams(self, text: str) -> str:
        """Tom types ``text`` in his personal chat with the bot; the bot's reply there."""
        before = len(self.connector.activities())
        activity = load_activity(self.connector_name, self.connector.url, text=text)
        activity["from"] = TOM
        activity["conversation"]["id"] = TOM_CHAT
        status, _ = await self.teams_post(activity)
        assert status in (200, 201)
        (reply,) = [
            c for c in self.connector.activities()[before:] if c.conversation_id == TOM_CHAT
        ]
        return str(reply.body.get("text") or reply.cards).replace("\\", "")  # markdown escapes

    connector_name = "personal_message"

    async def drain(self) -> int:
        report = await drain_until_idle(self.core.uow, senders=self.senders, clock=self.core.clock)
        return report.sent


async def test_a_slack_organization_and_a_teams_partner_decide_each_others_asks(
    core: Core, slack: FakeSlack, connector: FakeConnector, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)  # the server's default; at DEBUG, slack_sdk logs bodies
    async with Both(core, slack, connector) as both:
        # Tom installs the app in Teams: his personal chat is remembered.
        install = load_activity("conversation_update_members_added", connector.url)
        install["from"], install["conversation"]["id"] = TOM, TOM_CHAT
        await both.teams_post(install)

        # Ana, admin on Slack, invites; Tom, the clinic's admin, joins from Teams.
        invited = await both.on_slack("ana", "org invite", "invite")
        found = CODE.search(invited)
        assert found, invited
        code = found[0]
        assert f"org join {code}" in invited
        joined = await both.on_teams(f"org join {code}")
        assert joined.startswith(
            "This Teams workspace is now part of Northfield Health (demo): 1 person came along."
        ), joined
        shown = await both.on_slack("ana", "org show", "show")
        assert "Teams Clinic" in shown and "Slack NH" in shown, shown

        # Slack → Teams: Tom is Accountable for pharmacy; Ana asks on Slack.
        await both.on_slack("ana", "project channel #SEPSIS", "home")
        said = await both.on_slack("ana", "raci set @tom A pharmacy! #SEPSIS", "raci")
        assert "Tom Reyes" in said, said
        said = await both.on_slack(
            "ana", "ask more pharmacist hours on weekends #SEPSIS area:pharmacy", "ask"
        )
        number = re.search(r"Ask #(\d+) sent to Tom Reyes", said)
        assert number, said
        ask_id = int(number[1])
        before = len(connector.activities())
        assert await both.drain() >= 2  # Tom's card on Teams, the post in Slack's #sepsis
        (card_call,) = [c for c in connector.activities()[before:] if c.conversation_id == TOM_CHAT]
        (card,) = card_call.cards
        assert_card(card)
        assert "more pharmacist hours on weekends" in str(card)
        (channel_post,) = slack.posts(SEPSIS_CHANNEL)[-1:]
        assert "more pharmacist hours" in channel_post.args["text"]

        # Tom approves on Teams: his card is updated there; the Slack post is updated in
        # place and Ana is told on Slack.
        async with core.uow() as uow:
            tom_row = await uow.outbox.first(address=TOM_CHAT, key__gte=f"ask:{ask_id}:")
        assert tom_row is not None and tom_row.platform_ref
        status, body = await both.teams_post(
            teams_click(
                connector.url,
                "ana",
                conversation={"id": TOM_CHAT, "conversationType": "personal", "tenantId": TENANT},
                card_id=tom_row.platform_ref,
                verb="ask.approve",
                value=str(ask_id),
            )
            | {"from": TOM}
        )
        assert status == 200 and "Tom Reyes" in str(body["value"])
        await both.drain()
        (update,) = [u for u in slack.of("chat.update") if u["channel"] == SEPSIS_CHANNEL]
        assert update["ts"] == channel_post.answer["ts"]
        assert "Approved" in update["text"]
        assert not [b for b in update["blocks"] if b["type"] == "actions"]
        told = slack.posts("D0ANA")
        assert told and "approved by Tom Reyes" in told[-1].args["text"], told[-1].args
        async with core.uow() as uow:
            ask = await uow.asks.get(ask_id)
        assert ask is not None and ask.state is AskState.APPROVED

        # Teams → Slack: Ana is Accountable for the rota; Tom asks on Teams.
        await both.on_slack("ana", "raci set @ana A rota! #SEPSIS", "raci-rota")
        said = await both.on_teams("ask cover the night rota in December #SEPSIS area:rota")
        number = re.search(r"Ask \\?#(\d+) sent to Ana Silva", said)
        assert number, said
        reverse_id = int(number[1])
        await both.drain()
        (dm,) = [p for p in slack.posts("D0ANA") if "night rota" in p.args["text"]]
        status, _ = await both.route.interaction(
            slack_click(slack, "ana", posted=dm.args, action_index=0, reply_to="ana-approves")
        )
        assert status == 200
        await until(lambda: replies(slack, "ana-approves"), "Ana's answer")
        before = len(connector.activities())
        await both.drain()
        dm_updates = [u for u in slack.of("chat.update") if u["channel"] == "D0ANA"]
        assert dm_updates and dm_updates[-1]["ts"] == dm.answer["ts"]
        assert "Approved" in dm_updates[-1]["text"]
        (told_tom,) = [c for c in connector.activities()[before:] if c.conversation_id == TOM_CHAT]
        assert "approved by Ana Silva" in str(told_tom.cards or told_tom.body.get("text"))
        async with core.uow() as uow:
            reverse = await uow.asks.get(reverse_id)
        assert reverse is not None and reverse.state is AskState.APPROVED
    assert caplog.records and code not in caplog.text  # logging ran; the code never reached it
