"""Explicit asks: raised by a lead, routed per RACI, decided by the Accountable (or delegate).

State machine: open → approved | declined | info_requested (→ open on an answer) | withdrawn |
expired. Every change writes an audit event; approvals and declines also write the decision log.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from bot import permissions
from bot.attention import ITEM, PING, plan_ping, snooze_menu
from bot.buttons import ask_buttons
from bot.calendar import moment_in, zone
from bot.errors import InvalidState, NotAllowed, NotFound, RoutingError, UsageError
from bot.links import item_link
from bot.messages import Action, Fact, InputKind, Message, Target, from_json
from bot.model import (
    Ask,
    AskState,
    ConversationEntry,
    ConversationKind,
    Decision,
    OutboxMessage,
    Person,
    Project,
    Stakeholder,
)
from bot.ports import UnitOfWork
from bot.routing import Routing, signed, sponsor_of
from bot.schedule import ask_expires_at
from bot.services.audit import record
from bot.services.delivery import addressed, deliver, enqueue_rows, unreachable_note
from bot.services.lookup import names_of
from bot.services.raci import DEFAULT_AREA, load_matrix, route_in

DECIDABLE = (AskState.OPEN, AskState.INFO_REQUESTED)
_NOTHING = "Nothing was changed."
OUTCOME_STATE = {"approve": AskState.APPROVED, "decline": AskState.DECLINED}
_DECIDED_STATES = (AskState.APPROVED, AskState.DECLINED, AskState.INFO_REQUESTED)
"""States a decider set, so ``decided_at`` is when; a withdrawal or expiry is ``updated_at``."""


UNDATED_LIFETIME = timedelta(days=7)
"""How long an ask card with no needed-by date (an ask that never expires) is retried."""


@dataclass(frozen=True, kw_only=True)
class Raised:
    ask: Ask
    assignee: str
    reason: str
    consulted: tuple[str, ...]
    unreachable: str | None = None
    """Why the decider cannot be messaged (the admin has been told), or None."""
    arrives_at: datetime | None = None
    """When the card reaches the decider, if not at once (outside their working hours)."""


def card_deadline(ask: Ask, decider: Person | None) -> datetime | None:
    """Until when the decider's card is retried: until the ask expires (undated asks:
    :data:`UNDATED_LIFETIME` after they were raised)."""
    if ask.needed_by is None or decider is None:
        return ask.created_at + UNDATED_LIFETIME
    return ask_expires_at(ask.needed_by, decider)


def seen(ask: Ask) -> Mapping[str, object]:
    """The guard of every change of an ask (``Repository.save_if``): the fields any transition
    changes — its state, when it last changed, its decider, its one-time jobs — still as this
    unit read them. Of two concurrent changes the second then finds the row changed and writes
    nothing (and no field the first wrote is lost under a stale copy)."""
    return {
        "state": ask.state,
        "updated_at": ask.updated_at,
        "assignee_id": ask.assignee_id,
        "reminded_at": ask.reminded_at,
        "announced_at": ask.announced_at,
    }


def card_key(ask_id: int) -> str:
    return f"ask:{ask_id}:card"


_SAID = {ConversationKind.QUESTION: "Question from", ConversationKind.ANSWER: "Answer from"}


def conversation_lines(
    entries: Iterable[ConversationEntry], names: Mapping[int, str]
) -> tuple[str, ...]:
    """An ask's questions and answers as card sections: ``Question from Raj Patel: …``."""
    return tuple(f"{_SAID[e.kind]} {names.get(e.author_id, '?')}: {e.text}" for e in entries)


async def conversations(uow: UnitOfWork, ask_ids: Iterable[int]) -> dict[int, tuple[str, ...]]:
    """The conversation of each ask (oldest turn first) as :func:`conversation_lines`, in two
    queries; asks without one are left out."""
    wanted = sorted(set(ask_ids))
    if not wanted:
        return {}
    entries = await uow.conversation.find(ask_id=wanted, order_by="id")
    return conversations_of(entries, await names_of(uow, [e.author_id for e in entries]))


