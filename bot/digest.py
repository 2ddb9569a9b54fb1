"""Compose one person's digest from loaded data (DESIGN §5, pure: no I/O, no clock).

A leader should read it in under a minute, so it says first what needs *them*, then what moved,
then a little to know — in this order:

1. **Needs your decision** — asks they decide and blockers at their rung, oldest first, each with
   its one button; and any high or critical blocker on a project they sponsor, wherever it is on
   its ladder (a sponsor must never be the last to hear of it).
2. **You are waiting for** (leads) — the asks and blockers they raised: who holds each, since when.
3. **Since your last digest** — RAG moves, KPI crossings, blockers opened, decisions made (asks
   decided, blockers resolved), each once.
4. **Your projects** (leads; everyone in a detailed digest) — each project's state and update.
5. **FYI** — a few new items in areas where they are Consulted or Informed; KPIs still past
   threshold.

A closed item (a decided or withdrawn ask, a resolved or withdrawn blocker) is never listed; a
decision shows only as the change it made. A ``concise`` digest keeps within ``max_lines`` (never
more than 12) and ends with a count and the dashboard link for the rest; ``detailed`` lists
everything. People's own words (ask, blocker, update text) are quotes (:func:`quote`), so they
never read as if the bot said them. An ask with a conversation ("Need info" questions and their
answers) shows its latest turn under its text when concise, every turn when detailed.

Each item shown gets a fingerprint; given those of the previous digest, items waiting on the
reader are marked ``new``, ``changed`` or ``still open``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from bot.buttons import ask_buttons, blocker_buttons
from bot.calendar import iso_week, zone
from bot.messages import Action, Fact, Message, Target, quote
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
    ThresholdLevel,
    Update,
)
from bot.routing import signed
from bot.wording import plural

NEW = "new"
CHANGED = "changed"
STILL_OPEN = "still open"

NEEDS_YOU = "Needs your decision"
WAITING_FOR = "You are waiting for"
SINCE_LAST = "Since your last digest"
YOUR_PROJECTS = "Your projects"
FYI = "FYI"

MAX_CONCISE_LINES = 12
"""However a preference is set, a concise digest never reads longer than this."""
FYI_ENTRIES = 3
"""A concise digest shows at most this many FYI items; the dashboard has the rest."""
FEEDBACK_ACTION = "digest.feedback"
_FEEDBACK_LABELS = {
    FeedbackKind.USEFUL: "Useful",
    FeedbackKind.TOO_LONG: "Too long",
    FeedbackKind.TOO_OFTEN: "Too often",
    FeedbackKind.NOT_RELEVANT: "Not relevant",
}
_CONCISE_TEXT = 100
"""Characters of user text per quote in a concise digest; the dashboard has the rest."""
_DETAILED_TEXT = 400


@dataclass(frozen=True, kw_only=True)
class KpiAlert:
    """A measure whose latest observation crossed a threshold, under review by the sponsor."""

    measure: Measure
    observation: Observation
    level: ThresholdLevel
    raised_at: datetime | None = None
    """When the review was raised: a crossing after the last digest is news, an older one FYI."""


@dataclass(frozen=True, kw_only=True)
class ProjectDigest:
    """Everything one project contributes to one person's digest."""

    project: Project
    why: str = ""
    """Why a leader gets this project: ``sponsor``, ``A: budget, staffing``…; "" when the
    reader only leads it."""
    leads: bool = False
    """The reader leads this project: its state and what they wait for are theirs to see."""
    latest_update: Update | None = None
    previous_rag: Rag | None = None
    """The RAG of the update before ``latest_update``, to tell a RAG move."""
    kpi_alerts: tuple[KpiAlert, ...] = ()
    asks_awaiting: tuple[Ask, ...] = ()
    """Open asks this leader decides (as assignee or as an active delegate)."""
    blockers_at_rung: tuple[Blocker, ...] = ()
    """Open or acknowledged blockers whose current rung (``ladder[level]``) is this leader."""
    sponsor_watch: tuple[Blocker, ...] = ()
    """Live high or critical blockers on a project the leader sponsors, at another's rung."""
    opened: tuple[Blocker, ...] = ()
    """Live blockers opened since the last digest on a project the reader sponsors or leads."""
    decisions: tuple[Decision, ...] = ()
    """Decisions since the last digest."""
    informed: tuple[Ask | Blocker, ...] = ()
    """New live items in areas where the leader is Consulted or Informed."""
    raised: tuple[Ask | Blocker, ...] = ()
    """Open asks and live blockers the reader raised: what they wait for."""
    holders: Mapping[int, int] = field(default_factory=dict)
    """Blocker id → who holds its current rung (for "with Eve Martin")."""


