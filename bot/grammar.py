"""Text → Command (DESIGN §3): the same grammar on every platform, and its help.

``parse`` is total: for any string it returns a Command or raises ``UsageError`` whose hint is the
usage line of the command the user was typing. Tokens: ``#KEY`` (a project, uppercased), ``@handle``
(a person, lowercased), ``name:value`` options the command declares; the free text is what remains,
whitespace-normalised, original case kept. Words are case-insensitive; ``"quoted words"`` stay one
token (a multi-word KPI name, or text that must not be read as a project).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, time, timedelta
from difflib import get_close_matches
from math import isfinite
from typing import Any, Literal, TypeVar

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
    DashboardCmd,
    DecideCmd,
    DecisionsCmd,
    DelegateCmd,
    DigestCmd,
    HandoverCmd,
    HelpCmd,
    KpiAddCmd,
    KpiListCmd,
    KpiRecordCmd,
    MeHoursCmd,
    MeLinkCmd,
    MeTimezoneCmd,
    OrgAdminCmd,
    OrgExecutiveCmd,
    OrgInviteCmd,
    OrgJoinCmd,
    OrgNameCmd,
    OrgShowCmd,
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
from bot.errors import UsageError
from bot.model import Detail, Direction, Frequency, Letter, ProjectStatus, Rag, Role, Severity

__all__ = ["HELP", "NEW_AREA_MARK", "help_for", "parse", "parse_date", "usage"]

T = TypeVar("T")

NEW_AREA_MARK = "!"
"""Ends the area of ``raci set`` to confirm that a new area is meant (``staffng`` alone is taken
for a typo of an area the organization has)."""

# ---------------------------------------------------------------------------------------------
# Help: one spec per command, in the order `help` lists them.


@dataclass(frozen=True, kw_only=True)
class _Spec:
    names: tuple[str, ...]
    """What a user types to run it (several for ``project pause|resume|close``)."""
    usage: str
    summary: str
    example: str


_SPECS = (
    _Spec(
        names=("ask",),
        usage="ask [@person] <text> [by <date>] [#PROJECT] [area:<word>]",
        summary="Ask a leader for a decision; it goes to the Accountable per the RACI",
        example="ask approve 0.5 FTE for the pilot by fri #SEPSIS area:staffing",
    ),
    _Spec(
        names=("blocker",),
        usage="blocker <text> [#PROJECT] [area:<word>] [severity:low|medium|high|critical]",
        summary="Raise a blocker; it climbs the escalation ladder until it is resolved",
        example="blocker lab IT access blocked for 2 weeks #SEPSIS area:it severity:high",
    ),
    _Spec(
        names=("update",),
        usage="update [#PROJECT] [rag:red|amber|green] <progress> [next: <next steps>]",
        summary="Post this week's project update",
        example="update #SEPSIS rag:amber screening at 78% next: train the night staff",
    ),
    _Spec(
        names=("status",),
        usage="status [#PROJECT]",
        summary="The project at a glance",
        example="status #SEPSIS",
    ),
    _Spec(
        names=("asks",),
        usage="asks [all]",
        summary="What waits on you, and what you wait for (all: every item, not the first 10)",
        example="asks",
    ),
    _Spec(names=("digest",), usage="digest", summary="Preview your digest now", example="digest"),
    _Spec(
        names=("dashboard",),
        usage="dashboard",
        summary="A personal link to the dashboard, valid for 7 days",
        example="dashboard",
    ),
    _Spec(
        names=("approve",),
        usage="approve <ask id> [rationale]",
        summary="Approve an ask",
        example="approve 1 fine within this year's budget",
    ),
    _Spec(
        names=("decline",),
        usage="decline <ask id> <rationale>",
        summary="Decline an ask, saying why",
        example="decline 1 no budget until April",
    ),
    _Spec(
        names=("info",),
        usage="info <ask id> <question>",
        summary="Ask the requester for more information",
        example="info 1 which wards would this cover?",
    ),
    _Spec(
        names=("answer",),
        usage="answer <ask id> <answer>",
        summary="Answer the question a decider asked about your ask; it goes back to them",
        example="answer 1 the AMU's 28 beds, from January",
    ),
    _Spec(
        names=("withdraw",),
        usage="withdraw ask|blocker <id>",
        summary="Withdraw your own ask or blocker",
        example="withdraw ask 1",
    ),
    _Spec(
        names=("ack",),
        usage="ack <blocker id> [note]",
        summary="Acknowledge a blocker: it stops the clock of your rung",
        example="ack 1 on it today",
    ),
    _Spec(
        names=("resolve",),
        usage="resolve <blocker id> <how it was resolved>",
        summary="Resolve a blocker; it goes into the decision log",
        example="resolve 1 IT granted access to the lab system",
    ),
    _Spec(
        names=("decisions",),
        usage="decisions [#PROJECT]",
        summary="The project's decision log",
        example="decisions #SEPSIS",
    ),
    _Spec(
        names=("raci",),
        usage="raci [#PROJECT]",
        summary="Show the project's RACI matrix",
        example="raci #SEPSIS",
    ),
    _Spec(
        names=("raci set",),
        usage="raci set @person A|R|C|I <area|*>[!] [#PROJECT]",
        summary="Give someone a RACI letter for an area (* = the default; end a new area's "
        "name with ! to create it)",
        example="raci set @raj A staffing #SEPSIS",
    ),
    _Spec(
        names=("role",),
        usage="role @person sponsor|champion|influencer|resistor|lead|member [#PROJECT] [note]",
        summary="Record a stakeholder's role on a project",
        example="role @eve champion #SEPSIS executive support for patient flow",
    ),
    _Spec(
        names=("who",),
        usage="who [@person]",
        summary="A person's roles and RACI letters (yours without @person)",
        example="who @dana",
    ),
    _Spec(
        names=("project new",),
        usage="project new KEY <name>",
        summary="Create a project; you become its lead",
        example="project new STROKE Stroke thrombolysis within the hour",
    ),
    _Spec(
        names=("project show",),
        usage="project show [#KEY]",
        summary="The project's charter and stakeholders",
        example="project show #SEPSIS",
    ),
    _Spec(
        names=("project charter",),
        usage="project charter [#KEY] aim|scope|measures|priority <text>",
        summary="Set a part of the project's charter",
        example="project charter #SEPSIS aim 90% of patients screened within 1 hour",
    ),
    _Spec(
        names=("project channel",),
        usage="project channel [#KEY]",
        summary="Make this channel the project's home",
        example="project channel #SEPSIS",
    ),
    _Spec(
        names=("project pause", "project resume", "project close"),
        usage="project pause|resume|close [#KEY]",
        summary="Pause, resume or close a project",
        example="project pause #SEPSIS",
    ),
    _Spec(
        names=("kpi", "kpi list"),
        usage="kpi [#PROJECT]",
        summary="The project's KPIs and their latest values",
        example="kpi #SEPSIS",
    ),
    _Spec(
        names=("kpi add",),
        usage=(
            "kpi add <name> [unit:<unit>] [higher|lower] [target:N] [warn:N] [alert:N] [#PROJECT]"
        ),
        summary="Add a KPI with its thresholds (quote a name that ends in higher or lower)",
        example="kpi add screened within 1h unit:% higher target:90 warn:80 alert:70 #SEPSIS",
    ),
    _Spec(
        names=("kpi record",),
        usage="kpi record <name> <value> [on <date>] [#PROJECT]",
        summary="Record a KPI value (today unless you say on <date>)",
        example="kpi record Time to antibiotics 72 on mon #SEPSIS",
    ),
    _Spec(
        names=("cadence",),
        usage="cadence [weekly|biweekly|daily|off] [<weekday> <HH:MM>] [concise|detailed]",
        summary="Show or change when your digest comes and how long it is",
        example="cadence weekly mon 08:30 concise",
    ),
    _Spec(
        names=("delegate",),
        usage="delegate @person until <date> · delegate off",
        summary="Let someone decide your asks while you are away",
        example="delegate @ben until next fri",
    ),
    _Spec(
        names=("handover",),
        usage="handover @from @to [#PROJECT]",
        summary="Pass someone's roles, RACI letters and open items to their successor",
        example="handover @raj @ben #SEPSIS",
    ),
    _Spec(
        names=("me timezone",),
        usage="me timezone <IANA zone>",
        summary="Set your time zone: your working hours, digests and dates follow it",
        example="me timezone Europe/Berlin",
    ),
    _Spec(
        names=("me hours",),
        usage="me hours <HH:MM>-<HH:MM>",
        summary="Set your working hours: messages that can wait, wait for them",
        example="me hours 08:00-18:00",
    ),
    _Spec(
        names=("me link",),
        usage="me link [CODE]",
        summary="Get a one-time code, then type me link CODE on your other platform to join "
        "both identities",
        example="me link",
    ),
    _Spec(
        names=("org show",),
        usage="org show",
        summary="Your organization's workspaces, admins and executive",
        example="org show",
    ),
    _Spec(
        names=("org invite",),
        usage="org invite",
        summary="Admins: a one-time code (24 hours) for a partner's workspace to join",
        example="org invite",
    ),
    _Spec(
        names=("org join",),
        usage="org join CODE",
        summary="A partner's admin: join your workspace to the organization that invited it",
        example="org join K7QM-2XPA-9RTD-4WHB",
    ),
    _Spec(
        names=("org admin",),
        usage="org admin add|remove @person",
        summary="Admins: name or remove an admin (never the last one)",
        example="org admin add @dana",
    ),
    _Spec(
        names=("org executive",),
        usage="org executive @person",
        summary="Admins: who unresolved blockers reach at the top of the ladder",
        example="org executive @eve",
    ),
    _Spec(
        names=("org name",),
        usage="org name <text>",
        summary="Admins: rename the organization",
        example="org name St Mary's Hospital",
    ),
    _Spec(
        names=("help",),
        usage="help [command]",
        summary="This list, or one command's usage and an example",
        example="help ask",
    ),
)

_BY_NAME: dict[str, _Spec] = {name: spec for spec in _SPECS for name in spec.names}
_WORDS = tuple(dict.fromkeys(name.split()[0] for name in _BY_NAME))
"""The first words of every command, in help order: what an unknown command is compared to."""

HELP = "\n".join(f"{spec.usage} — {spec.summary}" for spec in _SPECS)
"""Every command, one per line, with a short description: the answer to ``help``."""


def _specs_for(name: str) -> list[_Spec]:
    """The specs ``name`` stands for: every command starting with a first word (``raci`` and
    ``raci set``), or one command (``raci set``)."""
    name = " ".join(name.lower().split())
    group = [spec for spec in _SPECS if spec.names[0].split()[0] == name]
    if group:
        return group
    if name in _BY_NAME:
        return [_BY_NAME[name]]
    raise _unknown(name)


def usage(command_name: str) -> str:
    """The usage line of a command (``ask``, ``project new``); a first word shared by several
    (``project``) gives each of their lines. Raises UsageError for an unknown command."""
    return "\n".join(spec.usage for spec in _specs_for(command_name))


def help_for(command_name: str) -> str:
    """What ``help <command>`` shows: usage, what it does, and an example."""
    return "\n\n".join(
        f"{spec.usage}\n{spec.summary}.\nExample: {spec.example}"
        for spec in _specs_for(command_name)
    )


def _shown(text: str, limit: int = 40) -> str:
    """User text quoted back in an error, cut short so the error stays one readable line."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _unknown(word: str) -> UsageError:
    close = get_close_matches(word, _WORDS, n=1)
    tip = f" Did you mean '{close[0]}'?" if close else ""
    return UsageError(
        f"I don't know the command '{_shown(word)}'.{tip}",
        hint=f"Commands: {', '.join(_WORDS)}. Type help for what each does.",
    )


