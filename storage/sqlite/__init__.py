"""What only SQLite needs: its pragmas, its connections in threads of their own, the group
commit of the one writer and the insert path that skips SQLAlchemy's per-call machinery."""

from storage.sqlite.connections import SqliteConnections
from storage.sqlite.pragmas import set_pragmas

__all__ = ["SqliteConnections", "set_pragmas"]
