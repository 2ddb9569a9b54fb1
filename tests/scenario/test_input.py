"""Input read as meant, or refused clearly (issue 13 §3), and flows that finish (§4): each
defect tried through the core on the demo organization, asserting the sentence a user sees and
that a refusal changed nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from adapters.slack.inbound import to_plain
from bot.clock import ManualClock
from bot.dispatch import Core
from bot.messages import from_json
from bot.model import AskState
from bot.ports import UnitOfWorkFactory
from bot.services.demo import seed_demo
from cadence.announce import announce_raised
from tests.integration.test_services import run, who

MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
TUESDAY = MONDAY + timedelta(days=1)


@pytest.fixture
async def clock() -> ManualClock:
    return ManualClock(MONDAY)


@pytest.fixture
async def core(uow_factory: UnitOfWorkFactory, clock: ManualClock) -> Core:
    await seed_demo(uow_factory, clock)
    return Core(uow=uow_factory, clock=clock)


async def say(core: Core, handle: str, line: str) -> str:
    """What ``handle`` reads after typing ``line``: each reply's title and sections."""
    return (await run(core, handle, line)).strip()


async def counts(core: Core) -> tuple[int, ...]:
    """How many rows the commands below could write: a refusal leaves them all as they were."""
    async with core.uow() as uow:
        return (
            await uow.asks.count(),
            await uow.raci.count(),
            await uow.measures.count(),
            await uow.observations.count(),
            await uow.reviews.count(),
            await uow.conversation.count(),
        )


# --- dates -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phrase", "day"),
    [
        ("on mon", date(2026, 11, 23)),  # on a Tuesday: the day before, not next week
        ("on yesterday", date(2026, 11, 23)),
        ("on last mon", date(2026, 11, 23)),
        ("on last tue", date(2026, 11, 17)),
    ],
)
async def test_kpi_record_reads_past_date_phrases(
    core: Core, clock: ManualClock, phrase: str, day: date
) -> None:
    clock.set(TUESDAY)
    said = await say(core, "ana", f"kpi record Time to antibiotics 72 {phrase} #SEPSIS")
    assert said == "Recorded Time to antibiotics: 72 min (target 60, lower is better) — warn."
    async with core.uow() as uow:
        latest = await uow.observations.first(order_by="-id")
    assert latest is not None and latest.observed_on == day


@pytest.mark.parametrize(
    ("line", "refusal"),
    [
        (
            "ask fund the pilot by yesterday #SEPSIS area:staffing",
            "Sun 22 Nov 2026 is in the past. Try 2026-12-01, tomorrow, fri or next week.",
        ),
        (
            "ask fund the pilot by 12/04 #SEPSIS area:staffing",
            "I can't tell whether '12/04' is 12 Apr or 4 Dec. "
            "Try 2026-12-01, tomorrow, fri or next week.",
        ),
        (
            "ask fund the pilot by 31 feb #SEPSIS area:staffing",
            "I can't read the date '31 feb'. Try 2026-12-01, tomorrow, fri or next week.",
        ),
    ],
)
async def test_an_unreadable_deadline_is_refused_never_kept_in_the_text(
    core: Core, line: str, refusal: str
) -> None:
    before = await counts(core)
    said = await say(core, "ana", line)
    assert said.splitlines()[0] == refusal
    assert await counts(core) == before


# --- KPIs ------------------------------------------------------------------------------------


async def test_thresholds_in_the_wrong_order_for_the_direction_are_refused(core: Core) -> None:
    before = await counts(core)
    said = await say(core, "ana", "kpi add door to needle lower target:2 warn:4 alert:3 #SEPSIS")
    assert said.splitlines()[0] == (
        "When lower is better, the thresholds go target ≤ warn ≤ alert "
        "(like target:2 warn:3 alert:4). Nothing was changed."
    )
    assert await counts(core) == before
    said = await say(core, "ana", "kpi add door to needle lower target:2 warn:3 alert:4 #SEPSIS")
    assert said.startswith("KPI added to #SEPSIS: door to needle")


