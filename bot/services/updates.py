"""Weekly project updates: RAG status, progress, next steps, for one ISO week."""

from __future__ import annotations

from datetime import datetime

from bot.calendar import iso_week, local_date
from bot.messages import Fact, Message, Target
from bot.model import Person, Project, Rag, Update
from bot.ports import UnitOfWork
from bot.services.audit import record
from bot.services.delivery import deliver

RAG_LABEL = {Rag.GREEN: "green", Rag.AMBER: "amber", Rag.RED: "red"}


async def post_update(
    uow: UnitOfWork,
    *,
    project: Project,
    author: Person,
    text: str,
    next_steps: str,
    rag: Rag | None,
    now: datetime,
) -> Update:
    """Record an update for this week (the RAG carries over from the last one when not given)
    and post it to the project channel."""
    if rag is None:
        last = await uow.updates.first(project_id=project.id, order_by="-created_at")
        rag = last.rag if last else Rag.GREEN
    update = await uow.updates.add(
        Update(
            project_id=project.id,
            author_id=author.id,
            period=iso_week(local_date(now, author.timezone)),
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
        detail=f"{rag.value} {update.period}",
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
        ),
        organization_id=project.organization_id,
        now=now,
    )
    return update