# ---------------------------------------------------------------------------------------------
# Dates


_MONTH_NAMES = (
    "january february march april may june july august september october november december"
)
_WEEKDAY_NAMES = "monday tuesday wednesday thursday friday saturday sunday"
_MONTHS = {
    name: number
    for number, full in enumerate(_MONTH_NAMES.split(), start=1)
    for name in (full, full[:3])
} | {"sept": 9}
_WEEKDAYS = {
    name: number for number, full in enumerate(_WEEKDAY_NAMES.split()) for name in (full, full[:3])
} | {"tues": 1, "thur": 3, "thurs": 3}
_DAYS_FROM_TODAY = {"yesterday": -1, "today": 0, "tomorrow": 1}
_DATE_WORDS = (*_MONTHS, *_WEEKDAYS, *_DAYS_FROM_TODAY)
_UNIT_DAYS = {"day": 1, "days": 1, "week": 7, "weeks": 7}
_MAX_DAYS_AHEAD = 3660
_ISO = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})")
_NUMERIC_DATE = re.compile(r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}|[0-9]{1,2}/[0-9]{1,2}(/[0-9]{2,4})?")
_DAY_OF_MONTH = re.compile(r"([0-9]{1,2})(?:st|nd|rd|th)?")
_COUNT = re.compile(r"[0-9]{1,4}")
_TRAILING = ".,;!?"
_DATE_HINT = "Try 2026-12-01, tomorrow, fri or next week."
_PAST_DATE_HINT = "Try 2026-11-30, yesterday, mon or last fri."
_BAD_DATE = "I can't read the date '{}'. " + _DATE_HINT