def conversations_of(
    entries: Iterable[ConversationEntry], names: Mapping[int, str]
) -> dict[int, tuple[str, ...]]:
    """Loaded turns (oldest first) by ask, as :func:`conversation_lines`: for a caller that
    loads names with others' (the digest)."""
    by_ask: dict[int, list[ConversationEntry]] = {}
    for entry in entries:
        by_ask.setdefault(entry.ask_id, []).append(entry)
    return {ask_id: conversation_lines(turns, names) for ask_id, turns in by_ask.items()}


async def _conversation(uow: UnitOfWork, ask: Ask) -> tuple[str, ...]:
    return (await conversations(uow, [ask.id])).get(ask.id, ())


def ask_card(
    ask: Ask,
    *,
    project: Project,
    names: dict[int, str],
    reason: str,
    target: Target,
    link: str,
    conversation: Sequence[str] = (),
) -> Message:
    """The ask as its decider sees it: the request, its conversation so far, who needs it by
    when, and the three buttons. A project channel's copy shows the same without them:
    everyone there may read the ask, only its decider may decide it, on their own copy."""
    facts = [
        Fact(label="From", value=names.get(ask.requester_id, "?")),
        Fact(label="Decides", value=f"{names.get(ask.assignee_id, '?')} ({reason})"),
        Fact(label="Area", value="default" if ask.area == DEFAULT_AREA else ask.area),
    ]
    if ask.needed_by:
        facts.append(Fact(label="Needed by", value=_day(ask.needed_by)))
    return Message(
        title=f"Ask #{ask.id} · #{project.key}",
        sections=(ask.text, *conversation),
        facts=tuple(facts),
        actions=ask_buttons(ask.id) if target.project_id is None else (),
        target=target,
        key=card_key(ask.id),
        link=link,
        caused_by=ask.requester_id,
    )


def outcome_card(
    ask: Ask,
    *,
    project: Project,
    names: dict[int, str],
    target: Target,
    link: str,
    reader_tz: str,
    conversation: Sequence[str] = (),
) -> Message:
    """The ask after a decision: outcome, who and when (in ``reader_tz``, named), the
    conversation, the rationale, and no buttons left. A withdrawal is signed by its requester,
    the only one who may."""
    verdict = {
        AskState.APPROVED: "Approved",
        AskState.DECLINED: "Declined",
        AskState.INFO_REQUESTED: "More information requested",
        AskState.WITHDRAWN: "Withdrawn",
        AskState.EXPIRED: "Expired undecided",
    }.get(ask.state, ask.state.value)
    if ask.state is AskState.WITHDRAWN:
        by = names.get(ask.requester_id, "")
    else:
        by = signed(names, ask.decided_by_id, ask.on_behalf_of_id)
    when = ask.decided_at if ask.state in _DECIDED_STATES else ask.updated_at
    on = f" on {moment_in(when, reader_tz)}" if when else ""
    footer = f"{verdict} by {by}{on}" if by else f"{verdict}{on}"
    sections = [ask.text, *conversation]
    if ask.rationale and not (conversation and ask.state is AskState.INFO_REQUESTED):
        sections.append(
            f"{'Question' if ask.state is AskState.INFO_REQUESTED else 'Rationale'}: "
            f"{ask.rationale}"
        )
    return Message(
        title=f"Ask #{ask.id} · #{project.key} — {verdict}",
        sections=tuple(sections),
        facts=(Fact(label="From", value=names.get(ask.requester_id, "?")),),
        footer=footer,
        target=target,
        key=f"ask:{ask.id}:{ask.state.value}:{_stamp(ask)}",
        replaces_key=card_key(ask.id),
        link=link,
    )


def _stamp(ask: Ask) -> int:
    """Distinguishes successive outcome messages of one ask (asked info, then approved)."""
    return int(ask.updated_at.timestamp()) if ask.updated_at else 0


def _day(day: date) -> str:
    return day.strftime("%a %d %b %Y")


def ask_link(link_base: str, ask_id: int) -> str:
    return item_link(link_base, "ask", ask_id)