@dataclass(frozen=True, kw_only=True)
class DigestInput:
    leader: Person
    period: str
    """``2026-W48``, ``2026-W47+48`` or ``2026-11-23`` (see :func:`digest_period`)."""
    detail: Detail = Detail.CONCISE
    max_lines: int = MAX_CONCISE_LINES
    projects: tuple[ProjectDigest, ...] = ()
    names: Mapping[int, str] = field(default_factory=dict)
    """Display names of every person the items mention."""
    conversations: Mapping[int, tuple[str, ...]] = field(default_factory=dict)
    """Ask id → its questions and answers, oldest first, as the cards word them
    (``Question from Dana Lee: …``); asks without one are absent."""
    previous: Mapping[str, str] = field(default_factory=dict)
    """Item key (``ask:12``) → fingerprint, from the last digest sent to this leader."""
    since: datetime | None = None
    """When the last digest went out (or the lookback began): what is newer is news."""
    now: datetime
    link_base: str
    dashboard: str = ""
    """The reader's link to the dashboard, when the server can make one; else the plain
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
    """How long a digest reads: the title, every line of every section (quotes too), one per
    fact. Buttons and the footer do not count: they are one row each in every renderer."""
    return (
        (1 if message.title else 0)
        + sum(len(section.split("\n")) for section in message.sections)
        + len(message.facts)
    )


def fingerprint(*parts: object) -> str:
    """A short stable digest of what a leader saw of an item; any change makes a new one."""
    raw = "\x1f".join(str(p) for p in parts).encode()
    return hashlib.blake2b(raw, digest_size=6).hexdigest()


@dataclass(frozen=True, kw_only=True)
class _Entry:
    """One item as the digest shows it: a line, maybe a quote under it, maybe one button."""

    key: str
    fingerprint: str
    lines: tuple[str, ...]
    action: Action | None = None

    def text(self) -> str:
        head, *rest = self.lines
        return "\n".join(["- " + head, *rest])


@dataclass(frozen=True, kw_only=True)
class _Section:
    heading: str
    entries: tuple[_Entry, ...]
    cap: int | None = None
    """At most this many entries in a concise digest (FYI)."""

    def text(self, entries: Iterable[_Entry]) -> str:
        return "\n".join([self.heading, *(e.text() for e in entries)])


def compose_digest(data: DigestInput) -> DigestResult:
    """The digest message for one reader, and the fingerprints to remember for the next one."""
    view = _View(data)
    sections = _sections(data.projects, view)
    lead = _lead_lines(data, sections)
    if view.detailed:
        shown = [(s, list(s.entries)) for s in sections]
        hidden = 0
        facts = _totals(data.projects)
    else:
        budget = min(data.max_lines, MAX_CONCISE_LINES) - 1 - len(lead)  # 1: the title
        shown, hidden = _fold(sections, budget=budget)
        facts = ()
    texts = [*lead, *(section.text(entries) for section, entries in shown if entries)]
    if hidden:
        texts.append(
            f"+{plural(hidden, 'more item')} — everything is on your dashboard: {view.dashboard}"
        )
    entries = [e for _, picked in shown for e in picked]
    actions = [e.action for e in entries if e.action is not None]
    actions.extend(
        Action(id=FEEDBACK_ACTION, label=label, value=f"{data.period}:{kind.value}")
        for kind, label in _FEEDBACK_LABELS.items()
    )
    message = Message(
        title=f"Your Leaderbot digest — {period_label(data.period)}",
        sections=tuple(texts),
        facts=facts,
        actions=tuple(actions),
        footer=f"Everything, with history: {view.dashboard}",
        target=Target(person_id=data.leader.id),
        key=f"digest:{data.leader.id}:{data.period}",
        link=view.dashboard,
    )
    return DigestResult(message=message, fingerprints={e.key: e.fingerprint for e in entries})


def _lead_lines(data: DigestInput, sections: list[_Section]) -> list[str]:
    """ "Nothing needs you this week." when that is true of someone who decides or is asked
    (a lead who decides nothing gets their own sections instead), and the empty case."""
    if not data.projects:
        return [_nothing_sentence(data.period), "You are not on any active project yet."]
    needs = any(s.entries for s in sections if s.heading == NEEDS_YOU)
    if needs or not any(p.why for p in data.projects):
        return []
    return [_nothing_sentence(data.period)]


def _nothing_sentence(period: str) -> str:
    when = "this week" if _WEEK.fullmatch(period) else "today"
    return f"Nothing needs you {when}."


def _totals(projects: Iterable[ProjectDigest]) -> tuple[Fact, ...]:
    projects = list(projects)
    counts = {
        "Asks awaiting you": sum(len(p.asks_awaiting) for p in projects),
        "Blockers at your level": sum(len(p.blockers_at_rung) for p in projects),
        "KPIs past threshold": sum(len(p.kpi_alerts) for p in projects),
    }
    return tuple(Fact(label=label, value=str(n)) for label, n in counts.items() if n)


def _fold(
    sections: list[_Section], *, budget: int
) -> tuple[list[tuple[_Section, list[_Entry]]], int]:
    """The entries that fit ``budget`` lines, in order of priority (sections in order, entries
    in order, FYI capped), and how many did not. When anything is left out one line is kept
    for the count and the link; the first entry that does not fit ends the list, so nothing
    less important is shown in place of something more important."""
    offered = [(s, list(s.entries[: s.cap] if s.cap is not None else s.entries)) for s in sections]
    total = sum(len(s.entries) for s in sections)
    cost = sum(1 + sum(len(e.lines) for e in entries) for _, entries in offered if entries)
    if cost <= budget and total == sum(len(entries) for _, entries in offered):
        return offered, 0
    room = budget - 1
    shown: list[tuple[_Section, list[_Entry]]] = []
    full = False
    for section, entries in offered:
        picked: list[_Entry] = []
        for entry in entries:
            need = len(entry.lines) + (0 if picked else 1)
            if full or need > room:
                full = True
                break
            picked.append(entry)
            room -= need
        shown.append((section, picked))
    return shown, total - sum(len(picked) for _, picked in shown)


def _one_line(text: str, limit: int) -> str:
    """User text on one line (a newline would break the line budget), cut with "…" at ``limit``.

    Nothing is escaped: renderers do that for their platform.
    """
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


class _View:
    """What every line needs to know: the reader's clock and zone, names, previous marks, and
    the one link to the dashboard every line that points there uses."""

    def __init__(self, data: DigestInput) -> None:
        self.data = data
        self.me = data.leader.id
        self.detailed = data.detail is Detail.DETAILED
        self.zone = zone(data.leader.timezone)
        self.today = data.now.astimezone(self.zone).date()
        self.dashboard = data.dashboard or f"{data.link_base.rstrip('/')}/dashboard"
        self.limit = _DETAILED_TEXT if self.detailed else _CONCISE_TEXT

    def name(self, person_id: int | None) -> str:
        return self.data.names.get(person_id or 0, "someone")

    def quote(self, text: str) -> str:
        return quote(_one_line(text, self.limit))

    def conversation(self, ask: Ask) -> tuple[str, ...]:
        """The ask's questions and answers as quotes: all of them when detailed, else the
        latest, which says where the ask stands."""
        turns = self.data.conversations.get(ask.id, ())
        return tuple(self.quote(turn) for turn in (turns if self.detailed else turns[-1:]))

    def ask_print(self, ask: Ask) -> str:
        """What the reader saw of an ask: a new question or answer changes it too."""
        return fingerprint(
            ask.text,
            ask.needed_by,
            ask.state.value,
            ask.assignee_id,
            ask.area,
            *self.data.conversations.get(ask.id, ()),
        )

    def mark(self, key: str, print_: str) -> str:
        before = self.data.previous.get(key)
        if before is None:
            return NEW
        return STILL_OPEN if before == print_ else CHANGED

    def is_news(self, when: datetime | None) -> bool:
        since = self.data.since
        return since is None or when is None or when >= since

    def day(self, when: date | datetime) -> str:
        if isinstance(when, datetime):
            when = when.astimezone(self.zone).date()
        return when.strftime("%a %d %b")

    def moment(self, when: datetime) -> str:
        local = when.astimezone(self.zone)
        return f"{local:%a %d %b %H:%M} {local.tzname()}"

    def due(self, needed_by: date) -> str:
        if needed_by < self.today:
            return f"overdue since {self.day(needed_by)}"
        if needed_by == self.today:
            return "due today"
        return f"needed by {self.day(needed_by)}"


def _area(area: str) -> str:
    return "default area" if area == "*" else f"area {area}"


def _blocker_print(blocker: Blocker) -> str:
    return fingerprint(
        blocker.text, blocker.severity.value, blocker.state.value, blocker.level, blocker.area
    )


def _blocker_state(blocker: Blocker, mark: str | None = None) -> str:
    parts = [mark] if mark else []
    parts.append(blocker.severity.value)
    if blocker.state is BlockerState.ACKNOWLEDGED:
        parts.append("acknowledged")
    return ", ".join(parts)


def _item(item: Ask | Blocker, head: str, view: _View, action: Action | None = None) -> _Entry:
    """An ask or a blocker: its line, the words of the person who raised it as a quote, and an
    ask's conversation under them."""
    if isinstance(item, Ask):
        key, print_, said = f"ask:{item.id}", view.ask_print(item), view.conversation(item)
    else:
        key, print_, said = f"blocker:{item.id}", _blocker_print(item), ()
    lines = (head, view.quote(item.text), *said)
    return _Entry(key=key, fingerprint=print_, lines=lines, action=action)


def _needs_ask(ask: Ask, key: str, view: _View) -> _Entry:
    tail = [f"from {view.name(ask.requester_id)}"]
    if ask.assignee_id != view.me:
        tail.append(f"for {view.name(ask.assignee_id)}")
    if view.detailed:
        tail.append(_area(ask.area))
    if ask.needed_by:
        tail.append(view.due(ask.needed_by))
    if ask.state is AskState.INFO_REQUESTED:
        tail.append("waiting for the answer to your question")
    mark = view.mark(f"ask:{ask.id}", view.ask_print(ask))
    return _item(
        ask,
        f"Ask #{ask.id} on {key} ({mark}) — {', '.join(tail)}",
        view,
        ask_buttons(ask.id, numbered=True)[0],
    )


def _needs_blocker(blocker: Blocker, key: str, view: _View, *, holder: int | None) -> _Entry:
    tail = [f"reported by {view.name(blocker.reporter_id)}"]
    if view.detailed:
        tail.append(_area(blocker.area))
    if holder is None:  # at the reader's own rung
        tail.append(f"open since {view.day(blocker.created_at)}")
        if blocker.next_escalation_at and blocker.level < len(blocker.ladder) - 1:
            tail.append(f"escalates {view.moment(blocker.next_escalation_at)}")
    else:
        tail.append(f"with {view.name(holder)} since {view.day(blocker.created_at)}")
        tail.append(f"you sponsor {key}")
    state = _blocker_state(blocker, view.mark(f"blocker:{blocker.id}", _blocker_print(blocker)))
    return _item(
        blocker,
        f"Blocker #{blocker.id} on {key} ({state}) — {', '.join(tail)}",
        view,
        blocker_buttons(blocker, numbered=True)[0],
    )


def _waiting(item: Ask | Blocker, source: ProjectDigest, view: _View) -> _Entry:
    key = source.project.key
    if isinstance(item, Ask):
        head = f"Ask #{item.id} on {key} — with {view.name(item.assignee_id)} since "
        head += view.day(item.created_at)
        if item.needed_by:
            head += f", {view.due(item.needed_by)}"
        if item.state is AskState.INFO_REQUESTED:
            head += f"; {view.name(item.decided_by_id)} asked for more information"
        return _item(item, head, view)
    rung = f"rung {item.level + 1} of {len(item.ladder)}"
    holder = view.name(source.holders.get(item.id))
    return _item(
        item,
        f"Blocker #{item.id} on {key} ({_blocker_state(item)}) — with {holder} ({rung}) "
        f"since {view.day(item.created_at)}",
        view,
    )


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "?"
    return f"{value:g}{unit}" if unit in ("%", "") else f"{value:g} {unit}"


def _kpi(alert: KpiAlert, key: str, view: _View, *, still: bool) -> _Entry:
    measure, observation = alert.measure, alert.observation
    value = _number(observation.value, measure.unit)
    verb = "is still past" if still else "crossed"
    line = f"{key}: {measure.name} {verb} its {alert.level.value} threshold ({value}"
    if measure.target is not None:
        line += f", target {_number(measure.target, measure.unit)}"
    line += f", observed {view.day(observation.observed_on)})"
    return _Entry(
        key=f"kpi:{measure.id}",
        fingerprint=fingerprint(observation.id, observation.value, alert.level.value),
        lines=(line,),
    )


