"""The pure digest composer (issue 13's redesign): what needs the reader first, oldest first,
one button each; then what changed, then a few FYI lines; 12 lines at most in concise mode with a
count and the link for the rest; never a closed item; quotes for people's words; the lead's own
digest."""

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
from bot.messages import QUOTE_MARK, Message, Style, Target, quote
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
        outcome="approved: Approve 0.5 FTE for the pilot",
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


def test_concise_fits_twelve_lines_and_counts_the_rest() -> None:
    message = compose_digest(data()).message
    assert count_lines(message) <= 12
    assert message.sections[0].split("\n")[0] == "Needs your decision"
    assert message.sections[-1] == (
        "+7 more items — everything is on your dashboard: https://lb.example.org/dashboard"
    )
    assert message.key == "digest:1:2026-W48"
    assert message.target == Target(person_id=1)
    assert message.title == "Your Leaderbot digest — week 48"


def test_a_generous_preference_still_reads_in_twelve_lines() -> None:
    assert count_lines(compose_digest(data(max_lines=40)).message) <= 12


@pytest.mark.parametrize("max_lines", [3, 5, 8, 12, 20])
def test_concise_never_exceeds_its_budget(max_lines: int) -> None:
    assert count_lines(compose_digest(data(max_lines=max_lines)).message) <= min(max_lines, 12)


def heads(message: Message) -> list[str]:
    """The item lines (``- …``) in the order shown."""
    return [line for s in message.sections for line in s.split("\n") if line.startswith("- ")]


def test_what_needs_you_comes_first_oldest_first() -> None:
    message = compose_digest(data(detail=Detail.DETAILED)).message
    items = [line.split(" (")[0] for line in heads(message)]
    assert items[:5] == [
        "- Blocker #7 on FALLS",
        "- Blocker #8 on FALLS",
        "- Ask #12 on SEPSIS",
        "- Ask #13 on SEPSIS",
        "- Ask #21 on FALLS",
    ]
    order = [s.split("\n")[0] for s in message.sections]
    assert order == ["Needs your decision", "Since your last digest", "Your projects", "FYI"]


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
        "Needs your decision\n"
        "- Ask #12 on SEPSIS (new) — from Ana Lead, needed by Fri 27 Nov\n"
        f"{QUOTE_MARK}Approve 0.5 FTE for the pilot",
    )


def test_one_button_per_item_that_needs_you() -> None:
    small = (
        ProjectDigest(
            project=project(20, "FALLS"),
            why="sponsor",
            asks_awaiting=(ask(12, 20),),
            blockers_at_rung=(
                blocker(7, 20),
                blocker(8, 20, state=BlockerState.ACKNOWLEDGED),
            ),
        ),
    )
    actions = [
        (a.id, a.label, a.style)
        for a in compose_digest(data(projects=small)).message.actions
        if a.id != "digest.feedback"
    ]
    assert actions == [
        ("blocker.ack", "Acknowledge #7", Style.PRIMARY),
        ("blocker.resolve", "Resolve #8", Style.DEFAULT),
        ("ask.approve", "Approve #12", Style.PRIMARY),
    ]


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


def test_nothing_needs_you_only_when_true() -> None:
    quiet = (
        ProjectDigest(
            project=project(10, "SEPSIS"),
            why="sponsor",
            latest_update=update(10, Rag.GREEN),
            decisions=(decision(1, 10),),
        ),
    )
    message = compose_digest(data(projects=quiet)).message
    assert message.sections == (
        "Nothing needs you this week.",
        "Since your last digest\n- Ask #101 on SEPSIS approved by Ben Sponsor, Sat 21 Nov",
    )
    assert "Nothing needs you" not in all_text(compose_digest(data()).message)


def test_a_sponsors_high_blocker_is_there_wherever_it_is_on_the_ladder() -> None:
    elsewhere = blocker(9, 10, ladder=[3, 1], level=0)
    projects = (
        ProjectDigest(
            project=project(10, "SEPSIS"),
            why="sponsor",
            sponsor_watch=(elsewhere,),
            holders={9: 3},
            decisions=tuple(decision(n, 10) for n in range(1, 7)),
        ),
    )
    message = compose_digest(data(projects=projects)).message
    assert heads(message)[0] == (
        "- Blocker #9 on SEPSIS (new, high) — reported by Ana Lead, with Cy Exec since Fri 20 Nov,"
        " you sponsor SEPSIS"
    )
    assert "Nothing needs you" not in all_text(message)
    assert count_lines(message) <= 12


def test_what_changed_each_once() -> None:
    opened = blocker(9, 10, created_at=NOW - timedelta(hours=2))
    projects = (
        ProjectDigest(
            project=project(10, "SEPSIS"),
            why="sponsor",
            latest_update=update(10, Rag.RED),
            previous_rag=Rag.AMBER,
            blockers_at_rung=(opened,),
            opened=(opened, blocker(10, 10, created_at=NOW - timedelta(hours=1))),
            informed=(opened,),
            decisions=(decision(1, 10),),
        ),
    )
    message = compose_digest(data(projects=projects, since=NOW - timedelta(days=7))).message
    assert heads(message) == [
        "- Blocker #9 on SEPSIS (new, high) — reported by Ana Lead, open since Mon 23 Nov, "
        "escalates Tue 24 Nov 08:30 GMT",
        "- SEPSIS went amber → red (Ana Lead, Sun 22 Nov)",
        "- Blocker #10 opened on SEPSIS (high) by Ana Lead, Mon 23 Nov",
        "- Ask #101 on SEPSIS approved by Ben Sponsor, Sat 21 Nov",
    ]


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
    assert "Ask #12 on SEPSIS (new)" in all_text(first.message)
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
    assert f"Ask #12 on SEPSIS ({STILL_OPEN})" in text
    assert f"Ask #13 on SEPSIS ({CHANGED})" in text
    assert f"Ask #14 on SEPSIS ({NEW})" in text
    assert f"Blocker #7 on SEPSIS ({CHANGED}, high)" in text
    assert second.fingerprints["ask:12"] == first.fingerprints["ask:12"]
    assert second.fingerprints["ask:13"] != first.fingerprints["ask:13"]


