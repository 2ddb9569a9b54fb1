"""Finding the project and people a command names, with the sentence a user sees when it fails.

Every lookup is scoped to the caller's organization: nothing ever crosses organizations.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.context import Caller
from bot.errors import NotFound, UsageError
from bot.model import Person, Project, ProjectStatus, Role
from bot.ports import UnitOfWork


def distance(a: str, b: str) -> int:
    """Levenshtein edit distance: the insertions, deletions and substitutions from a to b."""
    previous = list(range(len(b) + 1))
    for i, char in enumerate(a, start=1):
        current = [i]
        for j, other in enumerate(b, start=1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char != other))
            )
        previous = current
    return previous[-1]


def _near(typed: str, candidates: dict[str, list[str]]) -> list[str]:
    """The candidates (by label) nearest to ``typed`` by edit distance over any of their
    spellings, when near enough to be a typo: one edit in a short word, two in a longer one."""
    typed = typed.lower()
    allowed = 1 if len(typed) <= 4 else 2
    scored = {
        label: min(distance(typed, spelling.lower()) for spelling in spellings)
        for label, spellings in candidates.items()
    }
    best = min(scored.values(), default=allowed + 1)
    return sorted(label for label, score in scored.items() if score == best <= allowed)


def _did_you_mean(labels: list[str]) -> str:
    return f" Did you mean {' or '.join(labels)}?" if labels else ""


async def project_named(uow: UnitOfWork, *, organization_id: int, key: str) -> Project:
    """The project with this key, or a NotFound that suggests the nearest active key and lists
    the active ones (a closed project is never offered)."""
    project = await uow.projects.first(organization_id=organization_id, key=key.upper())
    if project is None:
        active = sorted(
            p.key
            for p in await uow.projects.find(organization_id=organization_id)
            if p.status is not ProjectStatus.CLOSED
        )
        near = _near(key, {f"#{k}": [k] for k in active})
        hint = f"Active projects: {', '.join('#' + k for k in active)}." if active else ""
        raise NotFound(f"I don't know a project #{key.upper()}.{_did_you_mean(near)}", hint=hint)
    return project


async def project_for(uow: UnitOfWork, *, caller: Caller, key: str | None) -> Project:
    """The project a command is about: named with ``#KEY``, else the channel's home project,
    else the one project the caller leads."""
    if key:
        return await project_named(uow, organization_id=caller.organization_id, key=key)
    if caller.channel_id and caller.workspace_id:
        channel = await uow.channels.first(
            workspace_id=caller.workspace_id, channel_id=caller.channel_id
        )
        if channel is not None:
            project = await uow.projects.get(channel.project_id)
            if project is not None:
                return project
    led = await uow.stakeholders.find(person_id=caller.person_id, role=Role.LEAD)
    projects = [
        p
        for p in await uow.projects.find(id=[s.project_id for s in led])
        if p.status is not ProjectStatus.CLOSED
    ]
    if len(projects) == 1:
        return projects[0]
    raise UsageError(
        "Which project? Add #PROJECT to the command.",
        hint=_project_hint([p.key for p in projects]),
    )


def _project_hint(keys: Iterable[str]) -> str:
    listed = ", ".join("#" + k for k in sorted(keys))
    return f"You lead {listed}." if listed else "Projects are named like #SEPSIS."


async def person_named(uow: UnitOfWork, *, organization_id: int, handle: str) -> Person:
    """The person with this handle, or a NotFound with a hint."""
    handle = handle.lstrip("@").lower()
    person = await uow.people.first(organization_id=organization_id, handle=handle)
    if person is None:
        people = await uow.people.find(organization_id=organization_id)
        near = _near(handle, {f"@{p.handle}": [p.handle, *p.name.split()] for p in people})
        raise NotFound(
            f"I don't know anyone called @{handle}.{_did_you_mean(near)}",
            hint="Mention them (@name) as they appear in chat, or ask an admin to add them.",
        )
    return person


async def names_of(uow: UnitOfWork, ids: Iterable[int]) -> dict[int, str]:
    """Display names for a set of person ids, in one query."""
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return {}
    return {p.id: p.name for p in await uow.people.find(id=wanted)}
