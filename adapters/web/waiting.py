"""What waits on one leader: the page a personal link opens (issue 12 §1 "Waiting on you").

The same rows as the organization's lists (:mod:`adapters.web.rows`), narrowed to one person:
asks they may decide today (their own and those of people who delegated to them), blockers whose
current rung they hold, KPI reviews they sponsor, and the decisions they made lately.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from adapters.web.rows import (
    AskRow,
    BlockerRow,
    DecisionRow,
    ReviewRow,
    load_asks,
    load_blockers,
    load_decisions,
    load_reviews,
)
from bot.calendar import local_date
from bot.errors import NotFound
from bot.ports import UnitOfWork
from bot.routing import deciders

RECENT_DECISIONS = 10


@dataclass(frozen=True, kw_only=True)
class Waiting:
    name: str
    today: str
    """The leader's local date, ISO: what "overdue" is measured against."""
    asks: list[AskRow]
    blockers: list[BlockerRow]
    reviews: list[ReviewRow]
    decisions: list[DecisionRow]


async def _delegators(uow: UnitOfWork, person_id: int, now: datetime, timezone: str) -> list[int]:
    """Whose asks ``person_id`` may decide today besides their own (active delegations)."""
    today = local_date(now, timezone)
    delegations = await uow.delegations.find(delegate_id=person_id)
    return sorted(
        {
            d.delegator_id
            for d in delegations
            if person_id
            in deciders(assignee_id=d.delegator_id, delegations=delegations, today=today)
        }
    )


async def load_waiting(
    uow: UnitOfWork, *, organization_id: int, person_id: int, now: datetime
) -> Waiting:
    """Everything waiting on ``person_id``, oldest first; decisions newest first.

    Raises:
        NotFound: the person is not in this organization.
    """
    person = await uow.people.get(person_id)
    if person is None or person.organization_id != organization_id:
        raise NotFound("No such person here.")
    deciding = [person_id, *await _delegators(uow, person_id, now, person.timezone)]
    return Waiting(
        name=person.name,
        today=local_date(now, person.timezone).isoformat(),
        asks=await load_asks(uow, organization_id=organization_id, now=now, assignee_ids=deciding),
        blockers=await load_blockers(
            uow, organization_id=organization_id, now=now, held_by=person_id
        ),
        reviews=await load_reviews(
            uow, organization_id=organization_id, now=now, sponsor_id=person_id
        ),
        decisions=await load_decisions(
            uow, organization_id=organization_id, limit=RECENT_DECISIONS, decided_by=person_id
        ),
    )
