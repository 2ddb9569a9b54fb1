"""The organization overview (admins, facilitators): projects with RAG and trend, asks and
blockers with their age, overdue ones flagged, filtered by project, state and person.

Filters arrive as query parameters (``?project=SEPSIS&state=overdue&person=dana``) and are read
by :func:`filters_from`, which never fails: a value it does not know is shown back as a notice
and matches nothing, so a mistyped link says so instead of silently showing everything. The
same filters serve ``/api/v1/asks`` and ``/api/v1/blockers``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from adapters.web.rows import (
    OPEN_ASK_STATES,
    OPEN_BLOCKER_STATES,
    AskRow,
    BlockerRow,
    ProjectRow,
    load_asks,
    load_blockers,
    load_projects,
)
from bot.model import AskState, BlockerState, Rag
from bot.ports import UnitOfWork

STATES = ("open", "overdue", "closed", "all")
"""``open`` (the default): still waiting; ``overdue``: waiting past its needed-by date (an ask)
or its rung's deadline (a blocker); ``closed``: decided, resolved, withdrawn or expired."""

TREND_UPDATES = 4
"""How many of a project's latest updates its trend shows."""

_RANK = {Rag.RED.value: 0, Rag.AMBER.value: 1, Rag.GREEN.value: 2}


@dataclass(frozen=True, kw_only=True)
class Filters:
    project: str = ""
    """A project key, upper case; "" for every project."""
    state: str = "open"
    person: str = ""
    """A person's handle: asks they raised or must decide, blockers they hold."""
    notices: tuple[str, ...] = ()
    """What was wrong with the query, in words ("No project #FOO.")."""

    def query(self) -> dict[str, str]:
        """As query parameters, defaults left out (for links that keep the filters)."""
        pairs = {"project": self.project, "state": self.state, "person": self.person}
        return {k: v for k, v in pairs.items() if v and not (k == "state" and v == "open")}


def filters_from(
    query: Mapping[str, str], *, projects: Collection[str], handles: Collection[str]
) -> Filters:
    """The filters a query names, checked against the organization's project keys and handles."""
    notices = []
    project = query.get("project", "").strip().lstrip("#").upper()
    if project and project not in projects:
        notices.append(f"No project #{project} here; nothing matches it.")
    state = query.get("state", "").strip().lower() or "open"
    if state not in STATES:
        notices.append(f"Unknown state {state!r}: use one of {', '.join(STATES)}.")
    person = query.get("person", "").strip().lstrip("@").lower()
    if person and person not in handles:
        notices.append(f"No person @{person} here; nothing matches them.")
    return Filters(project=project, state=state, person=person, notices=tuple(notices))


@dataclass(frozen=True, kw_only=True)
class ProjectTrend:
    project: ProjectRow
    rags: list[str]
    """RAG of the latest updates, oldest first (at most :data:`TREND_UPDATES`)."""
    trend: str
    """``improving``, ``worsening``, ``steady``, or "" with fewer than two updates."""


@dataclass(frozen=True, kw_only=True)
class FlaggedAsk:
    ask: AskRow
    overdue: bool


@dataclass(frozen=True, kw_only=True)
class FlaggedBlocker:
    blocker: BlockerRow
    overdue: bool


@dataclass(frozen=True, kw_only=True)
class Overview:
    filters: Filters
    projects: list[ProjectTrend]
    asks: list[FlaggedAsk]
    blockers: list[FlaggedBlocker]
    project_keys: list[str] = field(default_factory=list)
    people: list[tuple[str, str]] = field(default_factory=list)
    """(handle, name) of everyone, for the person filter's choices."""


def trend_of(rags: Sequence[str]) -> str:
    """How the latest RAG compares with the one before."""
    if len(rags) < 2:
        return ""
    latest, before = _RANK.get(rags[-1], 1), _RANK.get(rags[-2], 1)
    return "improving" if latest > before else "worsening" if latest < before else "steady"


def ask_overdue(ask: AskRow, now: datetime) -> bool:
    """Still waiting on its decider after its needed-by date."""
    waiting = ask.state in (AskState.OPEN.value, AskState.INFO_REQUESTED.value)
    return waiting and ask.needed_by is not None and ask.needed_by < now.date()


