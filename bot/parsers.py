"""One parser per command: a command's :class:`~bot.words.Words` → its command value (pure).

Each parser consumes what it reads from the words; what remains is the command's free text, or
a refusal (:meth:`~bot.words.Words.fail`, with the command's usage as hint). Which words run
which parser is declared in :mod:`bot.declarations`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import time
from difflib import get_close_matches
from typing import Any, Literal

from bot.calendar import valid_timezone
from bot.commands import (
    AnswerCmd,
    AskCmd,
    AsksCmd,
    BlockerActCmd,
    BlockerCmd,
    CadenceCmd,
    CharterField,
    Command,
    DecideCmd,
    DecisionsCmd,
    DelegateCmd,
    HandoverCmd,
    KpiAddCmd,
    KpiListCmd,
    KpiRecordCmd,
    MeHoursCmd,
    MeLinkCmd,
    MeTimezoneCmd,
    OrgAdminCmd,
    OrgExecutiveCmd,
    OrgJoinCmd,
    OrgNameCmd,
    Outcome,
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
from bot.model import Detail, Direction, Frequency, Letter, ProjectStatus, Rag, Role, Severity
from bot.words import (
    AREA,
    CLOCK,
    KEY,
    NUMBER,
    WEEKDAY_NAMES,
    WEEKDAYS,
    Words,
    quoted,
    shown,
    visible,
)

NEW_AREA_MARK = "!"
"""Ends the area of ``raci set`` to confirm that a new area is meant (``staffng`` alone is taken
for a typo of an area the organization has)."""

Parser = Callable[[Words], Command]
"""Reads a command's words (after the words that name it) into its command value."""


def _area(words: Words) -> str | None:
    raw = words.option("area")
    return None if raw is None else _area_word(words, raw)


def _area_word(words: Words, raw: str) -> str:
    area = raw.lower()
    if not AREA.fullmatch(area):
        raise words.fail(f"'{shown(raw)}' is not an area: use one word, like staffing, or *.")
    return area


_SEVERITIES = {s.value: s for s in Severity}
_RAGS = {r.value: r for r in Rag}
_ROLES = {r.value: r for r in Role}
_LETTERS = {letter.value: letter for letter in Letter}
_FIELDS: dict[str, CharterField] = {
    "aim": "aim",
    "scope": "scope",
    "measures": "measures",
    "priority": "priority",
}
_KINDS: dict[str, Literal["ask", "blocker"]] = {"ask": "ask", "blocker": "blocker"}
_DIRECTIONS = {d.value: d for d in Direction}


def ask(words: Words) -> AskCmd:
    project, area = words.project(), _area(words)
    assignee = words.maybe_handle()
    needed_by = words.deadline()
    return AskCmd(
        text=words.text("What do you want to ask? Say what you need decided."),
        assignee=assignee,
        needed_by=needed_by,
        project=project,
        area=area,
    )


def blocker(words: Words) -> BlockerCmd:
    project, area = words.project(), _area(words)
    severity = words.option("severity")
    return BlockerCmd(
        text=words.text("What is blocked? Describe the blocker."),
        project=project,
        area=area,
        severity=None if severity is None else words.choose(severity, _SEVERITIES, "severity"),
    )


def update(words: Words) -> UpdateCmd:
    project, rag = words.project(), words.option("rag")
    split = next((i for i, t in enumerate(words.tokens) if t.lower().startswith("next:")), None)
    next_steps = ""
    if split is not None:
        after = [words.tokens[split][len("next:") :], *words.tokens[split + 1 :]]
        next_steps = words.checked(" ".join(t for t in after if t))
        del words.tokens[split:]
    return UpdateCmd(
        text=words.text("What progress? Say what happened this week."),
        project=project,
        rag=None if rag is None else words.choose(rag, _RAGS, "RAG status"),
        next_steps=next_steps,
    )


