"""An in-memory unit of work with the same semantics as ``storage/`` (for fast core unit tests).

What it promises, like the SQL implementation (``tests/integration/test_repositories.py`` runs
the same conformance suite over both):

- objects are copied in and out, so changing one without ``save`` changes nothing stored;
- a unit of work sees its own changes at once and other units' changes once they commit;
  ``commit`` publishes, ``rollback`` or leaving without ``commit`` discards;
- ``find`` criteria, ordering (NULLs last, ``id`` as tie-break) and errors are the same;
- the schema's unique constraints raise ``bot.errors.Conflict``;
- a guarded write (``set_if``, ``save_if``) yields to the event loop first, as a database round
  trip does (so concurrent units really interleave), then takes the row until the unit ends: a
  second guarded writer of the row waits for the first unit to end and then checks its
  expectation against what that unit committed — a row lock on PostgreSQL, the single writer
  on SQLite;
- ``outbox.claim_due`` leases the rows it returns (a write) and skips rows another open unit
  holds (SKIP LOCKED);
- datetimes must be timezone-aware and come back in UTC, enums come back as enums.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import operator
from collections import defaultdict
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import fields
from datetime import UTC, datetime
from enum import StrEnum
from functools import cache
from types import TracebackType
from typing import Any, Generic, Self, TypeVar, get_type_hints

from bot import model
from bot.criteria import check_aware, ordered, predicate
from bot.errors import Conflict
from bot.model import Letter, OutboxMessage, OutboxState, Platform
from bot.ports import (
    InboundRepository,
    OutboxRepository,
    Repository,
    UnitOfWork,
    UnitOfWorkFactory,
)

T = TypeVar("T")

UNIQUE: dict[type[Any], tuple[Callable[[Any], object], ...]] = {
    model.Workspace: (operator.attrgetter("platform", "external_id"),),
    model.Person: (operator.attrgetter("organization_id", "handle"),),
    model.Identity: (operator.attrgetter("workspace_id", "user_id"),),
    model.Project: (operator.attrgetter("organization_id", "key"),),
    model.RaciEntry: (lambda r: (r.project_id, r.area) if r.letter == Letter.A else None,),
    model.CadencePreference: (operator.attrgetter("person_id"),),
    model.Thread: (operator.attrgetter("key", "workspace_id", "channel_id"),),
    model.OutboxMessage: (operator.attrgetter("key"),),
    model.LinkCode: (operator.attrgetter("code_hash"),),
}
"""The unique constraints of storage/tables.py, as functions giving the key (None: not
constrained, as for the partial "one A per (project, area)" index)."""


@cache
def _coercions(entity: type[Any]) -> dict[str, Callable[[Any], Any]]:
    """What a round trip through SQL does to a field: strings become enums, ints in float
    columns become floats, datetimes come back in UTC."""
    found: dict[str, Callable[[Any], Any]] = {}
    for name, hint in get_type_hints(entity).items():
        if isinstance(hint, type) and issubclass(hint, StrEnum):
            found[name] = hint
        elif hint in (float, float | None):
            found[name] = lambda v: float(v) if isinstance(v, int) else v
        elif hint in (datetime, datetime | None):
            found[name] = lambda v: v.astimezone(UTC) if isinstance(v, datetime) else v
    return found


def _stored(item: T) -> T:
    """The copy the store keeps: as the database would give it back."""
    stored = copy.deepcopy(item)
    for name, coerce in _coercions(type(item)).items():  # type: ignore[arg-type]  # types hash
        value = getattr(stored, name)
        check_aware(value)
        setattr(stored, name, coerce(value))
    return stored


class InMemoryStore:
    """The committed state every unit of work of one factory shares."""

    def __init__(self) -> None:
        self.rows: dict[type[Any], dict[int, Any]] = defaultdict(dict)
        self.ids: dict[type[Any], Iterator[int]] = defaultdict(lambda: itertools.count(1))
        self.held: dict[tuple[type[Any], int], InMemoryUnitOfWork] = {}
        """(entity, id) → the open unit of work that holds the row (guarded write, claim)."""
        self.inbound: dict[str, datetime] = {}
        """Committed inbound delivery keys."""
        self.inbound_pending: dict[str, InMemoryUnitOfWork] = {}
        """Inbound keys recorded by a unit of work still open (as a row a transaction has
        inserted but not committed: a second unit of work does not record it again)."""


class InMemoryRepository(Generic[T]):
    def __init__(self, uow: InMemoryUnitOfWork, entity: type[T]) -> None:
        self._uow = uow
        self._entity = entity
        self._names = frozenset(f.name for f in fields(entity))  # type: ignore[arg-type]

    def _visible(self) -> dict[int, T]:
        """Committed rows overlaid with this unit of work's own changes (None = deleted)."""
        rows = dict(self._uow.store.rows[self._entity])
        for id, item in self._uow.pending[self._entity].items():
            if item is None:
                rows.pop(id, None)
            else:
                rows[id] = item
        return rows

    def _lookup(self, id: int) -> T | None:
        pending = self._uow.pending[self._entity]
        return pending[id] if id in pending else self._uow.store.rows[self._entity].get(id)

    def _write(self, item: Any) -> None:
        stored = _stored(item)
        for unique in UNIQUE.get(self._entity, ()):
            key = unique(stored)
            if key is not None and any(
                unique(row) == key for id, row in self._visible().items() if id != item.id
            ):
                raise Conflict(f"That would duplicate an existing {self._entity.__name__} record.")
        self._uow.pending[self._entity][item.id] = stored

    def _select(self, where: dict[str, object], order_by: str | None) -> list[T]:
        matches = predicate(self._entity, self._names, where)
        found = [row for row in self._visible().values() if matches(row)]
        return ordered(self._entity, self._names, found, order_by)

    async def add(self, item: T) -> T:
        target: Any = item
        if target.id:
            raise ValueError(f"{item!r} is already stored")
        target.id = next(self._uow.store.ids[self._entity])
        try:
            self._write(target)
        except Conflict:
            target.id = 0
            raise
        return item

    async def get(self, id: int) -> T | None:
        return copy.deepcopy(self._lookup(id))

    async def save(self, item: T) -> None:
        id = getattr(item, "id", 0)
        if self._lookup(id) is None:
            raise LookupError(f"no {self._entity.__name__} with id {id} to save")
        self._write(item)

    async def delete(self, id: int) -> None:
        if self._lookup(id) is not None:
            self._uow.pending[self._entity][id] = None

    async def find(
        self, *, order_by: str | None = None, limit: int | None = None, **where: object
    ) -> list[T]:
        return copy.deepcopy(self._select(where, order_by)[:limit])

    async def first(self, *, order_by: str | None = None, **where: object) -> T | None:
        found = await self.find(order_by=order_by, limit=1, **where)
        return found[0] if found else None

    async def count(self, **where: object) -> int:
        return len(self._select(where, None))

    async def set_if(self, id: int, field: str, value: object, *, expected: object) -> bool:
        return await self._write_if(id, {field: expected}, lambda item: setattr(item, field, value))

    async def save_if(self, item: T, *, expected: Mapping[str, object]) -> bool:
        changed = copy.deepcopy(item)
        return await self._write_if(
            getattr(item, "id", 0),
            expected,
            lambda stored: stored.__dict__.update(changed.__dict__),
        )

    async def _write_if(
        self, id: int, expected: Mapping[str, object], change: Callable[[Any], None]
    ) -> bool:
        """The one guarded write (see the module docstring)."""
        if "id" in expected:
            raise ValueError("the guard is on the row's other fields; its id is given")
        await asyncio.sleep(0)
        await self._uow.hold(self._entity, id)
        if not self._select({"id": id, **expected}, None):
            return False
        item = copy.deepcopy(self._lookup(id))
        change(item)
        self._write(item)
        return True


