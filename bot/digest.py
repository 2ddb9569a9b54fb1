"""Compose one leader's digest from loaded data (DESIGN §2, pure: no I/O, no clock).

A digest is what keeps a senior leader engaged without drowning them: per project the RAG status
and one line of progress, then only what needs *them* — KPIs past threshold, asks they decide,
blockers whose escalation ladder has reached them, decisions since the last digest, and new items
in areas where they are Consulted or Informed. ``concise`` digests fit in ``max_lines`` by folding;
``detailed`` ones list everything.

Each item shown gets a fingerprint; given the fingerprints of the previous digest, items are marked
``new``, ``changed`` or ``still open`` so a leader sees at a glance what moved since last time.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from bot.buttons import ask_buttons, blocker_buttons
from bot.calendar import iso_week, zone
from bot.messages import Action, Fact, Message, Target
from bot.model import (
    Ask,
    AskState,
    Blocker,
    BlockerState,
    Decision,
    Detail,
    FeedbackKind,
    Frequency,
    Measure,
    Observation,
    Person,
    Project,
    Rag,
    Severity,
    ThresholdLevel,
    Update,
)
from bot.routing import signed

NEW = "new"
CHANGED = "changed"
STILL_OPEN = "still open"

FEEDBACK_ACTION = "digest.feedback"
_FEEDBACK_LABELS = {
    FeedbackKind.USEFUL: "Useful",
    FeedbackKind.TOO_LONG: "Too long",
    FeedbackKind.TOO_OFTEN: "Too often",
    FeedbackKind.NOT_RELEVANT: "Not relevant",
}
_CONCISE_TEXT = 100
"""Characters of user text per line in a concise digest; the dashboard has the rest."""
_DETAILED_TEXT = 400
_RAG_RANK = {Rag.RED: 0, Rag.AMBER: 1, Rag.GREEN: 3}
_NO_UPDATE_RANK = 2
"""A project that sent no update sorts between amber and green: silence is a signal."""
_SEVERITY_RANK = {Severity.CRITICAL: 0, Severity.HIGH: 1, Severity.MEDIUM: 2, Severity.LOW: 3}


@dataclass(frozen=True, kw_only=True)
class KpiAlert:
    """A measure whose latest observation crossed a threshold, under review by the sponsor."""

    measure: Measure
    observation: Observation
    level: ThresholdLevel


@dataclass(frozen=True, kw_only=True)
class ProjectDigest:
    """Everything one project contributes to one leader's digest."""

    project: Project
    why: str
    """Why the leader gets this project: ``sponsor``, ``A: budget, staffing``, ``C: it``…"""
    latest_update: Update | None = None
    kpi_alerts: tuple[KpiAlert, ...] = ()
    asks_awaiting: tuple[Ask, ...] = ()
    """Open asks this leader decides (as assignee or as an active delegate)."""
    blockers_at_rung: tuple[Blocker, ...] = ()
    """Open or acknowledged blockers whose current rung (``ladder[level]``) is this leader."""
    decisions: tuple[Decision, ...] = ()
    """Decisions since the last digest."""
    informed: tuple[Ask | Blocker, ...] = ()
    """New items in areas where the leader is Consulted or Informed."""


@dataclass(frozen=True, kw_only=True)
class DigestInput:
    leader: Person
    period: str
    """``2026-W48``, ``2026-W47+48`` or ``2026-11-23`` (see :func:`digest_period`)."""
    detail: Detail = Detail.CONCISE
    max_lines: int = 12
    projects: tuple[ProjectDigest, ...] = ()
    names: Mapping[int, str] = field(default_factory=dict)
    """Display names of every person the items mention."""
    previous: Mapping[str, str] = field(default_factory=dict)
    """Item key (``ask:12``) → fingerprint, from the last digest sent to this leader."""
    now: datetime
    link_base: str
    dashboard: str = ""
    """A signed link to the leader's dashboard, when the server can sign one; else the plain
    ``{link_base}/dashboard`` (which explains how to get a personal link)."""


