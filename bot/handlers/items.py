"""Handlers for asks and blockers: raising, deciding, acknowledging, resolving, listing."""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar

from bot.calendar import as_read_by, local_date
from bot.commands import (
    AnswerCmd,
    AskCmd,
    AsksCmd,
    BlockerActCmd,
    BlockerCmd,
    DecideCmd,
    WithdrawCmd,
)
from bot.context import Reply
from bot.handlers.context import Ctx
from bot.messages import Message, Target, text
from bot.model import Ask, AskState, Blocker, BlockerState, Project
from bot.services import asks, blockers
from bot.services.delivery import unreachable_note
from bot.services.lookup import names_of, person_named, project_for

T = TypeVar("T")


async def on_ask(ctx: Ctx, cmd: AskCmd) -> Reply:
    project = await project_for(ctx.uow, caller=ctx.caller, key=cmd.project)
    assignee = (
        await person_named(ctx.uow, organization_id=ctx.caller.organization_id, handle=cmd.assignee)
        if cmd.assignee
        else None
    )
    raised = await asks.raise_ask(
        ctx.uow,
        project=project,
        requester=ctx.person,
        text=cmd.text,
        area=cmd.area,
        needed_by=cmd.needed_by,
        assignee=assignee,
        now=ctx.now,
        link_base=ctx.link_base,
        platform=ctx.caller.platform.value,
    )
    verb = "raised for" if raised.unreachable else "sent to"
    lines = [f"Ask #{raised.ask.id} {verb} {raised.assignee} — {raised.reason}."]
    if raised.unreachable:
        lines.append(raised.unreachable)
    elif raised.arrives_at is not None:
        decider = await ctx.uow.people.get(raised.ask.assignee_id)
        if decider is not None:
            when = as_read_by(raised.arrives_at, decider)
            lines.append(f"It is outside their working hours, so it reaches them at {when}.")
    if raised.ask.needed_by:
        lines.append(f"Needed by {raised.ask.needed_by:%a %d %b %Y}.")
    if raised.consulted:
        lines.append(f"Consulted for input: {', '.join(raised.consulted)}.")
    return Reply(messages=(text(" ".join(lines)),), changed=(f"ask:{raised.ask.id}",))


async def on_decide(ctx: Ctx, cmd: DecideCmd) -> Reply:
    ask, card = await asks.decide(
        ctx.uow,
        ask_id=cmd.ask_id,
        organization_id=ctx.caller.organization_id,
        decider=ctx.person,
        outcome=cmd.outcome,
        text=cmd.text,
        now=ctx.now,
        link_base=ctx.link_base,
        platform=ctx.caller.platform.value,
    )
    requester = await ctx.uow.people.get(ask.requester_id)
    unreachable = requester and await unreachable_note(
        ctx.uow, person=requester, organization_id=ctx.caller.organization_id, now=ctx.now
    )
    if cmd.outcome == "info":
        told = "asked for more information" + (
            "" if unreachable else "; the requester has your question"
        )
    else:
        told = f"{ask.state.value}; logged in the decision log" + (
            "" if unreachable else " and the requester is told"
        )
    said = f"Ask #{ask.id} {told}." + (f" {unreachable}" if unreachable else "")
    return Reply(messages=(text(said),), replacement=card, changed=(f"ask:{ask.id}",))


async def on_answer(ctx: Ctx, cmd: AnswerCmd) -> Reply:
    """The requester's answer to a question (typed, or through the question's button)."""
    ask = await asks.answer(
        ctx.uow,
        ask_id=cmd.ask_id,
        organization_id=ctx.caller.organization_id,
        requester=ctx.person,
        text=cmd.text,
        now=ctx.now,
        link_base=ctx.link_base,
    )
    decider = await ctx.uow.people.get(ask.assignee_id)
    unreachable = decider and await unreachable_note(
        ctx.uow, person=decider, organization_id=ctx.caller.organization_id, now=ctx.now
    )
    if unreachable:
        said = text(f"Thanks — ask #{ask.id} is open again.", unreachable)
    else:
        said = text(f"Thanks — ask #{ask.id} is back with its decider, with your answer.")
    return Reply(messages=(said,), changed=(f"ask:{ask.id}",))


