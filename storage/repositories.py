"""``bot.ports`` repositories over SQLAlchemy: one generic class for every entity (DESIGN §6).

Rows are read and written with Core statements on the mapped tables and turned into fresh
dataclasses, so nothing lives in the session's identity map: a caller who changes an object
without ``save`` changes nothing, exactly like the in-memory fake in ``tests/fakes.py``.

Every statement is built once per *shape* (entity, criteria names and kinds, order, limit) with
bound parameters, and then only executed with values: building a statement and its cache key
costs SQLAlchemy ten times what executing a built one does, and the ack path of a slash command
runs a dozen of them (see ``bench/slack_ack.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import fields
from datetime import datetime
from functools import cache, lru_cache
from typing import Any, Generic, Protocol, TypeVar, cast

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Executable,
    Table,
    bindparam,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy import insert as generic_insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult, Result
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.sql.elements import UnaryExpression

from bot.criteria import criterion
from bot.errors import Conflict
from bot.model import OutboxMessage, OutboxState, Platform
from storage.tables import INBOUND_DELIVERIES, TABLES

T = TypeVar("T")

SHAPES = 1024
"""Built statements kept per kind: far more shapes than the code has (a limit taken from a
request, say, cannot grow the cache without bound)."""

Params = dict[str, Any]


class Statements(Protocol):
    """Where repositories run their statements: a :class:`storage.uow.Session`, or on SQLite
    the unit of work's :class:`storage.sqlite.batching.BatchedTransaction`."""

    async def execute(self, statement: Executable, params: Params | None = None) -> Result[Any]: ...

    async def execute_each(
        self, statement: Executable, params: Sequence[Params]
    ) -> list[Result[Any]]:
        """``statement`` once per parameter set, in order, each one's result: in one round trip
        where the database allows (SQLite's writer: one hop to its thread, not one per row)."""
        ...


_COMPARISONS: dict[str, Callable[[ColumnElement[Any], BindParameter[Any]], ColumnElement[bool]]] = {
    "lt": lambda column, value: column < value,
    "lte": lambda column, value: column <= value,
    "gt": lambda column, value: column > value,
    "gte": lambda column, value: column >= value,
}

_NULL, _ONE, _MANY, _MANY_OR_NULL = "null", "one", "many", "many|null"
"""How a criterion's value shapes its SQL: ``None`` (IS NULL), one value, a collection, a
collection holding ``None`` too."""


def _kind(value: object) -> str:
    if value is None:
        return _NULL
    if not isinstance(value, list | tuple | set | frozenset):
        return _ONE
    return _MANY_OR_NULL if None in value else _MANY


def _present(value: object) -> list[object]:
    return [v for v in cast(Collection[object], value) if v is not None]


def _condition(column: ColumnElement[Any], op: str, kind: str, param: str) -> ColumnElement[bool]:
    """One criterion as SQL with Python's meaning: ``field=None`` is IS NULL, a collection is IN
    (a ``None`` in it matches NULL too), and NULL differs from every value but ``None``."""
    if op == "":
        if kind == _NULL:
            return column.is_(None)
        if kind == _ONE:
            return column == bindparam(param)
        matches = column.in_(bindparam(param, expanding=True))
        return or_(matches, column.is_(None)) if kind == _MANY_OR_NULL else matches
    if op == "ne":
        if kind == _NULL:
            return column.is_not(None)
        if kind == _ONE:
            return column.is_distinct_from(bindparam(param))
        if kind == _MANY_OR_NULL:
            return ~_condition(column, "", kind, param)
        return or_(column.not_in(bindparam(param, expanding=True)), column.is_(None))
    return _COMPARISONS[op](column, bindparam(param))


@cache
def _columns(table: Table) -> frozenset[str]:
    return frozenset(table.c.keys())


Shape = tuple[tuple[str, str, str], ...]
"""(field, suffix, kind) per criterion: what a built statement depends on."""


def _criteria(table: Table, where: Mapping[str, object]) -> tuple[Shape, Params]:
    """The criteria's shape, checked, and the values its statement runs with (``p0``, ``p1``…
    in criteria order).

    Raises:
        ValueError: for a criterion ``bot.criteria.criterion`` refuses.
    """
    shape = []
    params: Params = {}
    for index, (key, value) in enumerate(where.items()):
        name, op = criterion(table.name, _columns(table), key, value)
        kind = _kind(value)
        shape.append((name, op, kind))
        if kind == _ONE:
            params[f"p{index}"] = value
        elif kind != _NULL:
            params[f"p{index}"] = _present(value)
    return tuple(shape), params


def _where(table: Table, shape: Shape) -> list[ColumnElement[bool]]:
    return [
        _condition(table.c[name], op, kind, f"p{index}")
        for index, (name, op, kind) in enumerate(shape)
    ]