@dataclass(frozen=True, kw_only=True)
class DigestResult:
    message: Message
    fingerprints: dict[str, str]
    """Fingerprints of every item shown: pass them as ``previous`` to the next digest."""


def digest_period(frequency: Frequency, local_date: date) -> str:
    """The period a digest on ``local_date`` covers; part of its idempotency key.

    Weekly (and ``off``, for previews): the ISO week ``2026-W48``. Biweekly: the pair of ISO weeks
    starting on an odd week, ``2026-W47+48``, so both weeks of a pair name the same period; week 53
    of a long year stands alone. Daily: the date.
    """
    if frequency is Frequency.DAILY_DURING_ACTIVE_CYCLE:
        return local_date.isoformat()
    year, week, _ = local_date.isocalendar()
    if frequency is Frequency.BIWEEKLY and week != 53:
        first = week if week % 2 else week - 1
        return f"{year}-W{first:02d}+{first + 1:02d}"
    return iso_week(local_date)


_WEEK = re.compile(r"(\d{4})-W(\d{2})(?:\+(\d{2}))?")


def period_label(period: str) -> str:
    """``week 48``, ``weeks 47–48`` or ``Mon 23 Nov 2026``: the period as people say it."""
    match = _WEEK.fullmatch(period)
    if match is None:
        try:
            return date.fromisoformat(period).strftime("%a %d %b %Y")
        except ValueError:
            return period
    first, second = int(match[2]), match[3]
    return f"weeks {first}–{int(second)}" if second else f"week {first}"


def count_lines(message: Message) -> int:
    """How long a digest reads: the title, every line of every section, one per fact.

    Buttons do not count: they are one row in every renderer.
    """
    return (
        (1 if message.title else 0)
        + sum(len(section.split("\n")) for section in message.sections)
        + len(message.facts)
    )


def fingerprint(*parts: object) -> str:
    """A short stable digest of what a leader saw of an item; any change makes a new one."""
    raw = "\x1f".join(str(p) for p in parts).encode()
    return hashlib.blake2b(raw, digest_size=6).hexdigest()


def compose_digest(data: DigestInput) -> DigestResult:
    """The digest message for one leader, and the fingerprints to remember for the next one."""
    view = _View(data)
    projects = sorted((_ProjectView.build(p, view) for p in data.projects), key=lambda p: p.urgency)
    actionable = any(p.actionable for p in projects)
    nothing = () if actionable else (_nothing_sentence(data.period),)
    if data.detail is Detail.DETAILED:
        blocks = [p.detailed_section() for p in projects]
        shown = [item for p in projects for item in p.items]
        facts = _totals(projects)
        if not projects:
            blocks.append("You are not on any active project yet.")
    else:
        blocks, shown = _concise(projects, budget=data.max_lines - 1 - len(nothing), view=view)
        facts = ()
    actions = [action for item in shown for action in item.actions]
    actions.extend(
        Action(id=FEEDBACK_ACTION, label=label, value=f"{data.period}:{kind.value}")
        for kind, label in _FEEDBACK_LABELS.items()
    )
    message = Message(
        title=f"Your Leaderbot digest — {period_label(data.period)}",
        sections=(*nothing, *blocks),
        facts=facts,
        actions=tuple(actions),
        footer=f"Everything, with history: {view.dashboard}",
        target=Target(person_id=data.leader.id),
        key=f"digest:{data.leader.id}:{data.period}",
        link=view.dashboard,
    )
    return DigestResult(message=message, fingerprints={i.key: i.fingerprint for i in shown})


def _nothing_sentence(period: str) -> str:
    when = "this week" if _WEEK.fullmatch(period) else "today"
    return f"Nothing needs you {when}."