def _rag_move(source: ProjectDigest, view: _View) -> _Entry | None:
    update = source.latest_update
    if update is None or source.previous_rag in (None, update.rag):
        return None
    if not view.is_news(update.created_at):
        return None
    assert source.previous_rag is not None
    lines = [
        f"{source.project.key} went {source.previous_rag.value} → {update.rag.value}"
        f" ({view.name(update.author_id)}, {view.day(update.created_at)})"
    ]
    if view.detailed:
        lines.append(view.quote(update.progress))
    return _Entry(
        key=f"rag:{update.id}", fingerprint=fingerprint(update.rag.value), lines=tuple(lines)
    )


def _opened(blocker: Blocker, key: str, view: _View) -> _Entry:
    return _item(
        blocker,
        f"Blocker #{blocker.id} opened on {key} ({blocker.severity.value}) by "
        f"{view.name(blocker.reporter_id)}, {view.day(blocker.created_at)}",
        view,
    )


_DECIDED = re.compile(r"(approved|declined|resolved): ")
"""How the services word a decision's outcome on an ask or a blocker: ``approved: <text>``."""


def _decision(decision: Decision, key: str, view: _View) -> _Entry:
    by = signed(view.data.names, decision.decided_by_id, decision.on_behalf_of_id) or "someone"
    when = view.day(decision.decided_at)
    verb = _DECIDED.match(decision.outcome)
    if decision.subject_id is not None and verb:
        subject = "Ask" if decision.subject_kind == "ask" else "Blocker"
        lines = [f"{subject} #{decision.subject_id} on {key} {verb[1]} by {by}, {when}"]
        if view.detailed:
            lines.append(view.quote(decision.outcome[verb.end() :]))
    else:
        lines = [f"Decision on {key} by {by}, {when}", view.quote(decision.outcome)]
    if view.detailed and decision.rationale:
        lines.append(view.quote(f"Why: {decision.rationale}"))
    return _Entry(
        key=f"decision:{decision.id}",
        fingerprint=fingerprint(decision.outcome, decision.rationale),
        lines=tuple(lines),
    )


