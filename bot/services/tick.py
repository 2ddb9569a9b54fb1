"""One cadence tick: write into the outbox whatever is due at ``now`` (DESIGN §5).

The database is the only source of truth: every step derives what is due from rows and writes
messages under deterministic idempotency keys, so any number of ticks — late, repeated, after a
restart, in several processes at once — yields each message once:

- digests ``digest:{person}:{period}`` at each leader's own weekday / local time / frequency;
- update prompts ``prompt:{project}:{lead}:{week}`` the day before a leader's digest;
- ask reminders (``asks.remind``: once, the working morning before ``needed_by``), the
  requester's "passed undecided" note ``ask:{id}:overdue``, expiry after a grace period;
- blocker escalations (``blockers.climb``) when a rung's deadline passes.

Expiry and escalation run "as of" the deadline that made them due, not the tick's own time: the
keys those services derive from their ``now`` are then the same in every process, and an
escalation chain does not drift with tick lateness. The top rung re-notifies daily on the
anniversaries of its deadline, so a server that was down for days sends one reminder, not one
per missed day.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

from bot.attention import PING
from bot.digest import compose_digest, period_label
from bot.links import Links
from bot.messages import Message, Target
from bot.model import (
    Ask,
    CadencePreference,
    Frequency,
    Letter,
    OutboxMessage,
    Person,
    ProjectStatus,
    Role,
)
from bot.ports import UnitOfWork
from bot.schedule import (
    Slot,
    ask_expires_at,
    digest_due,
    digest_slot,
    due_escalations,
    is_expired,
    is_overdue,
    needs_reminder,
    next_digest_slot,
    prompt_window,
    update_period,
)
from bot.services import asks, blockers
from bot.services.delivery import deliver
from bot.services.digests import load_digest_inputs

__all__ = ["DIGEST", "TickReport", "digest_key", "sent_keys", "tick"]

DIGEST = "digest"
_HISTORY = timedelta(days=40)
"""How far back a tick looks for the previous digest (covers a biweekly one missed once)."""
_REMINDER_HORIZON = timedelta(days=2)
"""Asks needed later than this are not worth loading on a tick yet."""
_LEADER_LETTERS = (Letter.A, Letter.C, Letter.I)
_ONE_DAY = timedelta(days=1)
LEADERS_PER_STEP = 200
"""Leaders a tick plans for between two looks at the event loop (~10 ms of its time): the tick
plans for every leader of every organization each minute, and the requests arriving meanwhile
should not wait for all of it."""


@dataclass(kw_only=True)
class TickReport:
    """How many messages one tick wrote, per kind (the ``leaderbot tick`` summary line)."""

    digests: int = 0
    prompts: int = 0
    reminders: int = 0
    overdue: int = 0
    expired: int = 0
    escalations: int = 0

    def __str__(self) -> str:
        parts = (f"{f.name} {getattr(self, f.name)}" for f in fields(self))
        return "tick: " + ", ".join(parts)


def digest_key(person_id: int, period: str) -> str:
    return f"digest:{person_id}:{period}"


def _message_key(outbox_key: str) -> str:
    """``digest:4:2026-W48`` from ``digest:4:2026-W48@2:D123`` (see delivery.outbox_key)."""
    return outbox_key.rpartition("@")[0] or outbox_key


async def sent_keys(
    uow: UnitOfWork, *, person_ids: Iterable[int], category: str, since: datetime
) -> dict[str, OutboxMessage]:
    """Message key → outbox row, for the messages of ``category`` written to these people since
    ``since`` (one query): how a tick knows what an earlier tick already wrote."""
    wanted = sorted(set(person_ids))
    if not wanted:
        return {}
    rows = await uow.outbox.find(
        person_id=wanted, category=category, created_at__gte=since, order_by="created_at"
    )
    return {_message_key(row.key): row for row in rows}


INBOUND_KEPT = timedelta(days=1)
"""How long a processed delivery's key is kept: Slack retries within minutes, the Bot
Framework within the hour; a replay later than a day is a new request."""


async def tick(
    uow: UnitOfWork,
    *,
    now: datetime,
    link_base: str,
    links: Links | None = None,
) -> TickReport:
    """Write everything due at ``now``; the caller commits. Safe to run any number of times."""
    report = TickReport()
    leaders = await _leaders(uow)
    preferences = {p.person_id: p for p in await uow.preferences.find(person_id=sorted(leaders))}
    slots: dict[int, Slot] = {}
    until: dict[int, datetime] = {}
    async for person in _in_steps(leaders.values()):
        preference = preferences.get(person.id) or CadencePreference(person_id=person.id)
        slot = digest_slot(preference, tz=person.timezone, now=now)
        if slot is not None and digest_due(slot, now=now):
            slots[person.id] = slot
            following = next_digest_slot(preference, tz=person.timezone, now=slot.at)
            if following is not None:
                until[person.id] = following.at
    report.digests = await _digests(
        uow,
        leaders=leaders,
        slots=slots,
        until=until,
        now=now,
        link_base=link_base,
        links=links,
    )
    report.prompts = await _prompts(uow, leaders=leaders, preferences=preferences, now=now)
    await _asks(uow, report, now=now, link_base=link_base)
    report.escalations = await _escalations(uow, now=now, link_base=link_base)
    await uow.inbound.prune(before=now - INBOUND_KEPT)
    return report


async def _in_steps(people: Iterable[Person]) -> AsyncIterator[Person]:
    """``people``, giving the event loop a turn after every :data:`LEADERS_PER_STEP`."""
    for n, person in enumerate(people, start=1):
        yield person
        if n % LEADERS_PER_STEP == 0:
            await asyncio.sleep(0)


async def _leaders(uow: UnitOfWork) -> dict[int, Person]:
    """Who gets digests: sponsors, leads (theirs says what they wait for), people with an A, C
    or I letter, and anyone who chose a cadence (a plain project member with no preference
    hears nothing unprompted)."""
    ids = {s.person_id for s in await uow.stakeholders.find(role=[Role.SPONSOR, Role.LEAD])}
    ids |= {r.person_id for r in await uow.raci.find(letter=list(_LEADER_LETTERS))}
    ids |= {p.person_id for p in await uow.preferences.find(frequency__ne=Frequency.OFF)}
    if not ids:
        return {}
    return {p.id: p for p in await uow.people.find(id=sorted(ids))}


async def _digests(
    uow: UnitOfWork,
    *,
    leaders: dict[int, Person],
    slots: dict[int, Slot],
    until: dict[int, datetime],
    now: datetime,
    link_base: str,
    links: Links | None,
) -> int:
    """Compose and enqueue the digest of every leader whose slot has come and who has none for
    the period yet, each retried until the next one is due (``until``). The previous digest's
    fingerprints (kept in its outbox ``memo``) drive the new / changed / still open markers, and
    its time bounds "since the last digest"."""
    if not slots:
        return 0
    history = await sent_keys(uow, person_ids=slots, category=DIGEST, since=now - _HISTORY)
    due = [pid for pid, slot in slots.items() if digest_key(pid, slot.period) not in history]
    if not due:
        return 0
    latest: dict[int, OutboxMessage] = {}
    for row in history.values():
        if row.person_id is not None:
            latest[row.person_id] = row
    inputs = await load_digest_inputs(
        uow,
        leader_ids=due,
        now=now,
        link_base=link_base,
        links=links,
        previous={pid: _fingerprints(row) for pid, row in latest.items()},
        since={pid: row.created_at for pid, row in latest.items()},
    )
    memos: dict[str, str] = {}
    written = 0
    for data in inputs:
        if not data.projects:
            continue  # nothing active to report on: no digest rather than an empty one
        result = compose_digest(data)
        person = leaders[data.leader.id]
        if await deliver(
            uow,
            result.message,
            organization_id=person.organization_id,
            now=now,
            category=DIGEST,
            deadline=until.get(person.id),
        ):
            written += 1
            memos[result.message.key] = json.dumps(result.fingerprints, sort_keys=True)
    if memos:
        fresh = await sent_keys(uow, person_ids=due, category=DIGEST, since=now)
        for key, memo in memos.items():
            if key in fresh:
                fresh[key].memo = memo
                await uow.outbox.save(fresh[key])
    return written


def _fingerprints(row: OutboxMessage) -> dict[str, str]:
    try:
        loaded = json.loads(row.memo) if row.memo else {}
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}


async def _prompts(
    uow: UnitOfWork,
    *,
    leaders: dict[int, Person],
    preferences: dict[int, CadencePreference],
    now: datetime,
) -> int:
    """The day before a leader's digest, prompt the leads of their projects (sponsored or
    Accountable) who have posted no update in the week the digest will show — once per project,
    lead and week, whichever leader's digest comes first."""
    windows: dict[int, Slot] = {}
    async for person in _in_steps(leaders.values()):
        preference = preferences.get(person.id) or CadencePreference(person_id=person.id)
        slot = prompt_window(preference, tz=person.timezone, now=now)
        if slot is not None:
            windows[person.id] = slot
    if not windows:
        return 0
    ids = sorted(windows)
    watched: dict[int, Slot] = {}
    owners = [
        *(
            (s.project_id, s.person_id)
            for s in await uow.stakeholders.find(person_id=ids, role=Role.SPONSOR)
        ),
        *((r.project_id, r.person_id) for r in await uow.raci.find(person_id=ids, letter=Letter.A)),
    ]
    for project_id, person_id in owners:
        slot = windows[person_id]
        if project_id not in watched or slot.at < watched[project_id].at:
            watched[project_id] = slot
    if not watched:
        return 0
    projects = {
        p.id: p for p in await uow.projects.find(id=sorted(watched), status=ProjectStatus.ACTIVE)
    }
    if not projects:
        return 0
    earliest = min(slot.at for slot in watched.values()) - timedelta(days=7)
    posted = {
        u.project_id
        for u in await uow.updates.find(project_id=sorted(projects), created_at__gte=earliest)
        if u.created_at >= watched[u.project_id].at - timedelta(days=7)
    }
    leads = await uow.stakeholders.find(project_id=sorted(projects), role=Role.LEAD)
    people = {p.id: p for p in await uow.people.find(id=sorted({s.person_id for s in leads}))}
    written = 0
    for lead in leads:
        project, lead_person = projects[lead.project_id], people.get(lead.person_id)
        if project.id in posted or lead_person is None:
            continue
        slot = watched[project.id]
        week = update_period(slot, tz=lead_person.timezone)
        written += await deliver(
            uow,
            Message(
                title=f"Update due for #{project.key} ({period_label(week)})",
                sections=(
                    f"{project.name}: its leaders' digest goes out soon and has no update "
                    "from this week yet.",
                    f"Post one in a line: update #{project.key} <progress> — or with no text "
                    "for the form.",
                ),
                target=Target(person_id=lead_person.id),
                key=f"prompt:{project.id}:{lead_person.id}:{week}",
            ),
            organization_id=project.organization_id,
            now=now,
            category=PING,
        )
    return written


