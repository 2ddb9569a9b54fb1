"""``INSERT … RETURNING`` on SQLite's writer, compiled by SQLAlchemy once and run by ``sqlite3``.

Why: an insert is the one statement on the ack path of a slash command (the ask), and every
outbox row the drain writes. SQLAlchemy's execution of a cached insert — cache key, execution
context, parameter processing, result set — cost about twice what SQLite spends inserting the
row (``bench/slack_ack.py``). Here SQLAlchemy still compiles the statement (per statement and
set of columns, once) and still converts every value: each column's type gives its bind
processor (``TypeEngine.dialect_impl(...).bind_processor``), exactly as its own execution would.
Only the per-call machinery is skipped. A broken constraint comes back as SQLAlchemy's
``IntegrityError``, as from SQLAlchemy's own execution.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Dialect, Table
from sqlalchemy.engine import Result
from sqlalchemy.engine.result import IteratorResult, SimpleResultMetaData
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql import Executable
from sqlalchemy.sql.dml import Insert

__all__ = ["insert_returning", "is_insert_returning"]


@dataclass(frozen=True)
class _Prepared:
    sql: str
    binds: tuple[tuple[str, Callable[[Any], Any] | None], ...]
    """Each positional parameter's name and the processor its value goes through."""
    returned: SimpleResultMetaData


def is_insert_returning(statement: Executable) -> bool:
    return isinstance(statement, Insert) and bool(statement.returning_column_descriptions)


@lru_cache(maxsize=256)
def _prepared(statement: Insert, keys: tuple[str, ...], dialect: Dialect) -> _Prepared:
    compiled = statement.compile(dialect=dialect, column_keys=list(keys))
    table = statement.table
    assert isinstance(table, Table)
    binds = tuple(
        (name, table.c[name].type.dialect_impl(dialect).bind_processor(dialect))
        for name in compiled.positiontup or ()
    )
    names = [d["name"] for d in statement.returning_column_descriptions]
    return _Prepared(sql=str(compiled), binds=binds, returned=SimpleResultMetaData(names))


def insert_returning(
    statement: Insert, params: Mapping[str, Any], connection: Connection
) -> Result[Any]:
    """Run ``statement`` with ``params`` on ``connection``'s ``sqlite3`` connection; its
    RETURNING rows (none when ``ON CONFLICT DO NOTHING`` skipped the row)."""
    prepared = _prepared(statement, tuple(params), connection.dialect)
    values = [
        params[name] if process is None else process(params[name])
        for name, process in prepared.binds
    ]
    driver = connection.connection.driver_connection
    assert driver is not None
    try:
        rows = driver.execute(prepared.sql, values).fetchall()
    except sqlite3.IntegrityError as error:
        raise IntegrityError(prepared.sql, values, error) from error
    return IteratorResult(prepared.returned, iter(rows))