DateReader = Callable[[Sequence[str], date, bool], date | None]
"""Reads ``words`` as a date relative to ``today``; ``past`` says which way a bare weekday or
day of the month points: forwards for a deadline, backwards for a recorded value."""


def _iso(words: Sequence[str], today: date, past: bool) -> date | None:
    match = _ISO.fullmatch(words[0]) if len(words) == 1 else None
    return date(*map(int, match.groups())) if match else None


def _named_day(words: Sequence[str], today: date, past: bool) -> date | None:
    """``yesterday``, ``today``, ``tomorrow``, or a weekday: the next such day (the last one
    when ``past``), today if today is that day."""
    if len(words) != 1:
        return None
    word = words[0]
    if word in _DAYS_FROM_TODAY:
        return today + timedelta(days=_DAYS_FROM_TODAY[word])
    if word in _WEEKDAYS:
        ahead = (_WEEKDAYS[word] - today.weekday()) % 7
        return today - timedelta(days=(7 - ahead) % 7) if past else today + timedelta(days=ahead)
    return None


def _next(words: Sequence[str], today: date, past: bool) -> date | None:
    """``next week`` is Monday of next week; ``next fri`` is the Friday of next week."""
    if len(words) != 2 or words[0] != "next":
        return None
    monday = today + timedelta(days=7 - today.weekday())
    if words[1] == "week":
        return monday
    return monday + timedelta(days=_WEEKDAYS[words[1]]) if words[1] in _WEEKDAYS else None


def _last(words: Sequence[str], today: date, past: bool) -> date | None:
    """``last mon`` is the latest Monday before today; ``last week`` is Monday of last week."""
    if len(words) != 2 or words[0] != "last":
        return None
    if words[1] == "week":
        return today - timedelta(days=today.weekday() + 7)
    if words[1] not in _WEEKDAYS:
        return None
    return today - timedelta(days=(today.weekday() - _WEEKDAYS[words[1]] - 1) % 7 + 1)