def _totals(projects: list[_ProjectView]) -> tuple[Fact, ...]:
    counts = {
        "Asks awaiting you": sum(len(p.source.asks_awaiting) for p in projects),
        "Blockers at your level": sum(len(p.source.blockers_at_rung) for p in projects),
        "KPIs past threshold": sum(len(p.source.kpi_alerts) for p in projects),
    }
    return tuple(Fact(label=label, value=str(n)) for label, n in counts.items() if n)


def _concise(
    projects: list[_ProjectView], *, budget: int, view: _View
) -> tuple[list[str], list[_Item]]:
    """Sections within ``budget`` lines: everything if it fits, else one summary line per
    project, the most urgent items under them, and a pointer to the dashboard for the rest."""
    if not projects:
        return ["You are not on any active project yet."], []
    full = [p.concise_section() for p in projects]
    if sum(len(s.split("\n")) for s in full) <= budget:
        return full, [item for p in projects for item in p.items]
    room = max(budget - 1, 0)  # the "+N more" line
    listed = projects[:room]
    room -= len(listed)
    ranked = sorted(
        ((item, n) for n, p in enumerate(listed) for item in p.items),
        key=lambda pair: (pair[0].rank, pair[1]),
    )
    picked = {id(item) for item, _ in ranked[:room]}
    sections = []
    shown: list[_Item] = []
    for p in listed:
        items = [item for item in p.items if id(item) in picked]
        shown.extend(items)
        sections.append("\n".join([p.summary_line(), *("- " + i.line for i in items)]))
    hidden_items = sum(len(p.items) for p in projects) - len(shown)
    hidden_projects = len(projects) - len(listed)
    sections.append(_more_line(hidden_items, hidden_projects, view.dashboard))
    return sections, shown


def _more_line(items: int, projects: int, link: str) -> str:
    hidden = [
        f"+{_plural(n, noun)}"
        for n, noun in ((items, "more item"), (projects, "more project"))
        if n
    ]
    return f"{', '.join(hidden)} — open the dashboard: {link}"


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _one_line(text: str, limit: int) -> str:
    """User text on one line (a newline would break the line budget), cut with "…" at ``limit``.

    Nothing is escaped: renderers do that for their platform.
    """
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


class _View:
    """What every line needs to know: the leader's clock and zone, names, previous marks."""

    def __init__(self, data: DigestInput) -> None:
        self.data = data
        self.detailed = data.detail is Detail.DETAILED
        self.zone = zone(data.leader.timezone)
        self.today = data.now.astimezone(self.zone).date()
        self.dashboard = data.dashboard or f"{data.link_base.rstrip('/')}/dashboard"
        self.limit = _DETAILED_TEXT if self.detailed else _CONCISE_TEXT

    def name(self, person_id: int | None) -> str:
        return self.data.names.get(person_id or 0, "someone")

    def text(self, text: str) -> str:
        return _one_line(text, self.limit)

    def mark(self, key: str, print_: str) -> str:
        before = self.data.previous.get(key)
        if before is None:
            return NEW
        return STILL_OPEN if before == print_ else CHANGED

    def day(self, day: date) -> str:
        return day.strftime("%a %d %b")

    def moment(self, when: datetime) -> str:
        return when.astimezone(self.zone).strftime("%a %d %b %H:%M")

    def due(self, needed_by: date) -> str:
        if needed_by < self.today:
            return f"overdue since {self.day(needed_by)}"
        if needed_by == self.today:
            return "due today"
        return f"needed by {self.day(needed_by)}"


@dataclass(frozen=True, kw_only=True)
class _Item:
    key: str
    fingerprint: str
    line: str
    rank: tuple[int, ...]
    """Global folding priority: lower is shown first when lines are short."""
    actions: tuple[Action, ...] = ()


def _area(area: str) -> str:
    return "default area" if area == "*" else f"area {area}"


