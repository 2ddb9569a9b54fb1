"""The one declaration per command (bot.declarations): every command the grammar can produce
has exactly one, so it has exactly one handler, and each declared way of writing a command
produces that command — a missing or crossed entry would answer a user with an apology or
with another command's result."""

from __future__ import annotations

import typing
from collections import Counter
from datetime import date

import pytest

from bot import commands
from bot.declarations import BY_NAME, DECLARATIONS, Declaration, Syntax
from bot.grammar import parse

TODAY = date(2026, 11, 24)
WRITTEN = [(d, s) for d in DECLARATIONS for s in d.syntax]


def test_every_command_has_exactly_one_declaration() -> None:
    declared = Counter(declaration.command for declaration in DECLARATIONS)
    assert set(declared) == set(typing.get_args(commands.Command))
    assert [kind for kind, count in declared.items() if count > 1] == []


def test_every_name_runs_one_command() -> None:
    names = Counter(name for _, syntax in WRITTEN for name in syntax.names)
    assert [name for name, count in names.items() if count > 1] == []
    assert set(BY_NAME) == set(names)


@pytest.mark.parametrize(("declaration", "syntax"), WRITTEN, ids=[s.names[0] for _, s in WRITTEN])
def test_every_example_parses_to_its_own_command(
    declaration: Declaration[typing.Any], syntax: Syntax
) -> None:
    spelled = " ".join(syntax.example.lower().split()[:2])
    assert any(spelled == name or spelled.split()[0] == name for name in syntax.names)
    assert type(parse(syntax.example, today=TODAY)) is declaration.command