def _in(words: Sequence[str], today: date, past: bool) -> date | None:
    """``in 3 days``, ``in 2 weeks``."""
    if len(words) != 3 or words[0] != "in" or not _COUNT.fullmatch(words[1]):
        return None
    days = int(words[1]) * _UNIT_DAYS.get(words[2], 0)
    valid = words[2] in _UNIT_DAYS and days <= _MAX_DAYS_AHEAD
    return today + timedelta(days=days) if valid else None


def _ago(words: Sequence[str], today: date, past: bool) -> date | None:
    """``3 days ago``, ``2 weeks ago``."""
    if len(words) != 3 or words[2] != "ago" or not _COUNT.fullmatch(words[0]):
        return None
    days = int(words[0]) * _UNIT_DAYS.get(words[1], 0)
    valid = words[1] in _UNIT_DAYS and days <= _MAX_DAYS_AHEAD
    return today - timedelta(days=days) if valid else None


def _end_of_month(words: Sequence[str], today: date, past: bool) -> date | None:
    if list(words) != ["end", "of", "month"]:
        return None
    first_of_next = (today.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first_of_next - timedelta(days=1)


def _day_month(words: Sequence[str], today: date, past: bool) -> date | None:
    """``dec 4`` or ``4th dec``: the next occurrence (the last one when ``past``), today
    included (29 Feb finds a leap year)."""
    if len(words) != 2:
        return None
    month_word, day_word = words if words[0] in _MONTHS else reversed(words)
    day = _DAY_OF_MONTH.fullmatch(day_word)
    if month_word not in _MONTHS or day is None:
        return None
    years = range(today.year, today.year - 9, -1) if past else range(today.year, today.year + 9)
    for year in years:
        try:
            candidate = date(year, _MONTHS[month_word], int(day[1]))
        except ValueError:
            continue
        if (candidate <= today) if past else (candidate >= today):
            return candidate
    return None


_DATE_READERS: tuple[DateReader, ...] = (
    _iso,
    _named_day,
    _next,
    _last,
    _in,
    _ago,
    _end_of_month,
    _day_month,
)


def _date_of(words: Sequence[str], today: date, *, past: bool = False) -> date | None:
    """The date ``words`` spell, or None when they are not a date (see :data:`DateReader`)."""
    words = [word.lower().rstrip(_TRAILING) for word in words]
    if not words:
        return None
    for reader in _DATE_READERS:
        try:
            found = reader(words, today, past)
        except (ValueError, OverflowError):  # 2026-02-30, or a date beyond year 1 or 9999
            return None
        if found is not None:
            return found
    return None


def _looks_like_date(words: Sequence[str]) -> bool:
    """True when ``words`` are a date the user mistyped (``frebruary 30``, ``2026-02-30``) or
    wrote in a form we can't read for sure (``12/04``: 12 April or 4 December?), so we say so
    instead of silently keeping them as text (``by committee`` stays text)."""
    words = [word.lower().rstrip(_TRAILING) for word in words]
    if len(words) == 1 and _NUMERIC_DATE.fullmatch(words[0]):
        return True
    dateish = [w for w in words if get_close_matches(w, _DATE_WORDS, n=1, cutoff=0.75)]
    return bool(dateish) and all(w in dateish or _DAY_OF_MONTH.fullmatch(w) for w in words)


def _unreadable(raw: str) -> str:
    """Why ``raw`` is no date: for ``12/04`` the two ways it reads, else the plain refusal."""
    match = re.fullmatch(r"([0-9]{1,2})/([0-9]{1,2})", raw.rstrip(_TRAILING))
    if match:
        first, second = int(match[1]), int(match[2])
        readings = [
            f"{day} {_MONTH_ABBREVIATIONS[month - 1]}"
            for day, month in ((first, second), (second, first))
            if 1 <= day <= 31 and 1 <= month <= 12
        ]
        if len(set(readings)) == 2:
            return f"I can't tell whether '{raw}' is {readings[0]} or {readings[1]}. " + _DATE_HINT
    return _BAD_DATE.format(_shown(raw))


_MONTH_ABBREVIATIONS = [name[:3].capitalize() for name in _MONTH_NAMES.split()]


def parse_date(text: str, *, today: date, past: bool = False) -> date:
    """A date as users type it: ``2026-12-01``, ``yesterday``, ``today``, ``tomorrow``,
    ``fri``/``friday`` (the next one, today included; the last one when ``past``), ``next week``
    (its Monday), ``next fri``, ``last fri``, ``last week`` (its Monday), ``in 3 days``,
    ``3 days ago``, ``in 2 weeks``, ``end of month``, ``dec 4``/``4 dec`` (the next occurrence;
    the last one when ``past``).

    Raises:
        UsageError: it is not a date.
    """
    found = _date_of(text.split(), today, past=past)
    if found is None:
        raise UsageError(_unreadable(_shown(" ".join(text.split()))))
    return found


# ---------------------------------------------------------------------------------------------
# Tokens


_TOKEN = re.compile(r'"[^"]*"|“[^”]*”|\S+')
_KEY = re.compile(r"#?((?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z0-9_-]{1,32})")
_HANDLE = re.compile(r"@([A-Za-z0-9][A-Za-z0-9._-]{0,79})")
_ID = re.compile(r"#?([0-9]{1,12})")
_AREA = re.compile(r"\*|[a-z0-9][a-z0-9_-]{0,39}")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?%?")
_CLOCK = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])")
_QUOTES = '"“”'
_CHANNEL = re.compile(r"<#[A-Za-z0-9]+\|([^<>|\s]{1,80})>")
"""A channel mention as adapters pass it on (Slack's ``<#C123|sepsis>``): a project only when
the command names no ``#KEY`` (the user typed ``#sepsis`` and Slack linked the channel), else
text shown as ``#sepsis``."""


