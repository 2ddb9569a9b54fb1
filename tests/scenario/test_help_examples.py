"""Every example ``help`` shows works: run through the core against a fresh demo organization,
by the demo person it is meant for, on any day of the week and at any hour of the demo's time
zones, each succeeds — no usage error, no refusal. And ``help`` tells the truth about who may
run it: someone in the organization with no role gets exactly the refusal of the permission
its declaration names, or, for a command anyone may run, the same success."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import ManualClock
from bot.context import Caller, Reply
from bot.declarations import DECLARATIONS, Syntax
from bot.dispatch import Core
from bot.grammar import HELP, help_for
from bot.messages import Message
from bot.model import Person, Platform
from bot.ports import UnitOfWorkFactory
from bot.services.demo import DEMO_NAME, MATRIX, PEOPLE, ROLES, seed_demo
from tests.fakes import make_memory_uow_factory
from tests.integration.test_org_setup import code_in, partner
from tests.integration.test_services import who

SYNTAX = [syntax for declaration in DECLARATIONS for syntax in declaration.syntax]
EXAMPLES = {syntax.example: syntax for syntax in SYNTAX}
TUESDAY = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
"""The day the issue found ``kpi record … on mon`` refused as "in the future"."""
MOMENTS = {
    f"{day:%a}-{day:%H}h": day
    for monday in (datetime(2026, 11, 23, tzinfo=UTC),)
    for offset in range(7)
    for hour in (1, 20)  # New York is still on the day before; Kolkata already on the next
    if (day := monday + timedelta(days=offset, hours=hour))
}
ACTORS = {
    "approve": "raj",  # the Accountable for #SEPSIS budget, who decides demo ask 1
    "decline": "raj",
    "info": "raj",
    "ack": "eve",  # the first rung of demo blocker 1 (#SEPSIS it)
    "resolve": "eve",
    "delegate": "dana",
}
"""Who runs an example, by the command's name; everyone else's is run by ana (the SEPSIS lead
and the demo's admin)."""
BEFORE = {"answer": ("raj", "info 1 which wards would this cover?")}
"""What has to happen first, by the command's name."""
NOBODY = "zed"
"""A person of the demo organization with no role, letter or item anywhere."""

DEMO_HANDLES = {handle for handle, _, _ in PEOPLE}
DEMO_KEYS = {key for key, *_ in (*ROLES, *MATRIX)}


async def _demo(uow_factory: UnitOfWorkFactory, at: datetime) -> Core:
    clock = ManualClock(at)
    await seed_demo(uow_factory, clock)
    async with uow_factory() as uow:
        organization = await uow.organizations.first(name=DEMO_NAME)
        assert organization is not None
        await uow.people.add(
            Person(organization_id=organization.id, handle=NOBODY, name="Zed Nobody")
        )
        await uow.commit()
    return Core(uow=uow_factory, clock=clock)


def _read(messages: tuple[Message, ...]) -> str:
    return "\n".join("\n".join((m.title, *m.sections)) for m in messages)


async def _run(core: Core, syntax: Syntax, *, by: str | None = None) -> Reply:
    """The example run as the user would type it: by ``by``, else the person it is meant for,
    after what it needs to have happened, where it needs to be typed."""
    name = syntax.names[0]
    caller = await who(core, by or ACTORS.get(name, "ana"))
    if name in BEFORE:
        handle, line = BEFORE[name]
        assert (await core.command(await who(core, handle), line)).ok
    example = syntax.example
    if name == "org join":  # typed in a partner's workspace, with a real code
        code = code_in(_read((await core.command(await who(core, "ana"), "org invite")).messages))
        admin, member = await partner(core)
        caller = admin if by is None else member
        example = re.sub(r"[A-Z0-9]{4}(-[A-Z0-9]{4}){3}", code, example)
    if name == "project channel":  # typed in the channel that becomes the home
        caller = await _in_channel(core, caller, "#sepsis-team")
    return await core.command(caller, example)


async def _in_channel(core: Core, caller: Caller, channel: str) -> Caller:
    workspace = await core.configured_workspace(platform=Platform.CONSOLE, external_id="console")
    return replace(caller, workspace_id=workspace.id, channel_id=channel)


def _succeeded(reply: Reply) -> None:
    said = _read(reply.messages)
    assert reply.ok, said
    assert "Nothing was changed" not in said, said


def test_help_shows_every_declared_command_with_its_example() -> None:
    assert HELP.splitlines() == [f"{s.usage} — {s.summary}" for s in SYNTAX]
    for syntax in SYNTAX:
        for name in syntax.names:
            assert f"{syntax.usage}\n{syntax.summary}." in help_for(name)
            assert f"\nExample: {syntax.example}" in help_for(name)
    assert len(EXAMPLES) == len(SYNTAX)  # no two commands share an example


def test_help_says_who_may_run_a_command() -> None:
    assert "Who may: decider or active delegate (never the requester)." in help_for("approve")
    assert "Who may: lead, sponsor or admin." in help_for("project pause")
    assert "Who may: anyone in the organization." in help_for("ask")


@pytest.mark.parametrize("example", EXAMPLES)
def test_every_example_names_demo_people_and_projects(example: str) -> None:
    assert set(re.findall(r"@(\w+)", example)) <= DEMO_HANDLES, example
    assert set(re.findall(r"#([A-Z]+)", example)) <= DEMO_KEYS, example


@pytest.mark.parametrize("example", EXAMPLES)
async def test_every_example_succeeds_on_the_demo(
    uow_factory: UnitOfWorkFactory, example: str
) -> None:
    core = await _demo(uow_factory, TUESDAY)
    _succeeded(await _run(core, EXAMPLES[example]))


@pytest.mark.parametrize("moment", MOMENTS)
@pytest.mark.parametrize("example", EXAMPLES)
async def test_every_example_succeeds_on_every_day_of_the_week(example: str, moment: str) -> None:
    core = await _demo(make_memory_uow_factory(), MOMENTS[moment])
    _succeeded(await _run(core, EXAMPLES[example]))


@pytest.mark.parametrize("example", EXAMPLES)
async def test_help_tells_who_may_run_an_example(example: str) -> None:
    """On the memory fake: who may is the permission table's, whose rows every backend keeps
    alike (tests/integration/test_permissions.py)."""
    core = await _demo(make_memory_uow_factory(), TUESDAY)
    syntax = EXAMPLES[example]
    reply = await _run(core, syntax, by=NOBODY)
    if not syntax.permission:
        _succeeded(reply)
        return
    said = _read(reply.messages).strip()
    assert not reply.ok, said
    refused = [f" can {action.value.split('{')[0]}" for action in syntax.permission]
    assert said.startswith("Only ") and any(r in said for r in refused), (said, refused)
    assert said.endswith("Nothing was changed."), said
