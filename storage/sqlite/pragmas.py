"""The settings every SQLite connection of ours gets, whichever driver opened it."""

from __future__ import annotations

from typing import Any

__all__ = ["BUSY_TIMEOUT_MS", "set_pragmas"]

BUSY_TIMEOUT_MS = 5000


def set_pragmas(dbapi_connection: Any, _record: object = None) -> None:
    """WAL lets readers run while the single writer writes; ``busy_timeout`` makes a second
    writer wait instead of failing at once; SQLite only enforces foreign keys when asked.

    A SQLAlchemy ``connect`` event listener (hence the unused connection record)."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
