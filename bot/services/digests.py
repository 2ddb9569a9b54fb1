"""Loading what leaders' digests need, for many leaders at once (DESIGN §2, §5).

The cadence tick composes every due digest in one go, so the loader must not query per leader:
it issues a fixed number of ``find`` calls with ``IN`` lists — however many leaders, projects or
items — and groups the rows in memory. The pure composer (:mod:`bot.digest`) does the rest.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import TypeVar

from bot.calendar import local_date
from bot.digest import (
    DigestInput,
    DigestResult,
    KpiAlert,
    ProjectDigest,
    compose_digest,
    digest_period,
)
from bot.errors import NotFound
from bot.links import Links
from bot.model import (
    Ask,
    Blocker,
    CadencePreference,
    Decision,
    Frequency,
    Letter,
    Person,
    Project,
    ProjectStatus,
    Rag,
    Review,
    Role,
    Severity,
    ThresholdLevel,
    Update,
)
from bot.ports import Repository, UnitOfWork
from bot.services.asks import DECIDABLE, conversations_of
from bot.services.blockers import LIVE
from bot.services.lookup import names_of
from bot.services.raci import DEFAULT_AREA

T = TypeVar("T")

LOOKBACK: Mapping[Frequency, timedelta] = MappingProxyType(
    {
        Frequency.WEEKLY: timedelta(days=7),
        Frequency.BIWEEKLY: timedelta(days=14),
        Frequency.DAILY_DURING_ACTIVE_CYCLE: timedelta(days=1),
        Frequency.OFF: timedelta(days=7),
    }
)
"""How far back "since the last digest" reaches when the caller does not say (``since``)."""
_UPDATE_WINDOW = timedelta(days=7)
"""A weekly update stays "this period's" for a week, even for a daily digest."""
_DIGEST_LETTERS = (Letter.A, Letter.C, Letter.I)
_KPI_LEVELS = (ThresholdLevel.WARN, ThresholdLevel.ALERT)
_RAG_HISTORY = timedelta(days=35)
"""How far before the current period to look for the update a RAG move is measured from."""
_URGENT = (Severity.HIGH, Severity.CRITICAL)
"""A blocker this severe on a project someone sponsors is in their digest wherever it is."""


async def _find_in(
    repo: Repository[T], field_name: str, values: Iterable[int], **where: object
) -> list[T]:
    """``find`` with ``field IN values``; no query at all when there is nothing to look for."""
    wanted = sorted(set(values))
    if not wanted:
        return []
    criteria: dict[str, object] = {**where, field_name: wanted}
    return await repo.find(**criteria)  # type: ignore[arg-type]


@dataclass(kw_only=True)
class _Leader:
    """One leader's settings and what links them to projects, gathered before grouping."""

    person: Person
    preference: CadencePreference
    since: datetime
    """Decisions and new items after this are news to them."""
    update_since: datetime
    """An update after this is "this period's" (at least a week back, even for daily digests)."""
    decides_for: set[int]
    """Their own id plus everyone who delegated deciding to them today."""
    sponsor_of: set[int] = field(default_factory=set)
    lead_of: set[int] = field(default_factory=set)
    letters: defaultdict[int, defaultdict[Letter, set[str]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(set))
    )
    """project id → letter → areas."""


