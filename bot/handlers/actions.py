"""Button clicks: action id → handler. The same rules as the typed commands apply (only the
decider decides, a decided ask cannot be decided again), because they call the same services."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Literal

from bot.attention import SNOOZE_ACTION
from bot.commands import AnswerCmd, BlockerActCmd, DecideCmd, Outcome
from bot.context import Reply
from bot.digest import FEEDBACK_ACTION
from bot.errors import UsageError
from bot.handlers.context import Ctx
from bot.handlers.items import on_answer, on_blocker_act, on_decide
from bot.messages import text
from bot.services import asks, feedback, snooze

ActionHandler = Callable[[Ctx, str, str], Awaitable[Reply]]


def _item_id(value: str) -> int:
    try:
        return int(value.lstrip("#"))
    except ValueError:
        raise UsageError("That button refers to an item I can't read.") from None


def _decide(outcome: Outcome) -> ActionHandler:
    async def handler(ctx: Ctx, value: str, typed: str) -> Reply:
        return await on_decide(ctx, DecideCmd(ask_id=_item_id(value), outcome=outcome, text=typed))

    return handler


def _blocker(verb: Literal["ack", "resolve"]) -> ActionHandler:
    async def handler(ctx: Ctx, value: str, typed: str) -> Reply:
        return await on_blocker_act(
            ctx, BlockerActCmd(blocker_id=_item_id(value), verb=verb, text=typed)
        )

    return handler


async def _answer(ctx: Ctx, value: str, typed: str) -> Reply:
    return await on_answer(ctx, AnswerCmd(ask_id=_item_id(value), text=typed))


async def _comment(ctx: Ctx, value: str, typed: str) -> Reply:
    ask = await asks.comment(
        ctx.uow,
        ask_id=_item_id(value),
        organization_id=ctx.caller.organization_id,
        author=ctx.person,
        text=typed,
        now=ctx.now,
    )
    return Reply(messages=(text(f"Your comment on ask #{ask.id} was passed to its decider."),))


async def _feedback(ctx: Ctx, value: str, typed: str) -> Reply:
    return await feedback.give_feedback(ctx.uow, person=ctx.person, value=value, now=ctx.now)


async def _snooze(ctx: Ctx, value: str, typed: str) -> Reply:
    return await snooze.snooze(
        ctx.uow, person=ctx.person, value=value, now=ctx.now, link_base=ctx.link_base
    )


ACTIONS: dict[str, ActionHandler] = {
    "ask.approve": _decide("approve"),
    "ask.decline": _decide("decline"),
    "ask.info": _decide("info"),
    "ask.answer": _answer,
    "ask.comment": _comment,
    "blocker.ack": _blocker("ack"),
    "blocker.resolve": _blocker("resolve"),
    FEEDBACK_ACTION: _feedback,
    SNOOZE_ACTION: _snooze,
}
"""Action.id → handler."""
