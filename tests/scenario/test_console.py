"""The foundation's acceptance, tried as a new user would: through the console adapter, on the
demo organization (SEPSIS lead ana, staffing Accountable dana, sponsor carmen, …)."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

import pytest

from adapters.console import run_console
from bot.clock import ManualClock
from bot.dispatch import Core
from bot.model import AskState
from bot.ports import UnitOfWorkFactory
from bot.services.demo import seed_demo

MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
ASK = "ask approve 0.5 FTE for the pilot by 2026-12-04 #SEPSIS area:staffing"


@pytest.fixture
async def core(uow_factory: UnitOfWorkFactory) -> Core:
    clock = ManualClock(MONDAY)
    await seed_demo(uow_factory, clock)
    return Core(uow=uow_factory, clock=clock)


async def say(core: Core, handle: str, *lines: str) -> str:
    """Type ``lines`` into a console session as ``handle``; everything it printed."""
    out = io.StringIO()
    await run_console(core, handle, io.StringIO("\n".join(lines) + "\n"), out)
    return out.getvalue()


def ask_id(output: str) -> int:
    found = re.search(r"Ask #(\d+) sent to", output)
    assert found, output
    return int(found.group(1))


async def asks_in(core: Core) -> list[tuple[int, AskState, str]]:
    async with core.uow() as uow:
        return [(a.id, a.state, a.rationale) for a in await uow.asks.find(order_by="id")]


async def test_ask_says_who_and_why(core: Core) -> None:
    output = await say(core, "ana", ASK)
    assert "sent to Dana Lee — Accountable for staffing on SEPSIS per RACI" in output
    assert "Needed by Fri 04 Dec 2026" in output


async def test_only_the_accountable_decides_and_the_decision_is_logged(core: Core) -> None:
    number = ask_id(await say(core, "ana", ASK))
    before = await asks_in(core)

    refused = await say(core, "raj", f"approve {number} looks fine to me")
    assert "Only Dana Lee or their active delegate can decide" in refused
    assert await asks_in(core) == before

    approved = await say(core, "dana", f"approve {number} Cover agreed with the ward manager")
    assert f"Ask #{number} approved" in approved
    assert (number, AskState.APPROVED, "Cover agreed with the ward manager") in await asks_in(core)

    log = await say(core, "ana", "decisions #SEPSIS")
    assert "Dana Lee · approved: approve 0.5 FTE for the pilot" in log
    assert "Cover agreed with the ward manager" in log
    assert f"Your ask #{number} · #SEPSIS was approved by Dana Lee" in log


def choice(output: str, ask: int, label: str) -> int:
    """The number the console gave ``label`` on the card of ask #``ask``."""
    card = output[output.index(f"Ask #{ask} ·") :]
    found = re.search(rf"\[(\d+)\] {label}", card)
    assert found, output
    return int(found.group(1))


async def test_buttons_are_numbered_choices(core: Core) -> None:
    number = ask_id(await say(core, "ana", ASK))
    listing = await say(core, "dana", "asks")
    decline = choice(listing, number, "Decline <why>")
    assert choice(listing, number, "Approve") == decline - 1
    output = await say(core, "dana", "asks", str(decline))
    assert "Add your text after the number" in output
    output = await say(core, "dana", "asks", f"{decline} No budget for cover this quarter")
    assert (number, AskState.DECLINED, "No budget for cover this quarter") in await asks_in(core)
    assert "declined" in output.lower()


async def test_double_decision_is_refused(core: Core) -> None:
    number = ask_id(await say(core, "ana", ASK))
    await say(core, "dana", f"approve {number}")
    again = await say(core, "dana", f"decline {number} changed my mind")
    assert f"Ask #{number} was already approved by Dana Lee" in again
    assert (await asks_in(core))[-1][1] is AskState.APPROVED