def _ask_item(ask: Ask, view: _View) -> _Item:
    key = f"ask:{ask.id}"
    print_ = fingerprint(ask.text, ask.needed_by, ask.state.value, ask.assignee_id, ask.area)
    status = [view.mark(key, print_)]
    if ask.state is AskState.INFO_REQUESTED:
        status.append("waiting for the information you asked")
    tail = [f"from {view.name(ask.requester_id)}"]
    if ask.assignee_id != view.data.leader.id:
        tail.append(f"for {view.name(ask.assignee_id)}")
    if view.detailed:
        tail.append(_area(ask.area))
    if ask.needed_by:
        tail.append(view.due(ask.needed_by))
    due = (ask.needed_by or date.max).toordinal()
    return _Item(
        key=key,
        fingerprint=print_,
        line=f"Ask #{ask.id} ({', '.join(status)}): {view.text(ask.text)} — {', '.join(tail)}",
        rank=(1, due, ask.id),
        actions=ask_buttons(ask.id, numbered=True),
    )


def _blocker_item(blocker: Blocker, view: _View) -> _Item:
    key = f"blocker:{blocker.id}"
    print_ = fingerprint(
        blocker.text, blocker.severity.value, blocker.state.value, blocker.level, blocker.area
    )
    status = [view.mark(key, print_), blocker.severity.value]
    if blocker.state is BlockerState.ACKNOWLEDGED:
        status.append("acknowledged")
    tail = [f"reported by {view.name(blocker.reporter_id)}"]
    if view.detailed:
        tail.append(_area(blocker.area))
        tail.append(f"open since {view.day(blocker.created_at.astimezone(view.zone).date())}")
    if blocker.next_escalation_at and blocker.level < len(blocker.ladder) - 1:
        tail.append(f"escalates {view.moment(blocker.next_escalation_at)}")
    actions = blocker_buttons(blocker, numbered=True)
    return _Item(
        key=key,
        fingerprint=print_,
        line=f"Blocker #{blocker.id} ({', '.join(status)}): {view.text(blocker.text)}"
        f" — {', '.join(tail)}",
        rank=(0, _SEVERITY_RANK[blocker.severity], blocker.id),
        actions=tuple(actions),
    )


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "?"
    return f"{value:g}{unit}" if unit in ("%", "") else f"{value:g} {unit}"


def _kpi_item(alert: KpiAlert, view: _View) -> _Item:
    measure, observation = alert.measure, alert.observation
    key = f"kpi:{measure.id}"
    print_ = fingerprint(observation.id, observation.value, alert.level.value)
    parts = [view.mark(key, print_), alert.level.value]
    if measure.target is not None:
        parts.append(f"target {_number(measure.target, measure.unit)}")
    if view.detailed:
        parts.append(f"observed {view.day(observation.observed_on)}")
    return _Item(
        key=key,
        fingerprint=print_,
        line=f"KPI {view.text(measure.name)}: {_number(observation.value, measure.unit)}"
        f" ({', '.join(parts)})",
        rank=(2, 0 if alert.level is ThresholdLevel.ALERT else 1, measure.id),
    )


def _signed(view: _View, decision: Decision) -> str:
    by = signed(view.data.names, decision.decided_by_id, decision.on_behalf_of_id)
    return by or view.name(None)


def _decision_item(decision: Decision, view: _View) -> _Item:
    subject = (
        f" on {decision.subject_kind} #{decision.subject_id}"
        if decision.subject_id is not None
        else ""
    )
    decided_on = decision.decided_at.astimezone(view.zone).date()
    line = (
        f"Decision{subject}: {view.text(decision.outcome)}"
        f" — {_signed(view, decision)}, {view.day(decided_on)}"
    )
    if view.detailed and decision.rationale:
        line += f" — why: {view.text(decision.rationale)}"
    return _Item(
        key=f"decision:{decision.id}",
        fingerprint=fingerprint(decision.outcome, decision.rationale),
        line=line,
        rank=(3, -int(decision.decided_at.timestamp()), decision.id),
    )


