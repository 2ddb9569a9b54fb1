"""A command's words as its parser reads them: tokens, :class:`Words`, and dates as users type
them (DESIGN §3).

Tokens: ``#KEY`` (a project, uppercased), ``@handle`` (a person, lowercased), ``name:value``
options the command declares; the free text is what remains, whitespace-normalised, original
case kept. Words are case-insensitive; ``"quoted words"`` stay one token (a multi-word KPI name,
or text that must not be read as a project).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from difflib import get_close_matches
from math import isfinite
from typing import TypeVar

from bot.errors import UsageError

__all__ = [
    "AREA",
    "CLOCK",
    "KEY",
    "NUMBER",
    "WEEKDAYS",
    "WEEKDAY_NAMES",
    "Words",
    "parse_date",
    "quoted",
    "shown",
    "tokens_of",
    "visible",
]

T = TypeVar("T")


def shown(text: str, limit: int = 40) -> str:
    """User text quoted back in an error, cut short so the error stays one readable line."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---------------------------------------------------------------------------------------------
# Dates


_MONTH_NAMES = (
    "january february march april may june july august september october november december"
)
WEEKDAY_NAMES = "monday tuesday wednesday thursday friday saturday sunday"
_MONTHS = {
    name: number
    for number, full in enumerate(_MONTH_NAMES.split(), start=1)
    for name in (full, full[:3])
} | {"sept": 9}
WEEKDAYS = {
    name: number for number, full in enumerate(WEEKDAY_NAMES.split()) for name in (full, full[:3])
} | {"tues": 1, "thur": 3, "thurs": 3}
_DAYS_FROM_TODAY = {"yesterday": -1, "today": 0, "tomorrow": 1}
_DATE_WORDS = (*_MONTHS, *WEEKDAYS, *_DAYS_FROM_TODAY)
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
    if word in WEEKDAYS:
        ahead = (WEEKDAYS[word] - today.weekday()) % 7
        return today - timedelta(days=(7 - ahead) % 7) if past else today + timedelta(days=ahead)
    return None


def _next(words: Sequence[str], today: date, past: bool) -> date | None:
    """``next week`` is Monday of next week; ``next fri`` is the Friday of next week."""
    if len(words) != 2 or words[0] != "next":
        return None
    monday = today + timedelta(days=7 - today.weekday())
    if words[1] == "week":
        return monday
    return monday + timedelta(days=WEEKDAYS[words[1]]) if words[1] in WEEKDAYS else None


def _last(words: Sequence[str], today: date, past: bool) -> date | None:
    """``last mon`` is the latest Monday before today; ``last week`` is Monday of last week."""
    if len(words) != 2 or words[0] != "last":
        return None
    if words[1] == "week":
        return today - timedelta(days=today.weekday() + 7)
    if words[1] not in WEEKDAYS:
        return None
    return today - timedelta(days=(today.weekday() - WEEKDAYS[words[1]] - 1) % 7 + 1)


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
    return _BAD_DATE.format(shown(raw))


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
        raise UsageError(_unreadable(shown(" ".join(text.split()))))
    return found


# ---------------------------------------------------------------------------------------------
# Tokens


_TOKEN = re.compile(r'"[^"]*"|“[^”]*”|\S+')
KEY = re.compile(r"#?((?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z0-9_-]{1,32})")
_HANDLE = re.compile(r"@([A-Za-z0-9][A-Za-z0-9._-]{0,79})")
_ID = re.compile(r"#?([0-9]{1,12})")
AREA = re.compile(r"\*|[a-z0-9][a-z0-9_-]{0,39}")
NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?%?")
CLOCK = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])")
_QUOTES = '"“”'
_CHANNEL = re.compile(r"<#[A-Za-z0-9]+\|([^<>|\s]{1,80})>")
"""A channel mention as adapters pass it on (Slack's ``<#C123|sepsis>``): a project only when
the command names no ``#KEY`` (the user typed ``#sepsis`` and Slack linked the channel), else
text shown as ``#sepsis``."""


