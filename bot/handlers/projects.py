"""Handlers for projects: set-up (charter, channel, roles, RACI), status, updates, KPIs, log."""

from __future__ import annotations

from bot.calendar import moment_in
from bot.commands import (
    DecisionsCmd,
    KpiAddCmd,
    KpiListCmd,
    KpiRecordCmd,
    ProjectChannelCmd,
    ProjectCharterCmd,
    ProjectNewCmd,
    ProjectShowCmd,
    ProjectStatusCmd,
    RaciSetCmd,
    RaciShowCmd,
    RoleCmd,
    StatusCmd,
    UpdateCmd,
    WhoCmd,
)
from bot.context import Reply
from bot.errors import UsageError
from bot.handlers.context import Ctx
from bot.messages import Fact, Message, text
from bot.model import AskState, Project, ProjectStatus, Role
from bot.routing import signed
from bot.services import kpis, projects, raci, updates
from bot.services.blockers import LIVE
from bot.services.lookup import names_of, person_named, project_for


async def on_project_new(ctx: Ctx, cmd: ProjectNewCmd) -> Reply:
    project = await projects.create(
        ctx.uow,
        organization_id=ctx.caller.organization_id,
        key=cmd.key,
        name=cmd.name,
        creator=ctx.person,
        now=ctx.now,
    )
    return Reply(
        messages=(
            text(
                f"#{project.key} created; you are its lead.",
                f"Next: role @person sponsor #{project.key} · raci set @person A * #{project.key}"
                f" · project charter #{project.key} aim <text>",
            ),
        )
    )


async def on_project_show(ctx: Ctx, cmd: ProjectShowCmd) -> Reply:
    project = await project_for(ctx.uow, caller=ctx.caller, key=cmd.project)
    stakeholders = await ctx.uow.stakeholders.find(project_id=project.id, order_by="id")
    names = await names_of(ctx.uow, [s.person_id for s in stakeholders])
    facts = [Fact(label="Status", value=project.status.value)]
    for field in projects.CHARTER_FIELDS:
        value = getattr(project, field)
        if value:
            facts.append(Fact(label=field.capitalize(), value=value))
    for role in Role:
        who = [names.get(s.person_id, "?") for s in stakeholders if s.role is role]
        if who:
            facts.append(Fact(label=role.value.capitalize(), value=", ".join(who)))
    unsponsored = projects.no_sponsor_note(project, stakeholders)
    return Reply(
        messages=(
            Message(
                title=f"#{project.key} — {project.name}",
                sections=(unsponsored,) if unsponsored else (),
                facts=tuple(facts),
            ),
        )
    )


async def on_project_charter(ctx: Ctx, cmd: ProjectCharterCmd) -> Reply:
    project = await project_for(ctx.uow, caller=ctx.caller, key=cmd.project)
    await projects.set_charter(
        ctx.uow, project=project, field=cmd.field, text=cmd.text, actor=ctx.person, now=ctx.now
    )
    return Reply(messages=(text(f"#{project.key} charter {cmd.field} updated."),))


async def on_project_channel(ctx: Ctx, cmd: ProjectChannelCmd) -> Reply:
    project = await project_for(ctx.uow, caller=ctx.caller, key=cmd.project)
    if not (ctx.caller.workspace_id and ctx.caller.channel_id):
        raise UsageError(
            "Run this in the channel that should become the project's home.",
            hint=f"project channel #{project.key}",
        )
    await projects.link_channel(
        ctx.uow,
        project=project,
        workspace_id=ctx.caller.workspace_id,
        channel_id=ctx.caller.channel_id,
        conversation_ref=None,
        actor=ctx.person,
        now=ctx.now,
    )
    return Reply(
        messages=(text(f"This channel is now #{project.key}'s home: asks and blockers post here."),)
    )


async def on_project_status(ctx: Ctx, cmd: ProjectStatusCmd) -> Reply:
    project = await project_for(ctx.uow, caller=ctx.caller, key=cmd.project)
    await projects.set_status(
        ctx.uow, project=project, status=cmd.status, actor=ctx.person, now=ctx.now
    )
    return Reply(messages=(text(f"#{project.key} is now {cmd.status.value}."),))


async def on_role(ctx: Ctx, cmd: RoleCmd) -> Reply:
    project = await project_for(ctx.uow, caller=ctx.caller, key=cmd.project)
    person = await person_named(
        ctx.uow, organization_id=ctx.caller.organization_id, handle=cmd.person
    )
    said = await projects.set_role(
        ctx.uow,
        project=project,
        person=person,
        role=cmd.role,
        note=cmd.note,
        actor=ctx.person,
        now=ctx.now,
    )
    return Reply(messages=(text(said),))