def _visible(text: str) -> bool:
    """False for text of only spaces, control, format (zero-width, direction-changing) or
    private-use characters: it would look empty to the reader."""
    return any(unicodedata.category(ch)[0] not in "CZ" for ch in text)


def _plain(token: str) -> str:
    """A token as it reads in text: a channel mention becomes ``#name``."""
    return _CHANNEL.sub(lambda m: f"#{m[1]}", token)


def _quoted(token: str) -> bool:
    return len(token) >= 2 and token[0] in _QUOTES and token[-1] in _QUOTES


@dataclass(kw_only=True)
class _Words:
    """The tokens after the command name, consumed by the command's parser.

    Each ``take_*`` removes what it reads, so what remains at the end is the free text.
    """

    name: str
    tokens: list[str]
    today: date
    max_text: int

    def fail(self, message: str) -> UsageError:
        return UsageError(message, hint=usage(self.name))

    def project(self) -> str | None:
        """A ``#KEY`` anywhere (uppercased); two different ones are refused."""
        keys: dict[str, None] = {}
        kept: list[str] = []
        channels: list[int] = []
        for token in self.tokens:
            match = _KEY.fullmatch(token.rstrip(_TRAILING)) if token.startswith("#") else None
            if match:
                keys[match[1].upper()] = None
                continue
            if _CHANNEL.fullmatch(token.rstrip(_TRAILING)):
                channels.append(len(kept))
            kept.append(token)
        if len(keys) > 1:
            shown = ", ".join(f"#{key}" for key in keys)
            raise self.fail(f"Give one project, not {len(keys)} ({_shown(shown)}).")
        if not keys and len(channels) == 1:
            mentioned = _KEY.fullmatch(_plain(kept[channels[0]].rstrip(_TRAILING)))
            if mentioned:
                keys[mentioned[1].upper()] = None
                del kept[channels[0]]
        self.tokens = kept
        return next(iter(keys), None)

    def option(self, key: str) -> str | None:
        """The value of ``key:value`` (or ``key: value``) anywhere; other words stay text."""
        values: list[str] = []
        kept: list[str] = []
        tokens = iter(self.tokens)
        for token in tokens:
            head, colon, value = token.partition(":")
            if not (colon and head.lower() == key):
                kept.append(token)
                continue
            value = value or next(tokens, "")
            if not value:
                raise self.fail(f"{key}: needs a value, like {key}:<word>.")
            values.append(value)
        if len(values) > 1:
            raise self.fail(f"Give {key}: once.")
        self.tokens = kept
        return values[0] if values else None

    def handle(self, who: str) -> str:
        """A required ``@handle`` as the next word."""
        handle = self.maybe_handle()
        if handle is None:
            raise self.fail(f"Who is {who}? Name them with @, like @dana.")
        return handle

    def maybe_handle(self) -> str | None:
        if not (self.tokens and self.tokens[0].startswith("@")):
            return None
        raw = self.tokens.pop(0)
        match = _HANDLE.fullmatch(raw.rstrip(_TRAILING))
        if match is None:
            raise self.fail(f"'{_shown(raw)}' is not a person: use @ and their handle, like @dana.")
        return match[1].lower()

    def word(self, missing: str) -> str:
        """The next word, which must be there."""
        if not self.tokens:
            raise self.fail(missing)
        return self.tokens.pop(0)

    def choose(self, raw: str, choices: Mapping[str, T], what: str) -> T:
        """``raw`` read case-insensitively as one of ``choices``, or a refusal naming them."""
        found = {key.lower(): value for key, value in choices.items()}.get(raw.lower())
        if found is not None:
            return found
        close = get_close_matches(raw.lower(), [key.lower() for key in choices], n=1)
        tip = f" Did you mean {close[0]}?" if close else ""
        raise self.fail(f"'{_shown(raw)}' is not a {what}.{tip} Choose {', '.join(choices)}.")

    def item_id(self, kind: str) -> int:
        raw = self.word(f"Which {kind}? Give its number, like 12.")
        match = _ID.fullmatch(raw)
        if match is None or int(match[1]) == 0:
            article = "an" if kind[0] in "aeiou" else "a"
            raise self.fail(f"'{_shown(raw)}' is not {article} {kind} number, like 12 or #12.")
        return int(match[1])

    def number(self, raw: str, what: str) -> float:
        value = float(raw.rstrip("%")) if _NUMBER.fullmatch(raw) else None
        if value is None or not isfinite(value):
            raise self.fail(f"'{_shown(raw)}' is not a number for {what}.")
        return value

    def date_after(self, what: str, *, past: bool = False) -> date:
        """The rest of the words, which must be a date (a bare weekday looks back when
        ``past``: ``on mon`` is the last Monday)."""
        raw = " ".join(self.tokens)
        hint = _PAST_DATE_HINT if past else _DATE_HINT
        if not raw:
            raise self.fail(f"{what} when? {hint}")
        found = _date_of(self.tokens, self.today, past=past)
        if found is None:
            raise self.fail(_unreadable(_shown(raw)).replace(_DATE_HINT, hint))
        self.tokens = []
        return found

    def not_past(self, day: date) -> date:
        if day < self.today:
            raise self.fail(f"{day:%a %d %b %Y} is in the past. {_DATE_HINT}")
        return day

    def checked(self, text: str) -> str:
        if len(text) > self.max_text:
            raise self.fail(
                f"That text is {len(text):,} characters; the most I take is {self.max_text:,}. "
                "Put the detail in a document and link it."
            )
        return text

    def rest(self) -> str:
        """All remaining words as text (possibly empty), channel mentions as ``#name``."""
        text, self.tokens = " ".join(_plain(t) for t in self.tokens), []
        return self.checked(text)

    def text(self, missing: str) -> str:
        """All remaining words as text, which must not be empty (nor look empty)."""
        text = self.rest()
        if not _visible(text):
            raise self.fail(missing)
        return text

    def done(self) -> None:
        if self.tokens:
            raise self.fail(f"I don't understand '{_shown(' '.join(self.tokens))}' here.")


