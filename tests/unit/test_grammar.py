"""The command grammar: every command, its refusals, and properties that hold for any text."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.commands import (
    AnswerCmd,
    AskCmd,
    AsksCmd,
    BlockerActCmd,
    BlockerCmd,
    CadenceCmd,
    Command,
    DecideCmd,
    DecisionsCmd,
    DelegateCmd,
    DigestCmd,
    HandoverCmd,
    HelpCmd,
    KpiAddCmd,
    KpiListCmd,
    KpiRecordCmd,
    ProjectChannelCmd,
    ProjectCharterCmd,
    ProjectNewCmd,
    ProjectShowCmd,
    ProjectStatusCmd,
    RaciSetCmd,
    RaciShowCmd,
    RoleCmd,
    StatusCmd,
    UpdateCmd,
    WhoCmd,
    WithdrawCmd,
)
from bot.errors import UsageError
from bot.grammar import HELP, help_for, parse, parse_date, usage
from bot.model import (
    Detail,
    Direction,
    Frequency,
    Letter,
    ProjectStatus,
    Rag,
    Role,
    Severity,
)

TODAY = date(2026, 11, 25)  # a Wednesday
FRI = date(2026, 11, 27)


def p(text: str) -> Command:
    return parse(text, today=TODAY)


def refusal(text: str, *, max_text: int = 2000) -> UsageError:
    with pytest.raises(UsageError) as caught:
        parse(text, today=TODAY, max_text=max_text)
    return caught.value


# --- every command parses -----------------------------------------------------------------

GOOD: list[tuple[str, Command]] = [
    (
        "ask @Dana approve 0.5 FTE for the pilot by fri #sepsis area:Staffing",
        AskCmd(
            text="approve 0.5 FTE for the pilot",
            assignee="dana",
            needed_by=FRI,
            project="SEPSIS",
            area="staffing",
        ),
    ),
    ("ASK   approve\tthe   plan", AskCmd(text="approve the plan")),
    ("ask #s area:it @Dana, go", AskCmd(text="go", assignee="dana", project="S", area="it")),
    ("ask go @dana", AskCmd(text="go @dana")),
    ("ask approve budget by committee", AskCmd(text="approve budget by committee")),
    (
        "ask approve by next week the plan",
        AskCmd(text="approve the plan", needed_by=date(2026, 11, 30)),
    ),
    ("ask x by friday.", AskCmd(text="x", needed_by=FRI)),
    ("ask x by in 3 days", AskCmd(text="x", needed_by=date(2026, 11, 28))),
    ("ask x by end of month", AskCmd(text="x", needed_by=date(2026, 11, 30))),
    ("ask x by 4 dec", AskCmd(text="x", needed_by=date(2026, 12, 4))),
    ("ask x by 2026-12-01", AskCmd(text="x", needed_by=date(2026, 12, 1))),
    ("ask x by today", AskCmd(text="x", needed_by=TODAY)),
    ("ask increase staff by 2.5 FTE", AskCmd(text="increase staff by 2.5 FTE")),
    ('ask review "#3 bed" layout', AskCmd(text='review "#3 bed" layout')),
    ("ask fix bed #3 now", AskCmd(text="fix bed #3 now")),
    ("ask x area: it", AskCmd(text="x", area="it")),
    (
        "blocker lab IT access blocked #SEPSIS area:it severity:HIGH",
        BlockerCmd(
            text="lab IT access blocked", project="SEPSIS", area="it", severity=Severity.HIGH
        ),
    ),
    ("blocker no access", BlockerCmd(text="no access")),
    (
        "update #S rag:amber screening at 78% next: train night staff",
        UpdateCmd(
            text="screening at 78%",
            project="S",
            rag=Rag.AMBER,
            next_steps="train night staff",
        ),
    ),
    ("update went well next:plan more", UpdateCmd(text="went well", next_steps="plan more")),
    ("status", StatusCmd()),
    ("status #sepsis", StatusCmd(project="SEPSIS")),
    ("status sepsis", StatusCmd(project="SEPSIS")),
    ("asks", AsksCmd()),
    ("Digest", DigestCmd()),
    ("decisions #S", DecisionsCmd(project="S")),
    ("raci", RaciShowCmd()),
    ("raci #S", RaciShowCmd(project="S")),
    (
        "raci set @dana a staffing #S",
        RaciSetCmd(person="dana", letter=Letter.A, area="staffing", project="S"),
    ),
    ("raci set @dana C *", RaciSetCmd(person="dana", letter=Letter.C, area="*")),
    ("help", HelpCmd()),
    ("", HelpCmd()),
    ("help ASK", HelpCmd(topic="ask")),
    ("help project new", HelpCmd(topic="project new")),
    ("who", WhoCmd()),
    ("who @Lee", WhoCmd(person="lee")),
    ("project new sepsis Sepsis pathway", ProjectNewCmd(key="SEPSIS", name="Sepsis pathway")),
    ("project show SEPSIS", ProjectShowCmd(project="SEPSIS")),
    ("project show", ProjectShowCmd()),
    (
        "project charter #S aim 90% screened in 1h",
        ProjectCharterCmd(project="S", field="aim", text="90% screened in 1h"),
    ),
    ("project channel #S", ProjectChannelCmd(project="S")),
    ("project pause #S", ProjectStatusCmd(status=ProjectStatus.PAUSED, project="S")),
    ("project resume #S", ProjectStatusCmd(status=ProjectStatus.ACTIVE, project="S")),
    ("project CLOSE s", ProjectStatusCmd(status=ProjectStatus.CLOSED, project="S")),
    (
        "role @lee sponsor #S executive lead for flow",
        RoleCmd(person="lee", role=Role.SPONSOR, project="S", note="executive lead for flow"),
    ),
    ("role @lee Resistor", RoleCmd(person="lee", role=Role.RESISTOR)),
    ("cadence", CadenceCmd()),
    (
        "cadence weekly mon 08:30 concise",
        CadenceCmd(
            frequency=Frequency.WEEKLY, weekday=0, local_time=time(8, 30), detail=Detail.CONCISE
        ),
    ),
    ("cadence daily", CadenceCmd(frequency=Frequency.DAILY_DURING_ACTIVE_CYCLE)),
    ("cadence off", CadenceCmd(frequency=Frequency.OFF)),
    (
        "cadence detailed fri 9:05",
        CadenceCmd(detail=Detail.DETAILED, weekday=4, local_time=time(9, 5)),
    ),
    ("delegate @sam until fri", DelegateCmd(person="sam", until=FRI)),
    ("delegate off", DelegateCmd(person=None, until=TODAY)),
    ("handover @a @b #S", HandoverCmd(from_person="a", to_person="b", project="S")),
    ("handover @a @b", HandoverCmd(from_person="a", to_person="b")),
    ("kpi", KpiListCmd()),
    ("kpi #S", KpiListCmd(project="S")),
    ("kpi list #S", KpiListCmd(project="S")),
    (
        "kpi add screened within 1h unit:% higher target:90 warn:80 alert:70 #S",
        KpiAddCmd(
            name="screened within 1h",
            project="S",
            unit="%",
            direction=Direction.HIGHER,
            target=90.0,
            warn=80.0,
            alert=70.0,
        ),
    ),
    (
        'kpi add "lower limb amputations" lower alert:-1.5e1',
        KpiAddCmd(name="lower limb amputations", direction=Direction.LOWER, alert=-15.0),
    ),
    ("kpi add lower limb amputations", KpiAddCmd(name="lower limb amputations")),
    (
        "kpi record screened within 1h 78% on mon #S",  # a recorded value: the last Monday
        KpiRecordCmd(
            name="screened within 1h", value=78.0, project="S", observed_on=date(2026, 11, 23)
        ),
    ),
    ("kpi record falls on ward 7 3", KpiRecordCmd(name="falls on ward 7", value=3.0)),
    ('kpi record "falls per 1000" .5', KpiRecordCmd(name="falls per 1000", value=0.5)),
    ("approve #12", DecideCmd(ask_id=12, outcome="approve")),
    ("approve 12 within budget", DecideCmd(ask_id=12, outcome="approve", text="within budget")),
    ("decline 12 no money", DecideCmd(ask_id=12, outcome="decline", text="no money")),
    ("info 7 which wards?", DecideCmd(ask_id=7, outcome="info", text="which wards?")),
    ("withdraw ask 12", WithdrawCmd(kind="ask", item_id=12)),
    ("withdraw Blocker #3", WithdrawCmd(kind="blocker", item_id=3)),
    ("ack 3", BlockerActCmd(blocker_id=3, verb="ack")),
    ("answer 3 the AMU and ED", AnswerCmd(ask_id=3, text="the AMU and ED")),
    ("answer #3 see <#C1|ed-team>", AnswerCmd(ask_id=3, text="see #ed-team")),
    ("asks", AsksCmd()),
    ("asks ALL", AsksCmd(everything=True)),
    (
        "raci set @carmen A staffng! #S",
        RaciSetCmd(person="carmen", letter=Letter.A, area="staffng", project="S", new_area=True),
    ),
    (
        "raci set @carmen A staffng ! #S",
        RaciSetCmd(person="carmen", letter=Letter.A, area="staffng", project="S", new_area=True),
    ),
    (
        "raci set @carmen A *!",
        RaciSetCmd(person="carmen", letter=Letter.A, area="*", new_area=True),
    ),
    ("ask fund it <#C1|sepsis>", AskCmd(text="fund it", project="SEPSIS")),
    (
        "ask fund it #FALLS per <#C1|sepsis>",
        AskCmd(text="fund it per #sepsis", project="FALLS"),
    ),
    (
        "ask fund it in <#C1|sepsis> and <#C2|falls>",
        AskCmd(text="fund it in #sepsis and #falls"),
    ),
    ("status <#C1|sepsis>", StatusCmd(project="SEPSIS")),
    ("ask fund it by 2.5 FTE", AskCmd(text="fund it by 2.5 FTE")),
    (
        "resolve #3 IT granted access",
        BlockerActCmd(blocker_id=3, verb="resolve", text="IT granted access"),
    ),
]


@pytest.mark.parametrize(("text", "expected"), GOOD, ids=[t for t, _ in GOOD])
def test_parses(text: str, expected: Command) -> None:
    assert p(text) == expected


# --- refusals -------------------------------------------------------------------------------

BAD: list[tuple[str, str, str]] = [
    # (text, part of the message, part of the hint)
    ("aks for money", "Did you mean 'ask", "Commands: ask, blocker"),
    ("frobnicate", "I don't know the command 'frobnicate'", "Type help"),
    ("ask", "What do you want to ask", "ask [@person] <text>"),
    ("ask @dana by fri", "What do you want to ask", "ask [@person]"),
    (
        "ask approve budget by frebruary 30",
        "I can't read the date 'frebruary 30'. Try 2026-12-01, tomorrow, fri or next week.",
        "ask [@person]",
    ),
    ("ask x by 2026-02-30", "I can't read the date '2026-02-30'", "ask"),
    ("ask x by feb 30", "I can't read the date 'feb 30'", "ask"),
    ("ask x by tomorow", "I can't read the date 'tomorow'", "ask"),
    ("ask x by 2026-01-01", "Thu 01 Jan 2026 is in the past.", "ask"),
    ("ask @ x", "'@' is not a person", "ask"),
    ("ask x #A #B", "Give one project, not 2 (#A, #B).", "ask"),
    ("ask x area:", "area: needs a value", "ask"),
    ("ask x area:a area:b", "Give area: once.", "ask"),
    ("ask x area:two/words", "is not an area", "ask"),
    ("blocker", "What is blocked", "blocker <text>"),
    ("blocker x severity:hgh", "'hgh' is not a severity. Did you mean high?", "severity:low"),
    ("update", "What progress", "update [#PROJECT]"),
    ("update rag:purple x", "'purple' is not a RAG status.", "rag:red|amber|green"),
    ("status a b", "I don't understand 'a b' here.", "status [#PROJECT]"),
    ("asks please", "I don't understand 'please' here.", "asks"),
    ("help frobnicate", "I don't know the command 'frobnicate'", "Commands:"),
    ("who lee", "I don't understand 'lee' here.", "who [@person]"),
    ("project", "project needs new, show, charter, channel, pause, resume or close", "project new"),
    ("project open #S", "(not 'open')", "project show"),
    ("project new", "Give the project a KEY", "project new KEY <name>"),
    ("project new SEPSIS", "Give the project a name", "project new"),
    ("project new ?? name", "can't be a project key", "project new"),
    ("project charter #S goal x", "'goal' is not a charter field", "aim|scope"),
    ("project charter #S aim", "What is the project's aim?", "project charter"),
    ("role lee sponsor", "Who is taking the role?", "role @person"),
    ("role @lee boss", "'boss' is not a role.", "role @person"),
    ("role @lee", "Which role?", "role @person"),
    ("raci set @dana Q x", "'Q' is not a RACI letter.", "raci set"),
    ("raci set @dana A", "For which area?", "raci set"),
    ("raci set @dana A it extra", "I don't understand 'extra' here.", "raci set"),
    ("cadence weekly frday", "Did you mean friday?", "cadence"),
    ("cadence 25:00", "I can't read the time '25:00'. Use HH:MM", "cadence"),
    ("cadence weekly daily", "Give the frequency once.", "cadence"),
    ("delegate @sam", "Until when?", "delegate @person until <date>"),
    ("delegate @sam from fri", "Say until when", "delegate"),
    ("delegate @sam until", "Until when?", "delegate"),
    ("delegate @sam until frebruary", "I can't read the date 'frebruary'", "delegate"),
    ("delegate @sam until 2026-01-01", "is in the past", "delegate"),
    ("handover @a", "Who is taking over?", "handover @from @to"),
    ("kpi add", "Which KPI?", "kpi add <name>"),
    ("kpi add falls target:nan", "'nan' is not a number for target.", "kpi add"),
    ("kpi add falls warn:1e999", "is not a number for warn", "kpi add"),
    ("kpi record", "Which KPI, and what value?", "kpi record"),
    ("kpi record falls", "'falls' is not a number", "kpi record"),
    ("kpi record 3", "Which KPI?", "kpi record"),
    ("kpi record falls 3 on frebruary", "I can't read the date 'frebruary'", "kpi record"),
    ("approve", "Which ask?", "approve <ask id>"),
    ("approve x", "'x' is not an ask number", "approve"),
    ("approve #0", "'#0' is not an ask number", "approve"),
    ("approve ١٢", "is not an ask number", "approve"),
    ("decline 12", "Please give a reason when you decline.", "decline <ask id> <rationale>"),
    ("info 12", "What do you need to know?", "info <ask id> <question>"),
    ("withdraw 12", "'12' is not a thing to withdraw", "withdraw ask|blocker <id>"),
    ("withdraw ask", "Which ask?", "withdraw"),
    ("withdraw ask 1 2", "I don't understand '2' here.", "withdraw"),
    ("resolve 3", "How was it resolved?", "resolve <blocker id>"),
    ("ack", "Which blocker?", "ack <blocker id>"),
    ("answer", "Which ask?", "answer <ask id> <answer>"),
    ("answer 3", "What is your answer? answer 12 <text>.", "answer <ask id>"),
    ("asks everything", "I don't understand 'everything' here.", "asks [all]"),
    ("raci set @dana A staffing ! x", "I don't understand '! x' here.", "raci set"),
    ("raci set @dana A !", "'!' is not an area", "raci set"),
]


@pytest.mark.parametrize(("text", "message", "hint"), BAD, ids=[t for t, _, _ in BAD])
def test_refuses_with_usage_hint(text: str, message: str, hint: str) -> None:
    error = refusal(text)
    assert message in error.message
    assert hint in error.hint


def test_text_too_long_says_how_long_and_what_to_do() -> None:
    error = refusal("ask " + "x" * 10_000, max_text=2000)
    assert error.message == (
        "That text is 10,000 characters; the most I take is 2,000. "
        "Put the detail in a document and link it."
    )


def test_text_just_within_the_limit_is_taken() -> None:
    command = parse("blocker " + "x" * 50, today=TODAY, max_text=50)
    assert command == BlockerCmd(text="x" * 50)
    assert "51 characters" in refusal("blocker " + "x" * 51, max_text=50).message


def test_next_steps_count_against_the_limit() -> None:
    assert "60 characters" in refusal("update ok next: " + "y" * 60, max_text=50).message


# --- dates ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-01", date(2026, 12, 1)),
        ("today", TODAY),
        ("Tomorrow", date(2026, 11, 26)),
        ("wed", TODAY),  # today is that day
        ("wednesday", TODAY),
        ("thu", date(2026, 11, 26)),
        ("tues", date(2026, 12, 1)),
        ("mon", date(2026, 11, 30)),
        ("next week", date(2026, 11, 30)),
        ("next fri", date(2026, 12, 4)),
        ("in 3 days", date(2026, 11, 28)),
        ("in 1 day", date(2026, 11, 26)),
        ("in 2 weeks", date(2026, 12, 9)),
        ("end of month", date(2026, 11, 30)),
        ("dec 4", date(2026, 12, 4)),
        ("4 dec", date(2026, 12, 4)),
        ("4th December", date(2026, 12, 4)),
        ("nov 25", TODAY),
        ("nov 24", date(2027, 11, 24)),  # the next occurrence
        ("jan 2", date(2027, 1, 2)),
        ("feb 29", date(2028, 2, 29)),
        ("sept 1", date(2027, 9, 1)),
    ],
)
def test_dates(text: str, expected: date) -> None:
    assert parse_date(text, today=TODAY) == expected


@pytest.mark.parametrize(
    "text",
    ["", "frebruary 30", "feb 30", "in 99999 days", "2026-13-01", "next month", "0000-01-01"],
)
def test_bad_dates(text: str) -> None:
    with pytest.raises(UsageError, match="I can't read the date"):
        parse_date(text, today=TODAY)


def test_end_of_month_in_december_and_february() -> None:
    assert parse_date("end of month", today=date(2026, 12, 3)) == date(2026, 12, 31)
    assert parse_date("end of month", today=date(2028, 2, 1)) == date(2028, 2, 29)


@pytest.mark.parametrize("word", ["committee", "the board", "2.5 FTE", "may be", "the end"])
def test_by_followed_by_no_date_keeps_the_text(word: str) -> None:
    assert p(f"ask approve it by {word}") == AskCmd(text=f"approve it by {word}")


def test_the_last_by_date_wins_and_earlier_by_stays_text() -> None:
    assert p("ask sign off by committee by fri") == AskCmd(
        text="sign off by committee", needed_by=FRI
    )


# --- help -----------------------------------------------------------------------------------


def test_help_lists_every_command_once_per_line() -> None:
    lines = HELP.splitlines()
    firsts = [line.split()[0] for line in lines]
    for word in ["ask", "blocker", "update", "status", "asks", "digest", "raci", "project", "role",
                 "cadence", "delegate", "handover", "kpi", "decisions", "help", "who", "approve",
                 "decline", "info", "withdraw", "ack", "resolve"]:  # fmt: skip
        assert word in firsts
    assert all(" — " in line for line in lines)


def test_usage_and_help_for() -> None:
    assert usage("ask") == "ask [@person] <text> [by <date>] [#PROJECT] [area:<word>]"
    assert usage("project resume") == "project pause|resume|close [#KEY]"
    assert usage("raci").splitlines() == [
        "raci [#PROJECT]",
        "raci set @person A|R|C|I <area|*>[!] [#PROJECT]",
    ]
    shown = help_for("ask")
    assert shown.startswith(usage("ask"))
    assert "Example: ask " in shown
    with pytest.raises(UsageError, match="Did you mean 'kpi'"):
        usage("kpo")


def test_every_usage_example_parses() -> None:
    for line in HELP.splitlines():
        name = line.split(" — ")[0].split()[0]
        for example in (x for x in help_for(name).splitlines() if x.startswith("Example: ")):
            assert isinstance(p(example.removeprefix("Example: ")), Command)


# --- properties -----------------------------------------------------------------------------

COMMAND_WORDS = [
    *sorted({line.split()[0] for line in HELP.splitlines()}),
    "raci set", "project new", "project show", "project charter", "project channel",
    "project pause", "kpi add", "kpi record", "kpi list",
]  # fmt: skip
TRICKY_TOKENS = [
    "by", "BY", "on", "until", "next", "week", "next:", "fri", "dec", "4", "30", "in", "3", "days",
    "end", "of", "month", "#S", "#s-1", "#3", "#", "@dana", "@", "@@", "area:", "area:it",
    "severity:", "severity:high", "rag:red", "unit:%", "target:9", "warn:x", "alert:1e9", '"',
    '"a b"', "“x”", "*", "A", "off", "08:30", "24:00", "weekly", "mon", "2026-02-30",
    "2026-12-01", "0", "#0", "-1", "nan", "inf", "higher", "lower", "ask", "blocker", "12", ":",
    "x:y", "ßig", "İ", "\u0663", "frebruary", "tomorow",
]  # fmt: skip


def assert_total(text: str, today: date = TODAY) -> None:
    try:
        result = parse(text, today=today, max_text=300)
    except UsageError as error:
        assert error.message
    else:
        assert isinstance(result, Command)


@given(st.text())
def test_parse_is_total_on_any_text(text: str) -> None:
    assert_total(text)


@given(st.sampled_from(COMMAND_WORDS), st.text())
def test_parse_is_total_after_any_command_word(word: str, rest: str) -> None:
    assert_total(f"{word} {rest}")


@given(
    st.sampled_from(COMMAND_WORDS),
    st.lists(st.sampled_from(TRICKY_TOKENS), max_size=12),
    st.dates(min_value=date(1, 1, 8), max_value=date(9999, 12, 24)),
)
def test_parse_is_total_on_token_soup(word: str, tokens: list[str], today: date) -> None:
    assert_total(" ".join([word, *tokens]), today)


LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,'?"
WORD = st.text(alphabet=LETTERS, min_size=1, max_size=10).filter(lambda w: w.lower() != "by")
# A handle never ends in sentence punctuation: "@dana." is @dana at the end of a sentence.
HANDLE = st.from_regex(r"[a-z0-9]([a-z0-9._-]{0,9}[a-z0-9_-])?", fullmatch=True)
KEY = st.from_regex(r"[A-Z][A-Z0-9_-]{0,8}", fullmatch=True)
AREA = st.from_regex(r"[a-z][a-z0-9_-]{0,8}", fullmatch=True) | st.just("*")


@given(
    words=st.lists(WORD, min_size=1, max_size=8),
    assignee=st.none() | HANDLE,
    needed_by=st.none() | st.dates(min_value=TODAY, max_value=date(2030, 1, 1)),
    project=st.none() | KEY,
    area=st.none() | AREA,
)
def test_ask_round_trips(
    words: list[str],
    assignee: str | None,
    needed_by: date | None,
    project: str | None,
    area: str | None,
) -> None:
    parts = ["ask"]
    parts += [f"@{assignee}"] if assignee else []
    parts += words
    parts += [f"by {needed_by.isoformat()}"] if needed_by else []
    parts += [f"#{project.lower()}"] if project else []
    parts += [f"area:{area}"] if area else []
    expected = AskCmd(
        text=" ".join(words), assignee=assignee, needed_by=needed_by, project=project, area=area
    )
    assert p(" ".join(parts)) == expected


@given(
    words=st.lists(WORD, min_size=1, max_size=8),
    gaps=st.lists(st.sampled_from([" ", "  ", "\t", "\n", " \u00a0 "]), min_size=9, max_size=9),
)
def test_whitespace_does_not_matter(words: list[str], gaps: list[str]) -> None:
    spaced = "blocker" + "".join(g + w for g, w in zip(gaps, words, strict=False))
    assert p(spaced) == BlockerCmd(text=" ".join(words))


@given(st.sampled_from([case for case in GOOD if case[0]]))
def test_command_words_are_case_insensitive(case: tuple[str, Command]) -> None:
    text, expected = case
    head, _, rest = text.partition(" ")
    assert p(f"{head.swapcase()} {rest}") == expected


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)), st.integers(0, 6))
def test_weekday_names_give_that_day_within_a_week(today: date, weekday: int) -> None:
    name = ["mon", "tuesday", "wed", "thursday", "fri", "sat", "sunday"][weekday]
    got = parse_date(name, today=today)
    assert got.weekday() == weekday
    assert today <= got < today + timedelta(days=7)


@given(st.dates(min_value=date(1000, 1, 1), max_value=date(9999, 12, 31)), st.dates())
def test_iso_dates_read_back(day: date, today: date) -> None:
    assert parse_date(day.isoformat(), today=today) == day


# --- date phrases (issue 13) ----------------------------------------------------------------

TUESDAY = date(2026, 11, 24)


@pytest.mark.parametrize(
    ("phrase", "past", "expected"),
    [
        ("yesterday", False, date(2026, 11, 23)),
        ("today", True, TUESDAY),
        ("mon", True, date(2026, 11, 23)),  # recording: the last Monday
        ("mon", False, date(2026, 11, 30)),  # a deadline: the next one
        ("tue", True, TUESDAY),
        ("tue", False, TUESDAY),
        ("wednesday", True, date(2026, 11, 18)),
        ("last mon", False, date(2026, 11, 23)),
        ("last tue", False, date(2026, 11, 17)),
        ("last sunday", True, date(2026, 11, 22)),
        ("last week", False, date(2026, 11, 16)),
        ("3 days ago", False, date(2026, 11, 21)),
        ("2 weeks ago", True, date(2026, 11, 10)),
        ("dec 25", True, date(2025, 12, 25)),
        ("25 dec", False, date(2026, 12, 25)),
        ("nov 24", True, TUESDAY),
        ("2026-11-01", True, date(2026, 11, 1)),
    ],
)
def test_date_phrases(phrase: str, past: bool, expected: date) -> None:
    assert parse_date(phrase, today=TUESDAY, past=past) == expected


@pytest.mark.parametrize(
    ("line", "observed_on"),
    [
        ("kpi record falls 3 on mon", date(2026, 11, 23)),
        ("kpi record falls 3 on yesterday", date(2026, 11, 23)),
        ("kpi record falls 3 on last mon", date(2026, 11, 23)),
        ("kpi record falls 3 on last tue", date(2026, 11, 17)),
        ("kpi record falls 3 on 2 days ago", date(2026, 11, 22)),
    ],
)
def test_kpi_record_dates_look_back(line: str, observed_on: date) -> None:
    assert parse(line, today=TUESDAY) == KpiRecordCmd(
        name="falls", value=3.0, observed_on=observed_on
    )


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            "ask fund it by yesterday",
            "Mon 23 Nov 2026 is in the past. Try 2026-12-01, tomorrow, fri or next week.",
        ),
        (
            "ask fund it by last fri #S",
            "Fri 20 Nov 2026 is in the past. Try 2026-12-01, tomorrow, fri or next week.",
        ),
        (
            "ask fund it by 12/04",
            "I can't tell whether '12/04' is 12 Apr or 4 Dec. "
            "Try 2026-12-01, tomorrow, fri or next week.",
        ),
        (
            "ask fund it by 12/04 at the latest",
            "I can't tell whether '12/04' is 12 Apr or 4 Dec. "
            "Try 2026-12-01, tomorrow, fri or next week.",
        ),
        (
            "ask fund it by 25/12/2026",
            "I can't read the date '25/12/2026'. Try 2026-12-01, tomorrow, fri or next week.",
        ),
        (
            "ask fund it by 31 feb",
            "I can't read the date '31 feb'. Try 2026-12-01, tomorrow, fri or next week.",
        ),
        (
            "kpi record falls 3 on blah",
            "I can't read the date 'blah'. Try 2026-11-30, yesterday, mon or last fri.",
        ),
        ("kpi record falls 3 on", "On when? Try 2026-11-30, yesterday, mon or last fri."),
        ("delegate @ben until yesterday", "Mon 23 Nov 2026 is in the past."),
    ],
)
def test_unreadable_or_past_dates_are_refused_with_the_date_hint(line: str, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse(line, today=TUESDAY)
    assert caught.value.message.startswith(message)


# --- invisible text -------------------------------------------------------------------------

INVISIBLE = st.text(
    alphabet=st.sampled_from(["\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u202a",
                              "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067",
                              "\u2068", "\u2069", "\u061c", "\ufeff", "\u2060", "\u00ad",
                              " ", "\u00a0", "\u3000"]),
    min_size=1,
)  # fmt: skip


@given(st.sampled_from(["ask", "blocker", "update", "info 3", "decline 3", "resolve 3",
                        "answer 3", "org name", "project new KEY", "kpi add"]),
       INVISIBLE)  # fmt: skip
def test_text_of_only_invisible_characters_is_refused_like_empty(command: str, junk: str) -> None:
    with pytest.raises(UsageError) as empty:
        parse(command, today=TODAY)
    with pytest.raises(UsageError) as invisible:
        parse(f"{command} {junk}", today=TODAY)
    assert invisible.value.message == empty.value.message


# --- any text: a command or a one-line usage error -------------------------------------------

MORE_TRICKY = [
    *TRICKY_TOKENS, "yesterday", "last", "ago", "12/04", "31", "feb", "!", "staffng!", "*!",
    "<#C1|sepsis>", "<#C2|x>", "<#>", "<#C1|>", "\u200b", "\u202e", "\ufeff", "all", "answer",
]  # fmt: skip


@given(
    st.sampled_from([*COMMAND_WORDS, "answer", "asks"]),
    st.lists(st.sampled_from(MORE_TRICKY) | st.text(max_size=6), max_size=10),
    st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)),
)
def test_any_text_is_a_command_or_a_one_line_usage_error(
    word: str, tokens: list[str], today: date
) -> None:
    try:
        result = parse(" ".join([word, *tokens]), today=today, max_text=300)
    except UsageError as error:
        assert error.message and "\n" not in error.message
        assert error.hint
    else:
        assert isinstance(result, Command)