def tokens_of(text: str) -> list[str]:
    """The tokens of a command line: words, and quoted words as one token."""
    return _TOKEN.findall(" ".join(text.split()))


def visible(text: str) -> bool:
    """False for text of only spaces, control, format (zero-width, direction-changing) or
    private-use characters: it would look empty to the reader."""
    return any(unicodedata.category(ch)[0] not in "CZ" for ch in text)


def _plain(token: str) -> str:
    """A token as it reads in text: a channel mention becomes ``#name``."""
    return _CHANNEL.sub(lambda m: f"#{m[1]}", token)


def quoted(token: str) -> bool:
    return len(token) >= 2 and token[0] in _QUOTES and token[-1] in _QUOTES


@dataclass(kw_only=True)
class Words:
    """The tokens after the command name, consumed by the command's parser.

    Each method removes what it reads, so what remains at the end is the free text.
    """

    name: str
    usage: str
    """The command's usage: the hint of every refusal."""
    tokens: list[str]
    today: date
    max_text: int

    def fail(self, message: str) -> UsageError:
        return UsageError(message, hint=self.usage)

    def project(self) -> str | None:
        """A ``#KEY`` anywhere (uppercased); two different ones are refused."""
        keys: dict[str, None] = {}
        kept: list[str] = []
        channels: list[int] = []
        for token in self.tokens:
            match = KEY.fullmatch(token.rstrip(_TRAILING)) if token.startswith("#") else None
            if match:
                keys[match[1].upper()] = None
                continue
            if _CHANNEL.fullmatch(token.rstrip(_TRAILING)):
                channels.append(len(kept))
            kept.append(token)
        if len(keys) > 1:
            named = ", ".join(f"#{key}" for key in keys)
            raise self.fail(f"Give one project, not {len(keys)} ({shown(named)}).")
        if not keys and len(channels) == 1:
            mentioned = KEY.fullmatch(_plain(kept[channels[0]].rstrip(_TRAILING)))
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
            raise self.fail(f"'{shown(raw)}' is not a person: use @ and their handle, like @dana.")
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
        raise self.fail(f"'{shown(raw)}' is not a {what}.{tip} Choose {', '.join(choices)}.")

    def item_id(self, kind: str) -> int:
        raw = self.word(f"Which {kind}? Give its number, like 12.")
        match = _ID.fullmatch(raw)
        if match is None or int(match[1]) == 0:
            article = "an" if kind[0] in "aeiou" else "a"
            raise self.fail(f"'{shown(raw)}' is not {article} {kind} number, like 12 or #12.")
        return int(match[1])

    def number(self, raw: str, what: str) -> float:
        value = float(raw.rstrip("%")) if NUMBER.fullmatch(raw) else None
        if value is None or not isfinite(value):
            raise self.fail(f"'{shown(raw)}' is not a number for {what}.")
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
            raise self.fail(_unreadable(shown(raw)).replace(_DATE_HINT, hint))
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
        if not visible(text):
            raise self.fail(missing)
        return text

    def deadline(self) -> date | None:
        """``by <date>`` anywhere, the last one that reads as a date; ``by`` followed by something
        else stays text ("approve budget by committee"), unless it is clearly a mistyped date."""
        tokens = self.tokens
        for at in range(len(tokens) - 1, -1, -1):
            if tokens[at].lower() != "by":
                continue
            for length in (3, 2, 1):
                tail = tokens[at + 1 : at + 1 + length]
                found = _date_of(tail, self.today) if len(tail) == length else None
                if found is not None:
                    del tokens[at : at + 1 + length]
                    return self.not_past(found)
            tail = tokens[at + 1 :]
            if tail and _NUMERIC_DATE.fullmatch(tail[0].rstrip(_TRAILING)):
                raise self.fail(_unreadable(shown(tail[0])))
            if len(tail) <= 3 and _looks_like_date(tail):
                raise self.fail(_unreadable(shown(" ".join(tail))))
        return None

    def done(self) -> None:
        if self.tokens:
            raise self.fail(f"I don't understand '{shown(' '.join(self.tokens))}' here.")
