"""The async engine: one place that knows URL spellings, SQLite pragmas and pool sizes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+pysqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+psycopg2": "postgresql+asyncpg",
}

SQLITE_BUSY_TIMEOUT_MS = 5000


def normalize_url(url: str | URL) -> URL:
    """The async spelling of a database URL.

    ``sqlite:///x.db`` becomes ``sqlite+aiosqlite:///x.db``; ``postgres://`` and
    ``postgresql://`` (as hosting providers hand them out) become ``postgresql+asyncpg://``,
    with libpq's ``sslmode`` renamed to asyncpg's ``ssl``.
    """
    parsed = make_url(url) if isinstance(url, str) else url
    parsed = parsed.set(drivername=_ASYNC_DRIVERS.get(parsed.drivername, parsed.drivername))
    if parsed.drivername == "postgresql+asyncpg" and "sslmode" in parsed.query:
        query = dict(parsed.query)
        query["ssl"] = query.pop("sslmode")
        parsed = parsed.set(query=query)
    return parsed


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    """WAL lets readers run while the single writer writes; ``busy_timeout`` makes a second
    writer wait instead of failing at once; SQLite only enforces foreign keys when asked."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def create_engine(url: str | URL) -> AsyncEngine:
    """An async engine for ``url`` (any spelling :func:`normalize_url` accepts)."""
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_async_engine(parsed)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    # pre_ping survives database restarts and idle-connection reapers; recycle stays under
    # the usual 30-60 min server/proxy idle limits.
    return create_async_engine(
        parsed, pool_size=5, max_overflow=10, pool_pre_ping=True, pool_recycle=1800
    )


def sqlite_writer_engine(url: URL) -> Engine:
    """A synchronous engine on the same SQLite file as the async ``url``: the writer of
    :mod:`storage.batching`, whose statements run on the event loop's thread (a statement on a
    held write lock takes microseconds; a hop to aiosqlite's thread and back takes a turn of a
    busy loop, and the writer is one at a time)."""
    engine = create_sync_engine(url.set(drivername="sqlite+pysqlite"))
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine
