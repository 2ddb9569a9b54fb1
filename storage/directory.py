"""The directory tables, kept in memory by each process one organization at a time.

Why: every command resolves who is calling, the project, its RACI matrix and stakeholders, the
people it names and where each of them is reached (identities, project channels, workspaces).
On the ack path of a slash command that was a dozen reads per request, more than the rest of
the work together (``bench/slack_ack.py``). These rows change rarely — a person joins, a
project gets a channel, a RACI letter moves — and one organization's share is small, so a
process keeps a copy of each organization's share, loaded when first needed. Never a whole
table: with a thousand organizations, a whole-table copy made every process reload every
organization's identities each time a new user anywhere made first contact (issue #14).

Freshness: a trigger bumps a counter per (table, organization) in ``directory_versions`` on
every write (migration 0012), whoever writes: another server process on the same PostgreSQL,
the CLI, an administrator's SQL. A unit of work reads an organization's counters once, at its
first read from that organization's copy (one statement), reloads that organization's tables
whose counter moved as it needs them, and answers every later read within that organization
from that copy: it sees the organization's directory as it was when it first looked, as a
repeatable read would. A write in one organization moves that organization's counters only, so
nothing of another organization is ever reloaded for it. A child table (identities through
their person, project channels, stakeholders and RACI through their project) is also reloaded
when its parent's counter moves: a parent that changed organization takes its children along.

Which copy answers: a unit of work bound to an organization (``bot.tenancy.bound`` tells it)
reads that organization's copy and counters only. An unbound one (identify, the cadence jobs)
answers from the copy of the organization its last directory read met, so a job working
through one ask, then another, pays for a copy only when it moves to another organization. A
read goes to a copy only when the copy holds every row it could select: ``organization_id``
(an organization's ``id``) equal to that organization, every parent id (person, project) in
that organization's copy of the parent, or a ``get`` whose row is in it. Anything else — a
workspace by platform id, an identity by (workspace, user), a row of an organization not met
yet — is an indexed read of the database.

A unit of work that writes a directory table reads the directory from the database from then
on, so it sees its own writes; its commit moves the counters, and the next unit of work
reloads. Counters are read, and tables reloaded, on a connection that sees committed data only
(on SQLite the batcher's reading connection, never the writer with a batch open), so a copy
never holds a write that might yet be rolled back.
"""

from __future__ import annotations

from collections import OrderedDict, defaultdict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Generic, TypeVar

from sqlalchemy import BindParameter, Executable, bindparam, select
from sqlalchemy.engine import Result

from bot import model
from bot.criteria import check_aware, ordered, predicate
from storage.repositories import Params, SqlRepository, Statements
from storage.tables import DIRECTORY_VERSIONS, TABLES

__all__ = [
    "DIRECTORY",
    "ORGANIZATIONS_HELD",
    "SCOPES",
    "VERSIONS_SQL",
    "Counters",
    "Directory",
    "DirectoryRepository",
    "DirectoryView",
    "Scope",
    "counters_read_by",
]

T = TypeVar("T")


@dataclass(frozen=True)
class Scope:
    """How a directory table's rows belong to an organization."""

    column: str
    """The column naming the owner."""
    parent: type[Any] | None = None
    """The entity ``column`` points at, whose ``organization_id`` is the owner; None when
    ``column`` is the organization itself."""


SCOPES: dict[type[Any], Scope] = {
    model.Organization: Scope("id"),
    model.Workspace: Scope("organization_id"),
    model.Person: Scope("organization_id"),
    model.Identity: Scope("person_id", model.Person),
    model.Project: Scope("organization_id"),
    model.ProjectChannel: Scope("project_id", model.Project),
    model.Stakeholder: Scope("project_id", model.Project),
    model.RaciEntry: Scope("project_id", model.Project),
    model.Delegation: Scope("organization_id"),
}
"""The entities kept in memory (read on every command, written rarely) and their owners: the
same parents ``bot.tenancy.RULES`` filters through, and the triggers of migration 0012 count."""

DIRECTORY: tuple[type[Any], ...] = tuple(SCOPES)

