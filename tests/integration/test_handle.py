"""``Core.handle``: one request in, one unit of work, on memory, SQLite and PostgreSQL — a known
user's request is one transaction, a new user's two (a read that finds the profile missing and
writes nothing, then the request with it); mentions are identified with the caller; what the
adapter asks to remember is kept, even when the command is refused."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from dataclasses import replace

import pytest

from bot.context import Profile, Reply
from bot.dispatch import ALREADY_HANDLED, UNLINKED, Core
from bot.inbound import (
    CheckClick,
    Click,
    Configured,
    HomeScreen,
    Inbound,
    NeedProfiles,
    OpenForm,
    Request,
    ShowHome,
    Submit,
    Text,
)
from bot.model import Platform
from bot.ports import UnitOfWork, UnitOfWorkFactory
from bot.services.delivery import dm_address

TEAM = "T0HANDLE"
ANA = Profile(name="Ana Silva", email="ana@northfield.example", handle="ana")
DANA = Profile(name="Dana Lee", email="dana@northfield.example", handle="dana")
NEWCOMER = Profile(name="Nia Newcomer", email="nia@elsewhere.example", handle="nia")


class Counted:
    """A unit-of-work factory that counts the units of work entered: the transactions."""

    def __init__(self, inner: UnitOfWorkFactory) -> None:
        self.inner = inner
        self.entered = 0

    def __call__(self) -> UnitOfWork:
        self.entered += 1
        return self.inner()

    def taken(self) -> int:
        """Transactions since the last call."""
        taken, self.entered = self.entered, 0
        return taken


@pytest.fixture
async def counted(core: Core) -> Iterator[Counted]:
    await core.configured_workspace(platform=Platform.SLACK, external_id=TEAM, name="Northfield")
    counted = Counted(core.uow)
    core.uow = counted
    return counted


def inbound(user: str, request: Request, **more: object) -> Inbound:
    return Inbound(platform=Platform.SLACK, workspace=TEAM, user_id=user, request=request, **more)  # type: ignore[arg-type]


def said(reply: object) -> str:
    assert isinstance(reply, Reply), reply
    return "\n".join(line for m in reply.messages for line in (m.title, *m.sections) if line)


async def identities(core: Core) -> int:
    async with core.uow.inner() as uow:  # type: ignore[attr-defined]
        return await uow.identities.count(platform=Platform.SLACK)


async def test_a_new_users_command_asks_for_the_profile_then_runs_in_one_more_transaction(
    core: Core, counted: Counted
) -> None:
    first = await core.handle(inbound("U0ANA", Text(text="asks")))

    assert first == NeedProfiles(user_ids=("U0ANA",))
    assert counted.taken() == 1
    assert await identities(core) == 0  # nothing written

    again = await core.handle(inbound("U0ANA", Text(text="asks"), profiles={"U0ANA": ANA}))

    assert counted.taken() == 1
    assert isinstance(again, Reply) and again.ok
    assert await identities(core) == 1


async def test_a_known_users_command_is_one_transaction_even_in_a_fresh_process(
    core: Core, counted: Counted
) -> None:
    await core.handle(inbound("U0ANA", Text(text="help"), profiles={"U0ANA": ANA}))
    counted.taken()
    fresh = Core(uow=counted, clock=core.clock)

    reply = await fresh.handle(inbound("U0ANA", Text(text="status #SEPSIS")))

    assert counted.taken() == 1
    assert "SEPSIS" in said(reply)
    await fresh.handle(inbound("U0ANA", Text(text="status #SEPSIS")))
    assert counted.taken() == 1  # and cached: still one


async def test_mentioned_newcomers_are_asked_for_with_the_caller_and_become_handles(
    core: Core, counted: Counted
) -> None:
    ask = Text(text="ask <@U0DANA> two more nurses area:staffing #SEPSIS")

    first = await core.handle(inbound("U0ANA", ask))
    reply = await core.handle(
        inbound("U0ANA", ask, profiles={"U0ANA": ANA, "U0DANA": DANA}, delivery="d1")
    )

    assert first == NeedProfiles(user_ids=("U0ANA", "U0DANA"))
    assert "sent to Dana Lee" in said(reply)
    assert counted.taken() == 2
    again = await core.handle(inbound("U0ANA", ask, delivery="d1"))
    assert said(again) == ALREADY_HANDLED and isinstance(again, Reply) and again.repeated
    assert counted.taken() == 1


async def test_a_refused_first_command_still_keeps_the_newcomers_identity(
    core: Core, counted: Counted
) -> None:
    refused = await core.handle(
        inbound("U0NIA", Text(text="frobnicate"), profiles={"U0NIA": NEWCOMER})
    )

    assert isinstance(refused, Reply) and not refused.ok
    assert isinstance(await core.handle(inbound("U0NIA", Text(text="help"))), Reply)
    assert await identities(core) == 1


async def test_the_dm_channel_is_remembered_when_it_changes(core: Core, counted: Counted) -> None:
    await core.handle(
        inbound("U0ANA", Text(text="help"), profiles={"U0ANA": ANA}, conversation="D0ANA")
    )
    await core.handle(inbound("U0ANA", Text(text="help"), conversation="D0ANA2"))

    async with counted.inner() as uow:
        (identity,) = await uow.identities.find(platform=Platform.SLACK)
    assert identity.conversation_ref == "D0ANA2"


async def test_the_address_is_stored_with_the_reference_when_either_changes(
    core: Core, counted: Counted
) -> None:
    async def stored(conversation: str, address: str) -> tuple[str | None, str]:
        await core.handle(
            inbound(
                "U0ANA",
                Text(text="help"),
                profiles={"U0ANA": ANA},
                conversation=conversation,
                conversation_address=address,
            )
        )
        async with counted.inner() as uow:
            (identity,) = await uow.identities.find(platform=Platform.SLACK)
        assert dm_address(identity) == address  # where the outbox will send a DM
        return identity.conversation_ref, identity.address

    # The reference is opaque: the core keeps the address the adapter says, not one of its own.
    assert await stored("reference-1", "a:ana") == ("reference-1", "a:ana")
    assert await stored("reference-2", "a:ana") == ("reference-2", "a:ana")
    assert await stored("reference-2", "a:ana2") == ("reference-2", "a:ana2")


async def test_a_workspace_linked_to_no_organization_is_refused(core: Core) -> None:
    reply = await core.handle(
        Inbound(
            platform=Platform.SLACK,
            workspace="T0STRANGER",
            user_id="U0X",
            request=Text(text="help"),
            profiles={"U0X": NEWCOMER},
        )
    )

    assert said(reply) == UNLINKED


def configured(user: str) -> Inbound:
    """A new user's first request in a Teams tenant the configuration serves, not linked yet."""
    return Inbound(
        platform=Platform.TEAMS,
        workspace="tenant-new",
        user_id=user,
        request=Text(text="help"),
        profiles={user: replace(NEWCOMER, email=f"{user}@elsewhere.example")},
        configured=Configured(join_sole=False),
    )