def test_detailed_is_longer_and_lists_everything() -> None:
    concise = compose_digest(data())
    detailed = compose_digest(data(detail=Detail.DETAILED))
    assert count_lines(detailed.message) > count_lines(concise.message)
    text = all_text(detailed.message)
    for needle in ("Ask #12", "Ask #13", "Ask #21", "Blocker #7", "Blocker #8", "Ask #31 on FLOW"):
        assert needle in text
    assert quote("Why: Fits the winter plan") in text
    assert quote("Next: Roll out to ward 7") in text
    assert "FLOW (C: it) · no update this period" in text
    assert "+" not in detailed.message.sections[-1][:1]
    assert len(detailed.fingerprints) > len(concise.fingerprints)
    assert {f.label for f in detailed.message.facts} >= {"Asks awaiting you"}


def test_peoples_words_are_quotes_plain_and_on_one_line() -> None:
    nasty = "<!channel> *bold* <https://evil.example|click>\nsecond line & more"
    projects = (
        ProjectDigest(
            project=project(10, "SEPSIS"),
            why="sponsor",
            leads=True,
            latest_update=update(10, Rag.AMBER, progress="**progress**\n\nmore"),
            asks_awaiting=(ask(12, 10, text=nasty),),
        ),
    )
    message = compose_digest(data(projects=projects)).message
    lines = "\n".join(message.sections).split("\n")
    assert quote("<!channel> *bold* <https://evil.example|click> second line & more") in lines
    assert quote("**progress** more") in lines
    assert count_lines(message) == 7


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


def test_a_kpi_crossing_is_news_once_then_fyi() -> None:
    crossing = replace(kpi(5, 10), raised_at=NOW - timedelta(days=3))
    projects = (
        ProjectDigest(project=project(10, "SEPSIS"), why="sponsor", kpi_alerts=(crossing,)),
    )
    fresh = compose_digest(data(projects=projects, since=NOW - timedelta(days=7))).message
    assert fresh.sections[1] == (
        "Since your last digest\n- SEPSIS: Door-to-needle time crossed its alert threshold "
        "(48 min, target 30 min, observed Fri 20 Nov)"
    )
    later = compose_digest(data(projects=projects, since=NOW - timedelta(days=1))).message
    assert later.sections[1].startswith(
        "FYI\n- SEPSIS: Door-to-needle time is still past its alert threshold"
    )


def test_info_requested_and_delegated_asks() -> None:
    projects = (
        ProjectDigest(
            project=project(10, "SEPSIS"),
            why="deciding for Cy Exec",
            asks_awaiting=(ask(12, 10, assignee_id=3, state=AskState.INFO_REQUESTED),),
        ),
    )
    assert heads(compose_digest(data(projects=projects)).message) == [
        "- Ask #12 on SEPSIS (new) — from Ana Lead, for Cy Exec, needed by Fri 27 Nov, "
        "waiting for the answer to your question"
    ]


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
    assert "escalates Tue 24 Nov 09:00 EST" in text


def test_a_leads_digest_says_what_they_wait_for_and_how_their_project_stands() -> None:
    lead = Person(id=2, organization_id=1, handle="ana", name="Ana Lead", timezone="Europe/London")
    waiting_ask = ask(12, 10, requester_id=2, assignee_id=1)
    waiting_blocker = blocker(7, 10, level=1, ladder=[1, 3])
    projects = (
        ProjectDigest(
            project=project(10, "SEPSIS"),
            leads=True,
            latest_update=update(10, Rag.AMBER),
            raised=(waiting_ask, waiting_blocker),
            holders={7: 3},
            decisions=(decision(1, 10),),
        ),
    )
    message = compose_digest(data(leader=lead, projects=projects)).message
    assert message.sections == (
        "You are waiting for\n"
        "- Blocker #7 on SEPSIS (high) — with Cy Exec (rung 2 of 2) since Fri 20 Nov\n"
        f"{QUOTE_MARK}Lab IT access blocked for 2 weeks\n"
        "- Ask #12 on SEPSIS — with Ben Sponsor since Sat 21 Nov, needed by Fri 27 Nov\n"
        f"{QUOTE_MARK}Approve 0.5 FTE for the pilot",
        "Since your last digest\n- Ask #101 on SEPSIS approved by Ben Sponsor, Sat 21 Nov",
        "Your projects\n- SEPSIS · amber · update of week 48 by Ana Lead\n"
        f"{QUOTE_MARK}4 of 6 wards on the bundle",
    )
    assert [a.id for a in message.actions] == ["digest.feedback"] * 4


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