class InMemoryOutboxRepository(InMemoryRepository[OutboxMessage]):
    def __init__(self, uow: InMemoryUnitOfWork) -> None:
        super().__init__(uow, OutboxMessage)

    async def enqueue(self, item: OutboxMessage) -> bool:
        if await self.count(key=item.key):
            return False
        await self.add(item)
        return True

    async def enqueue_all(self, items: Sequence[OutboxMessage]) -> list[bool]:
        return [await self.enqueue(item) for item in items]

    async def save_all(self, items: Sequence[OutboxMessage]) -> None:
        for item in items:
            await self.save(item)

    async def claim_due(
        self,
        *,
        now: datetime,
        limit: int,
        platforms: Collection[Platform],
        lease_until: datetime,
    ) -> list[OutboxMessage]:
        held = self._uow.store.held
        due = [
            row
            for row in self._select(
                {
                    "state": OutboxState.PENDING,
                    "next_attempt_at__lte": now,
                    "platform": list(platforms),
                },
                None,
            )
            if held.get((OutboxMessage, row.id), self._uow) is self._uow
        ]
        due.sort(key=lambda row: (row.next_attempt_at, row.id))
        claimed = sorted(due[:limit], key=lambda row: row.id)
        for row in claimed:
            held[(OutboxMessage, row.id)] = self._uow
            leased = copy.deepcopy(row)
            leased.next_attempt_at = lease_until
            self._write(leased)
        return [copy.deepcopy(self._lookup(row.id)) for row in claimed]  # type: ignore[misc]