async def load_digest_inputs(
    uow: UnitOfWork,
    *,
    leader_ids: Sequence[int],
    now: datetime,
    link_base: str,
    links: Links | None = None,
    previous: Mapping[int, Mapping[str, str]] | None = None,
    since: Mapping[int, datetime] | None = None,
    lookback: Mapping[Frequency, timedelta] = LOOKBACK,
) -> list[DigestInput]:
    """Digest inputs for these leaders (unknown ids are skipped), in a constant number of queries.

    A project is in a leader's digest when it is active and they are its sponsor or hold an A, C
    or I letter on it — or when an ask they decide, a blocker at their rung or a KPI review of
    theirs belongs to it.

    Args:
        previous: per leader, the item fingerprints of the last digest sent to them.
        since: per leader, when their last digest went out; decisions and "informed" items after
            it are shown. Without it, ``lookback`` of their frequency (7 days weekly, 14 biweekly).
    """
    previous = previous or {}
    since = since or {}
    people = await _find_in(uow.people, "id", leader_ids)
    preferences = {p.person_id: p for p in await _find_in(uow.preferences, "person_id", leader_ids)}
    leaders: dict[int, _Leader] = {}
    for person in people:
        preference = preferences.get(person.id) or CadencePreference(person_id=person.id)
        news_since = since.get(person.id, now - lookback[preference.frequency])
        leaders[person.id] = _Leader(
            person=person,
            preference=preference,
            since=news_since,
            update_since=min(news_since, now - _UPDATE_WINDOW),
            decides_for={person.id},
        )
    if not leaders:
        return []
    ids = list(leaders)
    earliest = min(leader.update_since for leader in leaders.values())

    # Who decides for whom today, in each delegate's own calendar.
    for delegation in await _find_in(
        uow.delegations, "delegate_id", ids, ends_on__gte=(now - timedelta(days=1)).date()
    ):
        leader = leaders[delegation.delegate_id]
        today = local_date(now, leader.person.timezone)
        if delegation.starts_on <= today <= delegation.ends_on:
            leader.decides_for.add(delegation.delegator_id)
    for stakeholder in await _find_in(
        uow.stakeholders, "person_id", ids, role=[Role.SPONSOR, Role.LEAD]
    ):
        leader = leaders[stakeholder.person_id]
        owned = leader.sponsor_of if stakeholder.role is Role.SPONSOR else leader.lead_of
        owned.add(stakeholder.project_id)
    for entry in await _find_in(uow.raci, "person_id", ids, letter=list(_DIGEST_LETTERS)):
        leaders[entry.person_id].letters[entry.project_id][entry.letter].add(entry.area)

    # Every open ask and live blocker of the leaders' organizations, in one query each: the
    # digest needs them by decider, by requester and by rung, and open items are few.
    organizations = {leader.person.organization_id for leader in leaders.values()}
    live_asks = await _find_in(uow.asks, "organization_id", organizations, state=list(DECIDABLE))
    deciders = {i for leader in leaders.values() for i in leader.decides_for}
    open_asks = [a for a in live_asks if a.assignee_id in deciders]
    raised_asks = [a for a in live_asks if a.requester_id in leaders]
    open_blockers = await _find_in(uow.blockers, "organization_id", organizations, state=list(LIVE))
    reviews = await _find_in(uow.reviews, "sponsor_id", ids, closed_at=None)

    wanted_projects = {a.project_id for a in (*open_asks, *raised_asks)}
    wanted_projects |= {b.project_id for b in open_blockers}
    wanted_projects |= {r.project_id for r in reviews}
    for leader in leaders.values():
        wanted_projects |= leader.sponsor_of | leader.lead_of | set(leader.letters)
    projects = {
        p.id: p
        for p in await _find_in(uow.projects, "id", wanted_projects, status=ProjectStatus.ACTIVE)
    }
    pids = list(projects)
    updates = await _find_in(
        uow.updates, "project_id", pids, created_at__gte=earliest - _RAG_HISTORY
    )
    recent_asks = await _find_in(uow.asks, "project_id", pids, created_at__gte=earliest)
    recent_blockers = await _find_in(uow.blockers, "project_id", pids, created_at__gte=earliest)
    decisions = await _find_in(uow.decisions, "project_id", pids, decided_at__gte=earliest)
    reviews = [r for r in reviews if r.project_id in projects and r.level in _KPI_LEVELS]
    measures = {
        m.id: m for m in await _find_in(uow.measures, "id", (r.measure_id for r in reviews))
    }
    observations = {
        o.id: o for o in await _find_in(uow.observations, "id", (r.observation_id for r in reviews))
    }
    turns = await _find_in(
        uow.conversation,
        "ask_id",
        (a.id for a in (*open_asks, *raised_asks, *recent_asks) if a.state in DECIDABLE),
        order_by="id",
    )
    names = await names_of(
        uow,
        _mentioned(
            [*open_asks, *raised_asks],
            recent_asks,
            open_blockers,
            recent_blockers,
            decisions,
            updates,
            leaders,
        )
        | {t.author_id for t in turns},
    )
    talks = conversations_of(turns, names)

    latest: dict[int, Update] = {}
    previous_rag: dict[int, Rag] = {}
    for update in sorted(updates, key=lambda u: u.created_at):
        if update.project_id in latest:
            previous_rag[update.project_id] = latest[update.project_id].rag
        latest[update.project_id] = update
    alerts: dict[tuple[int, int], list[KpiAlert]] = defaultdict(list)
    for review in _latest_per_measure(reviews):
        measure, observation = (
            measures.get(review.measure_id),
            observations.get(review.observation_id),
        )
        if measure and observation:
            alerts[(review.sponsor_id, review.project_id)].append(
                KpiAlert(
                    measure=measure,
                    observation=observation,
                    level=review.level,
                    raised_at=review.created_at,
                )
            )
    grouped = _Grouped(
        projects=projects,
        latest=latest,
        previous_rag=previous_rag,
        alerts=alerts,
        open_asks=open_asks,
        raised_asks=raised_asks,
        open_blockers=open_blockers,
        recent=[*recent_asks, *recent_blockers],
        decisions=decisions,
        names=names,
    )
    return [
        DigestInput(
            leader=leader.person,
            period=digest_period(
                leader.preference.frequency,
                local_date(now, leader.person.timezone),
            ),
            detail=leader.preference.detail,
            max_lines=leader.preference.max_lines,
            projects=grouped.projects_for(leader),
            names=names,
            conversations=talks,
            previous=previous.get(leader.person.id, {}),
            since=leader.since,
            now=now,
            link_base=link_base,
            dashboard=_dashboard(leader.person, links),
        )
        for leader in (leaders[i] for i in dict.fromkeys(leader_ids) if i in leaders)
    ]


