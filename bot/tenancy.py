"""The tenancy boundary: a unit of work bound to one organization (DESIGN §2, issue #10 §2).

``bound(uow, organization_id)`` wraps any :class:`bot.ports.UnitOfWork` (the in-memory fake,
SQLite, PostgreSQL: it is plain core code over the ports) so that every repository of it reads
and writes that organization's rows only:

- a table with an ``organization_id`` column is filtered on it: ``find``/``first``/``count`` get
  ``organization_id=<org>`` added, ``get`` answers None for another organization's row;
- a child table without one (identities, project channels, stakeholders, RACI, updates,
  measures, observations, reviews, preferences, feedback, threads) is filtered through its
  parent (person, project, workspace, measure): reads are limited to the parents this
  organization owns, looked up once per unit of work and then remembered with every row the
  unit has already seen, so a request pays for what it touches and nothing more;
- ``add``/``save``/``delete``/``set_if`` refuse a row that is, or would become, another
  organization's, or that points at another organization's project, person, workspace or
  measure, with :class:`bot.errors.NotFound`: ``Core`` answers it like any unknown item and
  rolls back, so a forged id changes nothing and learns nothing;
- ``organizations`` shows the bound organization only and cannot create one;
- ``audit`` is append-only here: add and read the organization's events, never edit or delete;
- ``outbox`` enqueues and reads the organization's messages (the console's inbox marks its own
  as sent); ``claim_due`` is refused, because claiming due messages is the drain's job, across
  organizations.

Where it is used: ``Core.handle`` binds every request's unit of work to the caller's
organization once it has identified them (and the console's ``inbox``), and the dashboard,
``/api/v1/…`` and the CLI exports open theirs bound to the link's or the named organization.
Handlers and services do not repeat the check. What stays unbound, on purpose, because it works
across organizations by nature: the first part of ``Core.handle`` (identifying the caller and
the people mentioned, storing what the adapter asked to remember: a workspace is looked up by
its platform id before any organization is known), ``configured_workspace`` /
``install_workspace`` (``bot.services.people.link_workspace``), ``anchor_thread`` (called by
the senders), ``caller_for_handle`` (the console's and the CLI's way in), the cadence jobs
(``tick``, ``announce``, ``drain``: what is due, in every organization), the demo seed and
health checks.
"""

from __future__ import annotations

import weakref
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter
from types import TracebackType
from typing import Any, Generic, Self, TypeVar, cast

from bot import model
from bot.errors import NotFound
from bot.model import OutboxMessage, Platform
from bot.ports import OutboxRepository, Repository, UnitOfWork, UnitOfWorkFactory

T = TypeVar("T")

FOREIGN = "I can't find that in your organization. Nothing was changed."
"""What a refused write says: the same as for an unknown item, so nothing leaks."""

_MISSING = object()
_ID = attrgetter("id")


@dataclass(frozen=True)
class Rule:
    """How one repository's rows belong to an organization."""

    direct: bool
    """The row has ``organization_id``; else it belongs through ``parents[0]``."""
    parents: tuple[tuple[str, str], ...] = ()
    """(field, repository) pairs: every row a write stores must point at the organization's
    own rows there (None or 0 = points nowhere). The first filters a child table's reads."""
    append_only: bool = False


_PROJECT = ("project_id", "projects")
_PERSON = ("person_id", "people")
_WORKSPACE = ("workspace_id", "workspaces")

RULES: dict[str, Rule] = {
    "workspaces": Rule(True),
    "people": Rule(True),
    "identities": Rule(False, (_PERSON, _WORKSPACE)),
    "projects": Rule(True),
    "channels": Rule(False, (_PROJECT, _WORKSPACE)),
    "stakeholders": Rule(False, (_PROJECT, _PERSON)),
    "raci": Rule(False, (_PROJECT, _PERSON)),
    "delegations": Rule(True, (("delegator_id", "people"), ("delegate_id", "people"))),
    "asks": Rule(True, (_PROJECT, ("requester_id", "people"), ("assignee_id", "people"))),
    "blockers": Rule(True, (_PROJECT, ("reporter_id", "people"))),
    "updates": Rule(False, (_PROJECT, ("author_id", "people"))),
    "measures": Rule(False, (_PROJECT,)),
    "observations": Rule(False, (("measure_id", "measures"),)),
    "reviews": Rule(False, (_PROJECT, ("measure_id", "measures"), ("sponsor_id", "people"))),
    "decisions": Rule(True, (_PROJECT, ("decided_by_id", "people"))),
    "conversation": Rule(True, (("ask_id", "asks"), ("author_id", "people"))),
    "preferences": Rule(False, (_PERSON,)),
    "feedback": Rule(False, (_PERSON,)),
    "threads": Rule(False, (_WORKSPACE,)),
    "audit": Rule(True, append_only=True),
    "codes": Rule(True, (("created_by_id", "people"),)),
    "outbox": Rule(True, (_WORKSPACE, _PERSON, _PROJECT)),
}
"""Every repository of the unit of work but ``organizations`` (the organization itself)."""


