"""The pure digest composer: line budget, buttons, markers, plain text."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.digest import (
    CHANGED,
    NEW,
    STILL_OPEN,
    DigestInput,
    KpiAlert,
    ProjectDigest,
    compose_digest,
    count_lines,
    digest_period,
    period_label,
)
from bot.messages import InputKind, Message, Style, Target
from bot.model import (
    Ask,
    AskState,
    Blocker,
    BlockerState,
    Decision,
    Detail,
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

NOW = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)  # Monday of ISO week 48
LEADER = Person(id=1, organization_id=1, handle="ben", name="Ben Sponsor", timezone="Europe/London")
NAMES = {1: "Ben Sponsor", 2: "Ana Lead", 3: "Cy Exec"}


def project(pid: int, key: str) -> Project:
    return Project(id=pid, organization_id=1, key=key, name=f"{key.title()} project")


def update(pid: int, rag: Rag, progress: str = "4 of 6 wards on the bundle") -> Update:
    return Update(
        id=pid,
        project_id=pid,
        author_id=2,
        period="2026-W48",
        rag=rag,
        progress=progress,
        next_steps="Roll out to ward 7",
        created_at=NOW - timedelta(days=1),
    )


def ask(aid: int, pid: int, text: str = "Approve 0.5 FTE for the pilot", **kw: object) -> Ask:
    fields: dict[str, object] = {
        "id": aid,
        "organization_id": 1,
        "project_id": pid,
        "requester_id": 2,
        "assignee_id": 1,
        "area": "staffing",
        "text": text,
        "needed_by": date(2026, 11, 27),
        "created_at": NOW - timedelta(days=2),
    }
    fields.update(kw)
    return Ask(**fields)  # type: ignore[arg-type]


def blocker(bid: int, pid: int, severity: Severity = Severity.HIGH, **kw: object) -> Blocker:
    fields: dict[str, object] = {
        "id": bid,
        "organization_id": 1,
        "project_id": pid,
        "reporter_id": 2,
        "area": "it",
        "severity": severity,
        "text": "Lab IT access blocked for 2 weeks",
        "ladder": [1, 3],
        "next_escalation_at": NOW + timedelta(days=1),
        "created_at": NOW - timedelta(days=3),
    }
    fields.update(kw)
    return Blocker(**fields)  # type: ignore[arg-type]


def decision(did: int, pid: int) -> Decision:
    return Decision(
        id=did,
        organization_id=1,
        project_id=pid,
        subject_kind="ask",
        subject_id=100 + did,
        outcome="approved",
        rationale="Fits the winter plan",
        decided_by_id=1,
        decided_at=NOW - timedelta(days=2),
    )


def kpi(mid: int, pid: int, value: float = 48.0) -> KpiAlert:
    measure = Measure(id=mid, project_id=pid, name="Door-to-needle time", unit="min", target=30)
    observation = Observation(
        id=mid * 10,
        measure_id=mid,
        observed_on=date(2026, 11, 20),
        value=value,
        level=ThresholdLevel.ALERT,
        recorded_at=NOW - timedelta(days=3),
    )
    return KpiAlert(measure=measure, observation=observation, level=ThresholdLevel.ALERT)


def busy_projects() -> tuple[ProjectDigest, ...]:
    """Three projects with far more going on than 12 lines can hold."""
    return (
        ProjectDigest(
            project=project(10, "SEPSIS"),
            why="sponsor",
            latest_update=update(10, Rag.GREEN),
            asks_awaiting=(ask(12, 10), ask(13, 10, needed_by=date(2026, 11, 24))),
            kpi_alerts=(kpi(5, 10),),
            decisions=(decision(1, 10), decision(2, 10)),
        ),
        ProjectDigest(
            project=project(20, "FALLS"),
            why="A: budget, staffing",
            latest_update=update(20, Rag.RED, "Pilot paused"),
            asks_awaiting=(ask(21, 20),),
            blockers_at_rung=(blocker(7, 20), blocker(8, 20, Severity.CRITICAL)),
            decisions=(decision(3, 20),),
        ),
        ProjectDigest(
            project=project(30, "FLOW"),
            why="C: it",
            latest_update=None,
            informed=(ask(31, 30, assignee_id=3, area="it"), blocker(32, 30, ladder=[3])),
        ),
    )


def data(**kw: object) -> DigestInput:
    fields: dict[str, object] = {
        "leader": LEADER,
        "period": "2026-W48",
        "projects": busy_projects(),
        "names": NAMES,
        "now": NOW,
        "link_base": "https://lb.example.org",
    }
    fields.update(kw)
    return DigestInput(**fields)  # type: ignore[arg-type]


def all_text(message: Message) -> str:
    return "\n".join([message.title, *message.sections, message.footer])


def test_concise_fits_twelve_lines_with_three_busy_projects() -> None:
    result = compose_digest(data())
    message = result.message
    assert count_lines(message) <= 12
    text = all_text(message)
    for key in ("SEPSIS", "FALLS", "FLOW"):
        assert key in text
    assert "more items — open the dashboard: https://lb.example.org/dashboard" in text
    # the most urgent things survive the fold: blockers at the leader's rung first
    assert "Blocker #8 (new, critical)" in text
    assert message.key == "digest:1:2026-W48"
    assert message.target == Target(person_id=1)
    assert message.title == "Your Leaderbot digest — week 48"


def test_concise_orders_projects_by_urgency() -> None:
    sections = compose_digest(data()).message.sections
    heads = [s.split(" ", 1)[0] for s in sections[:3]]
    assert heads == ["FALLS", "SEPSIS", "FLOW"]


@pytest.mark.parametrize("max_lines", [3, 5, 8, 12, 20])
def test_concise_never_exceeds_its_budget(max_lines: int) -> None:
    assert count_lines(compose_digest(data(max_lines=max_lines)).message) <= max_lines


def test_small_digest_is_not_folded() -> None:
    small = (
        ProjectDigest(
            project=project(10, "SEPSIS"),
            why="sponsor",
            latest_update=update(10, Rag.AMBER),
            asks_awaiting=(ask(12, 10),),
        ),
    )
    message = compose_digest(data(projects=small)).message
    assert message.sections == (
        "SEPSIS (sponsor) · amber · 4 of 6 wards on the bundle\n"
        "- Ask #12 (new): Approve 0.5 FTE for the pilot — from Ana Lead, needed by Fri 27 Nov",
    )
    assert "dashboard" not in "".join(message.sections)


def test_asks_get_decision_buttons() -> None:
    small = (
        ProjectDigest(project=project(10, "SEPSIS"), why="sponsor", asks_awaiting=(ask(12, 10),)),
    )
    actions = {a.id: a for a in compose_digest(data(projects=small)).message.actions}
    assert actions["ask.approve"].label == "Approve #12"
    assert actions["ask.approve"].value == "12"
    assert actions["ask.approve"].style is Style.PRIMARY
    assert actions["ask.decline"].input is InputKind.RATIONALE
    assert actions["ask.info"].input is InputKind.QUESTION
    assert actions["ask.info"].label == "Need info #12"


def test_blockers_get_ack_and_resolve_buttons() -> None:
    small = (
        ProjectDigest(
            project=project(20, "FALLS"),
            why="sponsor",
            blockers_at_rung=(
                blocker(7, 20),
                blocker(8, 20, state=BlockerState.ACKNOWLEDGED),
            ),
        ),
    )
    actions = [(a.id, a.value) for a in compose_digest(data(projects=small)).message.actions]
    assert ("blocker.ack", "7") in actions
    assert ("blocker.resolve", "7") in actions
    assert ("blocker.resolve", "8") in actions
    assert ("blocker.ack", "8") not in actions  # already acknowledged


def test_folded_items_have_no_buttons() -> None:
    message = compose_digest(data()).message
    shown = "\n".join(message.sections)
    for action in message.actions:
        if action.id.startswith(("ask.", "blocker.")):
            assert f"#{action.value} " in shown


def test_feedback_buttons_always_present() -> None:
    message = compose_digest(data(projects=())).message
    feedback = [(a.value, a.style) for a in message.actions if a.id == "digest.feedback"]
    assert feedback == [
        ("2026-W48:useful", Style.DEFAULT),
        ("2026-W48:too_long", Style.DEFAULT),
        ("2026-W48:too_often", Style.DEFAULT),
        ("2026-W48:not_relevant", Style.DEFAULT),
    ]


def test_nothing_needs_you() -> None:
    quiet = (
        ProjectDigest(
            project=project(10, "SEPSIS"),
            why="sponsor",
            latest_update=update(10, Rag.GREEN),
            decisions=(decision(1, 10),),
        ),
    )
    message = compose_digest(data(projects=quiet)).message
    assert message.sections[0] == "Nothing needs you this week."
    assert "SEPSIS (sponsor) · green" in message.sections[1]
    assert "Nothing needs you" not in all_text(compose_digest(data()).message)


def test_no_update_this_period() -> None:
    text = all_text(compose_digest(data()).message)
    assert "FLOW · no update" in text
    detailed = all_text(compose_digest(data(detail=Detail.DETAILED)).message)
    assert "Status: no update this period" in detailed


def test_markers_across_two_digests() -> None:
    projects = (
        ProjectDigest(
            project=project(10, "SEPSIS"),
            why="sponsor",
            asks_awaiting=(ask(12, 10), ask(13, 10)),
            blockers_at_rung=(blocker(7, 10),),
        ),
    )
    first = compose_digest(data(projects=projects))
    assert "Ask #12 (new)" in all_text(first.message)
    assert set(first.fingerprints) == {"ask:12", "ask:13", "blocker:7"}

    later = (
        replace(
            projects[0],
            asks_awaiting=(ask(12, 10), ask(13, 10, needed_by=date(2026, 11, 30)), ask(14, 10)),
            blockers_at_rung=(blocker(7, 10, level=1, ladder=[3, 1]),),
        ),
    )
    second = compose_digest(data(projects=later, previous=first.fingerprints))
    text = all_text(second.message)
    assert f"Ask #12 ({STILL_OPEN})" in text
    assert f"Ask #13 ({CHANGED})" in text
    assert f"Ask #14 ({NEW})" in text
    assert f"Blocker #7 ({CHANGED}, high)" in text
    assert second.fingerprints["ask:12"] == first.fingerprints["ask:12"]
    assert second.fingerprints["ask:13"] != first.fingerprints["ask:13"]


def test_detailed_is_longer_and_lists_everything() -> None:
    concise = compose_digest(data())
    detailed = compose_digest(data(detail=Detail.DETAILED))
    assert count_lines(detailed.message) > count_lines(concise.message)
    text = all_text(detailed.message)
    for needle in ("Ask #12", "Ask #13", "Ask #21", "Blocker #7", "Blocker #8", "FYI ask #31"):
        assert needle in text
    assert "why: Fits the winter plan" in text
    assert "Next: Roll out to ward 7" in text
    assert len(detailed.fingerprints) > len(concise.fingerprints)
    assert {f.label for f in detailed.message.facts} >= {"Asks awaiting you"}


def test_user_text_stays_plain_and_on_one_line() -> None:
    nasty = "<!channel> *bold* <https://evil.example|click>\nsecond line & more"
    projects = (
        ProjectDigest(
            project=project(10, "SEPSIS"),
            why="sponsor",
            latest_update=update(10, Rag.AMBER, progress="**progress**\n\nmore"),
            asks_awaiting=(ask(12, 10, text=nasty),),
        ),
    )
    message = compose_digest(data(projects=projects)).message
    text = "\n".join(message.sections)
    assert "<!channel> *bold* <https://evil.example|click> second line & more" in text
    assert "**progress** more" in text
    assert count_lines(message) == 3


def test_long_text_is_cut_in_concise() -> None:
    projects = (
        ProjectDigest(
            project=project(10, "SEPSIS"),
            why="sponsor",
            asks_awaiting=(ask(12, 10, text="x" * 500),),
        ),
    )
    concise = "\n".join(compose_digest(data(projects=projects)).message.sections)
    assert "x" * 99 + "…" in concise
    assert "x" * 101 not in concise


def test_kpi_alert_shown() -> None:
    projects = (
        ProjectDigest(project=project(10, "SEPSIS"), why="sponsor", kpi_alerts=(kpi(5, 10),)),
    )
    text = all_text(compose_digest(data(projects=projects)).message)
    assert "KPI Door-to-needle time: 48 min (new, alert, target 30 min)" in text
    assert "Nothing needs you" not in text


def test_info_requested_and_delegated_asks() -> None:
    projects = (
        ProjectDigest(
            project=project(10, "SEPSIS"),
            why="deciding for Cy Exec",
            asks_awaiting=(ask(12, 10, assignee_id=3, state=AskState.INFO_REQUESTED),),
        ),
    )
    text = all_text(compose_digest(data(projects=projects)).message)
    assert "waiting for the information you asked" in text
    assert "for Cy Exec" in text


def test_overdue_and_escalation_times_in_leader_zone() -> None:
    projects = (
        ProjectDigest(
            project=project(10, "SEPSIS"),
            why="sponsor",
            asks_awaiting=(ask(12, 10, needed_by=date(2026, 11, 20)),),
            blockers_at_rung=(
                blocker(7, 10, next_escalation_at=datetime(2026, 11, 24, 14, 0, tzinfo=UTC)),
            ),
        ),
    )
    message = compose_digest(
        data(projects=projects, leader=replace(LEADER, timezone="America/New_York"))
    ).message
    text = all_text(message)
    assert "overdue since Fri 20 Nov" in text
    assert "escalates Tue 24 Nov 09:00" in text


def test_empty_digest() -> None:
    message = compose_digest(data(projects=())).message
    assert message.sections == (
        "Nothing needs you this week.",
        "You are not on any active project yet.",
    )


@pytest.mark.parametrize(
    ("frequency", "day", "period"),
    [
        (Frequency.WEEKLY, date(2026, 11, 23), "2026-W48"),
        (Frequency.OFF, date(2026, 11, 23), "2026-W48"),
        (Frequency.BIWEEKLY, date(2026, 11, 23), "2026-W47+48"),
        (Frequency.BIWEEKLY, date(2026, 11, 16), "2026-W47+48"),
        (Frequency.BIWEEKLY, date(2026, 11, 30), "2026-W49+50"),
        (Frequency.BIWEEKLY, date(2026, 1, 5), "2026-W01+02"),
        (Frequency.BIWEEKLY, date(2026, 12, 31), "2026-W53"),
        (Frequency.WEEKLY, date(2027, 1, 1), "2026-W53"),
        (Frequency.DAILY_DURING_ACTIVE_CYCLE, date(2026, 11, 23), "2026-11-23"),
    ],
)
def test_digest_period(frequency: Frequency, day: date, period: str) -> None:
    assert digest_period(frequency, day) == period


def test_period_labels_and_daily_wording() -> None:
    assert period_label("2026-W48") == "week 48"
    assert period_label("2026-W47+48") == "weeks 47–48"
    assert period_label("2026-11-23") == "Mon 23 Nov 2026"
    daily = compose_digest(data(projects=(), period="2026-11-23")).message
    assert daily.key == "digest:1:2026-11-23"
    assert daily.sections[0] == "Nothing needs you today."
