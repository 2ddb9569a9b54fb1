"""Digest feedback (``digest.feedback`` buttons): the cadence adapts and says how (DESIGN §2).

``too_long`` makes the next digests concise and shorter; ``too_often`` lowers the frequency one
step (daily → weekly → every two weeks); ``not_relevant`` is noted for the project leads and
admins to act on (the RACI decides what a leader sees, not the bot). One click per kind per
digest counts: a second click on the same button changes nothing more.
"""

from __future__ import annotations

from datetime import datetime

from bot.context import Reply
from bot.digest import period_label
from bot.errors import UsageError
from bot.messages import text
from bot.model import Detail, Feedback, FeedbackKind, Frequency, Person
from bot.ports import UnitOfWork
from bot.services.audit import record
from bot.services.preferences import describe, preference_of

__all__ = ["MIN_LINES", "give_feedback"]

MIN_LINES = 5
"""A concise digest never gets shorter than this: below it, it stops saying anything."""
_LINES_STEP = 3
_LOWER = {
    Frequency.DAILY_DURING_ACTIVE_CYCLE: Frequency.WEEKLY,
    Frequency.WEEKLY: Frequency.BIWEEKLY,
}


def _parse(value: str) -> tuple[str, FeedbackKind]:
    period, _, kind = value.rpartition(":")
    try:
        return period, FeedbackKind(kind)
    except ValueError:
        raise UsageError("That feedback button is not one I know.") from None


async def give_feedback(uow: UnitOfWork, *, person: Person, value: str, now: datetime) -> Reply:
    """Record a click on a digest's feedback button (``{period}:{kind}``), adapt the person's
    cadence preference, and tell them what changed."""
    period, kind = _parse(value)
    if not period:
        raise UsageError("That feedback button is not one I know.")
    label = period_label(period)
    if await uow.feedback.first(person_id=person.id, period=period, kind=kind) is not None:
        return Reply(messages=(text(f"Already noted for your {label} digest — thanks."),))
    await uow.feedback.add(Feedback(person_id=person.id, period=period, kind=kind, created_at=now))
    preference = await preference_of(uow, person_id=person.id)
    change, adapted = "", False
    if kind is FeedbackKind.TOO_LONG:
        if preference.detail is Detail.DETAILED:
            preference.detail = Detail.CONCISE
        else:
            preference.max_lines = max(MIN_LINES, preference.max_lines - _LINES_STEP)
        change = f"Your next digests are concise, at most {preference.max_lines} lines."
        adapted = True
    elif kind is FeedbackKind.TOO_OFTEN:
        lower = _LOWER.get(preference.frequency)
        adapted = lower is not None
        if lower is not None:
            preference.frequency = lower
            change = "You will now get it " + describe(preference, timezone=person.timezone) + "."
        else:
            change = (
                "It already comes at most every two weeks; `cadence off` stops it "
                "(you can still run `digest` any time)."
            )
    if adapted:
        if preference.id:
            await uow.preferences.save(preference)
        else:
            await uow.preferences.add(preference)
    await record(
        uow,
        organization_id=person.organization_id,
        actor_id=person.id,
        action=f"digest.feedback.{kind.value}",
        subject=f"person:{person.id}",
        detail=f"{period}: {change or 'no change'}",
        at=now,
    )
    thanks = {
        FeedbackKind.USEFUL: f"Thanks — glad the {label} digest helped. Nothing changes.",
        FeedbackKind.TOO_LONG: f"Thanks — noted that the {label} digest was too long.",
        FeedbackKind.TOO_OFTEN: "Thanks — noted that digests come too often.",
        FeedbackKind.NOT_RELEVANT: (
            f"Thanks — noted that the {label} digest was not relevant to you. Your project "
            "leads see this; `raci` shows why each project reaches you."
        ),
    }[kind]
    return Reply(
        messages=(text(thanks, *((change,) if change else ())),),
        changed=(f"cadence:{person.id}",) if adapted else (),
    )