Parser = Callable[[_Words], Command]


# ---------------------------------------------------------------------------------------------
# Parsers, one per command


def _deadline(words: _Words) -> date | None:
    """``by <date>`` anywhere, the last one that reads as a date; ``by`` followed by something
    else stays text ("approve budget by committee"), unless it is clearly a mistyped date."""
    tokens = words.tokens
    for at in range(len(tokens) - 1, -1, -1):
        if tokens[at].lower() != "by":
            continue
        for length in (3, 2, 1):
            tail = tokens[at + 1 : at + 1 + length]
            found = _date_of(tail, words.today) if len(tail) == length else None
            if found is not None:
                del tokens[at : at + 1 + length]
                return words.not_past(found)
        tail = tokens[at + 1 :]
        if tail and _NUMERIC_DATE.fullmatch(tail[0].rstrip(_TRAILING)):
            raise words.fail(_unreadable(_shown(tail[0])))
        if len(tail) <= 3 and _looks_like_date(tail):
            raise words.fail(_unreadable(_shown(" ".join(tail))))
    return None


def _area(words: _Words) -> str | None:
    raw = words.option("area")
    return None if raw is None else _area_word(words, raw)


def _area_word(words: _Words, raw: str) -> str:
    area = raw.lower()
    if not _AREA.fullmatch(area):
        raise words.fail(f"'{_shown(raw)}' is not an area: use one word, like staffing, or *.")
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


def _ask(words: _Words) -> AskCmd:
    project, area = words.project(), _area(words)
    assignee = words.maybe_handle()
    needed_by = _deadline(words)
    return AskCmd(
        text=words.text("What do you want to ask? Say what you need decided."),
        assignee=assignee,
        needed_by=needed_by,
        project=project,
        area=area,
    )


def _blocker(words: _Words) -> BlockerCmd:
    project, area = words.project(), _area(words)
    severity = words.option("severity")
    return BlockerCmd(
        text=words.text("What is blocked? Describe the blocker."),
        project=project,
        area=area,
        severity=None if severity is None else words.choose(severity, _SEVERITIES, "severity"),
    )


def _update(words: _Words) -> UpdateCmd:
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


def _project_only(words: _Words) -> str | None:
    """``[#KEY]``, or a bare ``KEY``, and nothing else."""
    project = words.project()
    if project is None and len(words.tokens) == 1 and _KEY.fullmatch(words.tokens[0]):
        project = words.tokens.pop().upper()
    words.done()
    return project


def _nothing(command: Callable[[], Command]) -> Parser:
    def parse_bare(words: _Words) -> Command:
        words.done()
        return command()

    return parse_bare


def _who(words: _Words) -> WhoCmd:
    person = words.maybe_handle()
    words.done()
    return WhoCmd(person=person)


def _help(words: _Words) -> HelpCmd:
    topic = " ".join(words.tokens).lower() or None
    if topic is not None:
        _specs_for(topic)  # refuses an unknown topic, with a suggestion
    return HelpCmd(topic=topic)


def _project_new(words: _Words) -> ProjectNewCmd:
    raw = words.word("Give the project a KEY and a name, like: project new SEPSIS Sepsis pathway.")
    key = _KEY.fullmatch(raw)
    if key is None:
        raise words.fail(
            f"'{_shown(raw)}' can't be a project key: use letters, digits, - or _ (up to 32)."
        )
    return ProjectNewCmd(key=key[1].upper(), name=words.text("Give the project a name too."))


def _project_charter(words: _Words) -> ProjectCharterCmd:
    project = words.project()
    field = words.choose(
        words.word("Which part of the charter? aim, scope, measures or priority."),
        _FIELDS,
        "charter field",
    )
    return ProjectCharterCmd(
        project=project, field=field, text=words.text(f"What is the project's {field}?")
    )