async def raise_ask(
    uow: UnitOfWork,
    *,
    project: Project,
    requester: Person,
    text: str,
    area: str | None,
    needed_by: date | None,
    assignee: Person | None,
    now: datetime,
    link_base: str,
    platform: str = "",
) -> Raised:
    """Create an ask routed to its decider (RACI, or the person named). Only the ask is written
    here, before the ack; :func:`announce` writes its audit event and messages next.

    Nobody decides their own ask: naming yourself is refused, and an ask whose Accountable is
    its requester goes to the project's sponsor instead (refused when that is them too)."""
    if assignee is not None and assignee.id == requester.id:
        raise NotAllowed(
            "You can't ask yourself: nobody decides their own ask. Nothing was changed.",
            hint="Name who should decide (ask @person …), or leave @person out to route it "
            "per the RACI.",
        )
    if project.status.value != "active":
        raise InvalidState(f"#{project.key} is {project.status.value}; it takes no new asks.")
    if needed_by is not None and needed_by < now.date():
        raise UsageError(f"{_day(needed_by)} is in the past.", hint="Give a date from today on.")
    matrix = await load_matrix(uow, project)
    area = (area or DEFAULT_AREA).lower()
    # Routing is by id; only the people the reply names are read (below), not the matrix's.
    routing = route_in(matrix, area=area, names={})
    assignee_id, reason = routing.assignee_id, routing.reason
    if assignee is None and assignee_id == requester.id:
        assignee_id, reason = _not_to_oneself(matrix.stakeholders, routing, project, requester)
    if assignee is not None:
        assignee_id, reason = assignee.id, "asked by name"
    consulted = tuple(i for i in routing.consulted_ids if i not in (assignee_id, requester.id))
    # The decider and the Consulted, in one read (the ack waits for it).
    wanted = [*consulted] if assignee is not None else [assignee_id, *consulted]
    people = {p.id: p for p in await uow.people.find(id=sorted(set(wanted)))} if wanted else {}
    decider = assignee if assignee is not None else people.get(assignee_id)
    names = {person_id: person.name for person_id, person in people.items()}
    if decider is not None:
        names[decider.id] = decider.name
    unreachable = (
        await unreachable_note(
            uow, person=decider, organization_id=project.organization_id, now=now
        )
        if decider is not None
        else None
    )
    ask = await uow.asks.add(
        Ask(
            organization_id=project.organization_id,
            project_id=project.id,
            requester_id=requester.id,
            assignee_id=assignee_id,
            area=area,
            text=text,
            needed_by=needed_by,
            consulted_ids=list(consulted),
            created_at=now,
            updated_at=now,
            reason=reason,
            platform=platform,
        )
    )
    return Raised(
        ask=ask,
        assignee=names.get(assignee_id, "?"),
        reason=reason,
        consulted=tuple(names.get(i, "?") for i in consulted),
        unreachable=unreachable,
        arrives_at=_held_until(decider, now) if decider is not None else None,
    )


def _held_until(decider: Person, now: datetime) -> datetime | None:
    due = plan_ping(now=now, person=decider, category=ITEM)
    return due if due > now else None


def _not_to_oneself(
    stakeholders: list[Stakeholder], routing: Routing, project: Project, requester: Person
) -> tuple[int, str]:
    """Where an ask goes whose routed decider is its requester: up to the sponsor."""
    sponsor = sponsor_of(stakeholders)
    if sponsor is None or sponsor == requester.id:
        raise RoutingError(
            f"This ask would go to you ({routing.reason}), and nobody decides their own ask; "
            f"#{project.key} has no other sponsor to take it. Nothing was changed.",
            hint=f"Name who should decide: ask @person … #{project.key}",
        )
    return sponsor, (
        f"sponsor of {project.key}: {requester.name}, who asks, is its decider ({routing.reason})"
    )


ANNOUNCE_BATCH = 10
"""Asks announced per unit of work at most. On SQLite a unit holds the one writer until it
ends, and the acks' inserts wait for their turn behind it: 100 asks a unit (about 400
statements) put ~140 ms on the acks' p99 under load, 10 put a few (``bench/slack_ack.py``)."""


async def unannounced(uow: UnitOfWork) -> list[Ask]:
    """The asks raised and not announced yet, oldest first, at most :data:`ANNOUNCE_BATCH`."""
    return await uow.asks.find(announced_at=None, order_by="id", limit=ANNOUNCE_BATCH)


