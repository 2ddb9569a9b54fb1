"""Delegation: a leader lets someone decide for them for a while (holidays)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from bot.errors import UsageError
from bot.model import Delegation, Person
from bot.ports import UnitOfWork
from bot.services.audit import record


async def delegate(
    uow: UnitOfWork, *, delegator: Person, delegate_to: Person, until: date, now: datetime
) -> Delegation:
    """From today until ``until`` (inclusive), ``delegate_to`` may decide what waits on
    ``delegator``. A new delegation replaces any running one."""
    today = now.date()
    if until < today:
        raise UsageError("That date is in the past.", hint="delegate @person until <date>")
    if delegate_to.id == delegator.id:
        raise UsageError("You can't delegate to yourself.", hint="delegate @person until <date>")
    await end_delegations(uow, delegator=delegator, now=now)
    delegation = await uow.delegations.add(
        Delegation(
            organization_id=delegator.organization_id,
            delegator_id=delegator.id,
            delegate_id=delegate_to.id,
            starts_on=today,
            ends_on=until,
        )
    )
    await record(
        uow,
        organization_id=delegator.organization_id,
        actor_id=delegator.id,
        action="delegation.started",
        subject=f"person:{delegator.id}",
        detail=f"to person:{delegate_to.id} until {until.isoformat()}",
        at=now,
    )
    return delegation


async def end_delegations(uow: UnitOfWork, *, delegator: Person, now: datetime) -> int:
    """End every running delegation of ``delegator`` (they end yesterday)."""
    today = now.date()
    ended = 0
    for running in await uow.delegations.find(delegator_id=delegator.id, ends_on__gte=today):
        running.ends_on = today - timedelta(days=1)
        await uow.delegations.save(running)
        ended += 1
    if ended:
        await record(
            uow,
            organization_id=delegator.organization_id,
            actor_id=delegator.id,
            action="delegation.ended",
            subject=f"person:{delegator.id}",
            at=now,
        )
    return ended
