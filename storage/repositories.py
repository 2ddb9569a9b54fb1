"""``bot.ports`` repositories over SQLAlchemy: one generic class for every entity (DESIGN §6).

Rows are read and written with Core statements on the mapped tables and turned into fresh
dataclasses, so nothing lives in the session's identity map: a caller who changes an object
without ``save`` changes nothing, exactly like the in-memory fake in ``tests/fakes.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import fields
from datetime import datetime
from functools import cache
from typing import Any, Generic, Protocol, TypeVar, cast

from sqlalchemy import ColumnElement, Select, Table, delete, false, func, or_, select, update
from sqlalchemy import insert as generic_insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult, Result
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.sql import Executable
from sqlalchemy.sql.elements import UnaryExpression

from bot.errors import Conflict
from bot.model import OutboxMessage, OutboxState, Platform
from storage.tables import ROWS

T = TypeVar("T")


class Statements(Protocol):
    """Where repositories run their statements: an ``AsyncSession``, or on SQLite the unit of
    work's :class:`storage.batching.BatchedTransaction`."""

    async def execute(self, statement: Executable) -> Result[Any]: ...


_COMPARISONS: dict[str, Callable[[ColumnElement[Any], object], ColumnElement[bool]]] = {
    "lt": lambda column, value: column < value,
    "lte": lambda column, value: column <= value,
    "gt": lambda column, value: column > value,
    "gte": lambda column, value: column >= value,
}


def _is_many(value: object) -> bool:
    return isinstance(value, list | tuple | set | frozenset)


def _equals(column: ColumnElement[Any], value: object) -> ColumnElement[bool]:
    """``field=v``: ``None`` is ``IS NULL`` and a collection is ``IN`` (a ``None`` in it matches
    NULL too), as Python's ``==`` / ``in`` would say."""
    if value is None:
        return column.is_(None)
    if not _is_many(value):
        return column == value
    values = list(cast(Collection[object], value))
    present = [v for v in values if v is not None]
    matches = column.in_(present) if present else false()
    return or_(matches, column.is_(None)) if len(present) < len(values) else matches


def _differs(column: ColumnElement[Any], value: object) -> ColumnElement[bool]:
    """``field__ne=v`` with Python's meaning: NULL differs from every value but ``None``."""
    if value is None:
        return column.is_not(None)
    if _is_many(value):
        values = list(cast(Collection[object], value))
        if None in values:
            return ~_equals(column, values)
        return or_(column.not_in(values), column.is_(None))
    return column.is_distinct_from(value)


def where_clause(table: Table, where: Mapping[str, object]) -> list[ColumnElement[bool]]:
    """Translates ``bot.ports.Repository.find`` criteria into SQL conditions.

    Raises:
        ValueError: for an unknown field or suffix, or ``None`` given to an ordering suffix.
    """
    conditions = []
    for key, value in where.items():
        name, _, op = key.partition("__")
        if name not in table.c:
            raise ValueError(f"{table.name} has no field {name!r}")
        column = table.c[name]
        if op == "":
            conditions.append(_equals(column, value))
        elif op == "ne":
            conditions.append(_differs(column, value))
        elif op in _COMPARISONS:
            if value is None:
                raise ValueError(f"{key}=None compares with nothing; use {name}=None")
            conditions.append(_COMPARISONS[op](column, value))
        else:
            raise ValueError(f"unknown criterion suffix in {key!r}")
    return conditions


def order_clause(table: Table, order_by: str | None) -> list[UnaryExpression[Any]]:
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
    """An entity's table and stored fields (a unit of work builds 21 repositories: computed
    once per process, not per request)."""
    table = cast(Table, ROWS[entity].__table__)
    return table, tuple(f.name for f in fields(cast(Any, entity)) if f.name != "id")


class SqlRepository(Generic[T]):
    """``bot.ports.Repository`` for one entity, mapped field by field to its table.

    A unique constraint that an insert or update would break raises ``bot.errors.Conflict``;
    the unit of work must then be rolled back (PostgreSQL refuses further statements in it).
    """

    def __init__(self, session: Statements, entity: type[T]) -> None:
        self._session = session
        self._entity = entity
        self._table, self._fields = _shape(cast(type, entity))

    def _values(self, item: T) -> dict[str, Any]:
        return {name: getattr(item, name) for name in self._fields}

    def _select(self, where: Mapping[str, object]) -> Select[Any]:
        return select(self._table).where(*where_clause(self._table, where))

    async def _execute(self, statement: Executable) -> Result[Any]:
        """Runs a statement, turning a broken unique constraint into ``Conflict`` and a value
        the columns refuse (a naive datetime, an unknown enum value) back into ``ValueError``."""
        try:
            return await self._session.execute(statement)
        except IntegrityError as error:
            raise Conflict(
                f"That would duplicate an existing {self._table.name} record."
            ) from error
        except StatementError as error:
            if isinstance(error.orig, ValueError):
                raise error.orig from error
            raise

    async def _load(self, statement: Select[Any]) -> list[T]:
        result = await self._execute(statement)
        return [self._entity(**row) for row in result.mappings()]

    async def add(self, item: T) -> T:
        if cast(Any, item).id:
            raise ValueError(f"{item!r} is already stored")
        statement = generic_insert(self._table).values(self._values(item))
        result = await self._execute(statement.returning(self._table.c.id))
        cast(Any, item).id = result.scalar_one()
        return item

    async def get(self, id: int) -> T | None:
        found = await self._load(self._select({"id": id}))
        return found[0] if found else None

    async def save(self, item: T) -> None:
        id = cast(Any, item).id
        statement = update(self._table).where(self._table.c.id == id).values(self._values(item))
        if cast(CursorResult[Any], await self._execute(statement)).rowcount != 1:
            raise LookupError(f"no {self._table.name} row with id {id} to save")

    async def delete(self, id: int) -> None:
        await self._execute(delete(self._table).where(self._table.c.id == id))

    async def find(
        self, *, order_by: str | None = None, limit: int | None = None, **where: object
    ) -> list[T]:
        statement = self._select(where).order_by(*order_clause(self._table, order_by))
        return await self._load(statement.limit(limit))

    async def first(self, *, order_by: str | None = None, **where: object) -> T | None:
        found = await self.find(order_by=order_by, limit=1, **where)
        return found[0] if found else None

    async def count(self, **where: object) -> int:
        statement = select(func.count()).select_from(self._table)
        result = await self._execute(statement.where(*where_clause(self._table, where)))
        return int(result.scalar_one())


class SqlOutboxRepository(SqlRepository[OutboxMessage]):
    """The outbox: idempotent enqueue on the unique ``key``, and claiming due messages."""

    def __init__(self, session: Statements, *, dialect: str) -> None:
        super().__init__(session, OutboxMessage)
        self._dialect = dialect

    async def enqueue(self, item: OutboxMessage) -> bool:
        insert = postgresql.insert if self._dialect == "postgresql" else sqlite.insert
        statement = (
            insert(self._table)
            .values(self._values(item))
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(self._table.c.id)
        )
        inserted = (await self._execute(statement)).scalar_one_or_none()
        if inserted is None:
            return False
        item.id = inserted
        return True

    async def claim_due(
        self, *, now: datetime, limit: int, platforms: Collection[Platform]
    ) -> list[OutboxMessage]:
        # SQLite renders no FOR UPDATE: it has a single writer, which is its lock.
        table = self._table
        statement = (
            self._select(
                {
                    "state": OutboxState.PENDING,
                    "next_attempt_at__lte": now,
                    "platform": list(platforms),
                }
            )
            .order_by(table.c.next_attempt_at, table.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return await self._load(statement)
