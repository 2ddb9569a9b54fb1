"""Handlers about the caller themself: cadence, delegation, handover, digest preview, help."""

from __future__ import annotations

from bot.commands import (
    CadenceCmd,
    DashboardCmd,
    DelegateCmd,
    DigestCmd,
    HandoverCmd,
)
from bot.context import Reply
from bot.handlers.context import Ctx
from bot.links import LINK_DAYS
from bot.messages import text
from bot.services import delegation, handover, preferences
from bot.services.digests import compose_for
from bot.services.handover import HandoverSummary
from bot.services.lookup import person_named, project_for
from bot.wording import counted


async def on_cadence(ctx: Ctx, cmd: CadenceCmd) -> Reply:
    if cmd.frequency is None and cmd.weekday is None and cmd.local_time is None and not cmd.detail:
        current = await preferences.preference_of(ctx.uow, person_id=ctx.person.id)
        said = preferences.describe(current, timezone=ctx.person.timezone)
        return Reply(messages=(text(f"Your digest: {said}."),))
    updated = await preferences.set_preference(
        ctx.uow,
        person=ctx.person,
        frequency=cmd.frequency,
        weekday=cmd.weekday,
        local_time=cmd.local_time,
        detail=cmd.detail,
        now=ctx.now,
    )
    said = preferences.describe(updated, timezone=ctx.person.timezone)
    return Reply(messages=(text(f"Done. Your digest: {said}."),))


async def on_delegate(ctx: Ctx, cmd: DelegateCmd) -> Reply:
    if cmd.person is None or cmd.until is None:
        ended = await delegation.end_delegations(ctx.uow, delegator=ctx.person, now=ctx.now)
        said = "Delegation ended: you decide again." if ended else "You had no delegation running."
        return Reply(messages=(text(said),))
    delegate_to = await person_named(
        ctx.uow, organization_id=ctx.caller.organization_id, handle=cmd.person
    )
    running = await delegation.delegate(
        ctx.uow, delegator=ctx.person, delegate_to=delegate_to, until=cmd.until, now=ctx.now
    )
    return Reply(
        messages=(
            text(
                f"{delegate_to.name} can decide your asks until {running.ends_on:%a %d %b %Y} "
                "(inclusive). `delegate off` ends it early."
            ),
        )
    )


async def on_handover(ctx: Ctx, cmd: HandoverCmd) -> Reply:
    org = ctx.caller.organization_id
    predecessor = await person_named(ctx.uow, organization_id=org, handle=cmd.from_person)
    successor = await person_named(ctx.uow, organization_id=org, handle=cmd.to_person)
    project = (
        await project_for(ctx.uow, caller=ctx.caller, key=cmd.project) if cmd.project else None
    )
    summary = await handover.handover(
        ctx.uow,
        predecessor=predecessor,
        successor=successor,
        project=project,
        actor=ctx.person,
        now=ctx.now,
        link_base=ctx.link_base,
    )
    return Reply(
        messages=(
            text(
                f"Handed over {', '.join('#' + k for k in summary.projects)} from "
                f"{predecessor.name} to {successor.name}: {_moved(summary)}. "
                f"{successor.name} has a briefing."
            ),
        )
    )


def _moved(summary: HandoverSummary) -> str:
    """What moved, only what did: "1 role, 2 RACI letters" (a handover moves something, or it
    is refused with "Nothing to hand over")."""
    return counted(
        (summary.roles, "role"),
        (summary.letters, "RACI letter"),
        (summary.asks, "open ask"),
        (summary.blockers, "blocker ladder"),
    )


async def on_digest(ctx: Ctx, cmd: DigestCmd) -> Reply:
    result = await compose_for(
        ctx.uow,
        person_id=ctx.person.id,
        now=ctx.now,
        link_base=ctx.link_base,
        links=ctx.links,
    )
    return Reply(messages=(result.message,))


async def on_dashboard(ctx: Ctx, cmd: DashboardCmd) -> Reply:
    if not ctx.links.signed:
        return Reply(
            messages=(
                text(
                    f"The dashboard is at {ctx.links.for_person(ctx.person)}. This process "
                    "cannot sign personal links: set DASHBOARD_SECRET to the server's, or ask "
                    "Leaderbot in Slack or Teams for your link."
                ),
            )
        )
    if ctx.caller.shared:
        return Reply(
            messages=(
                text(
                    "Your dashboard link is yours alone, and everyone here would see it: ask me "
                    "for it in a chat with Leaderbot. Nothing was changed."
                ),
            ),
            ok=False,
        )
    link = ctx.links.for_person(ctx.person)
    return Reply(
        messages=(
            text(f"Your dashboard, valid for {LINK_DAYS} days (keep it to yourself): {link}"),
        )
    )