Read = Callable[[Executable, Params], Awaitable[Result[Any]]]
"""Runs a statement on a connection that sees committed data only."""

Counters = Callable[[int], Awaitable[Mapping[str, int]]]
"""Reads one organization's committed ``directory_versions`` counters: table name → version
(a table written by nobody since migration 0012 has none: version 0)."""

VERSIONS_SQL = "SELECT name, version FROM directory_versions WHERE organization_id = ?"
"""The counters' query as plain SQL, for a driver connection (see ``storage.uow``)."""

_VERSIONS = select(DIRECTORY_VERSIONS.c.name, DIRECTORY_VERSIONS.c.version).where(
    DIRECTORY_VERSIONS.c.organization_id == bindparam("organization")
)


def counters_read_by(read: Read) -> Counters:
    """The counters through SQLAlchemy (PostgreSQL: the unit of work's own session)."""

    async def counters(organization_id: int) -> Mapping[str, int]:
        rows = await read(_VERSIONS, {"organization": organization_id})
        return {row.name: row.version for row in rows}

    return counters


@dataclass(frozen=True)
class _Source:
    """How one entity's copy for an organization is loaded and when it is stale."""

    entity: type[Any]
    names: frozenset[str]
    counters: tuple[str, ...]
    """The counters its version is made of: its table's, then its parent's."""
    load: Executable
    """Its rows of the organization bound as ``organization``, in id order."""


def _source(entity: type[Any]) -> _Source:
    table, scope = TABLES[entity], SCOPES[entity]
    organization: BindParameter[int] = bindparam("organization")
    if scope.parent is None:
        load = select(table).where(table.c[scope.column] == organization)
        counters: tuple[str, ...] = (table.name,)
    else:
        parent = TABLES[scope.parent]
        load = (
            select(table)
            .join(parent, parent.c.id == table.c[scope.column])
            .where(parent.c.organization_id == organization)
        )
        counters = (table.name, parent.name)
    return _Source(
        entity=entity,
        names=frozenset(f.name for f in fields(entity)),
        counters=counters,
        load=load.order_by(table.c.id),
    )


_SOURCES: dict[type[Any], _Source] = {entity: _source(entity) for entity in DIRECTORY}


@dataclass(eq=False)
class TableCopy(Generic[T]):
    """One organization's rows of one table at one version, with the indexes ``find`` has
    needed so far."""

    entity: type[T]
    version: tuple[int, ...]
    rows: dict[int, T]
    names: frozenset[str]
    _indexes: dict[tuple[str, ...], dict[tuple[object, ...], list[T]]] = field(default_factory=dict)

    def get(self, id: int) -> T | None:
        row = self.rows.get(id)
        return _copy(row) if row is not None else None

    def find(self, order_by: str | None, limit: int | None, where: dict[str, object]) -> list[T]:
        found = self._matching(where)
        if order_by not in (None, "id"):
            found = ordered(self.entity, self.names, found, order_by)
        return [_copy(row) for row in found[:limit]]

    def count(self, where: dict[str, object]) -> int:
        return len(self._matching(where))

    def _matching(self, where: dict[str, object]) -> list[T]:
        """The rows ``where`` selects, in id order. Its plain ``field=value`` criteria pick the
        rows through one index on all of those fields (built on first use: a find is one dict
        lookup, not a scan of what the first field alone selects); the others test each row."""
        keys = tuple(sorted(k for k, v in where.items() if k in self.names and _hashable(v)))
        ids = where.get("id")
        if not keys and isinstance(ids, list | tuple | set | frozenset):
            # id IN (…): the names of a handful of people, on every command.
            candidates = [self.rows[i] for i in sorted({i for i in ids if i in self.rows})]
            rest = {k: v for k, v in where.items() if k != "id"}
        elif not keys:
            candidates, rest = list(self.rows.values()), where
        else:
            for key in keys:
                check_aware(where[key])
            candidates = self._index(keys).get(tuple(where[key] for key in keys), [])
            rest = {k: v for k, v in where.items() if k not in keys}
        if not rest:
            return candidates
        matches = predicate(self.entity, self.names, rest)
        return [row for row in candidates if matches(row)]

    def _index(self, names: tuple[str, ...]) -> dict[tuple[object, ...], list[T]]:
        index = self._indexes.get(names)
        if index is None:
            grouped: defaultdict[tuple[object, ...], list[T]] = defaultdict(list)
            for row in self.rows.values():
                grouped[tuple(getattr(row, name) for name in names)].append(row)
            self._indexes[names] = index = dict(grouped)
        return index


