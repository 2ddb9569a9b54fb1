"""Every button the core puts on a message has a handler: a missing entry would answer a user
with an apology instead of a result (every command's handler: tests/unit/test_declarations.py)."""

from __future__ import annotations

from bot.attention import SNOOZE_ACTION
from bot.buttons import ask_buttons
from bot.digest import FEEDBACK_ACTION
from bot.handlers.actions import ACTIONS


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