async def _asks(uow: UnitOfWork, report: TickReport, *, now: datetime, link_base: str) -> None:
    """Reminders before ``needed_by``, a note to the requester once it passed undecided, expiry
    after the grace period."""
    open_asks = await uow.asks.find(
        state=list(asks.DECIDABLE), needed_by__lte=(now + _REMINDER_HORIZON).date(), order_by="id"
    )
    if not open_asks:
        return
    people = {
        p.id: p
        for p in await uow.people.find(
            id=sorted({a.assignee_id for a in open_asks} | {a.requester_id for a in open_asks})
        )
    }
    told = await sent_keys(
        uow,
        person_ids=(a.requester_id for a in open_asks),
        category=PING,
        since=now - timedelta(days=30),
    )
    for ask in open_asks:
        assignee = people.get(ask.assignee_id)
        if assignee is None or ask.needed_by is None:
            continue
        if is_expired(ask, assignee, now=now):
            report.expired += await asks.expire(
                uow, ask=ask, now=ask_expires_at(ask.needed_by, assignee), link_base=link_base
            )
        elif needs_reminder(ask, assignee, now=now):
            report.reminders += await asks.remind(uow, ask=ask, now=now)
        elif is_overdue(ask, assignee, now=now) and f"ask:{ask.id}:overdue" not in told:
            report.overdue += await _tell_overdue(uow, ask=ask, decider=assignee, now=now)