_LIST_FIELDS: dict[type[Any], tuple[str, ...]] = {
    entity: names
    for entity in DIRECTORY
    if (names := tuple(f.name for f in fields(entity) if str(f.type).startswith("list[")))
}
"""The directory's list fields (an organization's ``admin_ids``): copied with the row, so a
caller changing its copy never changes the process's."""


def _copy(row: T) -> T:
    """A copy to hand out: shallow but for its lists; cheaper than ``copy.copy``, which goes
    through the pickle protocol."""
    duplicate = object.__new__(type(row))
    duplicate.__dict__.update(row.__dict__)
    for name in _LIST_FIELDS.get(type(row), ()):
        duplicate.__dict__[name] = list(row.__dict__[name])
    return duplicate


def _hashable(value: object) -> bool:
    """A collection means IN (no single index key); a dict is no column value."""
    return not isinstance(value, list | tuple | set | frozenset | dict)


ORGANIZATIONS_HELD = 256
"""Organizations whose copies a process keeps at most. An organization's copy is a few hundred
KB per hundred people; a server holding every one of a thousand organizations held ~700 MB
(issue #14). Past this many, the one used least recently is dropped and reloaded (one indexed
read per table) when next needed."""


class Directory:
    """One database's directory copies, per organization (see the module docstring); owned by
    its :class:`storage.database.Database`, shared by every unit of work on it. Holds at most
    ``organizations`` organizations' copies, dropping the least recently used."""

    def __init__(self, *, organizations: int = ORGANIZATIONS_HELD) -> None:
        self._copies: OrderedDict[int, dict[type[Any], TableCopy[Any]]] = OrderedDict()
        self._organizations = organizations

    def held(self) -> list[int]:
        """The organizations with copies in memory, least recently used first."""
        return list(self._copies)

    async def table(
        self, organization_id: int, entity: type[T], versions: Mapping[str, int], read: Read
    ) -> TableCopy[T]:
        """The organization's copy of ``entity`` at ``versions`` (its committed counters):
        the one held, or loaded now with ``read`` when its counters moved."""
        source = _SOURCES[entity]
        version = tuple(versions.get(name, 0) for name in source.counters)
        held = self._tables(organization_id).get(entity)
        if held is not None and held.version == version:
            return held
        result = await read(source.load, {"organization": organization_id})
        rows = {row["id"]: entity(**row) for row in result.mappings()}
        loaded = TableCopy(entity=entity, version=version, rows=rows, names=source.names)
        # Another unit of work may have loaded a newer version meanwhile: keep that.
        tables = self._tables(organization_id)
        held = tables.get(entity)
        if held is None or held.version < version:
            tables[entity] = loaded
        return loaded

    def _tables(self, organization_id: int) -> dict[type[Any], TableCopy[Any]]:
        """The organization's copies, now the most recently used (made, and the least
        recently used organization dropped, when it has none)."""
        tables = self._copies.get(organization_id)
        if tables is not None:
            self._copies.move_to_end(organization_id)
            return tables
        tables = self._copies[organization_id] = {}
        while len(self._copies) > self._organizations:
            self._copies.popitem(last=False)
        return tables


