"""The responsiveness arithmetic and its sentences, from hand-made asks and blockers."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from bot.model import Ask, AskState, Blocker, BlockerState, Severity
from bot.responsiveness import (
    Escalation,
    duration,
    leader_sentences,
    measure,
    of_leader,
    of_project,
    project_sentences,
)

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)  # a Wednesday, ISO week 2026-W49
DANA, OMAR = 1, 2


def ask(
    *,
    days_ago: float,
    decided_after: float | None = None,
    state: AskState | None = None,
    needed_by: date | None = None,
    assignee: int = DANA,
    project: int = 10,
) -> Ask:
    created = NOW - timedelta(days=days_ago)
    decided = created + timedelta(days=decided_after) if decided_after is not None else None
    return Ask(
        id=0,
        organization_id=1,
        project_id=project,
        requester_id=99,
        assignee_id=assignee,
        area="*",
        text="approve",
        needed_by=needed_by,
        state=state or (AskState.APPROVED if decided else AskState.OPEN),
        created_at=created,
        decided_at=decided,
        updated_at=decided,
    )


def blocker(*, days_ago: float, resolved_after: float | None = None, level: int = 0) -> Blocker:
    created = NOW - timedelta(days=days_ago)
    resolved = created + timedelta(days=resolved_after) if resolved_after is not None else None
    return Blocker(
        organization_id=1,
        project_id=10,
        reporter_id=99,
        area="*",
        severity=Severity.HIGH,
        text="lab access",
        state=BlockerState.RESOLVED if resolved else BlockerState.OPEN,
        ladder=[OMAR, DANA],
        level=level,
        created_at=created,
        resolved_at=resolved,
        updated_at=resolved,
    )


def test_twelve_weekly_points_end_with_the_current_week() -> None:
    result = measure(asks=[], blockers=[], escalations=[], now=NOW)
    assert len(result.weeks) == 12
    assert result.weeks[-1].week == "2026-W49"
    assert result.weeks[-1].starts_on == date(2026, 11, 30)
    assert result.weeks[0].week == "2026-W38"


def test_median_time_to_decide_and_overdue() -> None:
    asks = [
        ask(days_ago=20, decided_after=1),
        ask(days_ago=10, decided_after=2),
        ask(days_ago=9, decided_after=1.5),
        ask(days_ago=30, decided_after=5),
        ask(days_ago=6, needed_by=NOW.date() - timedelta(days=1)),
        ask(days_ago=1, needed_by=NOW.date() + timedelta(days=3)),
        ask(days_ago=3, assignee=OMAR),
    ]
    result = of_leader(DANA, asks=asks, blockers=[], escalations=[], now=NOW)
    assert result.total.decided == 4
    assert result.total.decide_days == 1.8  # median of 1, 1.5, 2, 5
    assert (result.total.open, result.total.overdue) == (2, 1)
    assert leader_sentences(result)[0] == (
        "You decided 4 asks in a median of 1.8 days; 1 is overdue."
    )
    assert leader_sentences(result, name="Dana Lee")[0] == (
        "Dana Lee decided 4 asks in a median of 1.8 days; 1 is overdue."
    )
    assert leader_sentences(result, name="Dana Lee")[-1] == (
        "Worth a word with Dana Lee before the next digest: 1 overdue ask."
    )


def test_each_week_counts_what_was_decided_in_it_and_what_was_waiting_at_its_end() -> None:
    # Raised Monday of W47, decided Thursday of W48.
    raised = datetime(2026, 11, 16, 9, tzinfo=UTC)
    decided = replace(
        ask(days_ago=0),
        created_at=raised,
        state=AskState.APPROVED,
        decided_at=raised + timedelta(days=10),
    )
    result = measure(asks=[decided], blockers=[], escalations=[], now=NOW)
    by_week = {w.week: w.figures for w in result.weeks}
    assert by_week["2026-W46"].open == 0
    assert by_week["2026-W47"].open == 1 and by_week["2026-W47"].decided == 0
    assert by_week["2026-W48"].decided == 1 and by_week["2026-W48"].decide_days == 10.0
    assert by_week["2026-W48"].open == 0


def test_withdrawn_asks_stop_waiting_but_are_not_decisions() -> None:
    withdrawn = ask(days_ago=5, state=AskState.WITHDRAWN)
    withdrawn.updated_at = NOW - timedelta(days=4)
    result = measure(asks=[withdrawn], blockers=[], escalations=[], now=NOW)
    assert (result.total.decided, result.total.open) == (0, 0)
    assert leader_sentences(result)[0] == "You had no asks to decide in the last 12 weeks."


def test_time_to_unblock_counts_blockers_that_reached_the_leader() -> None:
    blockers = [
        blocker(days_ago=10, resolved_after=2, level=1),  # reached Dana at rung 2
        blocker(days_ago=8, resolved_after=4, level=1),
        blocker(days_ago=3, resolved_after=1, level=0),  # Omar resolved it: not Dana's
        blocker(days_ago=2, level=1),
    ]
    escalations = [
        Escalation(at=NOW - timedelta(days=7), person_id=DANA, project_id=10),
        Escalation(at=NOW - timedelta(days=200), person_id=DANA, project_id=10),
    ]
    result = of_leader(DANA, asks=[], blockers=blockers, escalations=escalations, now=NOW)
    assert (result.total.unblocked, result.total.unblock_days) == (2, 3.0)
    assert result.total.open_blockers == 1
    assert result.total.escalations == 1  # the other is older than 12 weeks
    sentences = leader_sentences(result)
    assert (
        "2 blockers that reached you were resolved in a median of 3 days; 1 still in the way."
        in sentences
    )
    assert "1 escalation reached you because an earlier rung did not act in time." in sentences


def test_the_trend_compares_the_last_four_weeks_with_the_four_before() -> None:
    asks = [
        ask(days_ago=45, decided_after=4),
        ask(days_ago=40, decided_after=4),
        ask(days_ago=10, decided_after=1),
        ask(days_ago=5, decided_after=1),
    ]
    result = of_project(10, asks=asks, blockers=[], escalations=[], now=NOW)
    assert project_sentences(result)[-1] == (
        "Deciding got faster: a median of 1 day in the last four weeks, 4 days in the four before."
    )


def test_durations_read_as_a_person_says_them() -> None:
    assert duration(0.01) == "under an hour"
    assert duration(5 / 24) == "5 hours"
    assert duration(1.0) == "1 day"
    assert duration(1.54) == "1.5 days"
    assert duration(3.0) == "3 days"