def _project_status(status: ProjectStatus) -> Parser:
    return lambda words: ProjectStatusCmd(status=status, project=_project_only(words))


def _role(words: _Words) -> RoleCmd:
    project = words.project()
    person = words.handle("taking the role")
    role = words.choose(words.word("Which role? sponsor, champion, …"), _ROLES, "role")
    return RoleCmd(person=person, role=role, project=project, note=words.rest())


def _raci_set(words: _Words) -> RaciSetCmd:
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
    match = _CLOCK.fullmatch(token)
    return time(int(match[1]), int(match[2])) if match else None


_CADENCE_PARTS: tuple[tuple[str, Callable[[str], Any]], ...] = (
    ("frequency", _FREQUENCIES.get),
    ("weekday", _WEEKDAYS.get),
    ("local_time", _clock),
    ("detail", _DETAILS.get),
)


def _cadence(words: _Words) -> CadenceCmd:
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
        return f"I can't read the time '{_shown(token)}'. Use HH:MM, like 08:30."
    # Full words only: an abbreviation ("thur") is accepted, never offered.
    settings = [*_FREQUENCIES, *_WEEKDAY_NAMES.split(), *_DETAILS]
    close = get_close_matches(token.lower(), settings, n=1)
    tip = f" Did you mean {close[0]}?" if close else ""
    return (
        f"'{_shown(token)}' is not a cadence setting.{tip} Use weekly, biweekly, daily or off, "
        "a weekday, a time like 08:30, concise or detailed."
    )


def _delegate(words: _Words) -> DelegateCmd:
    if [t.lower() for t in words.tokens] == ["off"]:
        return DelegateCmd(person=None, until=words.today)
    person = words.handle("the delegate")
    if words.word("Until when? delegate @person until <date>.").lower() != "until":
        raise words.fail("Say until when, like: delegate @ben until fri.")
    return DelegateCmd(person=person, until=words.not_past(words.date_after("Until")))


def _handover(words: _Words) -> HandoverCmd:
    project = words.project()
    from_person = words.handle("handing over")
    to_person = words.handle("taking over")
    words.done()
    return HandoverCmd(from_person=from_person, to_person=to_person, project=project)


def _kpi_name(words: _Words, tokens: Sequence[str]) -> str:
    name = " ".join(t[1:-1].strip() if _quoted(t) else t for t in tokens).strip()
    if not _visible(name):
        raise words.fail("Which KPI? Give its name.")
    return words.checked(name)


def _kpi_add(words: _Words) -> KpiAddCmd:
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


def _kpi_record(words: _Words) -> KpiRecordCmd:
    project = words.project()
    tokens = words.tokens
    on = next(
        (i for i in range(len(tokens) - 1, 0, -1) if tokens[i].lower() == "on"),
        None,
    )
    observed_on = None
    if on is not None and _NUMBER.fullmatch(tokens[on - 1]):
        words.tokens, tokens = tokens[on + 1 :], tokens[:on]
        observed_on = words.date_after("On", past=True)
    if not tokens:
        raise words.fail("Which KPI, and what value? kpi record <name> <value>.")
    value = words.number(tokens[-1], "the value (the last word)")
    return KpiRecordCmd(
        name=_kpi_name(words, tokens[:-1]), value=value, project=project, observed_on=observed_on
    )


def _decide(outcome: Outcome, missing: str | None) -> Parser:
    """``approve``/``decline``/``info``: an ask id, then text (required unless ``missing`` is
    None)."""

    def parse_decision(words: _Words) -> DecideCmd:
        ask_id = words.item_id("ask")
        text = words.text(missing) if missing else words.rest()
        return DecideCmd(ask_id=ask_id, outcome=outcome, text=text)

    return parse_decision


def _answer(words: _Words) -> AnswerCmd:
    ask_id = words.item_id("ask")
    return AnswerCmd(ask_id=ask_id, text=words.text("What is your answer? answer 12 <text>."))


def _asks(words: _Words) -> AsksCmd:
    everything = [t.lower() for t in words.tokens] == ["all"]
    if everything:
        words.tokens = []
    words.done()
    return AsksCmd(everything=everything)


def _withdraw(words: _Words) -> WithdrawCmd:
    kind = words.choose(words.word("Withdraw what? withdraw ask 12."), _KINDS, "thing to withdraw")
    item_id = words.item_id(kind)
    words.done()
    return WithdrawCmd(kind=kind, item_id=item_id)


def _blocker_act(verb: Literal["ack", "resolve"], missing: str | None) -> Parser:
    def parse_act(words: _Words) -> BlockerActCmd:
        blocker_id = words.item_id("blocker")
        text = words.text(missing) if missing else words.rest()
        return BlockerActCmd(blocker_id=blocker_id, verb=verb, text=text)

    return parse_act


_ADMIN_VERBS: dict[str, Literal["add", "remove"]] = {"add": "add", "remove": "remove"}
_HOURS = re.compile(r"([0-9]{1,2}:[0-9]{2})\s*[-–]\s*([0-9]{1,2}:[0-9]{2})")


def _org_join(words: _Words) -> OrgJoinCmd:
    code = words.word("Which code? Type org join and the code the inviting admin gave you.")
    words.done()
    return OrgJoinCmd(code=code)


