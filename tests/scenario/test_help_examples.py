"""Every example ``help`` shows works: run through the core against a fresh demo organization,
by the demo person it is meant for, each succeeds — no usage error, no refusal."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bot.clock import ManualClock
from bot.dispatch import Core
from bot.grammar import HELP, help_for
from bot.messages import Message
from bot.model import Platform
from bot.ports import UnitOfWorkFactory
from bot.services.demo import MATRIX, PEOPLE, ROLES, seed_demo
from tests.integration.test_org_setup import code_in, partner
from tests.integration.test_services import who

MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def _examples() -> list[str]:
    """Every ``Example:`` line of every command's help, in help order."""
    topics = dict.fromkeys(line.split(" — ")[0].split()[0] for line in HELP.splitlines())
    return [
        line.removeprefix("Example: ")
        for topic in topics
        for line in help_for(topic).splitlines()
        if line.startswith("Example: ")
    ]


EXAMPLES = _examples()
ACTORS = {
    "approve": "raj",  # the Accountable for #SEPSIS budget, who decides demo ask 1
    "decline": "raj",
    "info": "raj",
    "ack": "eve",  # the first rung of demo blocker 1 (#SEPSIS it)
    "resolve": "eve",
    "delegate": "dana",
}
"""Who runs an example, by its first word; everyone else's is run by ana (the SEPSIS lead and
the demo's admin)."""
BEFORE = {"answer": ("raj", "info 1 which wards would this cover?")}
"""What has to happen first, by the example's first word."""

DEMO_HANDLES = {handle for handle, _, _ in PEOPLE}
DEMO_KEYS = {key for key, *_ in (*ROLES, *MATRIX)}


@pytest.fixture
async def core(uow_factory: UnitOfWorkFactory) -> Core:
    clock = ManualClock(MONDAY)
    await seed_demo(uow_factory, clock)
    return Core(uow=uow_factory, clock=clock)


def _read(messages: tuple[Message, ...]) -> str:
    return "\n".join("\n".join((m.title, *m.sections)) for m in messages)


def test_the_help_lists_an_example_for_every_command() -> None:
    assert len(EXAMPLES) == len(HELP.splitlines())


@pytest.mark.parametrize("example", EXAMPLES)
def test_every_example_names_demo_people_and_projects(example: str) -> None:
    assert set(re.findall(r"@(\w+)", example)) <= DEMO_HANDLES, example
    assert set(re.findall(r"#([A-Z]+)", example)) <= DEMO_KEYS, example


@pytest.mark.parametrize("example", EXAMPLES)
async def test_every_example_succeeds_on_the_demo(core: Core, example: str) -> None:
    first = example.split()[0]
    caller = await who(core, ACTORS.get(first, "ana"))
    if first in BEFORE:
        handle, line = BEFORE[first]
        assert (await core.command(await who(core, handle), line)).ok
    if example.startswith("org join"):  # typed by a partner's admin, with a real code
        code = code_in(_read((await core.command(caller, "org invite")).messages))
        caller, _ = await partner(core)
        example = re.sub(r"[A-Z0-9]{4}(-[A-Z0-9]{4}){3}", code, example)
    if example.startswith("project channel"):  # typed in the channel that becomes the home
        workspace = await core.configured_workspace(
            platform=Platform.CONSOLE, external_id="console"
        )
        caller = replace(caller, workspace_id=workspace.id, channel_id="#sepsis-team")
    reply = await core.command(caller, example)
    said = _read(reply.messages)
    assert reply.ok, said
    assert "Nothing was changed" not in said, said