async def announce_pending(uow: UnitOfWork, *, now: datetime, link_base: str) -> int:
    """Announce the asks raised since the last pass (:func:`unannounced`); how many this unit
    announced. Their messages are written together at the end: on SQLite the unit holds the
    one writer from its first write, and a round trip per row held it for ~4 ms an ask."""
    announced = 0
    rows: list[OutboxMessage] = []
    for ask in await unannounced(uow):
        ask_rows = await _announced(uow, ask, now=now, link_base=link_base)
        if ask_rows is not None:
            announced += 1
            rows += ask_rows
    await enqueue_rows(uow, rows)
    return announced


async def announce(uow: UnitOfWork, ask: Ask, *, now: datetime, link_base: str) -> bool:
    """Write a raised ask's audit event and queue its messages — the decider's card, the project
    channel post, the Consulted people's invitations — once; False when that was done already.

    Raising an ask leaves this for after the ack (the drain's next pass), so Slack's ack waits
    for one insert instead of a dozen statements. A decision, withdrawal or expiry calls this
    first, so the card always exists before the update that replaces it."""
    rows = await _announced(uow, ask, now=now, link_base=link_base)
    if rows is None:
        return False
    await enqueue_rows(uow, rows)
    return True


async def _announced(
    uow: UnitOfWork, ask: Ask, *, now: datetime, link_base: str
) -> list[OutboxMessage] | None:
    """:func:`announce` but for writing its messages: their rows; None when the ask was
    announced already."""
    if ask.announced_at is not None:
        return None
    if not await uow.asks.set_if(ask.id, "announced_at", now, expected=None):
        # Another unit announced it meanwhile: take its time, so this unit's guard (``seen``)
        # and any save of the ask keep it.
        stored = await uow.asks.get(ask.id)
        ask.announced_at = stored.announced_at if stored else ask.announced_at
        return None
    ask.announced_at = now
    project = await uow.projects.get(ask.project_id)
    assert project is not None
    names = await names_of(uow, [ask.assignee_id, ask.requester_id])
    await record(
        uow,
        organization_id=ask.organization_id,
        actor_id=ask.requester_id,
        action="ask.raised",
        subject=f"ask:{ask.id}",
        detail=f"to person:{ask.assignee_id} ({ask.reason})",
        at=ask.created_at,
        platform=ask.platform,
    )
    link = ask_link(link_base, ask.id)
    deadline = card_deadline(ask, await uow.people.get(ask.assignee_id))
    rows: list[OutboxMessage] = []
    for target, category in (
        (Target(person_id=ask.assignee_id), ITEM),
        (Target(project_id=ask.project_id), "channel"),
    ):
        rows += await addressed(
            uow,
            ask_card(
                ask, project=project, names=names, reason=ask.reason, target=target, link=link
            ),
            organization_id=ask.organization_id,
            now=now,
            category=category,
            deadline=deadline,
        )
    for person_id in ask.consulted_ids:
        rows += await addressed(
            uow,
            Message(
                title=f"Your input on ask #{ask.id} · #{project.key}",
                sections=(ask.text,),
                facts=(
                    Fact(label="From", value=names.get(ask.requester_id, "?")),
                    Fact(label="Decides", value=names.get(ask.assignee_id, "?")),
                ),
                actions=(
                    Action(
                        id="ask.comment",
                        label="Comment",
                        value=str(ask.id),
                        input=InputKind.COMMENT,
                    ),
                ),
                footer="You are Consulted on this area per the project's RACI.",
                target=Target(person_id=person_id),
                key=f"ask:{ask.id}:consult:{person_id}",
                link=link,
            ),
            organization_id=ask.organization_id,
            now=now,
            category=ITEM,
            deadline=deadline,
        )
    return rows


async def get_ask(uow: UnitOfWork, *, organization_id: int, ask_id: int) -> Ask:
    ask = await uow.asks.get(ask_id)
    if ask is None or ask.organization_id != organization_id:
        raise NotFound(f"There is no ask #{ask_id}.", hint="`asks` lists the asks waiting on you.")
    return ask


