"""Forms: what ``ask``, ``blocker`` and ``update`` with no text open (a Slack modal, a Teams card).

The core says which fields a form has and offers the choices (the caller's projects, the areas,
the people); the adapter only draws them and hands the submitted values back to
``Core.submit_form``, which turns them into the same command the text grammar would produce.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class FieldKind(StrEnum):
    TEXT = "text"
    MULTILINE = "multiline"
    SELECT = "select"
    PERSON = "person"
    DATE = "date"


@dataclass(frozen=True, kw_only=True)
class FormField:
    name: str
    label: str
    kind: FieldKind
    required: bool = True
    options: tuple[tuple[str, str], ...] = ()
    """For SELECT and PERSON: (value, label) pairs; PERSON values are handles."""
    initial: str | None = None
    max_length: int | None = None


@dataclass(frozen=True, kw_only=True)
class Form:
    id: str
    """``ask``, ``blocker``, ``update`` or ``ask.decline:12`` style ids for a rationale prompt."""
    title: str
    submit_label: str
    fields: tuple[FormField, ...]