class DirectoryView:
    """One unit of work's look at the directory: each organization's copy as the unit first
    saw it, dropped for good once the unit writes a directory table."""

    def __init__(self, directory: Directory, read: Read, counters: Counters) -> None:
        self._directory = directory
        self._read = read
        self._counters = counters
        self._bound: int | None = None
        self._met: int | None = None
        """The organization whose copy answers: the bound one, or the last one met."""
        self._versions: dict[int, Mapping[str, int]] = {}
        self._tables: dict[tuple[int, type[Any]], TableCopy[Any]] = {}
        self._database = False
        """Every read goes to the database from now on."""

    def bind(self, organization_id: int) -> None:
        """From now on the unit works in this organization only (``bot.tenancy.bound``); a
        unit bound to two reads the database."""
        if self._bound not in (None, organization_id):
            self._database = True
        self._bound = self._met = organization_id

    def wrote(self) -> None:
        self._database = True

    def met(self, row: object) -> None:
        """A directory row read from the database: an unbound unit answers what follows from
        the copy of that row's organization."""
        if self._bound is None:
            scope = SCOPES[type(row)]
            if scope.parent is None:
                self._met = getattr(row, scope.column)

    async def get(self, entity: type[T], id: int) -> T | None:
        """Row ``id`` from the copy, or None: it is not there, read the database."""
        if self._database or self._met is None:
            return None
        return (await self._held(self._met, entity)).get(id)

    async def holding(self, entity: type[T], where: Mapping[str, object]) -> TableCopy[T] | None:
        """The copy that holds every row ``where`` can select, or None: read the database."""
        if self._database:
            return None
        scope = SCOPES[entity]
        value = where.get(scope.column)
        if value is None and "id" in where:
            return await self._holding_ids(entity, where["id"])
        if scope.parent is None:
            if type(value) is not int or self._bound not in (None, value):
                return None
            self._met = value
            return await self._held(value, entity)
        ids = _ids(value)
        if not ids or self._met is None:
            return None
        parents = await self._held(self._met, scope.parent)
        if not ids <= parents.rows.keys():
            return None
        return await self._held(self._met, entity)

    async def _holding_ids(self, entity: type[T], value: object) -> TableCopy[T] | None:
        """Rows picked by their ids alone (``names_of``: people by id): the copy of the
        organization this unit reads, when it has every one of them; else None. An id is
        one row's in the whole database, so the copy's answer is the database's."""
        ids = _ids(value)
        if not ids or self._met is None:
            return None
        table = await self._held(self._met, entity)
        return table if ids <= table.rows.keys() else None

    async def _held(self, organization_id: int, entity: type[T]) -> TableCopy[T]:
        key = (organization_id, entity)
        table = self._tables.get(key)
        if table is None:
            versions = self._versions.get(organization_id)
            if versions is None:
                versions = await self._counters(organization_id)
                self._versions[organization_id] = versions
            table = await self._directory.table(organization_id, entity, versions, self._read)
            self._tables[key] = table
        return table


def _ids(value: object) -> set[int] | None:
    """The parent ids a criterion names (one, or IN), or None when it is anything else."""
    if type(value) is int:
        return {value}
    if isinstance(value, list | tuple | set | frozenset) and all(type(v) is int for v in value):
        return set(value)
    return None


class DirectoryRepository(SqlRepository[T]):
    """A directory entity's repository: reads from the unit of work's view where a copy holds
    the answer, else from the database; writes to the database (and from then on the unit
    reads the database)."""

    def __init__(self, session: Statements, entity: type[T], view: DirectoryView) -> None:
        super().__init__(session, entity)
        self._view = view

    async def add(self, item: T) -> T:
        self._view.wrote()
        return await super().add(item)

    async def save(self, item: T) -> None:
        self._view.wrote()
        await super().save(item)

    async def delete(self, id: int) -> None:
        self._view.wrote()
        await super().delete(id)

    async def _update_if(self, id: int, values: Params, expected: Mapping[str, object]) -> bool:
        self._view.wrote()
        return await super()._update_if(id, values, expected)

    async def get(self, id: int) -> T | None:
        row = await self._view.get(self._entity, id)
        if row is None:
            row = await super().get(id)
            if row is not None:
                self._view.met(row)
        return row

    async def find(
        self, *, order_by: str | None = None, limit: int | None = None, **where: object
    ) -> list[T]:
        table = await self._view.holding(self._entity, where)
        if table is not None:
            return table.find(order_by, limit, where)
        found = await super().find(order_by=order_by, limit=limit, **where)
        if found:
            self._view.met(found[0])
        return found

    async def count(self, **where: object) -> int:
        table = await self._view.holding(self._entity, where)
        return await super().count(**where) if table is None else table.count(where)
