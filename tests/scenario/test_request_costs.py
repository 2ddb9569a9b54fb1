"""What one Slack request costs (issue #14 §1), through the real adapter — signed requests to the
real /slack/events route, the real core — on memory, SQLite and PostgreSQL: transactions (units
of work entered) and Slack Web API calls made before the answer.

- a known user's slash command: 1 transaction, no Web API call, answered in the ack;
- a new user's: at most 2 transactions (a read that finds the profile missing, then the write)
  and 1 ``users.info``, answered in the ack;
- a known user's button click: 1 transaction; on the App Home tab, 1 transaction too (the
  click and the tab as it then is, read in the same unit) and its one ``views.publish``;
- a known user's DM whose DM channel is remembered: 1 transaction (the answer is its one call).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import pytest

from adapters.slack import SlackSender
from bot.clock import ManualClock
from bot.dispatch import Core
from bot.model import Platform
from bot.ports import UnitOfWork, UnitOfWorkFactory
from bot.services.demo import seed_demo
from cadence.drain import drain_until_idle
from tests.fakes_slack import FakeSlack
from tests.scenario.slack.conftest import (
    SlackRoute,
    add_users,
    command,
    fixture,
    replies,
    serve_slack,
    settings_for,
    until,
)
from tests.scenario.slack.test_slack_scenario import click, home_click

MONDAY = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
ASK = "ask <@U0DANA|dana> two more nurses area:staffing #SEPSIS"


class Counted:
    """A unit-of-work factory counting the units of work entered: the transactions."""

    def __init__(self, inner: UnitOfWorkFactory) -> None:
        self.inner = inner
        self.entered = 0

    def __call__(self) -> UnitOfWork:
        self.entered += 1
        return self.inner()


class Costs:
    """Transactions and Web API calls since :meth:`start`."""

    def __init__(self, counted: Counted, fake: FakeSlack) -> None:
        self.counted, self.fake = counted, fake
        self.start()

    def start(self) -> None:
        self.transactions, self.calls = self.counted.entered, len(self.fake.calls)

    def taken(self) -> tuple[int, list[str]]:
        """(transactions, Web API methods called) since :meth:`start`."""
        called = [c.method for c in self.fake.calls[self.calls :]]
        return self.counted.entered - self.transactions, called


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    fake = await FakeSlack().start()
    yield fake
    await fake.close()


@pytest.fixture
async def counted(uow_factory: UnitOfWorkFactory) -> Counted:
    await seed_demo(uow_factory, ManualClock(MONDAY))
    return Counted(uow_factory)


@pytest.fixture
async def route(counted: Counted, slack: FakeSlack) -> AsyncIterator[tuple[SlackRoute, Core]]:
    add_users(slack)
    core = Core(uow=counted, clock=ManualClock(MONDAY))
    served, client = await serve_slack(core, settings_for(slack))
    yield served, core
    await client.close()


async def slash(
    route: SlackRoute, fake: FakeSlack, handle: str, text: str, name: str
) -> dict[str, object]:
    """A slash command's ack, which must be its answer: nothing comes through response_url."""
    status, body = await route.command(command(fake, handle, text, reply_to=name))
    assert status == 200 and body, body
    answer: dict[str, object] = json.loads(body)
    assert "Working on it" not in str(answer["text"]) and not replies(fake, name)
    return answer


async def test_a_new_users_command_is_two_transactions_one_lookup_and_answered_in_the_ack(
    route: tuple[SlackRoute, Core], counted: Counted, slack: FakeSlack
) -> None:
    served, _ = route
    costs = Costs(counted, slack)

    answer = await slash(served, slack, "ana", "status #SEPSIS", "first")

    assert "SEPSIS" in str(answer["text"])
    assert costs.taken() == (2, ["users.info"])


async def test_a_known_users_command_is_one_transaction_and_no_call(
    route: tuple[SlackRoute, Core], counted: Counted, slack: FakeSlack
) -> None:
    served, _ = route
    await slash(served, slack, "dana", "help", "dana")
    await slash(served, slack, "ana", "help", "ana")
    costs = Costs(counted, slack)

    answer = await slash(served, slack, "ana", ASK, "ask")

    assert "sent to Dana Lee" in str(answer["text"])
    assert costs.taken() == (1, [])


async def test_a_known_users_click_is_one_transaction(
    route: tuple[SlackRoute, Core],
    counted: Counted,
    slack: FakeSlack,
    slack_sender: Callable[..., SlackSender],
) -> None:
    served, core = route
    await slash(served, slack, "dana", "help", "dana")
    await slash(served, slack, "ana", ASK, "ask")
    assert served.bolt is not None
    senders = {Platform.SLACK: slack_sender(served.bolt)}
    await drain_until_idle(core.uow, senders=senders, clock=core.clock)
    (card,) = slack.posts("D0DANA")
    costs = Costs(counted, slack)

    status, _ = await served.interaction(
        click(slack, "dana", posted=card.args, action_index=0, reply_to="approve")
    )

    assert status == 200
    answers = await until(lambda: replies(slack, "approve"), "the click's answer")
    assert "Approved by Dana Lee" in json.dumps(answers)
    assert costs.taken() == (1, [])  # the answer goes through response_url, not the Web API


async def test_a_known_users_click_on_the_app_home_tab_is_one_transaction(
    route: tuple[SlackRoute, Core], counted: Counted, slack: FakeSlack
) -> None:
    served, _ = route
    answer = await slash(served, slack, "ana", ASK, "ask")
    ask_id = int(str(answer["text"]).split("Ask #", 1)[1].split(" ", 1)[0])
    await served.event(fixture("event_app_home_opened.json"))  # Dana opens her tab
    (home,) = await until(lambda: slack.of("views.publish"), "the Home tab")
    costs = Costs(counted, slack)

    status, _ = await served.interaction(
        home_click("dana", view=home["view"], label="Approve", item=ask_id)
    )

    assert status == 200
    (_, shown) = await until(
        lambda: len(slack.of("views.publish")) == 2 and slack.of("views.publish"),
        "the tab after the click",
    )
    assert f"Ask #{ask_id} · #SEPSIS — Approved" in str(shown["view"]["blocks"])
    assert costs.taken() == (1, ["views.publish"])


async def test_a_known_users_dm_with_its_channel_remembered_is_one_transaction(
    route: tuple[SlackRoute, Core], counted: Counted, slack: FakeSlack
) -> None:
    served, _ = route
    message = fixture("event_message_im.json")  # Ana, in her DM channel D0ANA
    status, _ = await served.event(message)
    assert status == 200
    await until(lambda: slack.posts("D0ANA"), "the first DM's answer")
    costs = Costs(counted, slack)

    status, _ = await served.event({**message, "event_id": "Ev0SECOND01"})

    assert status == 200
    await until(lambda: len(slack.posts("D0ANA")) == 2, "the second DM's answer")
    assert costs.taken() == (1, ["chat.postMessage"])  # the answer itself, and nothing else