async def test_a_back_dated_value_never_raises_a_review_over_a_newer_one(core: Core) -> None:
    good = await say(core, "ana", "kpi record Time to antibiotics 55 #SEPSIS")
    assert good == "Recorded Time to antibiotics: 55 min (target 60, lower is better)."
    async with core.uow() as uow:
        open_reviews = await uow.reviews.count(closed_at=None)
    assert open_reviews == 0  # the good value closed the demo's review
    said = await say(core, "ana", "kpi record Time to antibiotics 99 on 2026-11-20 #SEPSIS")
    assert said == (
        "Recorded Time to antibiotics: 99 min (target 60, lower is better) — alert. "
        "It is for Fri 20 Nov; the newer value of Mon 23 Nov (55) stays the current one."
    )
    async with core.uow() as uow:
        assert await uow.reviews.count(closed_at=None) == 0
    listed = await say(core, "ana", "kpi #SEPSIS")
    assert "Time to antibiotics: 55 min (target 60, lower is better)" in listed


# --- did you mean ----------------------------------------------------------------------------


async def test_a_mistyped_project_gets_the_nearest_active_one(core: Core) -> None:
    said = await say(core, "ana", "status #SEPSS")
    assert said == "I don't know a project #SEPSS. Did you mean #SEPSIS?\n" + (
        "Active projects: #FALLS, #SEPSIS."
    )


async def test_closed_projects_are_never_offered(core: Core) -> None:
    assert await say(core, "ben", "project close #FALLS") == "#FALLS is now closed."
    said = await say(core, "ana", "status #FALS")
    assert said == "I don't know a project #FALS.\nActive projects: #SEPSIS."


async def test_a_mistyped_person_gets_the_nearest_handle(core: Core) -> None:
    before = await counts(core)
    said = await say(core, "ana", "ask @dan fund the pilot #SEPSIS")
    assert said.splitlines()[0] == "I don't know anyone called @dan. Did you mean @dana?"
    assert await counts(core) == before
    by_name = await say(core, "ana", "who @diaz")
    assert by_name.splitlines()[0] == "I don't know anyone called @diaz. Did you mean @carmen?"


async def test_cadence_suggests_only_settings_that_exist(core: Core) -> None:
    said = await say(core, "ana", "cadence hourly")
    assert said.splitlines()[0] == (
        "'hourly' is not a cadence setting. Use weekly, biweekly, daily or off, a weekday, "
        "a time like 08:30, concise or detailed."
    )
    said = await say(core, "ana", "cadence thrusday")
    assert "Did you mean thursday?" in said


# --- RACI ------------------------------------------------------------------------------------


async def test_a_new_area_asks_for_confirmation_with_bang(core: Core) -> None:
    before = await counts(core)
    said = await say(core, "ana", "raci set @carmen A staffng #SEPSIS")
    assert said == (
        "New area 'staffng' — did you mean staffing? Send it again with `!` to create it. "
        "Nothing was changed.\nraci set @carmen A staffng! #SEPSIS"
    )
    assert await counts(core) == before
    said = await say(core, "ana", "raci set @carmen A staffng! #SEPSIS")
    assert said == "Dr Carmen Diaz is now A for staffng on #SEPSIS."


async def test_raci_set_says_what_it_replaced(core: Core) -> None:
    said = await say(core, "ana", "raci set @raj A staffing #SEPSIS")
    assert said == "On #SEPSIS, Raj Patel was C for staffing; now A (replacing Dana Lee as A)."
    raci = await say(core, "ana", "raci #SEPSIS")
    assert "staffing — A: Raj Patel · I: Dr Carmen Diaz" in raci
    again = await say(core, "ana", "raci set @raj A staffing #SEPSIS")
    assert again == "Raj Patel is already A for staffing on #SEPSIS. Nothing was changed."


# --- channel mentions and invisible text -----------------------------------------------------


async def test_a_channel_mention_in_an_ask_is_text_not_a_second_project(core: Core) -> None:
    typed = to_plain("ask fund the pilot #SEPSIS as agreed in <#C9|ed-team> area:staffing")
    said = await say(core, "ana", typed)
    assert said.startswith("Ask #3 sent to Dana Lee")
    async with core.uow() as uow:
        ask = await uow.asks.get(3)
    assert ask is not None and ask.text == "fund the pilot as agreed in #ed-team"


async def test_a_linked_channel_alone_names_the_project(core: Core) -> None:
    said = await say(core, "ana", to_plain("status <#C1|sepsis>"))
    assert said.startswith("#SEPSIS — Sepsis six within the hour")


