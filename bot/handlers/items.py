"""Handlers for asks and blockers: raising, deciding, acknowledging, resolving, listing."""

from __future__ import annotations

from bot.calendar import as_read_by
from bot.commands import AskCmd, AsksCmd, BlockerActCmd, BlockerCmd, DecideCmd, WithdrawCmd
from bot.context import Reply
from bot.handlers.context import Ctx
from bot.messages import Message, Target, text
from bot.services import asks, blockers
from bot.services.delivery import unreachable_note
from bot.services.lookup import names_of, person_named, project_for


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


async def on_decide(ctx: Ctx, cmd: DecideCmd, *, clicked: bool = False) -> Reply:
    """``clicked``: decided with a card's button, whose card now shows the outcome (the
    replacement): that is the decider's one answer, with a message only when there is more
    to say (the requester cannot be reached)."""
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
    messages = () if clicked and not unreachable else (text(said),)
    return Reply(messages=messages, replacement=card, changed=(f"ask:{ask.id}",))


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
                f"{raised.first_owner.name} has until {deadline} before it escalates.",
                *((unreachable,) if unreachable else ()),
            ),
        ),
        changed=(f"blocker:{blocker.id}",),
    )


async def on_blocker_act(ctx: Ctx, cmd: BlockerActCmd, *, clicked: bool = False) -> Reply:
    """``clicked``: with a card's button; the card as it now is (the replacement, with the
    buttons that still apply) is then the whole answer."""
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
    card = await blockers.card_now(
        ctx.uow,
        blocker,
        reader=ctx.person,
        footer=blockers.state_line(blocker, ctx.person),
        link_base=ctx.link_base,
    )
    return Reply(
        messages=() if clicked else (text(f"Blocker #{blocker.id} {said}."),),
        replacement=card,
        changed=(f"blocker:{blocker.id}",),
    )


async def on_asks(ctx: Ctx, cmd: AsksCmd) -> Reply:
    """What waits on me, and what I am waiting for."""
    waiting = await asks.waiting_on(ctx.uow, person_id=ctx.person.id, today=ctx.today)
    mine = await ctx.uow.asks.find(
        requester_id=ctx.person.id, state=list(asks.DECIDABLE), order_by="id"
    )
    at_rung = [
        b
        for b in await ctx.uow.blockers.find(
            organization_id=ctx.caller.organization_id, state=list(blockers.LIVE), order_by="id"
        )
        if b.ladder and b.ladder[b.level] == ctx.person.id
    ]
    if not (waiting or mine or at_rung):
        return Reply(messages=(text("Nothing is waiting on you, and you are waiting on nobody."),))
    projects = {
        p.id: p
        for p in await ctx.uow.projects.find(
            id=sorted({a.project_id for a in [*waiting, *mine]} | {b.project_id for b in at_rung})
        )
    }
    names = await names_of(
        ctx.uow, [a.assignee_id for a in [*mine, *waiting]] + [a.requester_id for a in waiting]
    )
    messages: list[Message] = []
    for ask in waiting:
        messages.append(
            asks.ask_card(
                ask,
                project=projects[ask.project_id],
                names=names,
                reason="waiting on you"
                if ask.assignee_id == ctx.person.id
                else "you decide as their delegate",
                target=Target(),
                link=asks.ask_link(ctx.link_base, ask.id),
            )
        )
    for blocker in at_rung:
        reporter = await ctx.uow.people.get(blocker.reporter_id)
        messages.append(
            blockers.rung_card(
                blocker,
                project=projects[blocker.project_id],
                reporter=reporter.name if reporter else "?",
                deadline=blockers.describe_deadline(blocker, ctx.person),
            )
        )
    if mine:
        messages.append(
            Message(
                title="You are waiting on",
                sections=tuple(
                    f"#{a.id} {projects[a.project_id].key}: {a.text[:80]} — "
                    f"{names.get(a.assignee_id, '?')} ({a.state.value.replace('_', ' ')})"
                    for a in mine
                ),
            )
        )
    return Reply(messages=tuple(messages))