async def decide(
    uow: UnitOfWork,
    *,
    ask_id: int,
    organization_id: int,
    decider: Person,
    outcome: str,
    text: str,
    now: datetime,
    link_base: str,
    platform: str = "",
) -> tuple[Ask, Message]:
    """Approve, decline or ask for information. Only the assignee or an active delegate may;
    a second click on a decided ask is refused, so nothing is ever decided twice.
    Returns the ask and its updated card (what the clicked message should now show).
    A delegate decides for the assignee, and every record of the decision says so."""
    ask, project, names = await decidable(
        uow, item_id=ask_id, organization_id=organization_id, person=decider, now=now
    )
    await announce(uow, ask, now=now, link_base=link_base)
    text = text.strip()
    if outcome == "decline" and not text:
        raise UsageError("Please give a reason when you decline.", hint=f"decline {ask.id} <why>")
    if outcome == "info" and not text:
        raise UsageError("What do you need to know?", hint=f"info {ask.id} <question>")
    guard = seen(ask)
    ask.state = OUTCOME_STATE.get(outcome, AskState.INFO_REQUESTED)
    ask.decided_by_id = decider.id
    ask.on_behalf_of_id = ask.assignee_id if decider.id != ask.assignee_id else None
    ask.decided_at = now
    ask.updated_at = now
    ask.rationale = text
    if not await uow.asks.save_if(ask, expected=guard):
        await _late(uow, ask.id, reader=decider)
    if ask.state is AskState.INFO_REQUESTED:
        await _say(uow, ask, author=decider, kind=ConversationKind.QUESTION, text=text, now=now)
    await record(
        uow,
        organization_id=organization_id,
        actor_id=decider.id,
        action=f"ask.{ask.state.value}",
        subject=f"ask:{ask.id}",
        detail=f"for person:{ask.on_behalf_of_id} {text}" if ask.on_behalf_of_id else text,
        at=now,
        platform=platform,
    )
    if ask.state is not AskState.INFO_REQUESTED:
        await uow.decisions.add(
            Decision(
                organization_id=organization_id,
                project_id=ask.project_id,
                subject_kind="ask",
                subject_id=ask.id,
                outcome=f"{ask.state.value}: {ask.text[:200]}",
                rationale=text,
                decided_by_id=decider.id,
                on_behalf_of_id=ask.on_behalf_of_id,
                decided_at=now,
            )
        )
    link = ask_link(link_base, ask.id)
    said = await _conversation(uow, ask)
    await _post_outcome(
        uow, ask, project=project, names=names, link=link, conversation=said, now=now
    )
    await deliver(
        uow,
        _requester_note(ask, project=project, names=names, link=link, conversation=said),
        organization_id=organization_id,
        now=now,
    )
    card = outcome_card(
        ask,
        project=project,
        names=names,
        target=Target(),
        link=link,
        reader_tz=decider.timezone,
        conversation=said,
    )
    return ask, card


async def _post_outcome(
    uow: UnitOfWork,
    ask: Ask,
    *,
    project: Project,
    names: dict[int, str],
    link: str,
    conversation: Sequence[str],
    now: datetime,
) -> None:
    """The outcome card to the assignee's DM and the project channel, both in the assignee's
    time (a channel has many readers; the zone is named so each can tell). The ask's other
    copies with buttons — its card sent again after an answer, its reminder — are updated in
    place to the outcome too, so no stale Approve/Decline stays clickable."""
    assignee = await uow.people.get(ask.assignee_id)
    tz = assignee.timezone if assignee else "UTC"
    for target in (Target(person_id=ask.assignee_id), Target(project_id=ask.project_id)):
        card = outcome_card(
            ask,
            project=project,
            names=names,
            target=target,
            link=link,
            reader_tz=tz,
            conversation=conversation,
        )
        await deliver(uow, card, organization_id=ask.organization_id, now=now)
    copies = re.compile(rf"ask:{ask.id}:(card:reopened:\d+|reminder)@")
    for row in await uow.outbox.find(person_id=ask.assignee_id, created_at__gte=ask.created_at):
        if copies.match(row.key):
            original = from_json(row.payload)
            await deliver(
                uow,
                replace(
                    card,
                    target=original.target,
                    key=f"{original.key}:{card.key}",
                    replaces_key=original.key,
                ),
                organization_id=ask.organization_id,
                now=now,
            )