@pytest.mark.parametrize("invisible", ["\u200b", "\u200f\u202e", "\u2066\u2069", "\ufeff"])
async def test_text_of_only_invisible_characters_is_refused_like_empty(
    core: Core, invisible: str
) -> None:
    before = await counts(core)
    said = await say(core, "ana", f"ask {invisible} #SEPSIS")
    assert said.splitlines()[0] == "What do you want to ask? Say what you need decided."
    assert await counts(core) == before


# --- the answer flow -------------------------------------------------------------------------


async def test_need_info_answered_with_the_command_reaches_the_decider(core: Core) -> None:
    said = await say(core, "ana", "ask fund the pilot by 2026-12-04 #SEPSIS area:staffing")
    number = int(said.split("#", 1)[1].split()[0])
    await announce_raised(core.uow, now=core.clock.now(), link_base=core.settings.link_base)
    asked = await say(core, "dana", f"info {number} which wards would this cover?")
    assert asked == f"Ask #{number} asked for more information; the requester has your question."

    async with core.uow() as uow:
        rows = await uow.outbox.find(person_id=(await who(core, "ana")).person_id)
    note = next(from_json(r.payload) for r in rows if ":question:" in r.key)
    assert note.sections == (
        "fund the pilot",
        "Question from Dana Lee: which wards would this cover?",
        f"Answer with the button, or from anywhere: answer {number} <your answer>",
    )

    answered = await say(core, "ana", f"answer {number} the AMU and ED")
    assert answered == f"Thanks — ask #{number} is back with its decider, with your answer."
    waiting = await core.command(await who(core, "dana"), "asks")
    card = next(m for m in waiting.messages if m.title == f"Ask #{number} · #SEPSIS")
    assert card.sections == (
        "fund the pilot",
        "Question from Dana Lee: which wards would this cover?",
        "Answer from Ana Silva: the AMU and ED",
    )

    await say(core, "dana", f"approve {number} cover agreed")
    log = await say(core, "ana", "decisions #SEPSIS")
    assert "approved: fund the pilot — cover agreed" in log
    async with core.uow() as uow:
        ask = await uow.asks.get(number)
    assert ask is not None and ask.text == "fund the pilot" and ask.state is AskState.APPROVED


async def test_answer_without_a_question_is_refused(core: Core) -> None:
    before = await counts(core)
    said = await say(core, "ana", "answer 1 the AMU")
    assert said.splitlines()[0] == "Ask #1 is open; no question is waiting. Nothing was changed."
    assert await counts(core) == before
    refused = await say(core, "raj", "answer 1 the AMU")
    assert "Nothing was changed." in refused


# --- asks ------------------------------------------------------------------------------------


async def test_asks_lists_what_you_raised_with_who_holds_it_and_since_when(core: Core) -> None:
    said = await say(core, "ana", "asks")
    assert said.endswith(
        "You are waiting on\n"
        "Ask #1 · #SEPSIS: Fund the sepsis screening tool licence for AMU (£4,000 a year) — "
        "with Raj Patel since Mon 23 Nov\n"
        "Blocker #1 · #SEPSIS (high): Lab system access for the sepsis nurses blocked for two "
        "weeks — with Eve Martin (rung 1 of 2) since Mon 23 Nov"
    )


async def test_a_capped_list_says_how_to_see_everything(core: Core) -> None:
    for n in range(12):
        await say(core, "ana", f"ask cover shift {n} #SEPSIS area:staffing")
    capped = await core.command(await who(core, "dana"), "asks")
    assert [m.title for m in capped.messages].count("") == 1
    assert capped.messages[-1].sections == ("… 3 more — type `asks all` to see everything.",)
    assert len(capped.messages) == 11
    everything = await core.command(await who(core, "dana"), "asks all")
    assert len(everything.messages) == 13


async def test_a_capped_decision_log_says_where_the_rest_is(core: Core) -> None:
    for n in range(17):
        said = await say(core, "ana", f"ask cover shift {n} #SEPSIS area:staffing")
        number = int(said.split("#", 1)[1].split()[0])
        await say(core, "dana", f"approve {number}")
    log = await say(core, "ana", "decisions #SEPSIS")
    assert log.count("· Dana Lee · approved: cover shift") == 15
    assert log.endswith("… 2 older — type `dashboard` for the dashboard, which has them all")