def _blocker_overdue(blocker: BlockerRow, now: datetime) -> bool:
    """Still open after its current rung's deadline."""
    waiting = blocker.state in (BlockerState.OPEN.value, BlockerState.ACKNOWLEDGED.value)
    return waiting and blocker.next_escalation_at is not None and blocker.next_escalation_at < now


def passes(
    filters: Filters,
    *,
    waiting: bool,
    overdue: bool,
    project: str,
    people: Collection[str],
    name: str,
) -> bool:
    """Whether an item passes the filters; ``people`` are the names the person filter matches
    (an ask's assignee and requester, a blocker's rung holder), ``name`` the filter's person."""
    state = {"open": waiting, "overdue": overdue, "closed": not waiting, "all": True}
    return (
        state.get(filters.state, False)
        and (not filters.project or project == filters.project)
        and (not filters.person or name in people)
    )


async def filtered_asks(
    uow: UnitOfWork, *, organization_id: int, now: datetime, filters: Filters, name: str
) -> list[FlaggedAsk]:
    """Asks that pass the filters, oldest first; ``name`` is the person filter's display name."""
    everything = filters.state in ("closed", "all")
    rows = await load_asks(
        uow,
        organization_id=organization_id,
        now=now,
        states=None if everything else OPEN_ASK_STATES,
    )
    flagged = [FlaggedAsk(ask=row, overdue=ask_overdue(row, now)) for row in rows]
    return [
        f
        for f in flagged
        if passes(
            filters,
            waiting=f.ask.state in (AskState.OPEN.value, AskState.INFO_REQUESTED.value),
            overdue=f.overdue,
            project=f.ask.project,
            people=(f.ask.assignee, f.ask.requester),
            name=name,
        )
    ]


async def filtered_blockers(
    uow: UnitOfWork, *, organization_id: int, now: datetime, filters: Filters, name: str
) -> list[FlaggedBlocker]:
    """Blockers that pass the filters, oldest first (resolved and withdrawn ones only for
    ``state=closed`` or ``all``)."""
    everything = filters.state in ("closed", "all")
    rows = await load_blockers(
        uow,
        organization_id=organization_id,
        now=now,
        states=None if everything else OPEN_BLOCKER_STATES,
    )
    flagged = [FlaggedBlocker(blocker=row, overdue=_blocker_overdue(row, now)) for row in rows]
    return [
        f
        for f in flagged
        if passes(
            filters,
            waiting=f.blocker.state in (BlockerState.OPEN.value, BlockerState.ACKNOWLEDGED.value),
            overdue=f.overdue,
            project=f.blocker.project,
            people=(f.blocker.owner,),
            name=name,
        )
    ]


async def load_overview(
    uow: UnitOfWork,
    *,
    organization_id: int,
    now: datetime,
    query: Mapping[str, str],
    project_keys: Collection[str] | None = None,
) -> Overview:
    """The overview as the query filters it; ``project_keys`` limits it to the projects a
    viewer may see (None: every project of the organization)."""
    projects = [
        p
        for p in await load_projects(uow, organization_id=organization_id)
        if project_keys is None or p.key in project_keys
    ]
    keys = [p.key for p in projects]
    people = await uow.people.find(organization_id=organization_id, order_by="name")
    filters = filters_from(query, projects=keys, handles=[p.handle for p in people])
    name = next((p.name for p in people if p.handle == filters.person), "")
    trends = []
    for project in projects:
        updates = await uow.updates.find(
            project_id=project.id, order_by="-created_at", limit=TREND_UPDATES
        )
        rags = [str(u.rag) for u in reversed(updates)]
        trends.append(ProjectTrend(project=project, rags=rags, trend=trend_of(rags)))
    visible = set(keys)
    asks = await filtered_asks(
        uow, organization_id=organization_id, now=now, filters=filters, name=name
    )
    blockers = await filtered_blockers(
        uow, organization_id=organization_id, now=now, filters=filters, name=name
    )
    return Overview(
        filters=filters,
        projects=[t for t in trends if not filters.project or t.project.key == filters.project],
        asks=[a for a in asks if a.ask.project in visible],
        blockers=[b for b in blockers if b.blocker.project in visible],
        project_keys=keys,
        people=[(p.handle, p.name) for p in people],
    )