def _order(table: Table, order_by: str | None) -> list[UnaryExpression[Any]]:
    """``field`` or ``-field``, then ``id`` in the same direction so the order is total. NULLs
    sort after every value (PostgreSQL's rule, made explicit so SQLite agrees)."""
    name = (order_by or "id").removeprefix("-")
    if name not in table.c:
        raise ValueError(f"{table.name} has no field {name!r} to order by")
    descending = bool(order_by and order_by.startswith("-"))
    keys = [table.c[name]] if name == "id" else [table.c[name], table.c.id]
    if descending:
        return [key.desc().nulls_first() for key in keys]
    return [key.asc().nulls_last() for key in keys]


@cache
def _shape(entity: type) -> tuple[Table, tuple[str, ...]]:
    """An entity's table and stored fields."""
    table = TABLES[entity]
    return table, tuple(f.name for f in fields(cast(Any, entity)) if f.name != "id")


@lru_cache(maxsize=SHAPES)
def _find(table: Table, shape: Shape, order_by: str | None, limit: int | None) -> Executable:
    return (
        select(table).where(*_where(table, shape)).order_by(*_order(table, order_by)).limit(limit)
    )


@lru_cache(maxsize=SHAPES)
def _count(table: Table, shape: Shape) -> Executable:
    return select(func.count()).select_from(table).where(*_where(table, shape))


@cache
def _insert(table: Table) -> Executable:
    return generic_insert(table).returning(table.c.id)


@cache
def _update(table: Table) -> Executable:
    return update(table).where(table.c.id == bindparam("row_id"))


@lru_cache(maxsize=SHAPES)
def _update_if(table: Table, shape: Shape) -> Executable:
    """``UPDATE … WHERE <criteria>``; the columns it sets are the parameters named after them."""
    return update(table).where(*_where(table, shape))


@cache
def _delete(table: Table) -> Executable:
    return delete(table).where(table.c.id == bindparam("row_id"))


@cache
def _enqueue(table: Table, dialect: str, returned: str = "id") -> Executable:
    """Insert unless the ``key`` is taken, returning ``returned`` of the row inserted (none when
    it was taken). Built once per table: on SQLite a fresh statement would be compiled anew on
    every call (``storage/sqlite/inserts.py`` caches compiled statements by statement)."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(table).on_conflict_do_nothing(index_elements=["key"]).returning(table.c[returned])


def is_foreign_key_violation(error: IntegrityError) -> bool:
    """Whether ``error`` is a foreign key's refusal (SQLite's message, PostgreSQL's SQLSTATE)."""
    original = error.orig
    return getattr(original, "sqlstate", None) == FOREIGN_KEY_VIOLATION or (
        "FOREIGN KEY constraint failed" in str(original)
    )


FOREIGN_KEY_VIOLATION = "23503"


class SqlRepository(Generic[T]):
    """``bot.ports.Repository`` for one entity, mapped field by field to its table.

    A unique constraint that an insert or update would break raises ``bot.errors.Conflict``;
    the unit of work must then be rolled back (PostgreSQL refuses further statements in it).
    """

    def __init__(self, session: Statements, entity: type[T]) -> None:
        self._session = session
        self._entity = entity
        self._table, self._fields = _shape(cast(type, entity))

    def _values(self, item: T) -> Params:
        return {name: getattr(item, name) for name in self._fields}

    async def _execute(self, statement: Executable, params: Params | None = None) -> Result[Any]:
        with self._refusals():
            return await self._session.execute(statement, params)

    async def _execute_each(
        self, statement: Executable, params: Sequence[Params]
    ) -> list[Result[Any]]:
        with self._refusals():
            return await self._session.execute_each(statement, params)

    @contextmanager
    def _refusals(self) -> Iterator[None]:
        """Turns a broken unique constraint into ``Conflict`` and a value the columns refuse (a
        naive datetime, an unknown enum value) back into ``ValueError``. A broken foreign key
        stays an ``IntegrityError``: a reference to a missing row is a bug, never a race a
        caller could retry or a user could be told about."""
        try:
            yield
        except IntegrityError as error:
            if is_foreign_key_violation(error):
                raise
            raise Conflict(
                f"That would duplicate an existing {self._table.name} record."
            ) from error
        except StatementError as error:
            if isinstance(error.orig, ValueError):
                raise error.orig from error
            raise

    async def _load(self, statement: Executable, params: Params) -> list[T]:
        result = await self._execute(statement, params)
        return [self._entity(**row) for row in result.mappings()]

    async def add(self, item: T) -> T:
        if cast(Any, item).id:
            raise ValueError(f"{item!r} is already stored")
        result = await self._execute(_insert(self._table), self._values(item))
        cast(Any, item).id = result.scalar_one()
        return item

    async def get(self, id: int) -> T | None:
        found = await self.find(limit=1, id=id)
        return found[0] if found else None

    async def save(self, item: T) -> None:
        await self._save_each([item])

    async def _save_each(self, items: Sequence[T]) -> None:
        params = [{**self._values(item), "row_id": cast(Any, item).id} for item in items]
        for values, result in zip(
            params, await self._execute_each(_update(self._table), params), strict=True
        ):
            if cast(CursorResult[Any], result).rowcount != 1:
                raise LookupError(f"no {self._table.name} row with id {values['row_id']} to save")

    async def delete(self, id: int) -> None:
        await self._execute(_delete(self._table), {"row_id": id})

    async def find(
        self, *, order_by: str | None = None, limit: int | None = None, **where: object
    ) -> list[T]:
        shape, params = _criteria(self._table, where)
        return await self._load(_find(self._table, shape, order_by, limit), params)

    async def first(self, *, order_by: str | None = None, **where: object) -> T | None:
        found = await self.find(order_by=order_by, limit=1, **where)
        return found[0] if found else None

    async def count(self, **where: object) -> int:
        shape, params = _criteria(self._table, where)
        return int((await self._execute(_count(self._table, shape), params)).scalar_one())

    async def set_if(self, id: int, field: str, value: object, *, expected: object) -> bool:
        return await self._update_if(id, {field: value}, {field: expected})

    async def save_if(self, item: T, *, expected: Mapping[str, object]) -> bool:
        return await self._update_if(cast(Any, item).id, self._values(item), expected)

    async def _update_if(self, id: int, values: Params, expected: Mapping[str, object]) -> bool:
        """The one guarded write: ``values`` set by a single ``UPDATE … WHERE id = :id AND
        <expected>``, so the database decides who wins (a concurrent writer of the row waits
        for this unit on PostgreSQL, and then re-checks the criteria; SQLite has one writer)."""
        if "id" in expected:
            raise ValueError("the guard is on the row's other fields; its id is given")
        shape, params = _criteria(self._table, {"id": id, **expected})
        result = await self._execute(_update_if(self._table, shape), {**params, **values})
        return cast(CursorResult[Any], result).rowcount == 1