def _org_admin(words: _Words) -> OrgAdminCmd:
    verb = words.choose(words.word("Add or remove? org admin add @person."), _ADMIN_VERBS, "verb")
    person = words.handle("to be added" if verb == "add" else "to be removed")
    words.done()
    return OrgAdminCmd(person=person, verb=verb)


def _org_executive(words: _Words) -> OrgExecutiveCmd:
    person = words.handle("the executive")
    words.done()
    return OrgExecutiveCmd(person=person)


def _me_timezone(words: _Words) -> MeTimezoneCmd:
    zone = words.word("Which time zone? Give an IANA name, like Europe/Berlin.")
    words.done()
    zone = "UTC" if zone.upper() == "UTC" else zone
    if not (zone == "UTC" or "/" in zone) or not valid_timezone(zone):
        raise words.fail(
            f"'{_shown(zone)}' is not a time zone I know. Use an IANA name, like "
            "Europe/Berlin or America/New_York. Nothing was changed."
        )
    return MeTimezoneCmd(timezone=zone)


def _me_hours(words: _Words) -> MeHoursCmd:
    raw = " ".join(words.tokens)
    words.tokens = []
    match = _HOURS.fullmatch(raw)
    start, end = (_clock(match[1]), _clock(match[2])) if match else (None, None)
    if start is None or end is None:
        raise words.fail(
            f"I can't read the hours '{_shown(raw)}'. Give a start and an end, like "
            "08:00-18:00. Nothing was changed."
        )
    if start >= end:
        raise words.fail(
            "Your working day must start before it ends, like 08:00-18:00. Nothing was changed."
        )
    return MeHoursCmd(start=start, end=end)


def _me_link(words: _Words) -> MeLinkCmd:
    code = words.tokens.pop(0) if words.tokens else None
    words.done()
    return MeLinkCmd(code=code)


_PARSERS: dict[str, Parser] = {
    "ask": _ask,
    "blocker": _blocker,
    "update": _update,
    "status": lambda words: StatusCmd(project=_project_only(words)),
    "asks": _asks,
    "digest": _nothing(DigestCmd),
    "dashboard": _nothing(DashboardCmd),
    "approve": _decide("approve", None),
    "decline": _decide("decline", "Please give a reason when you decline."),
    "info": _decide("info", "What do you need to know?"),
    "answer": _answer,
    "withdraw": _withdraw,
    "ack": _blocker_act("ack", None),
    "resolve": _blocker_act("resolve", "How was it resolved? It goes into the decision log."),
    "decisions": lambda words: DecisionsCmd(project=_project_only(words)),
    "raci": lambda words: RaciShowCmd(project=_project_only(words)),
    "raci set": _raci_set,
    "role": _role,
    "who": _who,
    "project new": _project_new,
    "project show": lambda words: ProjectShowCmd(project=_project_only(words)),
    "project charter": _project_charter,
    "project channel": lambda words: ProjectChannelCmd(project=_project_only(words)),
    "project pause": _project_status(ProjectStatus.PAUSED),
    "project resume": _project_status(ProjectStatus.ACTIVE),
    "project close": _project_status(ProjectStatus.CLOSED),
    "kpi": lambda words: KpiListCmd(project=_project_only(words)),
    "kpi list": lambda words: KpiListCmd(project=_project_only(words)),
    "kpi add": _kpi_add,
    "kpi record": _kpi_record,
    "cadence": _cadence,
    "delegate": _delegate,
    "handover": _handover,
    "me timezone": _me_timezone,
    "me hours": _me_hours,
    "me link": _me_link,
    "org show": _nothing(OrgShowCmd),
    "org invite": _nothing(OrgInviteCmd),
    "org join": _org_join,
    "org admin": _org_admin,
    "org executive": _org_executive,
    "org name": lambda words: OrgNameCmd(
        name=words.text("What should the organization be called?")
    ),
    "help": _help,
}


def _command_name(tokens: Sequence[str]) -> str:
    """The longest command name the first words spell (``raci set`` before ``raci``)."""
    first = tokens[0].lower()
    two = f"{first} {tokens[1].lower()}" if len(tokens) > 1 else ""
    if two in _PARSERS:
        return two
    if first in _PARSERS:
        return first
    if first in _WORDS:  # "project" alone, or with an unknown subcommand
        subs = [name.split()[1] for name in _PARSERS if name.startswith(f"{first} ")]
        said = f" (not '{_shown(tokens[1])}')" if len(tokens) > 1 else ""
        choices = f"{', '.join(subs[:-1])} or {subs[-1]}"
        raise UsageError(f"{first} needs {choices}{said}.", hint=usage(first))
    raise _unknown(first)


def parse(text: str, *, today: date, max_text: int = 2000) -> Command:
    """Read one command. ``today`` is the caller's local date (what ``fri`` is relative to).

    Empty text is ``help``. Raises UsageError, with the command's usage as hint, for anything
    malformed; never any other exception.
    """
    tokens = _TOKEN.findall(" ".join(text.split()))
    if not tokens:
        return HelpCmd()
    name = _command_name(tokens)
    rest = tokens[len(name.split()) :]
    return _PARSERS[name](_Words(name=name, tokens=rest, today=today, max_text=max_text))