async def test_blocker_answers_with_ladder_and_first_deadline(core: Core) -> None:
    output = await say(
        core,
        "ana",
        "blocker Pharmacy cannot stock the new antibiotic #SEPSIS area:budget severity:high",
    )
    assert (
        "Ladder: Raj Patel (Accountable) → Dr Carmen Diaz (sponsor) → Eve Martin (executive)"
        in output
    )
    # High: one business day later, in the Accountable's (Raj, Asia/Kolkata) time.
    assert "Raj Patel has until Tue 24 Nov 15:30" in output


async def test_sponsor_digest_contains_the_pending_ask(core: Core) -> None:
    await say(core, "ana", ASK)
    digest = await say(core, "dana", "digest")
    assert "approve 0.5 FTE for the pilot" in digest
    assert "Approve #" in digest


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("ask fund it #NOPE", "I don't know a project #NOPE."),
        ("ask @nobody fund it #SEPSIS", "I don't know anyone called @nobody."),
        ("ask fund it by frebruary 30 #SEPSIS", "I can't read the date"),
        ("ask", "ask"),
        ("ask fund it #FALLS area:parking", None),
        ("ask " + "x" * 10_000 + " #SEPSIS", "10,000 characters"),
        ("frobnicate the widgets", "command"),
    ],
)
async def test_malformed_commands_get_a_clear_reply_and_change_nothing(
    core: Core, line: str, expected: str | None
) -> None:
    async with core.uow() as uow:
        before = (await uow.asks.count(), await uow.audit.count(), await uow.outbox.count())
    output = await say(core, "ana", line)
    assert "Traceback" not in output and "Sorry" not in output
    if expected:
        assert expected in output
    async with core.uow() as uow:
        after = (await uow.asks.count(), await uow.audit.count(), await uow.outbox.count())
    if line.startswith("ask fund it #FALLS area:parking"):
        # FALLS has a default (*) Accountable, so an unknown area routes to them.
        assert "Accountable by default" in output
        return
    assert after == before


async def test_unknown_area_without_default_accountable_is_refused(core: Core) -> None:
    await say(core, "ana", "raci set @carmen I * #SEPSIS")
    output = await say(core, "ana", "ask fund it #SEPSIS area:parking")
    assert "#SEPSIS has no area 'parking' in its RACI and no default (*) Accountable." in output
    assert "Areas: budget, it, staffing" in output


async def test_switching_identity(core: Core) -> None:
    output = await say(core, "ana", "/as dana", "asks", "/as nobody")
    assert "You are now @dana." in output
    assert "Release two healthcare assistants" in output
    assert "I don't know anyone called @nobody." in output


async def test_transcript_shows_what_is_addressed_to_you_once(core: Core) -> None:
    """The README's session: each person sees the messages addressed to them; the project
    channels' posts only with ``/channels on``; an approval prints one line, not three cards."""
    number = ask_id(await say(core, "ana", ASK))
    listing = await say(core, "dana", "asks")
    approve = choice(listing, number, "Approve")
    session = await say(core, "dana", "asks", f"{approve} Cover agreed with the ward manager")
    assert session.startswith(listing)
    clicked = session.removeprefix(listing)
    assert clicked.splitlines() == [
        f"Ask #{number} · #SEPSIS — Approved by Dana Lee on Mon 23 Nov 2026 05:00 EST"
    ]
    assert "[in #" not in listing + clicked

    typed = await say(core, "ana", ASK.replace("0.5 FTE", "a second nurse"))
    assert f"[to you] Your ask #{number} · #SEPSIS was approved by Dana Lee" in typed
    second = ask_id(typed)
    decided = await say(core, "dana", f"approve {second}")
    assert decided.count(f"Ask #{second}") == 1  # her card's update is that same outcome
    assert f"Ask #{second} approved" in decided

    told = await say(core, "ana", "status #SEPSIS")
    assert f"[to you] Your ask #{second} · #SEPSIS was approved by Dana Lee" in told
    assert "[in #" not in typed + told
    channels = await say(core, "ana", "/channels on")
    assert "[in #sepsis] Update · #SEPSIS" in channels
    assert f"[in #sepsis] Ask #{number} · #SEPSIS — Approved by Dana Lee" in channels
    assert "[in #" not in await say(core, "ana", "/channels off", "status #SEPSIS")