async def _say(
    uow: UnitOfWork,
    ask: Ask,
    *,
    author: Person,
    kind: ConversationKind,
    text: str,
    now: datetime,
) -> None:
    """One turn of the ask's conversation (a question, an answer), kept apart from its text."""
    await uow.conversation.add(
        ConversationEntry(
            organization_id=ask.organization_id,
            ask_id=ask.id,
            author_id=author.id,
            kind=kind,
            text=text.strip(),
            created_at=now,
        )
    )


async def decidable(
    uow: UnitOfWork, *, item_id: int, organization_id: int, person: Person, now: datetime
) -> tuple[Ask, Project, dict[int, str]]:
    """Ask #``item_id``, its project and its people's names, once ``person`` may decide it now;
    else the refusal a decision would get. Also asked before a platform asks the decider for a
    rationale or a question, so nobody else is ever asked "Why?"."""
    ask = await get_ask(uow, organization_id=organization_id, ask_id=item_id)
    project = await _allowed(uow, permissions.Action.DECIDE_ASK, person=person, ask=ask, now=now)
    names = await names_of(uow, [ask.assignee_id, ask.requester_id, person.id])
    if ask.state not in DECIDABLE:
        raise InvalidState(_already(ask, names, reader=person))
    return ask, project, names


async def answerable(
    uow: UnitOfWork, *, item_id: int, organization_id: int, person: Person, now: datetime
) -> tuple[Ask, Project]:
    """Ask #``item_id`` and its project, once ``person`` may answer its question now; else the
    refusal an answer would get (asked before the platform asks for the answer's text too)."""
    ask = await get_ask(uow, organization_id=organization_id, ask_id=item_id)
    project = await _allowed(uow, permissions.Action.ANSWER_ASK, person=person, ask=ask, now=now)
    if ask.state is not AskState.INFO_REQUESTED:
        raise InvalidState(
            f"Ask #{ask.id} is {ask.state.value.replace('_', ' ')}; no question is waiting. "
            f"{_NOTHING}"
        )
    return ask, project


async def _allowed(
    uow: UnitOfWork, action: permissions.Action, *, person: Person, ask: Ask, now: datetime
) -> Project:
    """The ask's project, once ``person`` may do ``action`` on the ask (else the refusal,
    before anything is read or written for the action)."""
    project = await uow.projects.get(ask.project_id)
    assert project is not None
    await permissions.require(
        uow, action, person=person, project=project, ask=ask, today=now.date()
    )
    return project


def _requester_note(
    ask: Ask, *, project: Project, names: dict[int, str], link: str, conversation: Sequence[str]
) -> Message:
    who = signed(names, ask.decided_by_id, ask.on_behalf_of_id) or "?"
    if ask.state is AskState.INFO_REQUESTED:
        return Message(
            title=f"{who} needs more information on ask #{ask.id} · #{project.key}",
            sections=(
                ask.text,
                *conversation,
                f"Answer with the button, or from anywhere: answer {ask.id} <your answer>",
            ),
            actions=(
                Action(id="ask.answer", label="Answer", value=str(ask.id), input=InputKind.COMMENT),
            ),
            target=Target(person_id=ask.requester_id),
            key=f"ask:{ask.id}:question:{_stamp(ask)}",
            link=link,
            caused_by=ask.decided_by_id,
        )
    verdict = "approved" if ask.state is AskState.APPROVED else "declined"
    sections = [ask.text] + ([f"Rationale: {ask.rationale}"] if ask.rationale else [])
    return Message(
        title=f"Your ask #{ask.id} · #{project.key} was {verdict} by {who}",
        sections=tuple(sections),
        target=Target(person_id=ask.requester_id),
        key=f"ask:{ask.id}:told:{ask.state.value}",
        link=link,
    )


