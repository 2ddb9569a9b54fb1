"""Domain errors. Each carries the one sentence a user sees, and where useful a usage hint.

Dispatch turns any of these into a reply and rolls the transaction back, so a rejected command
changes nothing. Anything that is *not* a LeaderbotError is a bug: it is logged and the user gets
a generic apology, never a traceback.
"""

from __future__ import annotations


class LeaderbotError(Exception):
    """Base of every error a user may cause."""

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip()


class UsageError(LeaderbotError):
    """The command text does not parse: missing text, bad date, unknown option."""


class NotFound(LeaderbotError):
    """An unknown project, person, ask or blocker."""


class NotAllowed(LeaderbotError):
    """The caller may not do this (decide someone else's ask, edit RACI without a role)."""


class InvalidState(LeaderbotError):
    """The item is not in a state that allows this (deciding an already decided ask)."""


class RoutingError(LeaderbotError):
    """Nobody can receive it: no Accountable for the area, no default, no sponsor."""


class Conflict(LeaderbotError):
    """It would break an invariant (a second sponsor, a duplicate project key)."""
