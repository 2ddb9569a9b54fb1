"""Snoozing a reminder (the ``reminder.snooze`` menu): later, but not forever.

A reminder about an ask or a blocker carries ``bot.attention.snooze_menu``; each choice's value is
``{item}:{choice}`` (``ask:12:tomorrow``) because a menu's chosen value replaces the action's
value. A snooze re-sends the reminder at the chosen time (still subject to quiet hours and the
daily cap of that day). After ``MAX_SNOOZES`` the item escalates instead: an ask goes to its
project's sponsor (or the organization's escalation contact when the sponsor is the one
snoozing), a blocker climbs its ladder.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.attention import MAX_SNOOZES, snooze_menu, wake_at
from bot.calendar import valid_timezone
from bot.context import Reply
from bot.errors import InvalidState, NotAllowed, UsageError
from bot.messages import Message, Target, text
from bot.model import Ask, Blocker, Person, Role
from bot.ports import UnitOfWork
from bot.services import asks, blockers
from bot.services.audit import record
from bot.services.delivery import deliver
from bot.services.lookup import names_of

__all__ = ["snooze"]

_SNOOZED = "reminder.snoozed"


def _zone(person: Person) -> ZoneInfo:
    return ZoneInfo(person.timezone if valid_timezone(person.timezone) else "UTC")


def _parse(value: str) -> tuple[str, int, str]:
    item, _, choice = value.rpartition(":")
    kind, _, raw_id = item.partition(":")
    if kind not in ("ask", "blocker") or not raw_id.isdigit() or not choice:
        raise UsageError("That snooze button refers to an item I can't read.")
    return kind, int(raw_id), choice


async def snooze(
    uow: UnitOfWork, *, person: Person, value: str, now: datetime, link_base: str
) -> Reply:
    """Handle a snooze choice (``ask:12:tomorrow``): re-send the reminder later, or escalate
    once the person has snoozed it ``MAX_SNOOZES`` times."""
    kind, item_id, choice = _parse(value)
    subject = f"{kind}:{item_id}"
    item: Ask | Blocker
    if kind == "ask":
        item = await asks.get_ask(uow, organization_id=person.organization_id, ask_id=item_id)
        if item.state not in asks.DECIDABLE:
            raise InvalidState(f"Ask #{item.id} is already {item.state.value}: nothing to snooze.")
        waiting_on = item.assignee_id
    else:
        item = await blockers.get_blocker(
            uow, organization_id=person.organization_id, blocker_id=item_id
        )
        if item.state not in blockers.LIVE:
            raise InvalidState(f"Blocker #{item.id} is already {item.state.value}.")
        waiting_on = item.ladder[item.level]
    if waiting_on != person.id:
        raise NotAllowed(f"Only the person it waits on can snooze {subject}. Nothing changed.")
    when = wake_at(choice, person=person, now=now)
    done = await uow.audit.count(action=_SNOOZED, subject=subject, actor_id=person.id)
    if done >= MAX_SNOOZES:
        return await _escalate(uow, item, person=person, now=now, link_base=link_base)
    card = await _reminder(uow, item, person=person, link_base=link_base)
    await deliver(
        uow,
        Message(
            title=f"Reminder (snoozed): {card.title}",
            sections=card.sections,
            facts=card.facts,
            actions=(*card.actions, snooze_menu(subject)),
            target=Target(person_id=person.id),
            key=f"{subject}:snooze:{done + 1}",
            link=card.link,
        ),
        organization_id=person.organization_id,
        # Planned as of its wake-up time: quiet hours and the daily cap of *that* day apply.
        now=when,
        category="ping",
    )
    await record(
        uow,
        organization_id=person.organization_id,
        actor_id=person.id,
        action=_SNOOZED,
        subject=subject,
        detail=f"{choice} until {when.isoformat()}",
        at=now,
    )
    left = MAX_SNOOZES - done - 1
    local = when.astimezone(_zone(person))
    more = (
        f"You can snooze it {left} more time{'s' if left > 1 else ''}."
        if left
        else "Next time it escalates instead."
    )
    return Reply(
        messages=(text(f"Snoozed {subject} until {local:%a %d %b %H:%M} {local.tzname()}.", more),)
    )


async def _reminder(
    uow: UnitOfWork, item: Ask | Blocker, *, person: Person, link_base: str
) -> Message:
    """The item's card as its reminder showed it (decide / acknowledge buttons included)."""
    project = await uow.projects.get(item.project_id)
    assert project is not None
    if isinstance(item, Ask):
        names = await names_of(uow, [item.requester_id, item.assignee_id])
        return asks.ask_card(
            item,
            project=project,
            names=names,
            reason="you decide",
            target=Target(person_id=person.id),
            link=asks.ask_link(link_base, item.id),
        )
    names = await names_of(uow, [item.reporter_id])
    return blockers.rung_card(
        item,
        project=project,
        reporter=names.get(item.reporter_id, "?"),
        deadline=blockers.describe_deadline(item, person),
    )


async def _escalate(
    uow: UnitOfWork, item: Ask | Blocker, *, person: Person, now: datetime, link_base: str
) -> Reply:
    """Snoozed too often: a blocker climbs its ladder; an ask goes to someone above."""
    subject = f"{'ask' if isinstance(item, Ask) else 'blocker'}:{item.id}"
    if isinstance(item, Blocker):
        if item.level + 1 >= len(item.ladder):
            return Reply(
                ok=False,
                messages=(text(f"You are the top of {subject}'s ladder: it cannot wait longer."),),
            )
        await blockers.climb(uow, blocker=item, now=now, link_base=link_base)
        return Reply(
            messages=(text(f"You snoozed {subject} {MAX_SNOOZES} times: it moved up its ladder."),),
            changed=(subject,),
        )
    above = await _above(uow, item)
    if above is None or above.id == person.id:
        return Reply(
            ok=False,
            messages=(text(f"Ask #{item.id} cannot be snoozed again: please decide it."),),
        )
    card = await _reminder(uow, item, person=person, link_base=link_base)
    await deliver(
        uow,
        Message(
            title=f"Escalated to you: {card.title}",
            sections=(
                *card.sections,
                f"{person.name} snoozed it {MAX_SNOOZES} times without deciding. You can "
                "follow up with them, or decide it yourself if you hold the authority.",
            ),
            facts=card.facts,
            target=Target(person_id=above.id),
            key=f"{subject}:snooze-escalated",
            link=card.link,
        ),
        organization_id=item.organization_id,
        now=now,
        category="ping",
    )
    await record(
        uow,
        organization_id=item.organization_id,
        actor_id=person.id,
        action="reminder.escalated",
        subject=subject,
        detail=f"to person:{above.id}",
        at=now,
    )
    return Reply(
        messages=(text(f"You snoozed ask #{item.id} {MAX_SNOOZES} times: {above.name} was told."),),
        changed=(subject,),
    )


async def _above(uow: UnitOfWork, ask: Ask) -> Person | None:
    """Who an ask escalates to: its project's sponsor, else the organization's escalation
    contact when the sponsor is the decider."""
    sponsor = await uow.stakeholders.first(project_id=ask.project_id, role=Role.SPONSOR)
    if sponsor is not None and sponsor.person_id != ask.assignee_id:
        return await uow.people.get(sponsor.person_id)
    organization = await uow.organizations.get(ask.organization_id)
    if organization is None or organization.escalation_contact_id is None:
        return None
    return await uow.people.get(organization.escalation_contact_id)