def _project_only(words: Words) -> str | None:
    """``[#KEY]``, or a bare ``KEY``, and nothing else."""
    project = words.project()
    if project is None and len(words.tokens) == 1 and KEY.fullmatch(words.tokens[0]):
        project = words.tokens.pop().upper()
    words.done()
    return project


def status(words: Words) -> StatusCmd:
    return StatusCmd(project=_project_only(words))


def decisions(words: Words) -> DecisionsCmd:
    return DecisionsCmd(project=_project_only(words))


def raci(words: Words) -> RaciShowCmd:
    return RaciShowCmd(project=_project_only(words))


def project_show(words: Words) -> ProjectShowCmd:
    return ProjectShowCmd(project=_project_only(words))


def project_channel(words: Words) -> ProjectChannelCmd:
    return ProjectChannelCmd(project=_project_only(words))


def kpi_list(words: Words) -> KpiListCmd:
    return KpiListCmd(project=_project_only(words))


def org_name(words: Words) -> OrgNameCmd:
    return OrgNameCmd(name=words.text("What should the organization be called?"))


def nothing(command: Callable[[], Command]) -> Parser:
    """The parser of a command that takes no words (``digest``)."""

    def parse_bare(words: Words) -> Command:
        words.done()
        return command()

    return parse_bare


def who(words: Words) -> WhoCmd:
    person = words.maybe_handle()
    words.done()
    return WhoCmd(person=person)


def project_new(words: Words) -> ProjectNewCmd:
    raw = words.word("Give the project a KEY and a name, like: project new SEPSIS Sepsis pathway.")
    key = KEY.fullmatch(raw)
    if key is None:
        raise words.fail(
            f"'{shown(raw)}' can't be a project key: use letters, digits, - or _ (up to 32)."
        )
    return ProjectNewCmd(key=key[1].upper(), name=words.text("Give the project a name too."))


def project_charter(words: Words) -> ProjectCharterCmd:
    project = words.project()
    field = words.choose(
        words.word("Which part of the charter? aim, scope, measures or priority."),
        _FIELDS,
        "charter field",
    )
    return ProjectCharterCmd(
        project=project, field=field, text=words.text(f"What is the project's {field}?")
    )


_PROJECT_STATUSES = {
    "project pause": ProjectStatus.PAUSED,
    "project resume": ProjectStatus.ACTIVE,
    "project close": ProjectStatus.CLOSED,
}


def project_status(words: Words) -> ProjectStatusCmd:
    """``project pause|resume|close``: the status is the word that ran it."""
    return ProjectStatusCmd(status=_PROJECT_STATUSES[words.name], project=_project_only(words))


def role(words: Words) -> RoleCmd:
    project = words.project()
    person = words.handle("taking the role")
    role = words.choose(words.word("Which role? sponsor, champion, …"), _ROLES, "role")
    return RoleCmd(person=person, role=role, project=project, note=words.rest())


def raci_set(words: Words) -> RaciSetCmd:
    project = words.project()
    person = words.handle("getting the letter")
    letter = words.choose(words.word("Which letter? A, R, C or I."), _LETTERS, "RACI letter")
    raw = words.word("For which area? A word like staffing, or * for all.")
    new_area = raw.endswith(NEW_AREA_MARK) and len(raw) > 1
    if words.tokens == [NEW_AREA_MARK]:
        new_area, words.tokens = True, []
    words.done()
    area = _area_word(words, raw.removesuffix(NEW_AREA_MARK) if new_area else raw)
    return RaciSetCmd(person=person, letter=letter, area=area, project=project, new_area=new_area)


_FREQUENCIES = {
    "weekly": Frequency.WEEKLY,
    "biweekly": Frequency.BIWEEKLY,
    "daily": Frequency.DAILY_DURING_ACTIVE_CYCLE,
    "off": Frequency.OFF,
}
_DETAILS = {d.value: d for d in Detail}


