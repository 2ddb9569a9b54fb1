"""Weekly project updates: RAG status, progress, next steps, for one ISO week."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.calendar import iso_week, local_date
from bot.messages import Fact, Message, Target
from bot.model import Person, Project, Rag, Update
from bot.permissions import Action, require
from bot.ports import UnitOfWork
from bot.services.audit import record
from bot.services.delivery import deliver

RAG_LABEL = {Rag.GREEN: "green", Rag.AMBER: "amber", Rag.RED: "red"}


@dataclass(frozen=True, kw_only=True)
class Posted:
    update: Update
    replaced: Update | None
    """The same week's earlier update, which this one replaces (one update per week)."""


async def post_update(
    uow: UnitOfWork,
    *,
    project: Project,
    author: Person,
    text: str,
    next_steps: str,
    rag: Rag | None,
    now: datetime,
) -> Posted:
    """Record the update for this week (the RAG carries over from the last one when not given)
    and post it to the project channel. A project has one update per ISO week: a second one
    replaces the first, whoever wrote it, and its channel post is updated in place."""
    await require(uow, Action.POST_UPDATE, person=author, project=project, today=now.date())
    period = iso_week(local_date(now, author.timezone))
    replaced = await uow.updates.first(project_id=project.id, period=period)
    if replaced is not None:
        await uow.updates.delete(replaced.id)
    if rag is None:
        last = replaced or await uow.updates.first(project_id=project.id, order_by="-created_at")
        rag = last.rag if last else Rag.GREEN
    update = await uow.updates.add(
        Update(
            project_id=project.id,
            author_id=author.id,
            period=period,
            rag=rag,
            progress=text.strip(),
            next_steps=next_steps.strip(),
            created_at=now,
        )
    )
    await record(
        uow,
        organization_id=project.organization_id,
        actor_id=author.id,
        action="update.posted",
        subject=f"project:{project.id}",
        detail=f"{rag.value} {update.period}"
        + (f" replacing update:{replaced.id}" if replaced else ""),
        at=now,
    )
    facts = [Fact(label="Status", value=RAG_LABEL[rag]), Fact(label="By", value=author.name)]
    if update.next_steps:
        facts.append(Fact(label="Next", value=update.next_steps))
    await deliver(
        uow,
        Message(
            title=f"Update · #{project.key} · {update.period}",
            sections=(update.progress,),
            facts=tuple(facts),
            target=Target(project_id=project.id),
            key=f"update:{update.id}",
            replaces_key=f"update:{replaced.id}" if replaced else None,
        ),
        organization_id=project.organization_id,
        now=now,
    )
    return Posted(update=update, replaced=replaced)