class SqlOutboxRepository(SqlRepository[OutboxMessage]):
    """The outbox: idempotent enqueue on the unique ``key``, and claiming due messages."""

    def __init__(self, session: Statements, *, dialect: str) -> None:
        super().__init__(session, OutboxMessage)
        self._dialect = dialect

    async def enqueue(self, item: OutboxMessage) -> bool:
        return (await self.enqueue_all([item]))[0]

    async def enqueue_all(self, items: Sequence[OutboxMessage]) -> list[bool]:
        statement = _enqueue(self._table, self._dialect)
        results = await self._execute_each(statement, [self._values(item) for item in items])
        for item, result in zip(items, results, strict=True):
            inserted = result.scalar_one_or_none()
            if inserted is not None:
                item.id = inserted
        return [bool(item.id) for item in items]

    async def save_all(self, items: Sequence[OutboxMessage]) -> None:
        await self._save_each(items)

    async def claim_due(
        self,
        *,
        now: datetime,
        limit: int,
        platforms: Collection[Platform],
        lease_until: datetime,
    ) -> list[OutboxMessage]:
        # One UPDATE … RETURNING: the rows are leased by the statement that finds them. On
        # PostgreSQL its subquery locks them (SKIP LOCKED: another claimant takes the next
        # ones); on SQLite it is a write, so it runs on the single writer inside the write lock
        # (BEGIN IMMEDIATE), after any other claim of this process or another.
        where = {
            "state": OutboxState.PENDING,
            "next_attempt_at__lte": now,
            "platform": list(platforms),
        }
        shape, params = _criteria(self._table, where)
        result = await self._execute(
            _claim(self._table, shape, limit), {**params, "lease_until": lease_until}
        )
        return sorted((OutboxMessage(**row) for row in result.mappings()), key=lambda row: row.id)


@lru_cache(maxsize=SHAPES)
def _claim(table: Table, shape: Shape, limit: int) -> Executable:
    """``UPDATE … SET next_attempt_at = :lease_until WHERE id IN (SELECT id … ORDER BY
    next_attempt_at LIMIT n FOR UPDATE SKIP LOCKED) RETURNING *``: the longest due are leased
    (SQLite renders no FOR UPDATE; its write lock serialises claims)."""
    due = (
        select(table.c.id)
        .where(*_where(table, shape))
        .order_by(table.c.next_attempt_at, table.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return (
        update(table)
        .where(table.c.id.in_(due.scalar_subquery()))
        .values(next_attempt_at=bindparam("lease_until"))
        .returning(*table.c)
    )


_PRUNE_INBOUND = delete(INBOUND_DELIVERIES).where(
    INBOUND_DELIVERIES.c.received_at < bindparam("before")
)


class SqlInboundRepository:
    """``bot.ports.InboundRepository``: one ``INSERT … ON CONFLICT DO NOTHING`` on the key.

    On PostgreSQL a second unit of work inserting the same key waits for the first to end and
    then inserts nothing, so of two concurrent deliveries one records and the other sees it.
    """

    def __init__(self, session: Statements, *, dialect: str) -> None:
        self._session = session
        self._record = _enqueue(INBOUND_DELIVERIES, dialect, "key")
        self._prune = _PRUNE_INBOUND

    async def record(self, key: str, *, at: datetime) -> bool:
        result = await self._session.execute(self._record, {"key": key, "received_at": at})
        return result.scalar_one_or_none() is not None

    async def prune(self, *, before: datetime) -> int:
        result = await self._session.execute(self._prune, {"before": before})
        return int(getattr(result, "rowcount", 0) or 0)
