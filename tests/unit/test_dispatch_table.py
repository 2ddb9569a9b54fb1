"""Every command the grammar can produce has a handler, and every button the core puts on a
message has one too: a missing entry would answer a user with an apology instead of a result."""

from __future__ import annotations

import typing

from bot import commands
from bot.attention import SNOOZE_ACTION
from bot.buttons import ask_buttons
from bot.digest import FEEDBACK_ACTION
from bot.declarations import DECLARATIONS
from bot.handlers.actions import ACTIONS


def test_every_command_has_a_handler() -> None:
    assert set(typing.get_args(commands.Command)) == {d.command for d in DECLARATIONS}


def test_every_button_has_a_handler() -> None:
    emitted = {a.id for a in ask_buttons(1)} | {
        "blocker.ack",
        "blocker.resolve",
        "ask.answer",
        "ask.comment",
        FEEDBACK_ACTION,
        SNOOZE_ACTION,
    }
    assert emitted <= set(ACTIONS)
