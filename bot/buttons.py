"""The buttons an ask or a blocker carries, wherever it is shown (card, reminder, digest), so a
click means the same everywhere and the handlers in bot/handlers/actions.py match them."""

from __future__ import annotations

from bot.messages import Action, InputKind, Style
from bot.model import Blocker, BlockerState


def ask_buttons(ask_id: int, *, numbered: bool = False) -> tuple[Action, ...]:
    """Approve / Decline (with a rationale) / Need info (with a question). ``numbered`` adds the
    ask's number to each label, for messages that show several asks."""
    suffix = f" #{ask_id}" if numbered else ""
    value = str(ask_id)
    return (
        Action(id="ask.approve", label=f"Approve{suffix}", value=value, style=Style.PRIMARY),
        Action(
            id="ask.decline",
            label=f"Decline{suffix}",
            value=value,
            style=Style.DANGER,
            input=InputKind.RATIONALE,
        ),
        Action(id="ask.info", label=f"Need info{suffix}", value=value, input=InputKind.QUESTION),
    )


def blocker_buttons(blocker: Blocker, *, numbered: bool = False) -> tuple[Action, ...]:
    """Acknowledge (only while unacknowledged) / Resolve (with how it was resolved)."""
    suffix = f" #{blocker.id}" if numbered else ""
    value = str(blocker.id)
    resolve = Action(
        id="blocker.resolve", label=f"Resolve{suffix}", value=value, input=InputKind.COMMENT
    )
    if blocker.state is not BlockerState.OPEN:
        return (resolve,)
    acknowledge = Action(
        id="blocker.ack", label=f"Acknowledge{suffix}", value=value, style=Style.PRIMARY
    )
    return (acknowledge, resolve)
