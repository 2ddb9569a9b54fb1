"""Golden digests (issue 13): every demo person's digest, concise and detailed, after a week with
an approved ask, a withdrawn blocker and a new ask its decider asked about — as the console
prints it (the text form, under ``tests/golden/digests/``), as Slack Block Kit within Slack's
limits, and as a Teams Adaptive Card valid against the 1.5 schema.

A golden that differs fails with both texts; after a deliberate change, regenerate them with
``LEADERBOT_UPDATE_GOLDENS=1 pytest tests/scenario/test_golden_digests.py`` and read the diff.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from jsonschema import Draft6Validator

from adapters.console.render import render as console_render
from adapters.slack.render import (
    BUTTON_TEXT,
    ELEMENTS_PER_ACTIONS,
    HEADER_TEXT,
    MAX_BLOCKS,
    SECTION_TEXT,
)
from adapters.slack.render import render as block_kit
from adapters.teams.render import render_card
from bot.clock import ManualClock
from bot.digest import (
    FYI,
    MAX_CONCISE_LINES,
    NEEDS_YOU,
    SINCE_LAST,
    WAITING_FOR,
    YOUR_PROJECTS,
    DigestResult,
    compose_digest,
    count_lines,
)
from bot.dispatch import Core
from bot.messages import Message, unquote
from bot.model import Detail, Platform
from bot.services.demo import PEOPLE, seed_demo
from bot.services.digests import load_digest_inputs
from tests.fakes import make_memory_uow_factory

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "golden" / "digests"
CARD_SCHEMA = REPO / ".." / "shared" / "fixtures" / "teams" / "adaptive-card-1.5.schema.json"
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
READ_AT = MONDAY + timedelta(days=1)
HANDLES = [handle for handle, _, _ in PEOPLE]
ORDER = [NEEDS_YOU, WAITING_FOR, SINCE_LAST, YOUR_PROJECTS, FYI]
Week = tuple[dict[str, dict[Detail, DigestResult]], dict[str, int], dict[str, int]]
"""Each person's digests by mode, people's ids by handle, the week's item ids by role."""


async def _week() -> tuple[Core, dict[str, int], dict[str, int]]:
    """The demo, then a week: Dana approves the FALLS ask, Ben raises and withdraws a blocker,
    Ana asks Dana for staffing, Dana asks which nights and Ana answers. Returns the core,
    people's ids and the items' ids."""
    clock = ManualClock(MONDAY)
    core = Core(uow=make_memory_uow_factory(), clock=clock)
    await seed_demo(core.uow, clock)
    ids = {}
    for handle in HANDLES:
        caller = await core.caller_for_handle(handle, platform=Platform.CONSOLE)
        assert caller is not None
        ids[handle] = caller.person_id

    async def say(handle: str, line: str) -> str:
        caller = await core.caller_for_handle(handle, platform=Platform.CONSOLE)
        assert caller is not None
        reply = await core.command(caller, line)
        return "\n".join(s for m in reply.messages for s in (m.title, *m.sections))

    def number(said: str) -> int:
        found = re.search(r"#(\d+)", said)
        assert found, said
        return int(found[1])

    clock.advance(timedelta(hours=2))
    async with core.uow() as uow:
        (falls_ask,) = await uow.asks.find(area="staffing")
    assert "approved" in await say("dana", f"approve {falls_ask.id} Two HCAs from the bank")
    clock.advance(timedelta(hours=1))
    withdrawn = number(await say("ben", "blocker Bay-watch rota gap #FALLS severity:low"))
    assert "withdrawn" in await say("ben", f"withdraw blocker {withdrawn}")
    clock.advance(timedelta(hours=1))
    new_ask = number(
        await say("ana", "ask Cover two night shifts on AMU by 2026-12-04 #SEPSIS area:staffing")
    )
    clock.advance(timedelta(hours=1))
    assert "more information" in await say("dana", f"info {new_ask} Which nights, this week?")
    assert "back with its decider" in await say("ana", f"answer {new_ask} Fri and Sat")
    return core, ids, {"approved": falls_ask.id, "withdrawn": withdrawn, "new": new_ask}


@pytest.fixture(scope="module")
def week() -> Week:
    """Each demo person's digest as it would go out on Tuesday, in both modes."""

    async def build() -> Week:
        core, people, items = await _week()
        async with core.uow() as uow:
            inputs = await load_digest_inputs(
                uow,
                leader_ids=list(people.values()),
                now=READ_AT,
                link_base="https://leaderbot.example",
            )
        by_id = {data.leader.id: data for data in inputs}
        digests = {
            handle: {
                detail: compose_digest(replace(by_id[pid], detail=detail))
                for detail in (Detail.CONCISE, Detail.DETAILED)
            }
            for handle, pid in people.items()
        }
        return digests, people, items

    return asyncio.run(build())


def text_form(message: Message) -> str:
    return console_render(message, first_choice=1)[0] + "\n"


CASES = [(handle, detail) for handle in HANDLES for detail in (Detail.CONCISE, Detail.DETAILED)]