class InMemoryInboundRepository:
    def __init__(self, uow: InMemoryUnitOfWork) -> None:
        self._uow = uow
        self.recorded: dict[str, datetime] = {}

    async def record(self, key: str, *, at: datetime) -> bool:
        store = self._uow.store
        if key in store.inbound or store.inbound_pending.get(key, self._uow) is not self._uow:
            return False
        if key in self.recorded:
            return False
        store.inbound_pending[key] = self._uow
        self.recorded[key] = at
        return True

    async def prune(self, *, before: datetime) -> int:
        old = [key for key, at in self._uow.store.inbound.items() if at < before]
        for key in old:
            del self._uow.store.inbound[key]
        return len(old)


class InMemoryUnitOfWork:
    def __init__(self, store: InMemoryStore) -> None:
        self.store = store
        self.pending: dict[type[Any], dict[int, Any]] = defaultdict(dict)
        self.committed = False
        self.ended = asyncio.Event()
        self.organizations: Repository[model.Organization] = InMemoryRepository(
            self, model.Organization
        )
        self.workspaces: Repository[model.Workspace] = InMemoryRepository(self, model.Workspace)
        self.people: Repository[model.Person] = InMemoryRepository(self, model.Person)
        self.identities: Repository[model.Identity] = InMemoryRepository(self, model.Identity)
        self.projects: Repository[model.Project] = InMemoryRepository(self, model.Project)
        self.channels: Repository[model.ProjectChannel] = InMemoryRepository(
            self, model.ProjectChannel
        )
        self.stakeholders: Repository[model.Stakeholder] = InMemoryRepository(
            self, model.Stakeholder
        )
        self.raci: Repository[model.RaciEntry] = InMemoryRepository(self, model.RaciEntry)
        self.delegations: Repository[model.Delegation] = InMemoryRepository(self, model.Delegation)
        self.asks: Repository[model.Ask] = InMemoryRepository(self, model.Ask)
        self.blockers: Repository[model.Blocker] = InMemoryRepository(self, model.Blocker)
        self.updates: Repository[model.Update] = InMemoryRepository(self, model.Update)
        self.measures: Repository[model.Measure] = InMemoryRepository(self, model.Measure)
        self.observations: Repository[model.Observation] = InMemoryRepository(
            self, model.Observation
        )
        self.reviews: Repository[model.Review] = InMemoryRepository(self, model.Review)
        self.decisions: Repository[model.Decision] = InMemoryRepository(self, model.Decision)
        self.conversation: Repository[model.ConversationEntry] = InMemoryRepository(
            self, model.ConversationEntry
        )
        self.preferences: Repository[model.CadencePreference] = InMemoryRepository(
            self, model.CadencePreference
        )
        self.feedback: Repository[model.Feedback] = InMemoryRepository(self, model.Feedback)
        self.threads: Repository[model.Thread] = InMemoryRepository(self, model.Thread)
        self.audit: Repository[model.AuditEvent] = InMemoryRepository(self, model.AuditEvent)
        self.codes: Repository[model.LinkCode] = InMemoryRepository(self, model.LinkCode)
        self.outbox: OutboxRepository = InMemoryOutboxRepository(self)
        self._inbound = InMemoryInboundRepository(self)
        self.inbound: InboundRepository = self._inbound

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.rollback()

    async def hold(self, entity: type[Any], id: int) -> None:
        """Take a row until this unit ends, waiting while another open unit holds it."""
        key = (entity, id)
        while (owner := self.store.held.get(key)) not in (None, self):
            assert owner is not None
            await owner.ended.wait()
        self.store.held[key] = self

    def _end(self) -> None:
        self.pending.clear()
        for key in [key for key, owner in self.store.held.items() if owner is self]:
            del self.store.held[key]
        self.ended.set()
        self.ended = asyncio.Event()
        for key in self._inbound.recorded:
            self.store.inbound_pending.pop(key, None)
        self._inbound.recorded.clear()

    async def commit(self) -> None:
        for entity, changes in self.pending.items():
            rows = self.store.rows[entity]
            for id, item in changes.items():
                if item is None:
                    rows.pop(id, None)
                else:
                    rows[id] = item
        self.store.inbound.update(self._inbound.recorded)
        self.committed = True
        self._end()

    async def rollback(self) -> None:
        self._end()


def make_memory_uow_factory(store: InMemoryStore | None = None) -> UnitOfWorkFactory:
    """Units of work over one shared in-memory store (a new one unless given)."""
    shared = store or InMemoryStore()

    def factory() -> UnitOfWork:
        return InMemoryUnitOfWork(shared)

    return factory