def _already(ask: Ask, names: dict[int, str], *, reader: Person) -> str:
    """A late click's reply: what happened to the ask instead, when in the reader's time."""
    if ask.state in (AskState.WITHDRAWN, AskState.EXPIRED):
        return f"Ask #{ask.id} was {ask.state.value}; there is nothing to decide."
    if ask.decided_at:
        local = ask.decided_at.astimezone(zone(reader.timezone))
        when = f" on {local:%d %b %H:%M} {local.tzname()}"
    else:
        when = ""
    by = signed(names, ask.decided_by_id, ask.on_behalf_of_id) or "someone"
    if ask.state in DECIDABLE:  # sent back for information, or answered, meanwhile
        verb = (
            "sent back for more information" if ask.state is AskState.INFO_REQUESTED else "reopened"
        )
        return f"Ask #{ask.id} was just {verb} ({by}{when}). Nothing was changed."
    return f"Ask #{ask.id} was already {ask.state.value} by {by}{when}. Nothing was changed."


async def _late(uow: UnitOfWork, ask_id: int, *, reader: Person) -> None:
    """A guarded change lost to a concurrent one: refuse with what happened instead (the
    unit of work then rolls back, so the loser leaves nothing behind)."""
    ask = await uow.asks.get(ask_id)
    assert ask is not None
    names = await names_of(uow, [ask.decided_by_id or 0, ask.on_behalf_of_id or 0])
    raise InvalidState(_already(ask, names, reader=reader))


async def answer(
    uow: UnitOfWork,
    *,
    ask_id: int,
    organization_id: int,
    requester: Person,
    text: str,
    now: datetime,
    link_base: str,
) -> Ask:
    """The requester answers a question: the answer joins the ask's conversation (its text stays
    as raised), the ask reopens and the decider gets the card again, with the conversation."""
    ask, project = await answerable(
        uow, item_id=ask_id, organization_id=organization_id, person=requester, now=now
    )
    if not text.strip():
        raise UsageError("Your answer is empty.", hint=f"answer {ask.id} <your answer>")
    guard = seen(ask)
    ask.state, ask.rationale, ask.updated_at = AskState.OPEN, "", now
    if not await uow.asks.save_if(ask, expected=guard):
        raise InvalidState(f"Ask #{ask.id} changed meanwhile; your answer was not sent. {_NOTHING}")
    await _say(uow, ask, author=requester, kind=ConversationKind.ANSWER, text=text, now=now)
    await record(
        uow,
        organization_id=organization_id,
        actor_id=requester.id,
        action="ask.answered",
        subject=f"ask:{ask.id}",
        detail=text,
        at=now,
    )
    names = await names_of(uow, [ask.assignee_id, ask.requester_id])
    card = ask_card(
        ask,
        project=project,
        names=names,
        reason="answered your question",
        target=Target(person_id=ask.assignee_id),
        link=ask_link(link_base, ask.id),
        conversation=await _conversation(uow, ask),
    )
    reopened = replace(card, key=f"{card.key}:reopened:{int(now.timestamp())}")
    await deliver(
        uow,
        reopened,
        organization_id=organization_id,
        now=now,
        category=ITEM,
        deadline=card_deadline(ask, await uow.people.get(ask.assignee_id)),
    )
    return ask


async def comment(
    uow: UnitOfWork, *, ask_id: int, organization_id: int, author: Person, text: str, now: datetime
) -> Ask:
    """A Consulted person's input: passed to the decider and kept in the audit trail."""
    ask = await get_ask(uow, organization_id=organization_id, ask_id=ask_id)
    if not text.strip():
        raise UsageError("Your comment is empty.", hint="Type your input for the decider.")
    await record(
        uow,
        organization_id=organization_id,
        actor_id=author.id,
        action="ask.commented",
        subject=f"ask:{ask.id}",
        detail=text,
        at=now,
    )
    await deliver(
        uow,
        Message(
            title=f"{author.name} commented on ask #{ask.id}",
            sections=(text.strip(),),
            target=Target(person_id=ask.assignee_id),
            key=f"ask:{ask.id}:comment:{author.id}:{int(now.timestamp())}",
        ),
        organization_id=organization_id,
        now=now,
        category=ITEM,
    )
    return ask