def _informed_item(item: Ask | Blocker, view: _View) -> _Item:
    if isinstance(item, Ask):
        kind = "ask"
        print_ = fingerprint(item.text, item.needed_by, item.state.value, item.area)
        by = f"from {view.name(item.requester_id)}"
    else:
        kind = "blocker"
        print_ = fingerprint(item.text, item.severity.value, item.state.value, item.area)
        by = f"{item.severity.value}, reported by {view.name(item.reporter_id)}"
    return _Item(
        key=f"{kind}:{item.id}",
        fingerprint=print_,
        line=f"FYI {kind} #{item.id} ({_area(item.area)}): {view.text(item.text)} — {by}",
        rank=(4, item.id),
    )


@dataclass(frozen=True, kw_only=True)
class _ProjectView:
    source: ProjectDigest
    view: _View
    items: tuple[_Item, ...]
    urgency: tuple[object, ...]

    @classmethod
    def build(cls, source: ProjectDigest, view: _View) -> _ProjectView:
        items: list[_Item] = []
        items.extend(
            _blocker_item(b, view)
            for b in sorted(
                source.blockers_at_rung, key=lambda b: (_SEVERITY_RANK[b.severity], b.id)
            )
        )
        items.extend(
            _ask_item(a, view)
            for a in sorted(source.asks_awaiting, key=lambda a: (a.needed_by or date.max, a.id))
        )
        items.extend(
            _kpi_item(k, view)
            for k in sorted(
                source.kpi_alerts, key=lambda k: (k.level is not ThresholdLevel.ALERT, k.measure.id)
            )
        )
        items.extend(
            _decision_item(d, view)
            for d in sorted(source.decisions, key=lambda d: d.decided_at, reverse=True)
        )
        items.extend(_informed_item(i, view) for i in source.informed)
        update = source.latest_update
        urgency = (
            -len(source.blockers_at_rung),
            min((a.needed_by or date.max for a in source.asks_awaiting), default=date.max),
            -len(source.asks_awaiting),
            _RAG_RANK[update.rag] if update else _NO_UPDATE_RANK,
            -len(source.kpi_alerts),
            source.project.key,
        )
        return cls(source=source, view=view, items=tuple(items), urgency=urgency)

    @property
    def actionable(self) -> bool:
        s = self.source
        return bool(s.asks_awaiting or s.blockers_at_rung or s.kpi_alerts)

    def _status(self) -> str:
        update = self.source.latest_update
        if update is None:
            return "no update this period"
        return f"{update.rag.value} · {self.view.text(update.progress)}"

    def concise_section(self) -> str:
        key, why = self.source.project.key, self.source.why
        return "\n".join(
            [f"{key} ({why}) · {self._status()}", *("- " + i.line for i in self.items)]
        )

    def detailed_section(self) -> str:
        project, update, view = self.source.project, self.source.latest_update, self.view
        lines = [f"{project.key} — {view.text(project.name)} ({self.source.why})"]
        if update is None:
            lines.append("Status: no update this period")
        else:
            lines.append(
                f"Status: {update.rag.value} — {view.text(update.progress)}"
                f" ({update.period}, {view.name(update.author_id)})"
            )
            if update.next_steps:
                lines.append(f"Next: {view.text(update.next_steps)}")
        lines.extend("- " + i.line for i in self.items)
        return "\n".join(lines)

    def summary_line(self) -> str:
        s = self.source
        counts = _counts(
            (len(s.blockers_at_rung), "blocker at your level", "blockers at your level"),
            (len(s.asks_awaiting), "ask awaits you", "asks await you"),
            (len(s.kpi_alerts), "KPI past threshold", "KPIs past threshold"),
            (len(s.decisions), "decision", "decisions"),
            (len(s.informed), "new item to know", "new items to know"),
        )
        rag = s.latest_update.rag.value if s.latest_update else "no update"
        return f"{s.project.key} · {rag} · {counts or 'nothing waiting on you'}"


def _counts(*entries: tuple[int, str, str]) -> str:
    return ", ".join(f"{n} {one if n == 1 else many}" for n, one, many in entries if n)
