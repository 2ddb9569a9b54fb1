"""The permission table through Core on every backend, with the demo organization (ana: admin
and lead of SEPSIS; carmen: SEPSIS sponsor; ben: FALLS lead; dana: FALLS sponsor, A for
staffing). Allowed: the effect happens. Refused: the exact sentence, and nothing changed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adapters.web.rows import load_decisions
from bot.clock import ManualClock
from bot.dispatch import Core
from bot.model import AskState, BlockerState
from bot.ports import UnitOfWorkFactory
from bot.services.demo import seed_demo
from cadence.announce import announce_raised
from tests.integration.test_services import run, who

MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
STEWARD_REFUSAL = "Only the lead or sponsor of #FALLS, or an admin, can {} Nothing was changed."


@pytest.fixture
async def core(uow_factory: UnitOfWorkFactory) -> Core:
    clock = ManualClock(MONDAY)
    await seed_demo(uow_factory, clock)
    return Core(uow=uow_factory, clock=clock)


async def snapshot(core: Core) -> tuple[object, ...]:
    """Everything a refused command might have touched."""
    async with core.uow() as uow:
        return (
            [vars(p) for p in await uow.projects.find(order_by="id")],
            [vars(s) for s in await uow.stakeholders.find(order_by="id")],
            [vars(e) for e in await uow.raci.find(order_by="id")],
            [vars(a) for a in await uow.asks.find(order_by="id")],
            [vars(b) for b in await uow.blockers.find(order_by="id")],
            [vars(u) for u in await uow.updates.find(order_by="id")],
            await uow.measures.count(),
            await uow.observations.count(),
            await uow.decisions.count(),
            await uow.audit.count(),
            await uow.outbox.count(),
        )


STEWARD_COMMANDS = [
    ("project charter #FALLS aim fewer falls", "change its charter."),
    ("raci set @eve C it #FALLS", "change its RACI."),
    ("kpi add Harm rate #FALLS", "add or record its KPIs."),
    ("role @eve member #FALLS", "change its roles."),
    ("project pause #FALLS", "pause, resume or close it."),
    ("handover @carmen @eve #FALLS", "hand over its roles."),
]


@pytest.mark.parametrize(("line", "verb"), STEWARD_COMMANDS)
@pytest.mark.parametrize(
    ("handle", "allowed"),
    [("ben", True), ("dana", True), ("ana", True), ("carmen", False), ("raj", False)],
    ids=["lead", "sponsor", "admin", "champion", "no-role"],
)
async def test_set_up_is_for_lead_sponsor_admin(
    core: Core, line: str, verb: str, handle: str, allowed: bool
) -> None:
    before = await snapshot(core)
    said = await run(core, handle, line)
    if allowed:
        assert "Only" not in said and await snapshot(core) != before
    else:
        assert said.strip() == STEWARD_REFUSAL.format(verb)
        assert await snapshot(core) == before


@pytest.mark.parametrize(
    ("handle", "allowed"),
    [("ben", True), ("dana", True), ("ana", True), ("eve", True), ("carmen", False)],
    ids=["lead", "sponsor", "admin", "R-for-*", "champion"],
)
async def test_weekly_update(core: Core, handle: str, allowed: bool) -> None:
    await run(core, "ben", "raci set @eve R * #FALLS")
    before = await snapshot(core)
    said = await run(core, handle, "update #FALLS wards 3 and 4 live")
    if allowed:
        assert "Update for #FALLS (2026-W48, green) posted." in said
        assert "This replaces" in said
    else:
        assert said.strip() == (
            "Only the lead, the R for * or the sponsor of #FALLS, or an admin, can post its "
            "weekly update. Nothing was changed."
        )
        assert await snapshot(core) == before


async def test_a_second_update_in_the_week_replaces_the_first_and_says_whose(core: Core) -> None:
    said = await run(core, "carmen", "update #SEPSIS red: AMU slipped")
    assert "This replaces Ana Silva's update for 2026-W48." in said
    said = await run(core, "carmen", "update #SEPSIS AMU back on track")
    assert "This replaces your earlier update for 2026-W48." in said
    async with core.uow() as uow:
        sepsis = await uow.projects.first(key="SEPSIS")
        assert sepsis is not None
        (update,) = await uow.updates.find(project_id=sepsis.id, period="2026-W48")
    assert update.progress == "AMU back on track"


@pytest.mark.parametrize("verb", ["ack", "resolve"])
@pytest.mark.parametrize(
    ("handle", "allowed"),
    [
        ("eve", True),
        ("raj", True),
        ("ana", True),
        ("carmen", True),
        ("dana", False),
        ("ben", False),
    ],
    ids=["rung-holder", "reporter", "lead-admin", "sponsor", "champion", "outsider"],
)
async def test_blocker_ack_and_resolve_are_open_to_the_same_people(
    core: Core, verb: str, handle: str, allowed: bool
) -> None:
    said = await run(core, "raj", "blocker no lab access #SEPSIS area:it severity:high")
    number = int(said.split("#", 1)[1].split()[0])
    before = await snapshot(core)
    said = await run(core, handle, f"{verb} {number} done")
    async with core.uow() as uow:
        blocker = await uow.blockers.get(number)
    assert blocker is not None
    if allowed:
        expected = BlockerState.ACKNOWLEDGED if verb == "ack" else BlockerState.RESOLVED
        assert blocker.state is expected
    else:
        action = "acknowledge" if verb == "ack" else "resolve"
        assert said.strip() == (
            f"Only Eve Martin (whose rung it is), Raj Patel (who raised it), the lead or sponsor "
            f"of #SEPSIS, or an admin, can {action} blocker #{number}. Nothing was changed."
        )
        assert await snapshot(core) == before


async def new_ask(core: Core, handle: str, line: str) -> tuple[int, str]:
    said = await run(core, handle, line)
    await announce_raised(core.uow, now=core.clock.now(), link_base="")
    return int(said.split("#", 1)[1].split()[0]), said


@pytest.mark.parametrize(
    ("handle", "allowed"),
    [("dana", True), ("ben", True), ("carmen", False), ("raj", False)],
    ids=["decider", "delegate", "sponsor-admin-not", "consulted"],
)
async def test_deciding_an_ask(core: Core, handle: str, allowed: bool) -> None:
    await run(core, "dana", "delegate @ben until 2026-11-27")
    number, _ = await new_ask(core, "ana", "ask two more nurses #SEPSIS area:staffing")
    before = await snapshot(core)
    said = await run(core, handle, f"approve {number}")
    if allowed:
        assert f"Ask #{number} approved" in said
    else:
        assert said.strip() == (
            f"Only Dana Lee or their active delegate can decide ask #{number}. Nothing was changed."
        )
        assert await snapshot(core) == before


async def test_asking_yourself_is_refused(core: Core) -> None:
    before = await snapshot(core)
    said = await run(core, "ana", "ask @ana approve my own leave #SEPSIS")
    assert "You can't ask yourself: nobody decides their own ask. Nothing was changed." in said
    assert await snapshot(core) == before


async def test_an_ask_whose_accountable_is_its_requester_goes_to_the_sponsor(core: Core) -> None:
    number, said = await new_ask(core, "dana", "ask two more nurses #SEPSIS area:staffing")
    assert f"Ask #{number} sent to Dr Carmen Diaz — sponsor of SEPSIS: Dana Lee, who asks" in said
    assert "nobody decides their own ask: Dr Carmen Diaz" in await run(
        core, "dana", f"approve {number}"
    )
    before = await snapshot(core)
    said = await run(core, "carmen", "ask a new screening tool #SEPSIS")  # A for * and sponsor
    assert "nobody decides their own ask; #SEPSIS has no other sponsor" in said
    assert await snapshot(core) == before


async def test_a_requester_who_is_its_decider_cannot_approve(core: Core) -> None:
    """After a handover moves an ask to its own requester, the table still refuses."""
    number, _ = await new_ask(core, "ana", "ask two more nurses #SEPSIS area:staffing")
    await run(core, "ana", "handover @dana @ana #SEPSIS")
    before = await snapshot(core)
    said = await run(core, "ana", f"approve {number}")
    assert f"You raised ask #{number}, and nobody decides their own ask" in said
    assert await snapshot(core) == before


async def test_a_delegates_decision_is_signed_for_the_decider(core: Core) -> None:
    await run(core, "dana", "delegate @ben until 2026-11-27")
    number, _ = await new_ask(core, "ana", "ask two more nurses #SEPSIS area:staffing")
    reply = await core.command(await who(core, "ben"), f"approve {number}")
    assert reply.replacement is not None
    assert reply.replacement.footer.startswith("Approved by Ben Okafor for Dana Lee on")
    assert "Ben Okafor for Dana Lee · approved" in await run(core, "ana", "decisions #SEPSIS")
    async with core.uow() as uow:
        (decision,) = await uow.decisions.find(subject_kind="ask")
        ask = await uow.asks.get(number)
        organization = await uow.organizations.first()
        assert organization is not None
        rows = await load_decisions(uow, organization_id=organization.id)
        told = await uow.outbox.first(key__gte=f"ask:{number}:told", key__lt=f"ask:{number}:tp")
    assert ask is not None and ask.state is AskState.APPROVED
    assert decision.on_behalf_of_id == (await who(core, "dana")).person_id
    assert rows[0].decided_by == "Ben Okafor for Dana Lee"
    assert told is not None and "approved by Ben Okafor for Dana Lee" in told.payload


async def test_handover_with_nothing_to_move(core: Core) -> None:
    before = await snapshot(core)
    refused = await run(core, "raj", "handover @ana @eve #FALLS")
    assert refused.strip() == STEWARD_REFUSAL.format("hand over its roles.")
    said = await run(core, "ben", "handover @ana @eve #FALLS")
    assert said.strip() == (
        "Nothing to hand over: Ana Silva has no roles, RACI letters, open asks or blocker rungs "
        "on #FALLS. Nothing was changed."
    )
    assert await snapshot(core) == before  # no briefing either


async def test_the_sole_sponsor_stays_until_another_is_named(core: Core) -> None:
    before = await snapshot(core)
    said = await run(core, "ana", "role @carmen champion #SEPSIS")
    assert said.strip() == (
        "Dr Carmen Diaz is the only sponsor of #SEPSIS, which is active. Name another sponsor "
        "first: role @person sponsor #SEPSIS. Nothing was changed."
    )
    assert await snapshot(core) == before
    assert "replacing Dr Carmen Diaz" in await run(core, "ana", "role @eve sponsor #SEPSIS")
    assert "now champion" in await run(core, "ana", "role @carmen champion #SEPSIS")


async def test_a_project_without_a_sponsor_says_so_and_resumes_once_one_is_named(
    core: Core,
) -> None:
    await run(core, "ben", "project new STROKE Stroke pathway")
    note = "No sponsor yet: name one with role @person sponsor #STROKE"
    assert note in await run(core, "ben", "status #STROKE")
    assert note in await run(core, "ben", "project show #STROKE")
    assert "now paused" in await run(core, "ben", "project pause #STROKE")
    said = await run(core, "ben", "project resume #STROKE")
    assert "needs exactly one sponsor to be active" in said and "Nothing was changed." in said
    await run(core, "ben", "role @dana sponsor #STROKE")
    assert "now active" in await run(core, "ben", "project resume #STROKE")
    assert note not in await run(core, "ben", "status #STROKE")


REQUESTER_ONLY = [
    ("withdraw ask {n}", "withdraw ask #{n}.", "withdrawn"),
    ("answer {n} AMU and ED", "answer the question on ask #{n}.", "answer"),
    ("withdraw blocker {b}", "withdraw blocker #{b}.", "withdrawn"),
]


@pytest.mark.parametrize(("line", "doing", "done"), REQUESTER_ONLY)
@pytest.mark.parametrize(
    ("handle", "allowed"),
    [("raj", True), ("dana", False), ("ana", False), ("carmen", False), ("eve", False)],
    ids=["requester", "decider", "lead-admin", "sponsor", "rung-holder"],
)
async def test_only_the_requester_withdraws_or_answers(
    core: Core, line: str, doing: str, done: str, handle: str, allowed: bool
) -> None:
    number, _ = await new_ask(core, "raj", "ask two more nurses #SEPSIS area:staffing")
    await run(core, "dana", f"info {number} which wards?")
    said = await run(core, "raj", "blocker no lab access #SEPSIS area:it severity:high")
    blocker = int(said.split("#", 1)[1].split()[0])
    before = await snapshot(core)
    said = await run(core, handle, line.format(n=number, b=blocker))
    if allowed:
        assert done in said.lower() and "Only" not in said, said
        assert await snapshot(core) != before
    else:
        assert said.strip() == (
            f"Only Raj Patel, who raised it, can {doing.format(n=number, b=blocker)} "
            "Nothing was changed."
        )
        assert await snapshot(core) == before