async def withdraw(
    uow: UnitOfWork,
    *,
    ask_id: int,
    organization_id: int,
    actor: Person,
    now: datetime,
    link_base: str,
) -> Ask:
    """The requester takes an undecided ask back; the decider's card says so."""
    ask = await get_ask(uow, organization_id=organization_id, ask_id=ask_id)
    await _allowed(uow, permissions.Action.WITHDRAW_ASK, person=actor, ask=ask, now=now)
    if ask.state not in DECIDABLE:
        raise InvalidState(f"Ask #{ask.id} is already {ask.state.value}. {_NOTHING}")
    if not await _close(
        uow, ask, state=AskState.WITHDRAWN, actor_id=actor.id, now=now, link_base=link_base
    ):
        await _late(uow, ask.id, reader=actor)
    return ask


async def expire(uow: UnitOfWork, *, ask: Ask, now: datetime, link_base: str) -> bool:
    """Past needed-by and grace, undecided: the ask expires and the requester is told. False
    when it was decided (or expired by another tick) meanwhile: nothing written."""
    if ask.state not in DECIDABLE:
        return False
    if not await _close(
        uow, ask, state=AskState.EXPIRED, actor_id=None, now=now, link_base=link_base
    ):
        return False
    project = await uow.projects.get(ask.project_id)
    await deliver(
        uow,
        Message(
            title=f"Your ask #{ask.id} · #{project.key if project else '?'} expired undecided",
            sections=(ask.text, "Raise it again with a new date, or talk to the decider."),
            target=Target(person_id=ask.requester_id),
            key=f"ask:{ask.id}:expired",
        ),
        organization_id=ask.organization_id,
        now=now,
        category=ITEM,
    )
    return True


async def _close(
    uow: UnitOfWork,
    ask: Ask,
    *,
    state: AskState,
    actor_id: int | None,
    now: datetime,
    link_base: str,
) -> bool:
    """Withdraw or expire, guarded; False (nothing written) when the ask changed meanwhile."""
    await announce(uow, ask, now=now, link_base=link_base)
    guard = seen(ask)
    ask.state, ask.updated_at = state, now
    if not await uow.asks.save_if(ask, expected=guard):
        return False
    await record(
        uow,
        organization_id=ask.organization_id,
        actor_id=actor_id,
        action=f"ask.{state.value}",
        subject=f"ask:{ask.id}",
        at=now,
    )
    project = await uow.projects.get(ask.project_id)
    assert project is not None
    names = await names_of(uow, [ask.requester_id])
    await _post_outcome(
        uow,
        ask,
        project=project,
        names=names,
        link=ask_link(link_base, ask.id),
        conversation=await _conversation(uow, ask),
        now=now,
    )
    return True


async def remind(uow: UnitOfWork, *, ask: Ask, now: datetime) -> bool:
    """Once, about a day before needed-by: nudge the decider. False when it was decided, or
    reminded by another tick, meanwhile: nothing written."""
    if ask.state is not AskState.OPEN or ask.reminded_at is not None:
        return False
    guard = seen(ask)
    ask.reminded_at = now
    if not await uow.asks.save_if(ask, expected=guard):
        return False
    project = await uow.projects.get(ask.project_id)
    await deliver(
        uow,
        Message(
            title=f"Reminder: ask #{ask.id} · #{project.key if project else '?'} is needed by "
            f"{_day(ask.needed_by) if ask.needed_by else 'soon'}",
            sections=(ask.text,),
            actions=(*ask_buttons(ask.id), snooze_menu(f"ask:{ask.id}")),
            target=Target(person_id=ask.assignee_id),
            key=f"ask:{ask.id}:reminder",
        ),
        organization_id=ask.organization_id,
        now=now,
        category=PING,
    )
    return True


async def waiting_on(uow: UnitOfWork, *, person_id: int, today: date) -> list[Ask]:
    """Open asks this person decides: their own, plus those of people who delegated to them."""
    delegators = [
        d.delegator_id
        for d in await uow.delegations.find(delegate_id=person_id)
        if d.starts_on <= today <= d.ends_on
    ]
    return await uow.asks.find(
        assignee_id=[person_id, *delegators], state=list(DECIDABLE), order_by="id"
    )
