"""Text → Command (DESIGN §3): the same grammar on every platform, and its help.

``parse`` is total: for any string it returns a Command or raises ``UsageError`` whose hint is the
usage line of the command the user was typing. Which words run which command, their usage and
help are declared once per command in :mod:`bot.declarations`; how the words are read is
:mod:`bot.words` (tokens, dates) and :mod:`bot.parsers` (one parser per command). This module is
the grammar's public face: ``parse``, and the help and dates every other reader needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from bot.commands import Command, HelpCmd
from bot.declarations import BY_NAME, FIRST_WORDS, HELP, help_for, unknown, usage
from bot.errors import UsageError
from bot.parsers import NEW_AREA_MARK
from bot.words import Words, parse_date, shown, tokens_of

__all__ = ["HELP", "NEW_AREA_MARK", "help_for", "parse", "parse_date", "usage"]


def _command_name(tokens: Sequence[str]) -> str:
    """The longest command name the first words spell (``raci set`` before ``raci``)."""
    first = tokens[0].lower()
    two = f"{first} {tokens[1].lower()}" if len(tokens) > 1 else ""
    if two in BY_NAME:
        return two
    if first in BY_NAME:
        return first
    if first in FIRST_WORDS:  # "project" alone, or with an unknown subcommand
        subs = [name.split()[1] for name in BY_NAME if name.startswith(f"{first} ")]
        said = f" (not '{shown(tokens[1])}')" if len(tokens) > 1 else ""
        choices = f"{', '.join(subs[:-1])} or {subs[-1]}"
        raise UsageError(f"{first} needs {choices}{said}.", hint=usage(first))
    raise unknown(first)


def parse(text: str, *, today: date, max_text: int = 2000) -> Command:
    """Read one command. ``today`` is the caller's local date (what ``fri`` is relative to).

    Empty text is ``help``. Raises UsageError, with the command's usage as hint, for anything
    malformed; never any other exception.
    """
    tokens = tokens_of(text)
    if not tokens:
        return HelpCmd()
    name = _command_name(tokens)
    words = Words(
        name=name,
        usage=usage(name),
        tokens=tokens[len(name.split()) :],
        today=today,
        max_text=max_text,
    )
    return BY_NAME[name].parse(words)