def _clock(token: str) -> time | None:
    match = CLOCK.fullmatch(token)
    return time(int(match[1]), int(match[2])) if match else None


_CADENCE_PARTS: tuple[tuple[str, Callable[[str], Any]], ...] = (
    ("frequency", _FREQUENCIES.get),
    ("weekday", WEEKDAYS.get),
    ("local_time", _clock),
    ("detail", _DETAILS.get),
)


def cadence(words: Words) -> CadenceCmd:
    parts: dict[str, Any] = {}
    for token in words.tokens:
        low = token.lower()
        field, value = next(
            ((f, v) for f, read in _CADENCE_PARTS if (v := read(low)) is not None), ("", None)
        )
        if not field:
            raise words.fail(_cadence_refusal(token))
        if field in parts:
            raise words.fail(f"Give the {field.replace('_', ' ')} once.")
        parts[field] = value
    return CadenceCmd(**parts)


def _cadence_refusal(token: str) -> str:
    if any(ch.isdigit() or ch == ":" for ch in token):
        return f"I can't read the time '{shown(token)}'. Use HH:MM, like 08:30."
    # Full words only: an abbreviation ("thur") is accepted, never offered.
    settings = [*_FREQUENCIES, *WEEKDAY_NAMES.split(), *_DETAILS]
    close = get_close_matches(token.lower(), settings, n=1)
    tip = f" Did you mean {close[0]}?" if close else ""
    return (
        f"'{shown(token)}' is not a cadence setting.{tip} Use weekly, biweekly, daily or off, "
        "a weekday, a time like 08:30, concise or detailed."
    )


def delegate(words: Words) -> DelegateCmd:
    if [t.lower() for t in words.tokens] == ["off"]:
        return DelegateCmd(person=None, until=words.today)
    person = words.handle("the delegate")
    if words.word("Until when? delegate @person until <date>.").lower() != "until":
        raise words.fail("Say until when, like: delegate @ben until fri.")
    return DelegateCmd(person=person, until=words.not_past(words.date_after("Until")))


def handover(words: Words) -> HandoverCmd:
    project = words.project()
    from_person = words.handle("handing over")
    to_person = words.handle("taking over")
    words.done()
    return HandoverCmd(from_person=from_person, to_person=to_person, project=project)


def _kpi_name(words: Words, tokens: Sequence[str]) -> str:
    name = " ".join(t[1:-1].strip() if quoted(t) else t for t in tokens).strip()
    if not visible(name):
        raise words.fail("Which KPI? Give its name.")
    return words.checked(name)


def kpi_add(words: Words) -> KpiAddCmd:
    project, unit = words.project(), words.option("unit")

    def limit(key: str) -> float | None:
        raw = words.option(key)
        return None if raw is None else words.number(raw, key)

    target, warn, alert = limit("target"), limit("warn"), limit("alert")
    direction = Direction.HIGHER
    if len(words.tokens) > 1 and words.tokens[-1].lower() in _DIRECTIONS:
        direction = _DIRECTIONS[words.tokens.pop().lower()]
    return KpiAddCmd(
        name=_kpi_name(words, words.tokens),
        project=project,
        unit=unit or "",
        direction=direction,
        target=target,
        warn=warn,
        alert=alert,
    )


def kpi_record(words: Words) -> KpiRecordCmd:
    project = words.project()
    tokens = words.tokens
    on = next(
        (i for i in range(len(tokens) - 1, 0, -1) if tokens[i].lower() == "on"),
        None,
    )
    observed_on = None
    if on is not None and NUMBER.fullmatch(tokens[on - 1]):
        words.tokens, tokens = tokens[on + 1 :], tokens[:on]
        observed_on = words.date_after("On", past=True)
    if not tokens:
        raise words.fail("Which KPI, and what value? kpi record <name> <value>.")
    value = words.number(tokens[-1], "the value (the last word)")
    return KpiRecordCmd(
        name=_kpi_name(words, tokens[:-1]), value=value, project=project, observed_on=observed_on
    )


