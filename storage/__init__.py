"""SQLAlchemy storage behind the core's ports (DESIGN §6): the database object, schema,
repositories, unit of work and Alembic migrations; what only SQLite needs is in
:mod:`storage.sqlite`."""

from storage.database import Database
from storage.engine import create_engine, normalize_url
from storage.migrate import upgrade
from storage.repositories import SqlOutboxRepository, SqlRepository
from storage.uow import SqlUnitOfWork

__all__ = [
    "Database",
    "SqlOutboxRepository",
    "SqlRepository",
    "SqlUnitOfWork",
    "create_engine",
    "normalize_url",
    "upgrade",
]