async def test_a_configured_workspace_is_linked_by_its_first_request_in_that_requests_unit(
    core: Core, counted: Counted
) -> None:
    counted.taken()
    assert isinstance(await core.handle(configured("aad-0")), Reply)
    assert counted.taken() == 1  # the link has no unit of its own
    async with core.uow.inner() as uow:  # type: ignore[attr-defined]
        (workspace,) = await uow.workspaces.find(platform=Platform.TEAMS)
        assert await uow.identities.count(workspace_id=workspace.id) == 1


async def test_simultaneous_first_requests_in_a_configured_workspace_link_it_once(
    core: Core, counted: Counted
) -> None:
    """However many requests meet the tenant at once: one workspace, in one new organization
    (none founded in vain by a loser of the race), each user identified once."""
    users = [f"aad-{n}" for n in range(4)]
    replies = await asyncio.gather(*(core.handle(configured(user)) for user in users))

    assert all(isinstance(r, Reply) and r.ok for r in replies), [said(r) for r in replies]
    async with core.uow.inner() as uow:  # type: ignore[attr-defined]
        (workspace,) = await uow.workspaces.find(platform=Platform.TEAMS)
        slack = await uow.workspaces.first(platform=Platform.SLACK, external_id=TEAM)
        assert slack is not None and workspace.organization_id != slack.organization_id
        assert await uow.identities.count(workspace_id=workspace.id) == len(users)
        assert await uow.organizations.count() == 2


async def test_simultaneous_first_requests_of_one_newcomer_make_one_identity(
    core: Core, counted: Counted
) -> None:
    replies = await asyncio.gather(
        *(
            core.handle(inbound("U0NIA", Text(text="help"), profiles={"U0NIA": NEWCOMER}))
            for _ in range(5)
        )
    )

    assert all(isinstance(r, Reply) and r.ok for r in replies)
    assert await identities(core) == 1


async def test_forms_clicks_and_home_go_through_the_same_call(core: Core, counted: Counted) -> None:
    await core.handle(inbound("U0ANA", Text(text="help"), profiles={"U0ANA": ANA}))

    form = await core.handle(inbound("U0ANA", OpenForm(form_id="ask")))
    submitted = await core.handle(
        inbound(
            "U0ANA",
            Submit(
                form_id="ask",
                values={"project": "SEPSIS", "area": "staffing", "text": "more nurses"},
                people={"person": "U0DANA"},
            ),
            profiles={"U0DANA": DANA},
        )
    )
    home = await core.handle(inbound("U0DANA", ShowHome(), profiles={"U0DANA": DANA}))
    gone = await core.handle(inbound("U0ANA", Click(action="no.such", value="1")))
    check = await core.handle(inbound("U0ANA", CheckClick(action="ask.decline", value="999")))

    assert isinstance(form, Reply) and form.form is not None and form.form.id == "ask"
    assert "sent to Dana Lee" in said(submitted)
    assert isinstance(home, HomeScreen) and any("more nurses" in str(m) for m in home.waiting)
    assert said(gone) == "That button is no longer supported."
    assert isinstance(check, Reply) and not check.ok