async def on_raci_set(ctx: Ctx, cmd: RaciSetCmd) -> Reply:
    project = await project_for(ctx.uow, caller=ctx.caller, key=cmd.project)
    person = await person_named(
        ctx.uow, organization_id=ctx.caller.organization_id, handle=cmd.person
    )
    await raci.check_new_area(
        ctx.uow,
        project=project,
        area=cmd.area,
        confirmed=cmd.new_area,
        retry=f"raci set @{person.handle} {cmd.letter.value} {cmd.area}! #{project.key}",
    )
    said = await raci.set_letter(
        ctx.uow,
        project=project,
        person=person,
        letter=cmd.letter,
        area=cmd.area,
        actor=ctx.person,
        now=ctx.now,
    )
    return Reply(messages=(text(said),))


async def on_raci_show(ctx: Ctx, cmd: RaciShowCmd) -> Reply:
    project = await project_for(ctx.uow, caller=ctx.caller, key=cmd.project)
    matrix = await raci.load_matrix(ctx.uow, project)
    names = await names_of(ctx.uow, [e.person_id for e in matrix.raci])
    return Reply(
        messages=(
            Message(
                title=f"RACI · #{project.key}", sections=("\n".join(raci.describe(matrix, names)),)
            ),
        )
    )


async def on_who(ctx: Ctx, cmd: WhoCmd) -> Reply:
    person = (
        await person_named(ctx.uow, organization_id=ctx.caller.organization_id, handle=cmd.person)
        if cmd.person
        else ctx.person
    )
    roles = await ctx.uow.stakeholders.find(person_id=person.id)
    letters = await ctx.uow.raci.find(person_id=person.id)
    keys = {
        p.id: p.key
        for p in await ctx.uow.projects.find(
            id=sorted({r.project_id for r in roles} | {e.project_id for e in letters})
        )
    }
    lines = [
        f"#{keys[r.project_id]}: {r.role.value}" + (f" — {r.note}" if r.note else "") for r in roles
    ]
    lines += [f"#{keys[e.project_id]}: {e.letter.value} for {e.area}" for e in letters]
    return Reply(
        messages=(
            Message(
                title=f"{person.name} (@{person.handle})",
                sections=("\n".join(lines) or "No roles yet.",),
                facts=(Fact(label="Timezone", value=person.timezone),),
            ),
        )
    )


async def on_status(ctx: Ctx, cmd: StatusCmd) -> Reply:
    project = await project_for(ctx.uow, caller=ctx.caller, key=cmd.project)
    return Reply(messages=(await status_message(ctx, project),))


async def projects_of(ctx: Ctx) -> list[Project]:
    """The caller's active projects: those they have a stakeholder role or a RACI letter on."""
    roles = await ctx.uow.stakeholders.find(person_id=ctx.person.id)
    letters = await ctx.uow.raci.find(person_id=ctx.person.id)
    ids = sorted({r.project_id for r in roles} | {e.project_id for e in letters})
    if not ids:
        return []
    return await ctx.uow.projects.find(id=ids, status=ProjectStatus.ACTIVE, order_by="key")


async def status_message(ctx: Ctx, project: Project) -> Message:
    """The project at a glance: RAG and last update, open asks, live blockers, KPIs."""
    last = await ctx.uow.updates.first(project_id=project.id, order_by="-created_at")
    open_asks = await ctx.uow.asks.find(
        project_id=project.id, state=[AskState.OPEN, AskState.INFO_REQUESTED], order_by="id"
    )
    live = await ctx.uow.blockers.find(project_id=project.id, state=list(LIVE), order_by="id")
    measures = await ctx.uow.measures.find(project_id=project.id, order_by="id")
    latest = {
        o.measure_id: o
        for o in await ctx.uow.observations.find(
            measure_id=[m.id for m in measures], order_by="observed_on"
        )
    }
    names = await names_of(ctx.uow, [a.assignee_id for a in open_asks])
    sections = [
        f"{last.rag.value.upper()} ({last.period}): {last.progress}" if last else "No update yet."
    ]
    sections += [
        f"Ask #{a.id} with {names.get(a.assignee_id, '?')}: {a.text[:120]}" for a in open_asks
    ]
    sections += [
        f"Blocker #{b.id} ({b.severity.value}, {b.state.value}): {b.text[:120]}" for b in live
    ]
    sections += [kpis.describe(m, latest.get(m.id)) for m in measures]
    unsponsored = projects.no_sponsor_note(
        project, await ctx.uow.stakeholders.find(project_id=project.id, role=Role.SPONSOR)
    )
    if unsponsored:
        sections.append(unsponsored)
    return Message(title=f"#{project.key} — {project.name}", sections=tuple(sections))


