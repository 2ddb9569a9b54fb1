"""The directory tables, kept in memory by each process and served to its units of work.

Why: every command resolves who is calling, the project, its RACI matrix and stakeholders, the
people it names and where each of them is reached (identities, project channels, workspaces).
On the ack path of a slash command that was a dozen reads per request, more than the rest of
the work together (``bench/slack_ack.py``). These tables change rarely — a person joins, a
project gets a channel, a RACI letter moves — and are small (one organization's people and
projects), so a process keeps a copy of them.

Freshness: a trigger bumps a counter per table in ``directory_versions`` on every write
(migration 0002), whoever writes: another server process on the same PostgreSQL, the CLI, an
administrator's SQL. A unit of work reads the counters once, at its first directory read (one
statement), reloads the tables whose counter moved, and then answers every directory read of
its life from that copy: it sees the directory as it was when it first looked, as a repeatable
read would. A unit of work that writes a directory table reads the directory from the database
from then on, so it sees its own writes; its commit moves the counters, and the next unit of
work reloads.

Counters are read, and tables reloaded, on a connection that sees committed data only (on
SQLite the batcher's reading connection, never the writer with a batch open), so the copy never
holds a write that might yet be rolled back.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Generic, TypeVar, cast

from sqlalchemy import Executable, Table, select
from sqlalchemy.engine import Result

from bot import model
from bot.criteria import check_aware, ordered, predicate
from storage.repositories import Params, SqlRepository, Statements
from storage.tables import DIRECTORY_VERSIONS, TABLES

__all__ = [
    "DIRECTORY",
    "VERSIONS_SQL",
    "Counters",
    "Directory",
    "DirectoryRepository",
    "DirectoryView",
    "counters_read_by",
]

T = TypeVar("T")

DIRECTORY: tuple[type[Any], ...] = (
    model.Organization,
    model.Workspace,
    model.Person,
    model.Identity,
    model.Project,
    model.ProjectChannel,
    model.Stakeholder,
    model.RaciEntry,
    model.Delegation,
)
"""The entities kept in memory: read on every command, written rarely."""

Read = Callable[[Executable], Awaitable[Result[Any]]]
"""Runs a statement on a connection that sees committed data only."""

Counters = Callable[[], Awaitable[Mapping[str, int]]]
"""Reads the committed ``directory_versions`` counters: table name → version."""

VERSIONS_SQL = "SELECT name, version FROM directory_versions"
"""The counters' query as plain SQL, for a driver connection (see ``storage.uow``)."""

_VERSIONS = select(DIRECTORY_VERSIONS.c.name, DIRECTORY_VERSIONS.c.version)

_TABLES: tuple[tuple[type[Any], Table], ...] = tuple(
    (entity, TABLES[entity]) for entity in DIRECTORY
)


def counters_read_by(read: Read) -> Counters:
    """The counters through SQLAlchemy (PostgreSQL: the unit of work's own session)."""

    async def counters() -> Mapping[str, int]:
        return {row.name: row.version for row in await read(_VERSIONS)}

    return counters


@dataclass(eq=False)
class TableCopy(Generic[T]):
    """One table's rows at one version, with the indexes ``find`` has needed so far."""

    entity: type[T]
    version: int
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


class Directory:
    """One database's directory tables in memory (see the module docstring); owned by its
    :class:`storage.database.Database`, shared by every unit of work on it."""

    def __init__(self) -> None:
        self._tables: dict[type[Any], TableCopy[Any]] = {}
        self._last: tuple[Mapping[str, int], dict[type[Any], TableCopy[Any]]] | None = None
        """The last counters read and the tables answered for them: nearly every unit of
        work finds the counters unchanged."""

    async def current(self, read: Read, counters: Counters) -> dict[type[Any], TableCopy[Any]]:
        """The tables as committed now: the counters are read, the tables that moved are
        reloaded (with ``read``). A table with no counter is left out, and its reads go to the
        database."""
        versions = await counters()
        if self._last is not None and self._last[0] == versions:
            return self._last[1]
        tables = {}
        for entity, table in _TABLES:
            version = versions.get(table.name)
            if version is None:
                continue
            held = self._tables.get(entity)
            if held is None or held.version != version:
                loaded = await self._load(read, entity, table, version)
                # Another unit of work may have loaded a newer version meanwhile: keep that.
                held = self._tables.get(entity)
                if held is None or held.version < version:
                    self._tables[entity] = held = loaded
                elif held.version != version:
                    held = loaded
            tables[entity] = held
        if all(tables[entity] is self._tables.get(entity) for entity in tables):
            self._last = (versions, tables)
        return tables

    @staticmethod
    async def _load(read: Read, entity: type[T], table: Table, version: int) -> TableCopy[T]:
        result = await read(select(table).order_by(table.c.id))
        rows = {row["id"]: entity(**row) for row in result.mappings()}
        names = frozenset(f.name for f in fields(cast(Any, entity)))
        return TableCopy(entity=entity, version=version, rows=cast(dict[int, T], rows), names=names)


class DirectoryView:
    """One unit of work's look at the directory: taken at its first directory read, dropped
    for good once it writes a directory table."""

    def __init__(self, directory: Directory, read: Read, counters: Counters) -> None:
        self._directory = directory
        self._read = read
        self._counters = counters
        self._tables: dict[type[Any], TableCopy[Any]] | None = None
        self._wrote = False

    async def table(self, entity: type[T]) -> TableCopy[T] | None:
        """The copy to answer from, or None: read the database."""
        if self._wrote:
            return None
        if self._tables is None:
            self._tables = await self._directory.current(self._read, self._counters)
        return self._tables.get(entity)

    def wrote(self) -> None:
        self._wrote = True


class DirectoryRepository(SqlRepository[T]):
    """A directory entity's repository: reads from the unit of work's view when it has one,
    writes to the database (and from then on the unit reads the database)."""

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
        table = await self._view.table(self._entity)
        return await super().get(id) if table is None else table.get(id)

    async def find(
        self, *, order_by: str | None = None, limit: int | None = None, **where: object
    ) -> list[T]:
        table = await self._view.table(self._entity)
        if table is None:
            return await super().find(order_by=order_by, limit=limit, **where)
        return table.find(order_by, limit, where)

    async def count(self, **where: object) -> int:
        table = await self._view.table(self._entity)
        return await super().count(**where) if table is None else table.count(where)