async def test_a_click_on_the_home_screen_is_answered_with_the_screen_after_it_in_one_unit(
    core: Core, counted: Counted
) -> None:
    raised = await core.handle(
        inbound(
            "U0ANA",
            Text(text="ask <@U0DANA> two more nurses area:staffing #SEPSIS"),
            profiles={"U0ANA": ANA, "U0DANA": DANA},
        )
    )
    ask_id = said(raised).split("Ask #", 1)[1].split(" ", 1)[0]
    counted.taken()

    refused = await core.handle(
        inbound("U0ANA", Click(action="ask.approve", value=ask_id), home=True)
    )
    approved = await core.handle(
        inbound("U0DANA", Click(action="ask.approve", value=ask_id), home=True)
    )

    assert "nobody decides their own ask" in said(refused)  # a refusal alone: rolled back
    assert isinstance(approved, HomeScreen) and approved.reply is not None
    assert approved.reply.ok and "Approved by Dana Lee" in str(approved.reply)
    assert not any(f"Ask #{ask_id} " in str(m) for m in approved.waiting)
    assert counted.taken() == 2  # one each


async def test_a_mention_by_a_stored_alias_finds_the_person_in_its_workspace_only(
    core: Core, counted: Counted
) -> None:
    """Teams mentions carry a user's Bot Framework id, stored as their identity's alias: a
    fresh process finds the person by it at no extra cost, and never from another tenant."""
    dana = replace(DANA, alias="29:dana")
    await core.handle(inbound("U0ANA", Text(text="help"), profiles={"U0ANA": ANA}))
    await core.handle(inbound("U0DANA", Text(text="help"), profiles={"U0DANA": dana}))
    await core.configured_workspace(platform=Platform.SLACK, external_id="T0OTHER", join_sole=False)
    counted.taken()
    fresh = Core(uow=counted, clock=core.clock)  # another process: nothing cached

    asked = await fresh.handle(
        inbound("U0ANA", Text(text="ask <@29:dana> two more nurses area:staffing #SEPSIS"))
    )
    elsewhere = await fresh.handle(
        replace(inbound("U0EVE", Text(text="ask <@29:dana> anything")), workspace="T0OTHER")
    )

    assert "sent to Dana Lee" in said(asked)
    assert counted.taken() == 2  # one each: the alias read in the request's own unit
    assert elsewhere == NeedProfiles(user_ids=("U0EVE", "29:dana"))  # nobody known there


async def test_the_callers_alias_is_stored_and_follows_the_platform(
    core: Core, counted: Counted
) -> None:
    await core.handle(inbound("U0ANA", Text(text="help"), profiles={"U0ANA": ANA}))

    async def alias() -> str:
        async with counted.inner() as uow:
            (identity,) = await uow.identities.find(user_id="U0ANA")
            return identity.alias

    assert await alias() == ""
    await core.handle(inbound("U0ANA", Text(text="help"), alias="29:ana"))
    assert await alias() == "29:ana"
    await core.handle(inbound("U0ANA", Text(text="help"), alias="29:ana-new"))
    assert await alias() == "29:ana-new"


async def test_a_handled_request_leaves_no_reference_cycles_for_the_collector(
    core: Core, counted: Counted, request: pytest.FixtureRequest
) -> None:
    """What a request builds (its unit of work, repositories, tenancy wrappers) is freed as
    soon as it ends: garbage in cycles would wait for the cyclic collector, whose pauses land
    on the requests in flight (every unit of work was one cycle of ~40 objects)."""
    if request.node.callspec.params["uow_factory"] == "memory":
        pytest.skip("the in-memory fake's repositories point back at their unit: a test aid")
    ask = Text(text="ask <@U0DANA> two more nurses area:staffing #SEPSIS")
    await core.handle(inbound("U0ANA", ask, profiles={"U0ANA": ANA, "U0DANA": DANA}))
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)  # what the collector finds is kept in gc.garbage to look at
    try:
        reply = await core.handle(inbound("U0ANA", ask, delivery="d2"))
        gc.collect()
        ours = [
            type(o).__qualname__
            for o in gc.garbage
            if type(o).__module__.startswith(("bot.", "storage.", "tests."))
        ]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()

    assert "sent to Dana Lee" in said(reply)
    assert ours == []
