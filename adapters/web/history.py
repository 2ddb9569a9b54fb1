"""An ask's or a blocker's page: its full text, who is on it, and every event of its history.

The history is read from what the services already write, never from a second log: the audit
trail (raised and routed, questions and answers, comments, snoozes, escalations, the decision),
the decision log (outcome, rationale, "X for Y" when a delegate decided) and the outbox's
cards and reminders with whether each was delivered. Whether the viewer may see the item is the
permission table's ``VIEW_ASK`` / ``VIEW_BLOCKER`` row.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.calendar import local_date, moment_in
from bot.errors import NotFound
from bot.links import ItemKind
from bot.model import (
    Ask,
    AuditEvent,
    Blocker,
    ConversationKind,
    OutboxState,
    Person,
    Project,
)
from bot.permissions import Action, Party, allows, parties_of, refusal
from bot.ports import UnitOfWork
from bot.routing import signed
from bot.services.lookup import names_of, projects_involving

_PERSON = re.compile(r"person:(\d+)")
_LADDER = re.compile(r"ladder \[([\d, ]*)\]")
"""How ``blocker.raised`` records the ladder: ``ladder [6, 3]``."""

_WHAT: Mapping[str, str] = {
    "ask.raised": "Raised and routed",
    "ask.approved": "Approved",
    "ask.declined": "Declined",
    "ask.info_requested": "Question asked",
    "ask.answered": "Question answered",
    "ask.commented": "Comment",
    "ask.withdrawn": "Withdrawn",
    "ask.expired": "Expired",
    "ask.open": "Reopened",
    "blocker.raised": "Raised, with its escalation ladder",
    "blocker.acknowledged": "Acknowledged",
    "blocker.resolved": "Resolved",
    "blocker.withdrawn": "Withdrawn",
    "blocker.escalated": "Escalated",
    "reminder.snoozed": "Reminder snoozed",
    "reminder.escalated": "Snoozed too often: passed up",
}
"""Audit actions as a reader says them; anything else shows as its action name."""

_MESSAGES: Mapping[str, str] = {
    "card": "Card sent",
    "rung": "Sent up the ladder",
    "consult": "Asked for advice",
    "question": "Question passed on",
    "told": "Outcome told",
    "reminder": "Reminder",
    "overdue": "Overdue reminder",
    "snooze": "Reminder after a snooze",
    "snooze-escalated": "Reminder passed up",
    "expired": "Expiry notice",
}
"""Outbox messages about an item (``<kind>:<id>:<what>[:…]``) shown in its history, each with
whether it reached its reader."""

_DELIVERY: Mapping[OutboxState, str] = {
    OutboxState.SENT: "delivered",
    OutboxState.PENDING: "not delivered yet",
    OutboxState.FAILED: "NOT delivered (given up)",
}


@dataclass(frozen=True, kw_only=True)
class Event:
    at: datetime
    what: str
    who: str
    """Who did it ("Carmen Diaz for Dana Lee" for a delegate's decision); "" for the bot."""
    detail: str


@dataclass(frozen=True, kw_only=True)
class ItemPage:
    kind: ItemKind
    id: int
    project: str
    project_name: str
    text: str
    state: str
    facts: list[tuple[str, str]]
    """Label → value, in reading order (who raised it, who decides, due…)."""
    events: list[Event]
    """Oldest first."""
    conversation: Sequence[Event] = ()
    """An ask's questions and answers, oldest first, each with who and when (the history has
    them among everything else; this is the exchange read on its own, as on the ask's card)."""


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _named(text: str, names: Mapping[int, str]) -> str:
    """``person:7`` and ``ladder [6, 3]`` in audit details, as people's names."""
    text = _LADDER.sub(
        lambda m: "ladder " + " → ".join(names.get(int(i), "someone") for i in _ids(m.group(1))),
        text,
    )
    return _PERSON.sub(lambda m: names.get(int(m.group(1)), "someone"), text)


def _ids(listed: str) -> list[int]:
    return [int(i) for i in listed.split(",") if i.strip()]


def _mentioned(detail: str) -> list[int]:
    """The person ids an audit detail names."""
    ladders = [i for found in _LADDER.findall(detail) for i in _ids(found)]
    return [*map(int, _PERSON.findall(detail)), *ladders]


def _message(key: str, prefix: str) -> str | None:
    what = re.split(r"[:@]", key.removeprefix(prefix), maxsplit=1)[0]  # outbox_key adds @…
    return _MESSAGES.get(what)


async def _events(
    uow: UnitOfWork, *, organization_id: int, kind: ItemKind, item_id: int, since: datetime
) -> list[Event]:
    """The item's history, oldest first (see the module docstring for its sources)."""
    subject = f"{kind}:{item_id}"
    audit: Sequence[AuditEvent] = await uow.audit.find(subject=subject, order_by="at")
    decisions = await uow.decisions.find(subject_kind=kind, subject_id=item_id)
    prefix = f"{subject}:"
    sent = [
        row
        for row in await uow.outbox.find(
            organization_id=organization_id, created_at__gte=since, order_by="created_at"
        )
        if row.key.startswith(prefix) and _message(row.key, prefix)
    ]
    ids = [e.actor_id or 0 for e in audit] + [p.person_id or 0 for p in sent]
    ids += [i for d in decisions for i in (d.decided_by_id, d.on_behalf_of_id) if i]
    ids += [i for e in audit for i in _mentioned(e.detail)]
    names = await names_of(uow, ids)
    events = [
        Event(
            at=_aware(e.at),
            what=_WHAT.get(e.action, e.action),
            who=names.get(e.actor_id or 0, ""),
            detail=_named(e.detail, names),
        )
        for e in audit
        if not (decisions and e.action in _DECIDED)
    ]
    events += [
        Event(
            at=_aware(p.created_at),
            what=_message(p.key, prefix) or "",
            who="",
            detail=f"to {names.get(p.person_id or 0, 'a channel')}: {_DELIVERY[p.state]}",
        )
        for p in sent
    ]
    events += [
        Event(
            at=_aware(d.decided_at),
            what=f"Decided: {d.outcome.split(':', 1)[0]}",
            who=signed(names, d.decided_by_id, d.on_behalf_of_id),
            detail=d.rationale,
        )
        for d in decisions
    ]
    return sorted(events, key=lambda e: e.at)


_DECIDED = {"ask.approved", "ask.declined", "blocker.resolved"}
"""Audit actions the decision log tells better (with its rationale and "X for Y")."""


async def _may_see(
    uow: UnitOfWork,
    action: Action,
    *,
    viewer: Person | None,
    project: Project,
    ask: Ask | None = None,
    blocker: Blocker | None = None,
    now: datetime,
) -> None:
    """Raise NotAllowed unless ``viewer`` may see the item (None: the admin token)."""
    if viewer is None:
        return
    held = await parties_of(
        uow,
        person=viewer,
        project=project,
        ask=ask,
        blocker=blocker,
        today=local_date(now, viewer.timezone),
    )
    if project.id in await projects_involving(uow, person_id=viewer.id):
        held |= {Party.INVOLVED}  # the project's page shows this item to them already
    if not allows(action, held):
        ids = sorted({i for i in (ask.assignee_id, ask.requester_id) if i}) if ask else []
        ids += [blocker.reporter_id, *blocker.ladder] if blocker else []
        raise refusal(
            action,
            held=held,
            project=project,
            ask=ask,
            blocker=blocker,
            names=await names_of(uow, ids),
        )


async def _reachable(
    uow: UnitOfWork,
    action: Action,
    *,
    item: Ask | Blocker | None,
    organization_id: int,
    viewer_id: int | None,
    now: datetime,
) -> tuple[Ask | Blocker, Project]:
    """The item and its project, once the item is known to be this organization's and the
    viewer (None: the admin token) may see it."""
    if item is None or item.organization_id != organization_id:
        raise NotFound("No such item here.")
    project = await uow.projects.get(item.project_id)
    if project is None or project.organization_id != organization_id:
        raise NotFound("No such item here.")
    viewer = await uow.people.get(viewer_id) if viewer_id is not None else None
    await _may_see(
        uow,
        action,
        viewer=viewer,
        project=project,
        ask=item if isinstance(item, Ask) else None,
        blocker=item if isinstance(item, Blocker) else None,
        now=now,
    )
    return item, project


async def _page(
    uow: UnitOfWork,
    kind: ItemKind,
    item: Ask | Blocker,
    *,
    project: Project,
    state: str,
    facts: Sequence[tuple[str, str]],
    conversation: Sequence[Event],
) -> ItemPage:
    return ItemPage(
        kind=kind,
        id=item.id,
        project=project.key,
        project_name=project.name,
        text=item.text,
        state=state,
        facts=[(label, value) for label, value in facts if value],
        conversation=conversation,
        events=await _events(
            uow,
            organization_id=item.organization_id,
            kind=kind,
            item_id=item.id,
            since=_aware(item.created_at),
        ),
    )


async def _ask_facts(uow: UnitOfWork, ask: Ask, tz: str) -> tuple[str, list[tuple[str, str]]]:
    """The ask's state and facts, in reading order."""
    people = (ask.requester_id, ask.assignee_id, ask.decided_by_id, ask.on_behalf_of_id)
    names = await names_of(uow, [*(i or 0 for i in people), *ask.consulted_ids])
    facts = [
        ("Raised by", names.get(ask.requester_id, "?")),
        ("Decides", names.get(ask.assignee_id, "?")),
        ("Why them", ask.reason),
        ("Area", ask.area),
        ("Needed by", ask.needed_by.isoformat() if ask.needed_by else "no date"),
        ("Consulted", ", ".join(names.get(i, "?") for i in ask.consulted_ids)),
        ("Raised", moment_in(ask.created_at, tz)),
    ]
    if ask.decided_by_id:
        facts.append(("Decided by", signed(names, ask.decided_by_id, ask.on_behalf_of_id)))
    if ask.rationale:
        facts.append(("Rationale", ask.rationale))
    return ask.state.value.replace("_", " "), facts


_TURN: Mapping[ConversationKind, str] = {
    ConversationKind.QUESTION: "Question",
    ConversationKind.ANSWER: "Answer",
}


async def _conversation(uow: UnitOfWork, ask: Ask) -> list[Event]:
    """The ask's questions and answers as page events: the turn, who said it, when, what."""
    turns = await uow.conversation.find(ask_id=ask.id, order_by="id")
    names = await names_of(uow, [t.author_id for t in turns])
    return [
        Event(
            at=_aware(t.created_at),
            what=_TURN[t.kind],
            who=names.get(t.author_id, "someone"),
            detail=t.text,
        )
        for t in turns
    ]


async def _blocker_facts(
    uow: UnitOfWork, blocker: Blocker, tz: str
) -> tuple[str, list[tuple[str, str]]]:
    """The blocker's state and facts, in reading order."""
    names = await names_of(uow, [blocker.reporter_id, *blocker.ladder])
    rungs = " → ".join(
        f"{names.get(pid, '?')}{' (now)' if rung == blocker.level else ''}"
        for rung, pid in enumerate(blocker.ladder)
    )
    facts = [
        ("Raised by", names.get(blocker.reporter_id, "?")),
        ("Severity", blocker.severity.value),
        ("Area", blocker.area),
        ("Ladder", rungs),
        ("Rung", f"{blocker.level + 1} of {len(blocker.ladder)}" if blocker.ladder else ""),
        (
            "Escalates",
            moment_in(blocker.next_escalation_at, tz) if blocker.next_escalation_at else "",
        ),
        ("Raised", moment_in(blocker.created_at, tz)),
        ("Resolution", blocker.resolution),
    ]
    return blocker.state.value, facts


_VIEW: Mapping[ItemKind, Action] = {"ask": Action.VIEW_ASK, "blocker": Action.VIEW_BLOCKER}


def _item_id(text: str) -> int:
    """An item id from a URL segment; anything that cannot be one (``12a``, a number longer
    than a database id) is no such item, so the page and the API answer 404, never 500."""
    if not (text.isascii() and text.isdigit() and len(text) <= 18):
        raise NotFound("No such item here.")
    return int(text)


async def load_item_page(
    uow: UnitOfWork,
    *,
    kind: ItemKind,
    item_id: str,
    organization_id: int,
    viewer_id: int | None,
    now: datetime,
    tz: str = "UTC",
) -> ItemPage:
    """Ask or blocker ``item_id`` (as its URL spells it) as ``viewer_id`` may see it (None:
    the admin token), its times told in zone ``tz``.

    Raises:
        NotFound: no such item in this organization, or an id that is not one.
        NotAllowed: the viewer is not among those the permission table lets see it.
    """
    item, project = await _reachable(
        uow,
        _VIEW[kind],
        item=await (uow.asks if kind == "ask" else uow.blockers).get(_item_id(item_id)),
        organization_id=organization_id,
        viewer_id=viewer_id,
        now=now,
    )
    conversation: list[Event] = []
    if isinstance(item, Ask):
        state, facts = await _ask_facts(uow, item, tz)
        conversation = await _conversation(uow, item)
    else:
        state, facts = await _blocker_facts(uow, item, tz)
    return await _page(
        uow, kind, item, project=project, state=state, facts=facts, conversation=conversation
    )
