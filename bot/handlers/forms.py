"""Forms for ``ask``, ``blocker`` and ``update`` typed with no text: the fields, the choices the
caller may pick from, and the command a submission stands for (checked like typed text)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import TypeVar

from bot.commands import AskCmd, BlockerCmd, Command, UpdateCmd
from bot.context import Caller
from bot.errors import UsageError
from bot.forms import FieldKind, Form, FormField
from bot.model import ProjectStatus, Rag, Severity
from bot.ports import UnitOfWork

E = TypeVar("E", Severity, Rag)


async def form_for(uow: UnitOfWork, *, caller: Caller, form_id: str, max_text: int) -> Form:
    """The form with this caller's projects, the RACI areas and the people to pick from."""
    projects = [
        p
        for p in await uow.projects.find(organization_id=caller.organization_id, order_by="key")
        if p.status is ProjectStatus.ACTIVE
    ]
    project_options = tuple((p.key, f"#{p.key} — {p.name}") for p in projects)
    areas = sorted({e.area for e in await uow.raci.find(project_id=[p.id for p in projects])})
    project_field = FormField(
        name="project", label="Project", kind=FieldKind.SELECT, options=project_options
    )
    area_field = FormField(
        name="area",
        label="Area",
        kind=FieldKind.SELECT,
        required=False,
        options=tuple((a, "default" if a == "*" else a) for a in areas),
    )
    if form_id == "ask":
        people = await uow.people.find(organization_id=caller.organization_id, order_by="name")
        return Form(
            id="ask",
            title="Raise an ask",
            submit_label="Send ask",
            fields=(
                project_field,
                _text("What do you need?", max_text),
                area_field,
                FormField(
                    name="person",
                    label="Ask someone by name (optional)",
                    kind=FieldKind.PERSON,
                    required=False,
                    options=tuple((p.handle, p.name) for p in people),
                ),
                FormField(name="needed_by", label="Needed by", kind=FieldKind.DATE, required=False),
            ),
        )
    if form_id == "blocker":
        return Form(
            id="blocker",
            title="Raise a blocker",
            submit_label="Raise blocker",
            fields=(
                project_field,
                _text("What is blocked?", max_text),
                area_field,
                FormField(
                    name="severity",
                    label="Severity",
                    kind=FieldKind.SELECT,
                    options=tuple((s.value, s.value) for s in Severity),
                    initial=Severity.MEDIUM.value,
                ),
            ),
        )
    if form_id == "update":
        return Form(
            id="update",
            title="Post an update",
            submit_label="Post update",
            fields=(
                project_field,
                FormField(
                    name="rag",
                    label="Status",
                    kind=FieldKind.SELECT,
                    options=tuple((r.value, r.value) for r in Rag),
                    initial=Rag.GREEN.value,
                ),
                _text("What", max_text),
                FormField(
                    name="next_steps",
                    label="Next steps",
                    kind=FieldKind.MULTILINE,
                    required=False,
                    max_length=max_text,
                ),
            ),
        )
    raise UsageError(f"There is no '{form_id}' form.", hint="Forms: ask, blocker, update.")


def _text(label: str, max_text: int) -> FormField:
    return FormField(name="text", label=label, kind=FieldKind.MULTILINE, max_length=max_text)


def command_from_form(
    form_id: str, values: Mapping[str, str], *, today: date, max_text: int
) -> Command:
    """The command a submitted form stands for; refuses what the grammar would refuse."""

    def value(name: str) -> str | None:
        got = (values.get(name) or "").strip()
        return got or None

    body = value("text")
    if body is None:
        raise UsageError("Please fill in the text.", hint=f"Or type: help {form_id}")
    if len(body) > max_text:
        raise UsageError(
            f"That text is {len(body):,} characters; the most I take is {max_text:,}.",
            hint="Put the detail in a document and link it.",
        )
    project = value("project")
    if form_id == "ask":
        needed_by = _date(value("needed_by"), today=today)
        return AskCmd(
            text=body,
            assignee=value("person"),
            needed_by=needed_by,
            project=project,
            area=value("area"),
        )
    if form_id == "blocker":
        return BlockerCmd(
            text=body,
            project=project,
            area=value("area"),
            severity=_enum(Severity, value("severity"), "severity"),
        )
    if form_id == "update":
        return UpdateCmd(
            project=project,
            text=body,
            rag=_enum(Rag, value("rag"), "status"),
            next_steps=value("next_steps") or "",
        )
    raise UsageError(f"There is no '{form_id}' form.", hint="Forms: ask, blocker, update.")


def _date(raw: str | None, *, today: date) -> date | None:
    if raw is None:
        return None
    try:
        parsed = date.fromisoformat(raw)
    except ValueError:
        raise UsageError(f"I can't read the date '{raw}'.", hint="Use 2026-12-01.") from None
    if parsed < today:
        raise UsageError(f"{parsed:%a %d %b %Y} is in the past.", hint="Pick a date from today on.")
    return parsed


def _enum(kind: type[E], raw: str | None, label: str) -> E | None:
    if raw is None:
        return None
    try:
        return kind(raw.lower())
    except ValueError:
        choices = ", ".join(m.value for m in kind)
        raise UsageError(f"'{raw}' is not a {label}.", hint=f"Choose {choices}.") from None