def _dashboard(person: Person, links: Links | None) -> str:
    """The one place a digest's dashboard link is made (every line that points there uses it)."""
    return links.for_person(person) if links else ""


def _latest_per_measure(reviews: Iterable[Review]) -> list[Review]:
    """A sponsor's newest open review of each measure: one crossing after another (warn, then
    alert) is one KPI line in the digest, at its latest level."""
    latest: dict[tuple[int, int], Review] = {}
    for review in sorted(reviews, key=lambda r: (r.created_at, r.id)):
        latest[(review.sponsor_id, review.measure_id)] = review
    return list(latest.values())


def _mentioned(
    open_asks: Iterable[Ask],
    recent_asks: Iterable[Ask],
    open_blockers: Iterable[Blocker],
    recent_blockers: Iterable[Blocker],
    decisions: Iterable[Decision],
    updates: Iterable[Update],
    leaders: Mapping[int, _Leader],
) -> set[int]:
    """Every person id a digest line may name."""
    ids: set[int] = set(leaders)
    for ask in (*open_asks, *recent_asks):
        ids |= {ask.requester_id, ask.assignee_id}
        ids |= {ask.decided_by_id} if ask.decided_by_id else set()
    for blocker in (*open_blockers, *recent_blockers):
        ids |= {blocker.reporter_id, *(r for r in (_rung(blocker),) if r is not None)}
    ids |= {i for d in decisions for i in (d.decided_by_id, d.on_behalf_of_id) if i}
    ids |= {u.author_id for u in updates}
    return ids


def _index(items: Iterable[T], key: Callable[[T], int | None]) -> dict[int | None, list[T]]:
    grouped: dict[int | None, list[T]] = defaultdict(list)
    for item in items:
        grouped[key(item)].append(item)
    return grouped