async def on_withdraw(ctx: Ctx, cmd: WithdrawCmd) -> Reply:
    if cmd.kind == "ask":
        ask = await asks.withdraw(
            ctx.uow,
            ask_id=cmd.item_id,
            organization_id=ctx.caller.organization_id,
            actor=ctx.person,
            now=ctx.now,
            link_base=ctx.link_base,
        )
        return Reply(messages=(text(f"Ask #{ask.id} withdrawn."),), changed=(f"ask:{ask.id}",))
    blocker = await blockers.resolve(
        ctx.uow,
        blocker_id=cmd.item_id,
        organization_id=ctx.caller.organization_id,
        actor=ctx.person,
        text="",
        now=ctx.now,
        withdraw=True,
    )
    return Reply(
        messages=(text(f"Blocker #{blocker.id} withdrawn."),), changed=(f"blocker:{blocker.id}",)
    )


async def on_blocker(ctx: Ctx, cmd: BlockerCmd) -> Reply:
    project = await project_for(ctx.uow, caller=ctx.caller, key=cmd.project)
    raised = await blockers.raise_blocker(
        ctx.uow,
        project=project,
        reporter=ctx.person,
        text=cmd.text,
        area=cmd.area,
        severity=cmd.severity,
        now=ctx.now,
        link_base=ctx.link_base,
        platform=ctx.caller.platform.value,
    )
    blocker = raised.blocker
    deadline = blockers.describe_deadline(blocker, raised.first_owner)
    unreachable = await unreachable_note(
        ctx.uow, person=raised.first_owner, organization_id=project.organization_id, now=ctx.now
    )
    return Reply(
        messages=(
            text(
                f"Blocker #{blocker.id} raised ({blocker.severity.value}) on #{project.key}.",
                f"Ladder: {' → '.join(raised.ladder_names)}.",
                f"{raised.first_owner.name} is reminded if it is not resolved by {deadline}."
                if blockers.at_top(blocker)
                else f"{raised.first_owner.name} has until {deadline} before it escalates.",
                *((unreachable,) if unreachable else ()),
            ),
        ),
        changed=(f"blocker:{blocker.id}",),
    )


async def on_blocker_act(ctx: Ctx, cmd: BlockerActCmd) -> Reply:
    if cmd.verb == "ack":
        blocker = await blockers.acknowledge(
            ctx.uow,
            blocker_id=cmd.blocker_id,
            organization_id=ctx.caller.organization_id,
            actor=ctx.person,
            now=ctx.now,
        )
        said = "acknowledged; the thread is updated"
    else:
        blocker = await blockers.resolve(
            ctx.uow,
            blocker_id=cmd.blocker_id,
            organization_id=ctx.caller.organization_id,
            actor=ctx.person,
            text=cmd.text,
            now=ctx.now,
        )
        said = "resolved and logged in the decision log"
    return Reply(
        messages=(text(f"Blocker #{blocker.id} {said}."),), changed=(f"blocker:{blocker.id}",)
    )


LISTED = 10
"""Items each part of ``asks`` shows at most; ``asks all`` shows every one."""


def _capped(items: list[T], everything: bool) -> tuple[list[T], str | None]:
    """The first :data:`LISTED` items (all of them for ``asks all``), and the line that says
    how many were left out and how to see them (None when nothing was)."""
    if everything or len(items) <= LISTED:
        return items, None
    left = len(items) - LISTED
    return items[:LISTED], f"… {left} more — type `asks all` to see everything."


