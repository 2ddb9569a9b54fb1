"""How quickly leaders answer: the arithmetic and the wording of the responsiveness page (issue 12).

What no peer product measures, and what a sponsor most needs to see about themselves: how long
their asks wait, how many are overdue, how long blockers that reached them stayed in the way,
and how often an escalation had to climb to them. Pure functions of loaded items and a moment,
so the page, the JSON API and the tests compute the same figures; the service that loads the
items is :mod:`bot.services.responsiveness`.

Weeks are ISO weeks (Monday 00:00 UTC); the last point is the current week, measured at ``now``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from statistics import median

from bot.model import Ask, AskState, Blocker, BlockerState

WEEKS = 12
"""How many weekly trend points a page shows (the issue's "last 12 weeks")."""

DECIDED = (AskState.APPROVED, AskState.DECLINED)
ENDED = (AskState.WITHDRAWN, AskState.EXPIRED)


@dataclass(frozen=True, kw_only=True)
class Escalation:
    """One step up a ladder: a blocker's rung, or an ask's reminder that went above its holder."""

    at: datetime
    person_id: int
    """Who it reached."""
    project_id: int


@dataclass(frozen=True, kw_only=True)
class Figures:
    """What happened in one stretch of time (a week, or the whole window)."""

    decided: int
    decide_days: float | None
    """Median days from raised to decided, of the asks decided in the stretch; None if none."""
    open: int
    """Asks still waiting at the end of the stretch."""
    overdue: int
    """Of those, past their needed-by date."""
    unblocked: int
    unblock_days: float | None
    """Median days from raised to resolved, of the blockers resolved in the stretch."""
    open_blockers: int
    escalations: int


@dataclass(frozen=True, kw_only=True)
class WeekPoint:
    week: str
    """ISO week, ``2026-W49``."""
    starts_on: date
    figures: Figures


@dataclass(frozen=True, kw_only=True)
class Responsiveness:
    """One leader's or one project's figures: the whole window, and one point per week."""

    total: Figures
    weeks: tuple[WeekPoint, ...]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def ask_closed_at(ask: Ask) -> datetime | None:
    """When an ask stopped waiting on its decider: decided, withdrawn or expired."""
    if ask.state in DECIDED and ask.decided_at is not None:
        return _aware(ask.decided_at)
    if ask.state in ENDED:
        return _aware(ask.updated_at or ask.created_at)
    return None


def _blocker_closed_at(blocker: Blocker) -> datetime | None:
    if blocker.state is BlockerState.RESOLVED:
        return _aware(blocker.resolved_at or blocker.updated_at or blocker.created_at)
    if blocker.state is BlockerState.WITHDRAWN:
        return _aware(blocker.updated_at or blocker.created_at)
    return None


def _waiting(created: datetime, closed: datetime | None, at: datetime) -> bool:
    return _aware(created) <= at and (closed is None or closed > at)


def _days(spans: Iterable[timedelta]) -> float | None:
    values = [span.total_seconds() / 86400 for span in spans]
    return round(median(values), 1) if values else None


def figures(
    *,
    asks: Sequence[Ask],
    blockers: Sequence[Blocker],
    escalations: Sequence[Escalation],
    start: datetime,
    end: datetime,
) -> Figures:
    """The figures of ``[start, end)``; open and overdue counts are those at ``end``."""

    def within(moment: datetime | None) -> bool:
        return moment is not None and start <= moment < end

    decided = [a for a in asks if a.state in DECIDED and within(ask_closed_at(a)) and a.decided_at]
    waiting = [a for a in asks if _waiting(a.created_at, ask_closed_at(a), end)]
    resolved = [
        b for b in blockers if b.state is BlockerState.RESOLVED and within(_blocker_closed_at(b))
    ]
    return Figures(
        decided=len(decided),
        decide_days=_days(
            _aware(a.decided_at) - _aware(a.created_at) for a in decided if a.decided_at
        ),
        open=len(waiting),
        overdue=sum(1 for a in waiting if a.needed_by is not None and a.needed_by < end.date()),
        unblocked=len(resolved),
        unblock_days=_days((_blocker_closed_at(b) or end) - _aware(b.created_at) for b in resolved),
        open_blockers=sum(
            1 for b in blockers if _waiting(b.created_at, _blocker_closed_at(b), end)
        ),
        escalations=sum(1 for e in escalations if within(_aware(e.at))),
    )


def week_start(moment: datetime) -> datetime:
    """Monday 00:00 UTC of the ISO week holding ``moment``."""
    day = _aware(moment).astimezone(UTC).date()
    return datetime.combine(day - timedelta(days=day.weekday()), time(0), tzinfo=UTC)


def measure(
    *,
    asks: Sequence[Ask],
    blockers: Sequence[Blocker],
    escalations: Sequence[Escalation],
    now: datetime,
    weeks: int = WEEKS,
) -> Responsiveness:
    """The last ``weeks`` ISO weeks up to ``now``, oldest first, and their total."""
    first = week_start(now) - timedelta(weeks=weeks - 1)
    points = []
    for n in range(weeks):
        start = first + timedelta(weeks=n)
        end = min(start + timedelta(weeks=1), now)
        year, number, _ = start.isocalendar()
        points.append(
            WeekPoint(
                week=f"{year}-W{number:02d}",
                starts_on=start.date(),
                figures=figures(
                    asks=asks, blockers=blockers, escalations=escalations, start=start, end=end
                ),
            )
        )
    total = figures(asks=asks, blockers=blockers, escalations=escalations, start=first, end=now)
    return Responsiveness(total=total, weeks=tuple(points))


def of_leader(
    person_id: int,
    *,
    asks: Sequence[Ask],
    blockers: Sequence[Blocker],
    escalations: Sequence[Escalation],
    now: datetime,
) -> Responsiveness:
    """A leader's asks (those they had to decide), the blockers that reached their rung, and the
    escalations that reached them."""
    return measure(
        asks=[a for a in asks if a.assignee_id == person_id],
        blockers=[b for b in blockers if person_id in b.ladder[: b.level + 1]],
        escalations=[e for e in escalations if e.person_id == person_id],
        now=now,
    )


def of_project(
    project_id: int,
    *,
    asks: Sequence[Ask],
    blockers: Sequence[Blocker],
    escalations: Sequence[Escalation],
    now: datetime,
) -> Responsiveness:
    """A project's asks, blockers and escalations, whoever held them."""
    return measure(
        asks=[a for a in asks if a.project_id == project_id],
        blockers=[b for b in blockers if b.project_id == project_id],
        escalations=[e for e in escalations if e.project_id == project_id],
        now=now,
    )


def duration(days: float) -> str:
    """``1.5 days``, ``1 day``, ``5 hours``, ``under an hour``: how a person says it."""
    if days < 1 / 24:
        return "under an hour"
    if days < 1:
        hours = round(days * 24)
        return f"{hours} hour" if hours == 1 else f"{hours} hours"
    text = f"{days:.1f}".removesuffix(".0")
    return f"{text} day" if text == "1" else f"{text} days"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _is(n: int) -> str:
    return "is" if n == 1 else "are"


def _asks_sentence(subject: str, total: Figures) -> str:
    if total.decided == 0 and total.open == 0:
        return f"{subject} had no asks to decide in the last {WEEKS} weeks."
    if total.decided and total.decide_days is not None:
        head = (
            f"{subject} decided {_plural(total.decided, 'ask')} in a median of "
            f"{duration(total.decide_days)}"
        )
    else:
        head = f"{subject} decided no asks in the last {WEEKS} weeks"
    if total.overdue:
        return f"{head}; {total.overdue} {_is(total.overdue)} overdue."
    if total.open:
        return f"{head}; {total.open} {_is(total.open)} waiting, none overdue."
    return f"{head}; none is waiting."


def _blockers_sentence(whom: str | None, total: Figures) -> str | None:
    """About the blockers that reached ``whom``'s rung; about all of them when None."""
    if not total.unblocked and not total.open_blockers:
        return None
    reached = f" that reached {whom}" if whom else ""
    still = f"; {total.open_blockers} still in the way" if total.open_blockers else ""
    if not total.unblocked or total.unblock_days is None:
        return f"No blocker{reached} was resolved in the last {WEEKS} weeks{still}."
    return (
        f"{_plural(total.unblocked, 'blocker')}{reached} "
        f"{'was' if total.unblocked == 1 else 'were'} resolved in a median of "
        f"{duration(total.unblock_days)}{still}."
    )


def _trend_sentence(weeks: Sequence[WeekPoint]) -> str | None:
    """Deciding faster or slower: the last four weeks against the four before."""
    recent = [w.figures.decide_days for w in weeks[-4:] if w.figures.decide_days is not None]
    before = [w.figures.decide_days for w in weeks[-8:-4] if w.figures.decide_days is not None]
    if not recent or not before:
        return None
    now_, then = round(median(recent), 1), round(median(before), 1)
    if now_ == then:
        return f"Deciding took about as long as the four weeks before ({duration(now_)})."
    pace = "faster" if now_ < then else "slower"
    return (
        f"Deciding got {pace}: a median of {duration(now_)} in the last four weeks, "
        f"{duration(then)} in the four before."
    )


def leader_sentences(result: Responsiveness, *, name: str | None = None) -> list[str]:
    """Short sentences about one leader: to themselves ("You decided …") when ``name`` is None,
    about them for a facilitator's planning otherwise."""
    total = result.total
    subject, whom = ("You", "you") if name is None else (name, name)
    sentences = [_asks_sentence(subject, total)]
    blockers = _blockers_sentence(whom, total)
    if blockers:
        sentences.append(blockers)
    if total.escalations:
        sentences.append(
            f"{_plural(total.escalations, 'escalation')} reached {whom} because an earlier "
            "rung did not act in time."
        )
    trend = _trend_sentence(result.weeks)
    if trend:
        sentences.append(trend)
    if name is not None and total.overdue:
        sentences.append(
            f"Worth a word with {name} before the next digest: "
            f"{_plural(total.overdue, 'overdue ask')}."
        )
    return sentences


def project_sentences(result: Responsiveness) -> list[str]:
    """Short sentences about one project's decision path, for the facilitator."""
    total = result.total
    sentences = [_asks_sentence("Its leaders", total)]
    blockers = _blockers_sentence(None, total)
    if blockers:
        sentences.append(blockers)
    if total.escalations:
        sentences.append(f"{_plural(total.escalations, 'escalation')} had to climb a rung.")
    trend = _trend_sentence(result.weeks)
    if trend:
        sentences.append(trend)
    return sentences