class _Grouped:
    """The loaded rows, indexed by project and person so grouping stays linear."""

    def __init__(
        self,
        *,
        projects: Mapping[int, Project],
        latest: Mapping[int, Update],
        previous_rag: Mapping[int, Rag],
        alerts: Mapping[tuple[int, int], list[KpiAlert]],
        open_asks: Iterable[Ask],
        raised_asks: Iterable[Ask],
        open_blockers: Iterable[Blocker],
        recent: Iterable[Ask | Blocker],
        decisions: Iterable[Decision],
        names: Mapping[int, str],
    ) -> None:
        self.projects = projects
        self.latest = latest
        self.previous_rag = previous_rag
        self.alerts = alerts
        self.names = names
        self.asks_by_assignee = _index(open_asks, lambda a: a.assignee_id)
        self.asks_by_requester = _index(raised_asks, lambda a: a.requester_id)
        open_blockers = list(open_blockers)
        self.blockers_by_rung = _index(open_blockers, _rung)
        self.blockers_by_reporter = _index(open_blockers, lambda b: b.reporter_id)
        self.blockers_by_project = _index(open_blockers, lambda b: b.project_id)
        self.recent_by_project = _index(recent, lambda i: i.project_id)
        self.decisions_by_project = _index(decisions, lambda d: d.project_id)

    def projects_for(self, leader: _Leader) -> tuple[ProjectDigest, ...]:
        me = leader.person.id
        awaiting = _index(
            (a for i in sorted(leader.decides_for) for a in self.asks_by_assignee.get(i, ())),
            lambda a: a.project_id,
        )
        at_rung = _index(self.blockers_by_rung.get(me, ()), lambda b: b.project_id)
        raised = _index(
            [*self.asks_by_requester.get(me, ()), *self.blockers_by_reporter.get(me, ())],
            lambda i: i.project_id,
        )
        pids = leader.sponsor_of | leader.lead_of | set(leader.letters)
        pids |= {p for p in (*awaiting, *at_rung, *raised) if p}
        pids |= {pid for (sponsor, pid) in self.alerts if sponsor == me}
        return tuple(
            self._project(leader, pid, awaiting.get(pid, []), at_rung.get(pid, []), raised)
            for pid in sorted(pids & set(self.projects))
        )

    def _project(
        self,
        leader: _Leader,
        pid: int,
        awaiting: list[Ask],
        at_rung: list[Blocker],
        raised: Mapping[int | None, list[Ask | Blocker]],
    ) -> ProjectDigest:
        me = leader.person.id
        live = self.blockers_by_project.get(pid, [])
        watch = [
            b for b in live if pid in leader.sponsor_of and b.severity in _URGENT and _rung(b) != me
        ]
        owned = pid in leader.sponsor_of or pid in leader.lead_of
        news = [i for i in self.recent_by_project.get(pid, ()) if i.created_at >= leader.since]
        opened = [
            b
            for b in news
            if isinstance(b, Blocker) and owned and b.state in LIVE and b.reporter_id != me
        ]
        watched = _watched_areas(leader.letters.get(pid, {}))
        return ProjectDigest(
            project=self.projects[pid],
            why=self._why(leader, pid, awaiting, bool(at_rung)),
            leads=pid in leader.lead_of,
            latest_update=self._latest(pid, leader.update_since),
            previous_rag=self.previous_rag.get(pid),
            kpi_alerts=tuple(self.alerts.get((me, pid), ())),
            asks_awaiting=tuple(sorted(awaiting, key=lambda a: a.id)),
            blockers_at_rung=tuple(sorted(at_rung, key=lambda b: b.id)),
            sponsor_watch=tuple(sorted(watch, key=lambda b: b.id)),
            opened=tuple(sorted(opened, key=lambda b: b.id)),
            decisions=tuple(
                d for d in self.decisions_by_project.get(pid, ()) if d.decided_at >= leader.since
            ),
            informed=tuple(
                item
                for item in news
                if _is_live(item)
                and (DEFAULT_AREA in watched or item.area in watched)
                and _author(item) != me
            ),
            raised=tuple(raised.get(pid, ())),
            holders={b.id: r for b in live if (r := _rung(b)) is not None},
        )

    def _latest(self, pid: int, since: datetime) -> Update | None:
        update = self.latest.get(pid)
        return update if update is not None and update.created_at >= since else None

    def _why(self, leader: _Leader, pid: int, awaiting: Iterable[Ask], escalated: bool) -> str:
        """``sponsor; A: budget``, or how an item reached someone with no role on the project."""
        parts = ["sponsor"] if pid in leader.sponsor_of else []
        for letter, areas in sorted(leader.letters.get(pid, {}).items()):
            parts.append(f"{letter.value}: {', '.join(sorted(areas))}")
        if parts:
            return "; ".join(parts)
        if pid in leader.lead_of:
            return ""
        delegators = sorted(
            {
                self.names.get(a.assignee_id, "?")
                for a in awaiting
                if a.assignee_id != leader.person.id
            }
        )
        if delegators:
            parts.append("deciding for " + ", ".join(delegators))
        if escalated:
            parts.append("escalated to you")
        if parts or any(sponsor == leader.person.id for sponsor, p in self.alerts if p == pid):
            return "; ".join(parts) or "KPI review"
        return ""


def _rung(blocker: Blocker) -> int | None:
    """Who the blocker waits on now: the owner of its current ladder rung."""
    if 0 <= blocker.level < len(blocker.ladder):
        return blocker.ladder[blocker.level]
    return None


def _watched_areas(letters: Mapping[Letter, set[str]]) -> set[str]:
    """Areas where the leader is Consulted or Informed (``*`` means every area)."""
    return letters.get(Letter.C, set()) | letters.get(Letter.I, set())


def _is_live(item: Ask | Blocker) -> bool:
    """Still open: a digest never lists a decided, withdrawn or resolved item."""
    return item.state in (DECIDABLE if isinstance(item, Ask) else LIVE)


def _author(item: Ask | Blocker) -> int:
    return item.requester_id if isinstance(item, Ask) else item.reporter_id


async def compose_for(
    uow: UnitOfWork,
    *,
    person_id: int,
    now: datetime,
    link_base: str,
    links: Links | None = None,
    previous: Mapping[str, str] | None = None,
) -> DigestResult:
    """One leader's digest as it would go out now (the ``digest`` preview command), with their
    cadence preference (weekly, concise, 12 lines when they have none)."""
    inputs = await load_digest_inputs(
        uow,
        leader_ids=[person_id],
        now=now,
        link_base=link_base,
        links=links,
        previous={person_id: previous or {}},
    )
    if not inputs:
        raise NotFound("I don't know that person.")
    return compose_digest(inputs[0])
