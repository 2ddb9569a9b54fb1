"""The async engine: one place that knows URL spellings, SQLite pragmas and pool sizes."""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from storage.sqlite.pragmas import set_pragmas

_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+pysqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+psycopg2": "postgresql+asyncpg",
}


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


def create_engine(url: str | URL) -> AsyncEngine:
    """An async engine for ``url`` (any spelling :func:`normalize_url` accepts)."""
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_async_engine(parsed)
        event.listen(engine.sync_engine, "connect", set_pragmas)
        return engine
    # pre_ping survives database restarts and idle-connection reapers; recycle stays under
    # the usual 30-60 min server/proxy idle limits.
    return create_async_engine(
        parsed, pool_size=5, max_overflow=10, pool_pre_ping=True, pool_recycle=1800
    )