def decide(outcome: Outcome, missing: str | None) -> Parser:
    """``approve``/``decline``/``info``: an ask id, then text (required unless ``missing`` is
    None)."""

    def parse_decision(words: Words) -> DecideCmd:
        ask_id = words.item_id("ask")
        text = words.text(missing) if missing else words.rest()
        return DecideCmd(ask_id=ask_id, outcome=outcome, text=text)

    return parse_decision


def answer(words: Words) -> AnswerCmd:
    ask_id = words.item_id("ask")
    return AnswerCmd(ask_id=ask_id, text=words.text("What is your answer? answer 12 <text>."))


def asks(words: Words) -> AsksCmd:
    everything = [t.lower() for t in words.tokens] == ["all"]
    if everything:
        words.tokens = []
    words.done()
    return AsksCmd(everything=everything)


def withdraw(words: Words) -> WithdrawCmd:
    kind = words.choose(words.word("Withdraw what? withdraw ask 12."), _KINDS, "thing to withdraw")
    item_id = words.item_id(kind)
    words.done()
    return WithdrawCmd(kind=kind, item_id=item_id)


def blocker_act(verb: Literal["ack", "resolve"], missing: str | None) -> Parser:
    def parse_act(words: Words) -> BlockerActCmd:
        blocker_id = words.item_id("blocker")
        text = words.text(missing) if missing else words.rest()
        return BlockerActCmd(blocker_id=blocker_id, verb=verb, text=text)

    return parse_act


_ADMIN_VERBS: dict[str, Literal["add", "remove"]] = {"add": "add", "remove": "remove"}
_HOURS = re.compile(r"([0-9]{1,2}:[0-9]{2})\s*[-–]\s*([0-9]{1,2}:[0-9]{2})")


def org_join(words: Words) -> OrgJoinCmd:
    code = words.word("Which code? Type org join and the code the inviting admin gave you.")
    words.done()
    return OrgJoinCmd(code=code)


def org_admin(words: Words) -> OrgAdminCmd:
    verb = words.choose(words.word("Add or remove? org admin add @person."), _ADMIN_VERBS, "verb")
    person = words.handle("to be added" if verb == "add" else "to be removed")
    words.done()
    return OrgAdminCmd(person=person, verb=verb)


def org_executive(words: Words) -> OrgExecutiveCmd:
    person = words.handle("the executive")
    words.done()
    return OrgExecutiveCmd(person=person)


def me_timezone(words: Words) -> MeTimezoneCmd:
    zone = words.word("Which time zone? Give an IANA name, like Europe/Berlin.")
    words.done()
    zone = "UTC" if zone.upper() == "UTC" else zone
    if not (zone == "UTC" or "/" in zone) or not valid_timezone(zone):
        raise words.fail(
            f"'{shown(zone)}' is not a time zone I know. Use an IANA name, like "
            "Europe/Berlin or America/New_York. Nothing was changed."
        )
    return MeTimezoneCmd(timezone=zone)


def me_hours(words: Words) -> MeHoursCmd:
    raw = " ".join(words.tokens)
    words.tokens = []
    match = _HOURS.fullmatch(raw)
    start, end = (_clock(match[1]), _clock(match[2])) if match else (None, None)
    if start is None or end is None:
        raise words.fail(
            f"I can't read the hours '{shown(raw)}'. Give a start and an end, like "
            "08:00-18:00. Nothing was changed."
        )
    if start >= end:
        raise words.fail(
            "Your working day must start before it ends, like 08:00-18:00. Nothing was changed."
        )
    return MeHoursCmd(start=start, end=end)


def me_link(words: Words) -> MeLinkCmd:
    code = words.tokens.pop(0) if words.tokens else None
    words.done()
    return MeLinkCmd(code=code)
