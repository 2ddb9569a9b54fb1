"""Handlers of the set-up commands: ``org …`` (the organization) and ``me …`` (the caller)."""

from __future__ import annotations

from bot.calendar import moment_in
from bot.commands import (
    MeHoursCmd,
    MeLinkCmd,
    MeTimezoneCmd,
    OrgAdminCmd,
    OrgExecutiveCmd,
    OrgInviteCmd,
    OrgJoinCmd,
    OrgNameCmd,
    OrgShowCmd,
)
from bot.context import CALLERS_CHANGED, Reply
from bot.errors import InvalidState
from bot.handlers.context import Ctx
from bot.messages import Fact, Message, text
from bot.model import CodeKind, Person, Platform
from bot.permissions import Action, require_org
from bot.services import org, preferences
from bot.services.lookup import person_named

_PLATFORMS = {Platform.SLACK: "Slack", Platform.TEAMS: "Teams", Platform.CONSOLE: "console"}


def _who(person: Person) -> str:
    return f"{person.name} (@{person.handle})"


async def on_org_show(ctx: Ctx, cmd: OrgShowCmd) -> Reply:
    seen = await org.overview(ctx.uow, organization_id=ctx.caller.organization_id)
    workspaces = ", ".join(
        f"{_PLATFORMS[w.platform]} {w.name or w.external_id}" for w in seen.workspaces
    )
    admins = ", ".join(_who(p) for p in seen.admins)
    return Reply(
        messages=(
            Message(
                title=seen.organization.name,
                facts=(
                    Fact(label="Workspaces", value=workspaces or "none yet"),
                    Fact(label="Admins", value=admins or "none yet (leaderbot org admin add)"),
                    Fact(
                        label="Executive",
                        value=_who(seen.executive)
                        if seen.executive
                        else "none: blockers stop at the sponsor (org executive @person)",
                    ),
                ),
            ),
        )
    )


async def on_org_invite(ctx: Ctx, cmd: OrgInviteCmd) -> Reply:
    organization = await require_org(ctx.uow, Action.ORG_INVITE, person=ctx.person)
    code, row = await org.issue_code(
        ctx.uow,
        kind=CodeKind.ORG_INVITE,
        organization_id=organization.id,
        created_by=ctx.person,
        now=ctx.now,
    )
    return Reply(
        messages=(
            text(
                f"Invitation code for {organization.name}: {code}",
                f"It works once, until {moment_in(row.expires_at, ctx.person.timezone)}. Give it "
                "to the partner's Leaderbot admin and ask them to type this to Leaderbot in their "
                f"own Slack or Teams: org join {code}",
                f"Their workspace then joins {organization.name}.",
            ),
        )
    )


async def on_org_join(ctx: Ctx, cmd: OrgJoinCmd) -> Reply:
    workspace = (
        await ctx.uow.workspaces.get(ctx.caller.workspace_id) if ctx.caller.workspace_id else None
    )
    if workspace is None:
        raise InvalidState(
            "Type org join in the Slack or Teams workspace that should join. Nothing was changed."
        )
    joined = await org.join(
        ctx.uow, code=cmd.code, workspace=workspace, admin=ctx.person, now=ctx.now
    )
    name = joined.organization.name
    matched = f", {joined.matched} of them matched by email" if joined.matched else ""
    return Reply(
        messages=(
            text(
                f"This {_PLATFORMS[workspace.platform]} workspace is now part of {name}: "
                f"{joined.people} {'person' if joined.people == 1 else 'people'} came "
                f"along{matched}. {joined.previous} was removed.",
                f"An admin of {name} can make you an admin there (org admin add @you). "
                "org show lists the workspaces.",
            ),
        ),
        changed=(CALLERS_CHANGED,),
    )


async def on_org_admin(ctx: Ctx, cmd: OrgAdminCmd) -> Reply:
    organization = await require_org(ctx.uow, Action.ORG_ADMINS, person=ctx.person)
    person = await person_named(ctx.uow, organization_id=organization.id, handle=cmd.person)
    if cmd.verb == "remove":
        await org.remove_admin(
            ctx.uow, organization=organization, person=person, actor=ctx.person, now=ctx.now
        )
        return Reply(
            messages=(text(f"{_who(person)} is no longer an admin of {organization.name}."),)
        )
    added = await org.add_admin(
        ctx.uow, organization=organization, person=person, actor=ctx.person, now=ctx.now
    )
    said = "is now" if added else "already was"
    return Reply(messages=(text(f"{_who(person)} {said} an admin of {organization.name}."),))


async def on_org_executive(ctx: Ctx, cmd: OrgExecutiveCmd) -> Reply:
    organization = await require_org(ctx.uow, Action.ORG_EXECUTIVE, person=ctx.person)
    person = await person_named(ctx.uow, organization_id=organization.id, handle=cmd.person)
    await org.set_executive(
        ctx.uow, organization=organization, person=person, actor=ctx.person, now=ctx.now
    )
    return Reply(
        messages=(
            text(
                f"{_who(person)} is now the executive of {organization.name}: the top rung of "
                "the escalation ladder of blockers raised from now on."
            ),
        )
    )


async def on_org_name(ctx: Ctx, cmd: OrgNameCmd) -> Reply:
    organization = await require_org(ctx.uow, Action.ORG_NAME, person=ctx.person)
    await org.rename(
        ctx.uow, organization=organization, name=cmd.name, actor=ctx.person, now=ctx.now
    )
    return Reply(messages=(text(f"The organization is now called {organization.name}."),))


async def on_me_timezone(ctx: Ctx, cmd: MeTimezoneCmd) -> Reply:
    await preferences.set_timezone(ctx.uow, person=ctx.person, timezone=cmd.timezone, now=ctx.now)
    return Reply(
        messages=(
            text(f"Done. Your working day: {preferences.describe_working_time(ctx.person)}."),
        ),
        changed=(CALLERS_CHANGED,),
    )


async def on_me_hours(ctx: Ctx, cmd: MeHoursCmd) -> Reply:
    await preferences.set_hours(
        ctx.uow, person=ctx.person, start=cmd.start, end=cmd.end, now=ctx.now
    )
    return Reply(
        messages=(
            text(f"Done. Your working day: {preferences.describe_working_time(ctx.person)}."),
        )
    )


async def on_me_link(ctx: Ctx, cmd: MeLinkCmd) -> Reply:
    if cmd.code is None:
        code, row = await org.issue_code(
            ctx.uow,
            kind=CodeKind.ME_LINK,
            organization_id=ctx.caller.organization_id,
            created_by=ctx.person,
            now=ctx.now,
        )
        return Reply(
            messages=(
                text(
                    f"Your link code: {code}",
                    "On your other platform (Slack or Teams), type this to Leaderbot: "
                    f"me link {code}",
                    f"It works once, until {moment_in(row.expires_at, ctx.person.timezone)}; that "
                    "identity then becomes yours.",
                ),
            )
        )
    owner = await org.link_identity(ctx.uow, code=cmd.code, person=ctx.person, now=ctx.now)
    return Reply(
        messages=(
            text(
                f"Linked: this {_PLATFORMS[ctx.caller.platform]} identity is now {_who(owner)}'s, "
                "so your asks, blockers and digests are the same here and there."
            ),
        ),
        changed=(CALLERS_CHANGED,),
    )
