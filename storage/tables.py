"""The schema, derived from ``bot.model``: each entity's table has one column per field (DESIGN §6).

A field is declared once, in its dataclass; its column follows from its annotation:

- ``int`` → INTEGER; the field ``id`` is the primary key, assigned by the database;
- ``str`` → TEXT; ``bool`` → BOOLEAN; ``float`` → FLOAT; ``date`` → DATE; ``time`` → TIME;
- ``datetime`` → :class:`UtcDateTime` (stored in UTC, read back timezone-aware everywhere);
- a ``StrEnum`` → :class:`StrEnumType` (its value, in a VARCHAR(32));
- ``list[…]`` → JSON;
- ``X | None`` → the column of ``X``, nullable; every other column is NOT NULL.

What a type cannot say is declared per table, and only that: foreign keys and server defaults by
field name, indexes and unique constraints by column names. A new field therefore needs only its
migration (``storage/migrations``), and a test proves the migrations build exactly this schema on
SQLite and PostgreSQL (``tests/integration/test_schema.py``).

Why tables derived from the fields, not mapped classes: the former declarative ``*Row`` classes
repeated every field, and imperative mapping would instrument the domain's own dataclasses (the
in-memory fake and every ``bot/`` test would run on SQLAlchemy attributes). Nothing needs the
ORM: ``storage.repositories`` reads and writes with Core statements on these tables and builds
fresh dataclasses from the rows.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, date, datetime, time
from enum import StrEnum
from types import NoneType, UnionType
from typing import Any, Union, get_args, get_origin, get_type_hints

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Constraint,
    Date,
    DateTime,
    DefaultClause,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    Time,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.types import TypeEngine

from bot import model

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
"""Deterministic constraint names, identical on SQLite and PostgreSQL, so migrations can name
what they alter."""

METADATA = MetaData(naming_convention=NAMING_CONVENTION)
"""Every table of the schema (what Alembic compares the database with)."""


class UtcDateTime(TypeDecorator[datetime]):
    """An aware datetime, stored in UTC and always returned aware in UTC.

    PostgreSQL keeps ``timestamptz``; SQLite has no time zones, so the value is stored as naive
    UTC and the zone is put back on read. A naive datetime is refused: its meaning is a guess.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: store timezone-aware datetimes")
        value = value.astimezone(UTC)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class StrEnumType(TypeDecorator[StrEnum]):
    """A ``StrEnum`` stored as its value in a plain string column (no native enum type, so
    adding a member needs no migration); plain strings are accepted in queries."""

    impl = String(32)
    cache_ok = True

    def __init__(self, enum: type[StrEnum]) -> None:
        super().__init__()
        self.enum = enum

    def process_bind_param(self, value: StrEnum | str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> StrEnum | None:
        return None if value is None else self.enum(value)


_TYPES: dict[Any, type[TypeEngine[Any]]] = {
    int: Integer,
    str: Text,
    bool: Boolean,
    float: Float,
    date: Date,
    time: Time,
    datetime: UtcDateTime,
}

ColumnItem = ForeignKey | DefaultClause
"""What a table declares for one of its columns beyond the field's type."""


def _column(entity: type[Any], name: str, annotation: Any, *items: ColumnItem) -> Column[Any]:
    """The column of one field: its type and nullability from the annotation."""
    options = get_args(annotation) if get_origin(annotation) in (Union, UnionType) else ()
    nullable = NoneType in options
    present = [option for option in options if option is not NoneType]
    if nullable and len(present) == 1:
        annotation = present[0]
    if isinstance(annotation, type) and issubclass(annotation, StrEnum):
        type_: TypeEngine[Any] = StrEnumType(annotation)
    elif get_origin(annotation) is list:
        type_ = JSON()
    elif annotation in _TYPES:
        type_ = _TYPES[annotation]()
    else:
        raise TypeError(f"{entity.__name__}.{name}: no column type for {annotation!r}")
    return Column(name, type_, *items, primary_key=name == "id", nullable=nullable)


def entity_table(
    entity: type[Any], name: str, *constraints: Index | Constraint, **columns: ColumnItem
) -> Table:
    """The table ``name`` storing ``entity``: a column per field, plus what the types cannot say.

    Args:
        entity: a ``bot.model`` dataclass; its fields are the table's columns.
        name: the table's name.
        constraints: its indexes and unique constraints, on column (field) names.
        columns: a foreign key or server default of a field, by the field's name.

    Raises:
        TypeError: for a field of a type with no column type, or a declaration naming no field.
    """
    hints = get_type_hints(entity)
    names = [field.name for field in fields(entity)]
    unknown = sorted(set(columns) - set(names))
    if unknown:
        raise TypeError(f"{entity.__name__} has no field {', '.join(unknown)}")
    derived = [
        _column(entity, field, hints[field], *([columns[field]] if field in columns else []))
        for field in names
    ]
    return Table(name, METADATA, *derived, *constraints, info={"entity": entity})


def _blank() -> DefaultClause:
    """``DEFAULT ''``: what the migrations that added a text column gave its existing rows."""
    return DefaultClause(text("''"))


ORGANIZATIONS = entity_table(
    model.Organization,
    "organizations",
    escalation_contact_id=ForeignKey("people.id", use_alter=True, ondelete="SET NULL"),
)

LINK_CODES = entity_table(
    model.LinkCode,
    "link_codes",
    UniqueConstraint("code_hash"),
    organization_id=ForeignKey("organizations.id"),
    created_by_id=ForeignKey("people.id"),
    used_by_id=ForeignKey("people.id"),
)

WORKSPACES = entity_table(
    model.Workspace,
    "workspaces",
    Index(None, "organization_id"),
    UniqueConstraint("platform", "external_id"),
    organization_id=ForeignKey("organizations.id"),
)

PEOPLE = entity_table(
    model.Person,
    "people",
    UniqueConstraint("organization_id", "handle"),
    organization_id=ForeignKey("organizations.id"),
)

IDENTITIES = entity_table(
    model.Identity,
    "identities",
    Index(None, "person_id"),
    Index(None, "workspace_id", "alias"),
    UniqueConstraint("workspace_id", "user_id"),
    person_id=ForeignKey("people.id"),
    workspace_id=ForeignKey("workspaces.id"),
    address=_blank(),
    reported_timezone=_blank(),
    alias=_blank(),
)

PROJECTS = entity_table(
    model.Project,
    "projects",
    UniqueConstraint("organization_id", "key"),
    organization_id=ForeignKey("organizations.id"),
)

PROJECT_CHANNELS = entity_table(
    model.ProjectChannel,
    "project_channels",
    Index(None, "project_id"),
    Index(None, "workspace_id", "channel_id"),
    project_id=ForeignKey("projects.id"),
    workspace_id=ForeignKey("workspaces.id"),
)

STAKEHOLDERS = entity_table(
    model.Stakeholder,
    "stakeholders",
    Index(None, "project_id"),
    Index(None, "person_id"),
    project_id=ForeignKey("projects.id"),
    person_id=ForeignKey("people.id"),
)

ONE_ACCOUNTABLE = "uq_raci_entries_one_accountable"

RACI_ENTRIES = entity_table(
    model.RaciEntry,
    "raci_entries",
    Index(None, "project_id"),
    Index(None, "person_id"),
    # The RACI invariant "exactly one A per (project, area)", as a partial unique index
    # (supported by both SQLite and PostgreSQL).
    Index(
        ONE_ACCOUNTABLE,
        "project_id",
        "area",
        unique=True,
        sqlite_where=text("letter = 'A'"),
        postgresql_where=text("letter = 'A'"),
    ),
    project_id=ForeignKey("projects.id"),
    person_id=ForeignKey("people.id"),
)

DELEGATIONS = entity_table(
    model.Delegation,
    "delegations",
    Index(None, "delegator_id"),
    Index(None, "delegate_id"),
    organization_id=ForeignKey("organizations.id"),
    delegator_id=ForeignKey("people.id"),
    delegate_id=ForeignKey("people.id"),
)

ASKS = entity_table(
    model.Ask,
    "asks",
    Index(None, "requester_id"),
    Index(None, "assignee_id", "state"),
    Index(None, "project_id", "state"),
    # Only the few asks still to announce are in it: the drain's lookup stays tiny.
    Index(
        "ix_asks_unannounced",
        "id",
        sqlite_where=text("announced_at IS NULL"),
        postgresql_where=text("announced_at IS NULL"),
    ),
    organization_id=ForeignKey("organizations.id"),
    project_id=ForeignKey("projects.id"),
    requester_id=ForeignKey("people.id"),
    assignee_id=ForeignKey("people.id"),
    decided_by_id=ForeignKey("people.id"),
    on_behalf_of_id=ForeignKey("people.id"),
    reason=_blank(),
    platform=_blank(),
)

BLOCKERS = entity_table(
    model.Blocker,
    "blockers",
    Index(None, "reporter_id"),
    Index(None, "project_id", "state"),
    Index(None, "state", "next_escalation_at"),
    organization_id=ForeignKey("organizations.id"),
    project_id=ForeignKey("projects.id"),
    reporter_id=ForeignKey("people.id"),
)

UPDATES = entity_table(
    model.Update,
    "updates",
    Index(None, "project_id", "created_at"),
    project_id=ForeignKey("projects.id"),
    author_id=ForeignKey("people.id"),
)

MEASURES = entity_table(
    model.Measure,
    "measures",
    Index(None, "project_id"),
    project_id=ForeignKey("projects.id"),
)

OBSERVATIONS = entity_table(
    model.Observation,
    "observations",
    Index(None, "measure_id", "observed_on"),
    measure_id=ForeignKey("measures.id"),
)

REVIEWS = entity_table(
    model.Review,
    "reviews",
    Index(None, "project_id"),
    Index(None, "measure_id"),
    Index(None, "sponsor_id"),
    project_id=ForeignKey("projects.id"),
    measure_id=ForeignKey("measures.id"),
    observation_id=ForeignKey("observations.id"),
    sponsor_id=ForeignKey("people.id"),
)

DECISIONS = entity_table(
    model.Decision,
    "decisions",
    Index(None, "project_id", "decided_at"),
    organization_id=ForeignKey("organizations.id"),
    project_id=ForeignKey("projects.id"),
    decided_by_id=ForeignKey("people.id"),
    on_behalf_of_id=ForeignKey("people.id"),
)

ASK_CONVERSATION = entity_table(
    model.ConversationEntry,
    "ask_conversation",
    Index(None, "ask_id", "created_at"),
    organization_id=ForeignKey("organizations.id"),
    ask_id=ForeignKey("asks.id"),
    author_id=ForeignKey("people.id"),
)

CADENCE_PREFERENCES = entity_table(
    model.CadencePreference,
    "cadence_preferences",
    UniqueConstraint("person_id"),
    person_id=ForeignKey("people.id"),
)

FEEDBACK = entity_table(
    model.Feedback,
    "feedback",
    Index(None, "person_id", "created_at"),
    person_id=ForeignKey("people.id"),
)

THREADS = entity_table(
    model.Thread,
    "threads",
    UniqueConstraint("key", "workspace_id", "channel_id"),
    workspace_id=ForeignKey("workspaces.id"),
)

AUDIT_EVENTS = entity_table(
    model.AuditEvent,
    "audit_events",
    Index(None, "organization_id", "at"),
    organization_id=ForeignKey("organizations.id"),
    actor_id=ForeignKey("people.id"),
)

OUTBOX = entity_table(
    model.OutboxMessage,
    "outbox",
    UniqueConstraint("key"),
    Index(None, "person_id"),
    Index(None, "state", "next_attempt_at"),
    organization_id=ForeignKey("organizations.id"),
    workspace_id=ForeignKey("workspaces.id"),
    person_id=ForeignKey("people.id"),
    project_id=ForeignKey("projects.id"),
)

DIRECTORY_VERSIONS = Table(
    "directory_versions",
    METADATA,
    Column("organization_id", Integer, primary_key=True),
    Column("name", Text, primary_key=True),
    Column("version", BigInteger, nullable=False),
)
"""One counter per directory table and organization, bumped by a trigger on each write
(migration 0012; read by storage/directory.py)."""

INBOUND_DELIVERIES = Table(
    "inbound_deliveries",
    METADATA,
    Column("key", Text, primary_key=True),
    Column("received_at", UtcDateTime(), nullable=False, index=True),
)
"""The platform deliveries this server has processed (a Slack ``event_id`` or ``trigger_id``, a
Teams activity id), written in the unit of work of the change they caused (migration 0008)."""

TABLES: dict[type[Any], Table] = {
    table.info["entity"]: table for table in METADATA.tables.values() if "entity" in table.info
}
"""Each entity class → the table that stores it."""