async def on_update(ctx: Ctx, cmd: UpdateCmd) -> Reply:
    project = await project_for(ctx.uow, caller=ctx.caller, key=cmd.project)
    posted = await updates.post_update(
        ctx.uow,
        project=project,
        author=ctx.person,
        text=cmd.text,
        next_steps=cmd.next_steps,
        rag=cmd.rag,
        now=ctx.now,
    )
    update, replaced = posted.update, posted.replaced
    said = [f"Update for #{project.key} ({update.period}, {update.rag.value}) posted."]
    if replaced is not None:
        names = await names_of(ctx.uow, [replaced.author_id])
        whose = (
            "your earlier"
            if replaced.author_id == ctx.person.id
            else f"{names.get(replaced.author_id, 'someone')}'s"
        )
        said.append(f"This replaces {whose} update for {replaced.period}.")
    return Reply(messages=(text(" ".join(said)),))


async def on_kpi_list(ctx: Ctx, cmd: KpiListCmd) -> Reply:
    project = await project_for(ctx.uow, caller=ctx.caller, key=cmd.project)
    measures = await ctx.uow.measures.find(project_id=project.id, order_by="id")
    latest = {
        o.measure_id: o
        for o in await ctx.uow.observations.find(
            measure_id=[m.id for m in measures], order_by="observed_on"
        )
    }
    lines = [kpis.describe(m, latest.get(m.id)) for m in measures]
    return Reply(
        messages=(
            Message(
                title=f"KPIs · #{project.key}",
                sections=("\n".join(lines) or f"No KPIs yet: kpi add <name> #{project.key}",),
            ),
        )
    )


async def on_kpi_add(ctx: Ctx, cmd: KpiAddCmd) -> Reply:
    project = await project_for(ctx.uow, caller=ctx.caller, key=cmd.project)
    measure = await kpis.add_measure(
        ctx.uow,
        project=project,
        name=cmd.name,
        unit=cmd.unit,
        direction=cmd.direction,
        target=cmd.target,
        warn=cmd.warn,
        alert=cmd.alert,
        actor=ctx.person,
        now=ctx.now,
    )
    return Reply(messages=(text(f"KPI added to #{project.key}: {kpis.describe(measure, None)}."),))


async def on_kpi_record(ctx: Ctx, cmd: KpiRecordCmd) -> Reply:
    project = await project_for(ctx.uow, caller=ctx.caller, key=cmd.project)
    measure = await kpis.find_measure(ctx.uow, project=project, name=cmd.name)
    observation, review = await kpis.record_observation(
        ctx.uow,
        project=project,
        measure=measure,
        value=cmd.value,
        observed_on=cmd.observed_on or ctx.today,
        actor=ctx.person,
        now=ctx.now,
    )
    said = [f"Recorded {kpis.describe(measure, observation)}."]
    latest = await ctx.uow.observations.first(measure_id=measure.id, order_by="-observed_on")
    if latest is not None and latest.observed_on > observation.observed_on:
        said.append(
            f"It is for {observation.observed_on:%a %d %b}; the newer value of "
            f"{latest.observed_on:%a %d %b} ({latest.value:g}) stays the current one."
        )
    if review is not None:
        sponsor = await ctx.uow.people.get(review.sponsor_id)
        said.append(
            f"It crossed the {review.level.value} threshold: "
            f"{sponsor.name if sponsor else 'the sponsor'} will review it in their digest."
        )
    return Reply(messages=(text(" ".join(said)),))


DECISIONS_LISTED = 15
"""The newest decisions ``decisions`` shows; the rest are counted, with where to see them."""


async def on_decisions(ctx: Ctx, cmd: DecisionsCmd) -> Reply:
    project = await project_for(ctx.uow, caller=ctx.caller, key=cmd.project)
    decisions = await ctx.uow.decisions.find(
        project_id=project.id, order_by="-decided_at", limit=DECISIONS_LISTED
    )
    names = await names_of(
        ctx.uow, [i for d in decisions for i in (d.decided_by_id, d.on_behalf_of_id) if i]
    )
    lines = [
        f"{moment_in(d.decided_at, ctx.person.timezone)}"
        f" · {signed(names, d.decided_by_id, d.on_behalf_of_id)}"
        f" · {d.outcome}" + (f" — {d.rationale}" if d.rationale else "")
        for d in decisions
    ]
    total = await ctx.uow.decisions.count(project_id=project.id)
    if total > len(decisions):
        where = (
            f"the dashboard has them all: {ctx.links.for_person(ctx.person)}"
            if ctx.links.signed
            else "type `dashboard` for the dashboard, which has them all"
        )
        lines.append(f"… {total - len(decisions)} older — {where}")
    return Reply(
        messages=(
            Message(
                title=f"Decision log · #{project.key}",
                sections=("\n".join(lines) or "No decisions logged yet.",),
            ),
        )
    )