@pytest.mark.parametrize(("handle", "detail"), CASES)
def test_the_digest_matches_its_golden(week: Week, handle: str, detail: Detail) -> None:
    digests, _, _ = week
    got = text_form(digests[handle][detail].message)
    path = GOLDEN / f"{handle}-{detail.value}.txt"
    if os.environ.get("LEADERBOT_UPDATE_GOLDENS"):
        path.write_text(got)
    assert got == path.read_text()


@pytest.mark.parametrize(("handle", "detail"), CASES)
def test_sections_in_order_concise_within_twelve_lines_no_closed_item(
    week: Week, handle: str, detail: Detail
) -> None:
    digests, _, items = week
    message = digests[handle][detail].message
    headings = [s.split("\n")[0] for s in message.sections if s.split("\n")[0] in ORDER]
    assert headings == sorted(headings, key=ORDER.index)
    if detail is Detail.CONCISE:
        assert count_lines(message) <= MAX_CONCISE_LINES
    body = "\n".join(message.sections)
    assert f"Blocker #{items['withdrawn']} " not in body  # a withdrawn blocker: nowhere
    for section in message.sections:
        if f"Ask #{items['approved']} " in section:  # an approved ask: only as the decision
            assert section.startswith(SINCE_LAST), section
            assert f"Ask #{items['approved']} on FALLS approved by Dana Lee, Mon 23 Nov" in section


def test_the_sponsors_high_blocker_comes_first(week: Week) -> None:
    digests, _, _ = week
    carmen = digests["carmen"][Detail.CONCISE].message.sections[0].split("\n")
    assert carmen[0] == NEEDS_YOU
    assert carmen[1].startswith("- Blocker #1 on SEPSIS (new, high) — reported by Ana Silva")
    assert "with Eve Martin since Mon 23 Nov, you sponsor SEPSIS" in carmen[1]


def test_the_leads_digest_is_their_own(week: Week) -> None:
    digests, _, items = week
    ana = digests["ana"][Detail.CONCISE].message
    assert "Nothing needs you" not in "\n".join(ana.sections)
    waiting = next(s for s in ana.sections if s.startswith(WAITING_FOR)).split("\n")
    assert [line for line in waiting if line.startswith("- ")] == [
        "- Ask #1 on SEPSIS — with Raj Patel since Mon 23 Nov, needed by Thu 03 Dec",
        "- Blocker #1 on SEPSIS (high) — with Eve Martin (rung 1 of 2) since Mon 23 Nov",
        f"- Ask #{items['new']} on SEPSIS — with Dana Lee since Mon 23 Nov, needed by Fri 04 Dec",
    ]
    projects = next(s for s in ana.sections if s.startswith(YOUR_PROJECTS))
    assert "- SEPSIS · amber · update of week 48 by Ana Silva" in projects
    ben = "\n".join(digests["ben"][Detail.CONCISE].message.sections)
    assert f"- Ask #{items['approved']} on FALLS approved by Dana Lee, Mon 23 Nov" in ben


def test_an_asks_conversation_is_quoted_under_it(week: Week) -> None:
    digests, _, items = week

    def lines_of(detail: Detail) -> list[str]:
        needs = digests["dana"][detail].message.sections[0].split("\n")
        assert needs[0] == NEEDS_YOU and needs[1].startswith(f"- Ask #{items['new']} on SEPSIS")
        return [unquote(line)[1] for line in needs[2:] if unquote(line)[0]]

    # Concise: where the ask stands, its latest turn; detailed: every turn, oldest first.
    assert lines_of(Detail.CONCISE) == [
        "Cover two night shifts on AMU",
        "Answer from Ana Silva: Fri and Sat",
    ]
    assert lines_of(Detail.DETAILED) == [
        "Cover two night shifts on AMU",
        "Question from Dana Lee: Which nights, this week?",
        "Answer from Ana Silva: Fri and Sat",
    ]


@pytest.mark.parametrize(("handle", "detail"), CASES)
def test_block_kit_within_slacks_limits(week: Week, handle: str, detail: Detail) -> None:
    digests, _, _ = week
    blocks = block_kit(digests[handle][detail].message)  # slack_sdk validates each block
    assert len(blocks) <= MAX_BLOCKS
    for block in blocks:
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= HEADER_TEXT
        if block["type"] == "section" and "text" in block:
            assert len(block["text"]["text"]) <= SECTION_TEXT
        if block["type"] == "actions":
            assert len(block["elements"]) <= ELEMENTS_PER_ACTIONS
            assert all(len(e["text"]["text"]) <= BUTTON_TEXT for e in block["elements"])
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section" and "text" in b]
    quotes = [text for text in sections if "\n> " in text]
    assert quotes, "people's words are mrkdwn quotes"


@pytest.mark.parametrize(("handle", "detail"), CASES)
def test_adaptive_card_is_valid(week: Week, handle: str, detail: Detail) -> None:
    digests, _, _ = week
    validator = Draft6Validator(json.loads(CARD_SCHEMA.read_text()))
    card = render_card(digests[handle][detail].message)
    errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(card)]
    assert not errors
    texts = [b.get("text", "") for b in card["body"]]
    assert any("\n> " in t for t in texts), "people's words are quoted"