def _field(row: object, name: str) -> Any:
    """A field of any entity (the rules name them)."""
    return getattr(row, name)


class _Owned:
    """The ids of one repository's rows known to be the organization's, in one unit of work."""

    __slots__ = ("complete", "ids")

    def __init__(self) -> None:
        self.ids: set[int] = set()
        self.complete = False
        """``ids`` holds every such row (loaded once): an id not in it is not the org's."""


class BoundUnitOfWork:
    """A unit of work whose repositories see one organization (see module docstring)."""

    organizations: Repository[model.Organization]
    workspaces: Repository[model.Workspace]
    people: Repository[model.Person]
    identities: Repository[model.Identity]
    projects: Repository[model.Project]
    channels: Repository[model.ProjectChannel]
    stakeholders: Repository[model.Stakeholder]
    raci: Repository[model.RaciEntry]
    delegations: Repository[model.Delegation]
    asks: Repository[model.Ask]
    blockers: Repository[model.Blocker]
    updates: Repository[model.Update]
    measures: Repository[model.Measure]
    observations: Repository[model.Observation]
    reviews: Repository[model.Review]
    decisions: Repository[model.Decision]
    conversation: Repository[model.ConversationEntry]
    preferences: Repository[model.CadencePreference]
    feedback: Repository[model.Feedback]
    threads: Repository[model.Thread]
    audit: Repository[model.AuditEvent]
    outbox: OutboxRepository

    def __init__(self, inner: UnitOfWork, organization_id: int) -> None:
        self.inner = inner
        self.organization_id = organization_id
        self._owned: dict[str, _Owned] = {}
        # The storage's unit of work answers this organization's reads from its copy of the
        # organization's directory when told (storage.uow); the fakes need no telling.
        tell = getattr(inner, "bind_organization", None)
        if tell is not None:
            tell(organization_id)

    def __getattr__(self, name: str) -> Any:
        """Wrap a repository on its first use (a request touches a few of them)."""
        repository: Any
        if name == "organizations":
            repository = _OrganizationRepository(self)
        elif name == "outbox":
            repository = _BoundOutbox(self)
        elif name == "inbound":
            # Delivery keys are the platforms' own event, trigger and activity ids: they name
            # no organization's data, and a replay must be seen whoever's unit records it.
            repository = self.inner.inbound
        elif (rule := RULES.get(name)) is not None:
            repository = _BoundRepository(self, name, rule)
        else:
            raise AttributeError(name)
        setattr(self, name, repository)
        return repository

    def owned(self, name: str) -> _Owned:
        found = self._owned.get(name)
        if found is None:
            found = self._owned[name] = _Owned()
        return found

    async def owns(self, name: str, id: int) -> bool:
        """Whether row ``id`` of repository ``name`` is this organization's (one look-up per
        row and unit of work at most)."""
        owned = self.owned(name)
        if id in owned.ids:
            return True
        if owned.complete:
            return False
        return await getattr(self, name).get(id) is not None

    async def all_owned(self, name: str) -> set[int]:
        """Every id of repository ``name`` this organization owns (loaded once per unit)."""
        owned = self.owned(name)
        if not owned.complete:
            await getattr(self, name).find()
            owned.complete = True
        return owned.ids

    async def __aenter__(self) -> Self:
        await self.inner.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.inner.__aexit__(exc_type, exc, tb)

    async def commit(self) -> None:
        await self.inner.commit()

    async def rollback(self) -> None:
        await self.inner.rollback()