async def on_asks(ctx: Ctx, cmd: AsksCmd) -> Reply:
    """What waits on me (asks I decide, blockers at my rung), and what I wait for (the asks and
    blockers I raised, with who holds them and since when)."""
    org = ctx.caller.organization_id
    waiting = await asks.waiting_on(ctx.uow, person_id=ctx.person.id, today=ctx.today)
    live = await ctx.uow.blockers.find(
        organization_id=org, state=list(blockers.LIVE), order_by="id"
    )
    at_rung = [b for b in live if b.ladder and b.ladder[b.level] == ctx.person.id]
    mine = await ctx.uow.asks.find(
        requester_id=ctx.person.id, state=list(asks.DECIDABLE), order_by="id"
    )
    reported = [b for b in live if b.reporter_id == ctx.person.id]
    if not (waiting or at_rung or mine or reported):
        return Reply(messages=(text("Nothing is waiting on you, and you are waiting on nobody."),))
    projects = {
        p.id: p
        for p in await ctx.uow.projects.find(
            id=sorted(
                {a.project_id for a in [*waiting, *mine]}
                | {b.project_id for b in [*at_rung, *reported]}
            )
        )
    }
    names = await names_of(
        ctx.uow,
        [a.assignee_id for a in [*mine, *waiting]]
        + [a.requester_id for a in waiting]
        + [a.decided_by_id or 0 for a in mine]
        + [b.reporter_id for b in at_rung]
        + [b.ladder[b.level] for b in reported if b.ladder],
    )
    said = await asks.conversations(ctx.uow, [a.id for a in [*waiting, *mine]])
    cards: list[Message] = [
        asks.ask_card(
            ask,
            project=projects[ask.project_id],
            names=names,
            reason="waiting on you"
            if ask.assignee_id == ctx.person.id
            else "you decide as their delegate",
            target=Target(),
            link=asks.ask_link(ctx.link_base, ask.id),
            conversation=said.get(ask.id, ()),
        )
        for ask in waiting
    ]
    cards += [
        blockers.rung_card(
            blocker,
            project=projects[blocker.project_id],
            reporter=names.get(blocker.reporter_id, "?"),
            deadline=blockers.describe_deadline(blocker, ctx.person),
        )
        for blocker in at_rung
    ]
    shown, more = _capped(cards, cmd.everything)
    messages = [*shown, *((text(more),) if more else ())]
    raised = [_raised_ask(ctx, a, projects[a.project_id], names) for a in mine]
    raised += [_raised_blocker(ctx, b, projects[b.project_id], names) for b in reported]
    if raised:
        lines, more = _capped(raised, cmd.everything)
        messages.append(
            Message(title="You are waiting on", sections=(*lines, *((more,) if more else ())))
        )
    return Reply(messages=tuple(messages))


def _since(ctx: Ctx, at: datetime) -> str:
    return f"{local_date(at, ctx.person.timezone):%a %d %b}"


def _raised_ask(ctx: Ctx, ask: Ask, project: Project, names: dict[int, str]) -> str:
    """``Ask #3 · #SEPSIS: … — with Dana Lee since Mon 23 Nov``, or the question to answer."""
    head = f"Ask #{ask.id} · #{project.key}: {ask.text[:80]}"
    since = _since(ctx, ask.updated_at or ask.created_at)
    if ask.state is AskState.INFO_REQUESTED:
        who = names.get(ask.decided_by_id or ask.assignee_id, "?")
        return f"{head} — {who} asked you a question on {since}: answer {ask.id} <your answer>"
    return f"{head} — with {names.get(ask.assignee_id, '?')} since {since}"


def _raised_blocker(ctx: Ctx, blocker: Blocker, project: Project, names: dict[int, str]) -> str:
    """``Blocker #1 · #SEPSIS (high): … — with Eve Martin (rung 1 of 3, acknowledged) since …``."""
    holder = names.get(blocker.ladder[blocker.level], "?") if blocker.ladder else "nobody"
    rung = f"rung {blocker.level + 1} of {len(blocker.ladder)}"
    if blocker.state is BlockerState.ACKNOWLEDGED:
        rung += ", acknowledged"
    since = _since(ctx, blocker.updated_at or blocker.created_at)
    return (
        f"Blocker #{blocker.id} · #{project.key} ({blocker.severity.value}): "
        f"{blocker.text[:80]} — with {holder} ({rung}) since {since}"
    )
