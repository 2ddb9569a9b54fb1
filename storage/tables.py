"""The schema: one table per entity of ``bot.model``, with the entity's field names (DESIGN §6).

Keeping names identical lets :mod:`storage.repositories` map a dataclass to a row mechanically.
Column types follow the field types: enums are stored as their string value, ``list[int]`` as
JSON, datetimes as UTC and read back timezone-aware on every backend (:class:`UtcDateTime`).
Alembic migrations (``storage/migrations``) create this schema; a test proves they match it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
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
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bot import model
from bot.model import (
    AskState,
    BlockerState,
    CodeKind,
    ConversationKind,
    Detail,
    Direction,
    FeedbackKind,
    Frequency,
    Letter,
    OutboxState,
    Platform,
    ProjectStatus,
    Rag,
    Role,
    Severity,
    ThresholdLevel,
)

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
"""Deterministic constraint names, identical on SQLite and PostgreSQL, so migrations can name
what they alter."""


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


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UtcDateTime,
        date: Date,
        time: Time,
        str: Text,
        float: Float,
        bool: Boolean,
        list[int]: JSON,
    }
    entity: ClassVar[type[Any]]
    """The ``bot.model`` dataclass this table stores."""


def _enum(enum: type[StrEnum]) -> Mapped[Any]:
    return mapped_column(StrEnumType(enum))


class OrganizationRow(Base):
    __tablename__ = "organizations"
    entity = model.Organization

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]
    escalation_contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", use_alter=True, ondelete="SET NULL")
    )
    admin_ids: Mapped[list[int]]


class LinkCodeRow(Base):
    __tablename__ = "link_codes"
    entity = model.LinkCode

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[CodeKind] = _enum(CodeKind)
    code_hash: Mapped[str] = mapped_column(unique=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    used_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))


class WorkspaceRow(Base):
    __tablename__ = "workspaces"
    __table_args__ = (UniqueConstraint("platform", "external_id"),)
    entity = model.Workspace

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    platform: Mapped[Platform] = _enum(Platform)
    external_id: Mapped[str]
    name: Mapped[str]


class PersonRow(Base):
    __tablename__ = "people"
    __table_args__ = (UniqueConstraint("organization_id", "handle"),)
    entity = model.Person

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    handle: Mapped[str]
    name: Mapped[str]
    email: Mapped[str]
    timezone: Mapped[str]
    work_start: Mapped[time]
    work_end: Mapped[time]


class IdentityRow(Base):
    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("workspace_id", "user_id"),)
    entity = model.Identity

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"))
    platform: Mapped[Platform] = _enum(Platform)
    user_id: Mapped[str]
    conversation_ref: Mapped[str | None]
    unreachable: Mapped[bool]
    reported_timezone: Mapped[str]


class ProjectRow(Base):
    __tablename__ = "projects"
    __table_args__ = (UniqueConstraint("organization_id", "key"),)
    entity = model.Project

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    key: Mapped[str]
    name: Mapped[str]
    aim: Mapped[str]
    scope: Mapped[str]
    measures: Mapped[str]
    priority: Mapped[str]
    status: Mapped[ProjectStatus] = _enum(ProjectStatus)


class ProjectChannelRow(Base):
    __tablename__ = "project_channels"
    __table_args__ = (Index(None, "workspace_id", "channel_id"),)
    entity = model.ProjectChannel

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"))
    channel_id: Mapped[str]
    conversation_ref: Mapped[str | None]


class StakeholderRow(Base):
    __tablename__ = "stakeholders"
    entity = model.Stakeholder

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    role: Mapped[Role] = _enum(Role)
    note: Mapped[str]


ONE_ACCOUNTABLE = "uq_raci_entries_one_accountable"


class RaciEntryRow(Base):
    __tablename__ = "raci_entries"
    __table_args__ = (
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
    )
    entity = model.RaciEntry

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    area: Mapped[str]
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    letter: Mapped[Letter] = _enum(Letter)


class DelegationRow(Base):
    __tablename__ = "delegations"
    entity = model.Delegation

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    delegator_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    delegate_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    starts_on: Mapped[date]
    ends_on: Mapped[date]


class AskRow(Base):
    __tablename__ = "asks"
    __table_args__ = (
        Index(None, "assignee_id", "state"),
        Index(None, "project_id", "state"),
        # Only the few asks still to announce are in it: the drain's lookup stays tiny.
        Index(
            "ix_asks_unannounced",
            "id",
            sqlite_where=text("announced_at IS NULL"),
            postgresql_where=text("announced_at IS NULL"),
        ),
    )
    entity = model.Ask

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    requester_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    assignee_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    area: Mapped[str]
    text: Mapped[str]
    needed_by: Mapped[date | None]
    consulted_ids: Mapped[list[int]]
    state: Mapped[AskState] = _enum(AskState)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    on_behalf_of_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    decided_at: Mapped[datetime | None]
    rationale: Mapped[str]
    reminded_at: Mapped[datetime | None]
    reason: Mapped[str]
    platform: Mapped[str]
    announced_at: Mapped[datetime | None]


class BlockerRow(Base):
    __tablename__ = "blockers"
    __table_args__ = (
        Index(None, "project_id", "state"),
        Index(None, "state", "next_escalation_at"),
    )
    entity = model.Blocker

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    reporter_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    area: Mapped[str]
    severity: Mapped[Severity] = _enum(Severity)
    text: Mapped[str]
    state: Mapped[BlockerState] = _enum(BlockerState)
    ladder: Mapped[list[int]]
    level: Mapped[int]
    next_escalation_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    resolution: Mapped[str]


class UpdateRow(Base):
    __tablename__ = "updates"
    __table_args__ = (Index(None, "project_id", "created_at"),)
    entity = model.Update

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    period: Mapped[str]
    rag: Mapped[Rag] = _enum(Rag)
    progress: Mapped[str]
    next_steps: Mapped[str]
    created_at: Mapped[datetime]


class MeasureRow(Base):
    __tablename__ = "measures"
    entity = model.Measure

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    name: Mapped[str]
    unit: Mapped[str]
    direction: Mapped[Direction] = _enum(Direction)
    target: Mapped[float | None]
    warn: Mapped[float | None]
    alert: Mapped[float | None]


class ObservationRow(Base):
    __tablename__ = "observations"
    __table_args__ = (Index(None, "measure_id", "observed_on"),)
    entity = model.Observation

    id: Mapped[int] = mapped_column(primary_key=True)
    measure_id: Mapped[int] = mapped_column(ForeignKey("measures.id"))
    observed_on: Mapped[date]
    value: Mapped[float]
    level: Mapped[ThresholdLevel] = _enum(ThresholdLevel)
    recorded_at: Mapped[datetime]


class ReviewRow(Base):
    __tablename__ = "reviews"
    entity = model.Review

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    measure_id: Mapped[int] = mapped_column(ForeignKey("measures.id"), index=True)
    observation_id: Mapped[int] = mapped_column(ForeignKey("observations.id"))
    sponsor_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    level: Mapped[ThresholdLevel] = _enum(ThresholdLevel)
    created_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]


class DecisionRow(Base):
    __tablename__ = "decisions"
    __table_args__ = (Index(None, "project_id", "decided_at"),)
    entity = model.Decision

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    subject_kind: Mapped[str]
    subject_id: Mapped[int | None]
    outcome: Mapped[str]
    rationale: Mapped[str]
    decided_by_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    on_behalf_of_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    decided_at: Mapped[datetime]


class ConversationEntryRow(Base):
    __tablename__ = "ask_conversation"
    __table_args__ = (Index(None, "ask_id", "created_at"),)
    entity = model.ConversationEntry

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    ask_id: Mapped[int] = mapped_column(ForeignKey("asks.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    kind: Mapped[ConversationKind] = _enum(ConversationKind)
    text: Mapped[str]
    created_at: Mapped[datetime]


class CadencePreferenceRow(Base):
    __tablename__ = "cadence_preferences"
    entity = model.CadencePreference

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), unique=True)
    frequency: Mapped[Frequency] = _enum(Frequency)
    weekday: Mapped[int]
    local_time: Mapped[time]
    detail: Mapped[Detail] = _enum(Detail)
    max_lines: Mapped[int]
    channel: Mapped[str]


class FeedbackRow(Base):
    __tablename__ = "feedback"
    __table_args__ = (Index(None, "person_id", "created_at"),)
    entity = model.Feedback

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    period: Mapped[str]
    kind: Mapped[FeedbackKind] = _enum(FeedbackKind)
    created_at: Mapped[datetime]


class ThreadRow(Base):
    __tablename__ = "threads"
    __table_args__ = (UniqueConstraint("key", "workspace_id", "channel_id"),)
    entity = model.Thread

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str]
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"))
    channel_id: Mapped[str]
    root_id: Mapped[str]


class AuditEventRow(Base):
    __tablename__ = "audit_events"
    __table_args__ = (Index(None, "organization_id", "at"),)
    entity = model.AuditEvent

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    action: Mapped[str]
    subject: Mapped[str]
    detail: Mapped[str]
    platform: Mapped[str]
    at: Mapped[datetime]


class OutboxRow(Base):
    __tablename__ = "outbox"
    __table_args__ = (Index(None, "state", "next_attempt_at"),)
    entity = model.OutboxMessage

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    key: Mapped[str] = mapped_column(unique=True)
    platform: Mapped[Platform] = _enum(Platform)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"))
    address: Mapped[str]
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"))
    payload: Mapped[str]
    category: Mapped[str]
    state: Mapped[OutboxState] = _enum(OutboxState)
    attempts: Mapped[int]
    next_attempt_at: Mapped[datetime]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    platform_ref: Mapped[str | None]
    error: Mapped[str]
    memo: Mapped[str]
    deadline: Mapped[datetime | None]


DIRECTORY_VERSIONS = Table(
    "directory_versions",
    Base.metadata,
    Column("organization_id", Integer, primary_key=True),
    Column("name", Text, primary_key=True),
    Column("version", BigInteger, nullable=False),
)
"""One counter per directory table and organization, bumped by a trigger on each write
(migration 0012; read by storage/directory.py)."""

INBOUND_DELIVERIES = Table(
    "inbound_deliveries",
    Base.metadata,
    Column("key", Text, primary_key=True),
    Column("received_at", UtcDateTime(), nullable=False, index=True),
)
"""The platform deliveries this server has processed (a Slack ``event_id`` or ``trigger_id``, a
Teams activity id), written in the unit of work of the change they caused (migration 0008)."""

ROWS: dict[type[Any], type[Base]] = {row.entity: row for row in Base.__subclasses__()}
"""Each entity class → the table class that stores it."""