class _BoundRepository(Generic[T]):
    """One repository of a bound unit of work: filters reads, refuses foreign writes."""

    def __init__(self, uow: BoundUnitOfWork, name: str, rule: Rule) -> None:
        # Weakly: the unit holds its repositories, so a strong reference back would make
        # every unit of work a reference cycle (~40 objects a request) that only the cyclic
        # garbage collector frees, in pauses that land on the requests in flight. A
        # repository is only ever used while its unit is.
        self._uow = cast(BoundUnitOfWork, weakref.proxy(uow))
        self._organization_id = uow.organization_id
        self._inner: Repository[T] = getattr(uow.inner, name)
        self._rule = rule
        self._owned = uow.owned(name)

    def _seen(self, rows: list[T]) -> list[T]:
        self._owned.ids.update(map(_ID, rows))
        return rows

    async def _where(self, where: dict[str, object]) -> dict[str, object] | None:
        """``where`` limited to the organization's rows; None when that leaves nothing."""
        if self._rule.direct:
            field, allowed = "organization_id", {self._organization_id}
            value = where.get(field, _MISSING)
            if value is _MISSING:
                return {**where, field: self._organization_id}
        else:
            field, parent = self._rule.parents[0]
            value = where.get(field, _MISSING)
            if isinstance(value, int) and not isinstance(value, bool):
                return where if await self._uow.owns(parent, value) else None
            allowed = await self._uow.all_owned(parent)
            if value is _MISSING:
                return {**where, field: sorted(allowed)} if allowed else None
        if isinstance(value, list | tuple | set | frozenset):
            kept = sorted(v for v in value if v in allowed)
            return {**where, field: kept} if kept else None
        return where if value in allowed else None

    async def _belongs(self, item: T) -> bool:
        """Whether the row is, and points only at, this organization's rows."""
        if self._rule.direct and _field(item, "organization_id") != self._organization_id:
            return False
        for field, parent in self._rule.parents:
            value = _field(item, field)
            if value and not await self._uow.owns(parent, value):
                return False
        return True

    async def _check_stored(self, id: int) -> None:
        if self._rule.append_only:
            raise RuntimeError("the audit log is append-only")
        if id not in self._owned.ids and await self.get(id) is None:
            raise NotFound(FOREIGN)

    async def add(self, item: T) -> T:
        if not await self._belongs(item):
            raise NotFound(FOREIGN)
        added = await self._inner.add(item)
        self._owned.ids.add(_field(added, "id"))
        return added

    async def get(self, id: int) -> T | None:
        row = await self._inner.get(id)
        if row is None:
            return None
        if id in self._owned.ids:
            return row
        if self._rule.direct:
            ours = _field(row, "organization_id") == self._organization_id
        else:
            field, parent = self._rule.parents[0]
            ours = await self._uow.owns(parent, _field(row, field))
        if not ours:
            return None
        self._owned.ids.add(id)
        return row

    async def _check_saved(self, item: T) -> None:
        """Refuses a save of a row that is not, or would not stay, this organization's."""
        await self._check_stored(_field(item, "id"))
        if not await self._belongs(item):
            raise NotFound(FOREIGN)

    async def save(self, item: T) -> None:
        await self._check_saved(item)
        await self._inner.save(item)

    async def save_if(self, item: T, *, expected: Mapping[str, object]) -> bool:
        await self._check_saved(item)
        return await self._inner.save_if(item, expected=expected)

    async def delete(self, id: int) -> None:
        await self._check_stored(id)
        await self._inner.delete(id)

    async def find(
        self, *, order_by: str | None = None, limit: int | None = None, **where: object
    ) -> list[T]:
        bound = await self._where(where)
        if bound is None:
            return []
        return self._seen(await self._inner.find(order_by=order_by, limit=limit, **bound))

    async def first(self, *, order_by: str | None = None, **where: object) -> T | None:
        found = await self.find(order_by=order_by, limit=1, **where)
        return found[0] if found else None

    async def count(self, **where: object) -> int:
        bound = await self._where(where)
        return 0 if bound is None else await self._inner.count(**bound)

    async def set_if(self, id: int, field: str, value: object, *, expected: object) -> bool:
        await self._check_stored(id)
        owners = dict(self._rule.parents)
        if self._rule.direct:
            owners["organization_id"] = ""
        if field in owners and value and value != expected:
            ours = (
                value == self._organization_id
                if field == "organization_id"
                else isinstance(value, int) and await self._uow.owns(owners[field], value)
            )
            if not ours:
                raise NotFound(FOREIGN)
        return await self._inner.set_if(id, field, value, expected=expected)