async def _tell_overdue(uow: UnitOfWork, *, ask: Ask, decider: Person, now: datetime) -> int:
    project = await uow.projects.get(ask.project_id)
    return await deliver(
        uow,
        Message(
            title=f"Your ask #{ask.id} · #{project.key if project else '?'} passed its date "
            "undecided",
            sections=(
                ask.text,
                f"It is still with {decider.name}. It expires if "
                "nobody decides it within a week; it stays in their digest until then.",
            ),
            target=Target(person_id=ask.requester_id),
            key=f"ask:{ask.id}:overdue",
        ),
        organization_id=ask.organization_id,
        now=now,
        category=PING,
    )


async def _escalations(uow: UnitOfWork, *, now: datetime, link_base: str) -> int:
    """Climb every blocker whose rung deadline passed, as of that deadline (see module doc)."""
    due = due_escalations(
        await uow.blockers.find(state=list(blockers.LIVE), next_escalation_at__lte=now), now=now
    )
    escalated = 0
    for blocker in due:
        deadline = blocker.next_escalation_at
        assert deadline is not None
        at_top = blocker.level + 1 >= len(blocker.ladder)
        if at_top:
            deadline += _ONE_DAY * ((now - deadline) // _ONE_DAY)
        escalated += await blockers.climb(uow, blocker=blocker, now=deadline, link_base=link_base)
    return escalated
