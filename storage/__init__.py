"""SQLAlchemy storage behind the core's ports (DESIGN §6): engine, schema, repositories, unit of
work and Alembic migrations."""

from storage.engine import create_engine, normalize_url
from storage.migrate import upgrade
from storage.repositories import SqlOutboxRepository, SqlRepository
from storage.uow import SqlUnitOfWork, make_uow_factory

__all__ = [
    "SqlOutboxRepository",
    "SqlRepository",
    "SqlUnitOfWork",
    "create_engine",
    "make_uow_factory",
    "normalize_url",
    "upgrade",
]