class _BoundOutbox(_BoundRepository[OutboxMessage]):
    def __init__(self, uow: BoundUnitOfWork) -> None:
        super().__init__(uow, "outbox", RULES["outbox"])
        self._outbox: OutboxRepository = uow.inner.outbox

    async def enqueue(self, item: OutboxMessage) -> bool:
        return (await self.enqueue_all([item]))[0]

    async def enqueue_all(self, items: Sequence[OutboxMessage]) -> list[bool]:
        for item in items:
            if not await self._belongs(item):
                raise NotFound(FOREIGN)
        inserted = await self._outbox.enqueue_all(items)
        self._owned.ids.update(item.id for item, new in zip(items, inserted, strict=True) if new)
        return inserted

    async def save_all(self, items: Sequence[OutboxMessage]) -> None:
        for item in items:
            await self._check_saved(item)
        await self._outbox.save_all(items)

    async def claim_due(
        self,
        *,
        now: datetime,
        limit: int,
        platforms: Collection[Platform],
        lease_until: datetime,
    ) -> list[OutboxMessage]:
        raise RuntimeError("claiming the outbox is the drain's job, on an unbound unit of work")


class _OrganizationRepository:
    """The bound organization, and no other; a bound unit cannot create one."""

    def __init__(self, uow: BoundUnitOfWork) -> None:
        self._organization_id = uow.organization_id
        self._inner = uow.inner.organizations

    def _ours(self, id: int) -> bool:
        return id == self._organization_id

    async def add(self, item: model.Organization) -> model.Organization:
        raise NotFound(FOREIGN)

    async def get(self, id: int) -> model.Organization | None:
        return await self._inner.get(id) if self._ours(id) else None

    async def save(self, item: model.Organization) -> None:
        if not self._ours(item.id):
            raise NotFound(FOREIGN)
        await self._inner.save(item)

    async def delete(self, id: int) -> None:
        if not self._ours(id):
            raise NotFound(FOREIGN)
        await self._inner.delete(id)

    def _where(self, where: dict[str, object]) -> dict[str, object] | None:
        value = where.get("id", _MISSING)
        if value is _MISSING or value == self._organization_id:
            return {**where, "id": self._organization_id}
        if isinstance(value, list | tuple | set | frozenset) and self._organization_id in value:
            return {**where, "id": self._organization_id}
        return None

    async def find(
        self, *, order_by: str | None = None, limit: int | None = None, **where: object
    ) -> list[model.Organization]:
        bound = self._where(where)
        return (
            [] if bound is None else await self._inner.find(order_by=order_by, limit=limit, **bound)
        )

    async def first(
        self, *, order_by: str | None = None, **where: object
    ) -> model.Organization | None:
        found = await self.find(order_by=order_by, limit=1, **where)
        return found[0] if found else None

    async def count(self, **where: object) -> int:
        bound = self._where(where)
        return 0 if bound is None else await self._inner.count(**bound)

    async def set_if(self, id: int, field: str, value: object, *, expected: object) -> bool:
        if not self._ours(id):
            raise NotFound(FOREIGN)
        return await self._inner.set_if(id, field, value, expected=expected)

    async def save_if(self, item: model.Organization, *, expected: Mapping[str, object]) -> bool:
        if not self._ours(item.id):
            raise NotFound(FOREIGN)
        return await self._inner.save_if(item, expected=expected)


def bound(uow: UnitOfWork, organization_id: int) -> UnitOfWork:
    """``uow`` seen through one organization (see module docstring)."""
    return BoundUnitOfWork(uow, organization_id)


def bound_factory(factory: UnitOfWorkFactory, organization_id: int) -> UnitOfWorkFactory:
    """A factory of units of work bound to one organization (the dashboard, the exports)."""

    def make() -> UnitOfWork:
        return bound(factory(), organization_id)

    return make
