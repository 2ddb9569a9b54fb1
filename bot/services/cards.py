"""An ask's or a blocker's card as one person should see it, and who may act on it.

A card posted where many read it (a project channel) shows the item's state to everyone and
its buttons to nobody; a platform that can show one card differently per reader (Teams'
Universal Actions ``refresh`` with ``userIds``) asks :func:`actors` whom to refresh it for and
:func:`card_for` what each of them sees: the buttons that still apply to them.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import replace
from datetime import datetime

from bot.errors import LeaderbotError, NotFound
from bot.messages import Message, Target
from bot.model import Person
from bot.ports import UnitOfWork
from bot.routing import deciders
from bot.services import asks, blockers
from bot.services.lookup import names_of


def item_of(key: str) -> tuple[str, int] | None:
    """The item a message key is about (``ask:12:card`` → ("ask", 12)), if an ask or blocker."""
    kind, _, rest = key.partition(":")
    number = rest.partition(":")[0]
    if kind not in ("ask", "blocker") or not number.isdigit():
        return None
    return kind, int(number)


async def actors(uow: UnitOfWork, *, kind: str, item_id: int, now: datetime) -> list[int]:
    """Who may act on the item now: an open ask's deciders (its assignee and active
    delegates), a live blocker's current rung holder; nobody once it is closed."""
    if kind == "ask":
        ask = await uow.asks.get(item_id)
        if ask is None or ask.state not in asks.DECIDABLE:
            return []
        delegations = await uow.delegations.find(delegator_id=ask.assignee_id)
        return sorted(
            deciders(assignee_id=ask.assignee_id, delegations=delegations, today=now.date())
        )
    blocker = await uow.blockers.get(item_id)
    if blocker is None or blocker.state not in blockers.LIVE:
        return []
    return [blocker.ladder[blocker.level]]


async def card_for(
    uow: UnitOfWork,
    *,
    kind: str,
    item_id: int,
    reader: Person,
    now: datetime,
    link_base: str,
) -> Message:
    """The item's card as ``reader`` should see it now: with its buttons when they may act
    on it, its state alone otherwise."""
    organization_id = reader.organization_id
    if kind == "ask":
        ask = await asks.get_ask(uow, organization_id=organization_id, ask_id=item_id)
        project = await uow.projects.get(ask.project_id)
        if project is None:
            raise NotFound(f"There is no ask #{item_id}.")
        names = await names_of(
            uow,
            [ask.assignee_id, ask.requester_id, ask.decided_by_id or 0, ask.on_behalf_of_id or 0],
        )
        link = asks.ask_link(link_base, ask.id)
        said = (await asks.conversations(uow, [ask.id])).get(ask.id, ())
        if ask.state not in asks.DECIDABLE:
            return asks.outcome_card(
                ask,
                project=project,
                names=names,
                target=Target(),
                link=link,
                reader_tz=reader.timezone,
                conversation=said,
            )
        may = await _may(
            asks.decidable(
                uow, item_id=ask.id, organization_id=organization_id, person=reader, now=now
            )
        )
        target = Target(person_id=reader.id) if may else Target(project_id=project.id)
        return asks.ask_card(
            ask,
            project=project,
            names=names,
            reason=ask.reason,
            target=target,
            link=link,
            conversation=said,
        )
    blocker = await blockers.get_blocker(uow, organization_id=organization_id, blocker_id=item_id)
    card = await blockers.card_now(uow, blocker, reader=reader, footer="", link_base=link_base)
    may = await _may(
        blockers.closable(
            uow, item_id=blocker.id, organization_id=organization_id, person=reader, now=now
        )
    )
    return card if may else replace(card, actions=())


async def _may(check: Awaitable[object]) -> bool:
    """Whether a service's permission check passes (it raises the refusal otherwise)."""
    try:
        await check
    except LeaderbotError:
        return False
    return True