def _state(source: ProjectDigest, view: _View) -> _Entry:
    project, update = source.project, source.latest_update
    role = f" ({source.why})" if source.why else ""
    if update is None:
        return _Entry(
            key=f"project:{project.id}",
            fingerprint=fingerprint("no update"),
            lines=(f"{project.key}{role} · no update this period",),
        )
    lines = [
        f"{project.key}{role} · {update.rag.value} · update of {period_label(update.period)} by "
        f"{view.name(update.author_id)}",
        view.quote(update.progress),
    ]
    if view.detailed and update.next_steps:
        lines.append(view.quote(f"Next: {update.next_steps}"))
    return _Entry(
        key=f"project:{project.id}",
        fingerprint=fingerprint(update.id, update.rag.value),
        lines=tuple(lines),
    )


def _informed(item: Ask | Blocker, key: str, view: _View) -> _Entry:
    if isinstance(item, Ask):
        kind, print_ = "Ask", view.ask_print(item)
        by = f"from {view.name(item.requester_id)}, for {view.name(item.assignee_id)}"
    else:
        kind, print_ = "Blocker", _blocker_print(item)
        by = f"{item.severity.value}, reported by {view.name(item.reporter_id)}"
    lines = [f"{kind} #{item.id} on {key} ({_area(item.area)}) — {by}"]
    if view.detailed:
        lines.append(view.quote(item.text))
        lines.extend(view.conversation(item) if isinstance(item, Ask) else ())
    return _Entry(key=f"{kind.lower()}:{item.id}", fingerprint=print_, lines=tuple(lines))


def _sections(projects: Iterable[ProjectDigest], view: _View) -> list[_Section]:
    """Every entry of every section, each item once (the first, most pressing, place wins)."""
    projects = sorted(projects, key=lambda p: p.project.key)
    needs: list[tuple[datetime, int, _Entry]] = []
    waiting: list[tuple[datetime, int, _Entry]] = []
    changes: list[_Entry] = []
    states: list[_Entry] = []
    fyi: list[_Entry] = []
    for source in projects:
        key = source.project.key
        needs.extend((a.created_at, a.id, _needs_ask(a, key, view)) for a in source.asks_awaiting)
        needs.extend(
            (b.created_at, b.id, _needs_blocker(b, key, view, holder=None))
            for b in source.blockers_at_rung
        )
        needs.extend(
            (b.created_at, b.id, _needs_blocker(b, key, view, holder=source.holders.get(b.id)))
            for b in source.sponsor_watch
        )
        waiting.extend((i.created_at, i.id, _waiting(i, source, view)) for i in source.raised)
        move = _rag_move(source, view)
        changes.extend([move] if move else [])
        for alert in source.kpi_alerts:
            news = view.is_news(alert.raised_at)
            (changes if news else fyi).append(_kpi(alert, key, view, still=not news))
        changes.extend(_opened(b, key, view) for b in source.opened)
        changes.extend(
            _decision(d, key, view) for d in sorted(source.decisions, key=lambda d: d.decided_at)
        )
        if source.leads or view.detailed:
            states.append(_state(source, view))
        fyi.extend(_informed(i, key, view) for i in source.informed)
    seen: set[str] = set()
    sections = [
        _Section(heading=NEEDS_YOU, entries=_once(_oldest_first(needs), seen)),
        _Section(heading=WAITING_FOR, entries=_once(_oldest_first(waiting), seen)),
        _Section(heading=SINCE_LAST, entries=_once(changes, seen)),
        _Section(heading=YOUR_PROJECTS, entries=_once(states, seen)),
        _Section(heading=FYI, entries=_once(fyi, seen), cap=FYI_ENTRIES),
    ]
    return sections


def _oldest_first(entries: list[tuple[datetime, int, _Entry]]) -> list[_Entry]:
    return [entry for _, _, entry in sorted(entries, key=lambda t: (t[0], t[1]))]


def _once(entries: Iterable[_Entry], seen: set[str]) -> tuple[_Entry, ...]:
    kept = []
    for entry in entries:
        if entry.key not in seen:
            seen.add(entry.key)
            kept.append(entry)
    return tuple(kept)
