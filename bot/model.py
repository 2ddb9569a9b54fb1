"""Entities and enums of the domain (DESIGN §2).

Plain mutable dataclasses so services can load, change and save them. They are also the schema:
storage derives each entity's table from its fields (``storage/tables.py``, docs/schema.md), so
a field is declared here only, and a new one needs just its migration. ``id`` is ``0`` until the
repository assigns one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from enum import StrEnum


class Platform(StrEnum):
    SLACK = "slack"
    TEAMS = "teams"
    CONSOLE = "console"


class ProjectStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    CLOSED = "closed"


class Role(StrEnum):
    SPONSOR = "sponsor"
    CHAMPION = "champion"
    INFLUENCER = "influencer"
    RESISTOR = "resistor"
    LEAD = "lead"
    MEMBER = "member"


class Letter(StrEnum):
    R = "R"
    A = "A"
    C = "C"
    I = "I"  # noqa: E741 - the RACI letter


class AskState(StrEnum):
    OPEN = "open"
    APPROVED = "approved"
    DECLINED = "declined"
    INFO_REQUESTED = "info_requested"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"


class ConversationKind(StrEnum):
    QUESTION = "question"
    ANSWER = "answer"


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class BlockerState(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    WITHDRAWN = "withdrawn"


class Rag(StrEnum):
    RED = "red"
    AMBER = "amber"
    GREEN = "green"


class Direction(StrEnum):
    HIGHER = "higher"
    LOWER = "lower"


class Frequency(StrEnum):
    WEEKLY = "weekly"
    BIWEEKLY = "biweekly"
    DAILY_DURING_ACTIVE_CYCLE = "daily_during_active_cycle"
    OFF = "off"


class Detail(StrEnum):
    CONCISE = "concise"
    DETAILED = "detailed"


class FeedbackKind(StrEnum):
    USEFUL = "useful"
    TOO_LONG = "too_long"
    TOO_OFTEN = "too_often"
    NOT_RELEVANT = "not_relevant"


class ThresholdLevel(StrEnum):
    OK = "ok"
    WARN = "warn"
    ALERT = "alert"


class OutboxState(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


@dataclass(kw_only=True)
class Organization:
    id: int = 0
    name: str
    escalation_contact_id: int | None = None
    """The executive: the top rung of every blocker ladder (``org executive @person``)."""
    admin_ids: list[int] = field(default_factory=list)
    """Its admins (``org admin add|remove``): set-up rights and the notices nobody else gets.
    Never emptied by a command once set: the last admin cannot be removed."""


class CodeKind(StrEnum):
    ORG_INVITE = "org_invite"
    """``org invite``: a partner's workspace joins the organization with ``org join CODE``."""
    ME_LINK = "me_link"
    """``me link``: another identity of the same person joins them with ``me link CODE``."""


@dataclass(kw_only=True)
class LinkCode:
    """A one-time code (``org invite``, ``me link``), stored as a hash: whoever reads the
    database cannot use it. Valid until ``expires_at`` and for one use."""

    id: int = 0
    kind: CodeKind
    code_hash: str
    organization_id: int
    created_by_id: int
    """The admin who invited, or the person whose identity the ``me link`` code extends."""
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    used_by_id: int | None = None
    """The person who typed the code (for ``org join``: the joining workspace's admin)."""


@dataclass(kw_only=True)
class Workspace:
    id: int = 0
    organization_id: int
    platform: Platform
    external_id: str
    name: str = ""


@dataclass(kw_only=True)
class Person:
    id: int = 0
    organization_id: int
    handle: str
    """Short unique name within the organization (``ana``); what ``@ana`` refers to."""
    name: str
    email: str = ""
    timezone: str = "UTC"
    work_start: time = time(8, 0)
    work_end: time = time(18, 0)


@dataclass(kw_only=True)
class Identity:
    id: int = 0
    person_id: int
    workspace_id: int
    platform: Platform
    user_id: str
    conversation_ref: str | None = None
    """How to DM this identity, as the platform's adapter needs it: a Slack DM channel id or a
    serialized Teams conversation reference (opaque to the core)."""
    address: str = ""
    """Where a DM to this identity goes, as outbox rows name it: the Slack IM channel id (the
    reference itself), the Teams personal conversation's id. Stored beside the reference by the
    adapter's say, so the core never parses a reference. "" until a conversation is known."""
    unreachable: bool = False
    reported_timezone: str = ""
    """The zone the platform last reported for this identity (Teams' ``localTimezone``): the
    person's timezone follows it only when it changes, so a ``me timezone`` sticks until the
    platform reports a different zone. "" until it reports one."""
    alias: str = ""
    """Another id the platform knows this user by in the workspace, as the adapter says: a Teams
    user's Bot Framework id (``29:…``), the only id a mention carries, where ``user_id`` is
    their AAD object id. A mention by it finds the identity without asking the platform. ""
    when there is none (Slack)."""


@dataclass(kw_only=True)
class Project:
    id: int = 0
    organization_id: int
    key: str
    name: str
    aim: str = ""
    scope: str = ""
    measures: str = ""
    priority: str = ""
    status: ProjectStatus = ProjectStatus.ACTIVE


@dataclass(kw_only=True)
class ProjectChannel:
    """A project's home channel in one workspace."""

    id: int = 0
    project_id: int
    workspace_id: int
    channel_id: str
    conversation_ref: str | None = None


@dataclass(kw_only=True)
class Stakeholder:
    id: int = 0
    project_id: int
    person_id: int
    role: Role
    note: str = ""


@dataclass(kw_only=True)
class RaciEntry:
    id: int = 0
    project_id: int
    area: str
    person_id: int
    letter: Letter


@dataclass(kw_only=True)
class Delegation:
    id: int = 0
    organization_id: int
    delegator_id: int
    delegate_id: int
    starts_on: date
    ends_on: date


@dataclass(kw_only=True)
class Ask:
    id: int = 0
    organization_id: int
    project_id: int
    requester_id: int
    assignee_id: int
    area: str
    text: str
    needed_by: date | None = None
    consulted_ids: list[int] = field(default_factory=list)
    state: AskState = AskState.OPEN
    created_at: datetime
    updated_at: datetime | None = None
    decided_by_id: int | None = None
    on_behalf_of_id: int | None = None
    """Whose ask the decider decided as their active delegate; None when it was their own."""
    decided_at: datetime | None = None
    rationale: str = ""
    reminded_at: datetime | None = None
    reason: str = ""
    """Why it went to its assignee, as routed when raised ("Accountable for staffing …")."""
    platform: str = ""
    """Where it was raised (the audit event's platform)."""
    announced_at: datetime | None = None
    """When its audit event and messages (decider's card, channel post, Consulted invitations)
    were written; None while that is still to do (bot.services.asks.announce_pending)."""


@dataclass(kw_only=True)
class Blocker:
    id: int = 0
    organization_id: int
    project_id: int
    reporter_id: int
    area: str
    severity: Severity
    text: str
    state: BlockerState = BlockerState.OPEN
    ladder: list[int] = field(default_factory=list)
    """Person ids of the rungs: Accountable(area), sponsor, executive (duplicates removed)."""
    level: int = 0
    next_escalation_at: datetime | None = None
    created_at: datetime
    updated_at: datetime | None = None
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    resolution: str = ""


@dataclass(kw_only=True)
class Update:
    id: int = 0
    project_id: int
    author_id: int
    period: str
    """ISO week, ``2026-W48``."""
    rag: Rag
    progress: str
    next_steps: str = ""
    created_at: datetime


@dataclass(kw_only=True)
class Measure:
    id: int = 0
    project_id: int
    name: str
    unit: str = ""
    direction: Direction = Direction.HIGHER
    target: float | None = None
    warn: float | None = None
    alert: float | None = None


@dataclass(kw_only=True)
class Observation:
    id: int = 0
    measure_id: int
    observed_on: date
    value: float
    level: ThresholdLevel = ThresholdLevel.OK
    recorded_at: datetime


@dataclass(kw_only=True)
class Review:
    """A KPI threshold crossing the sponsor should look at (shown in digest and dashboard)."""

    id: int = 0
    project_id: int
    measure_id: int
    observation_id: int
    sponsor_id: int
    level: ThresholdLevel
    created_at: datetime
    closed_at: datetime | None = None


@dataclass(kw_only=True)
class ConversationEntry:
    """One turn of an ask's conversation: the decider's question or the requester's answer.

    Kept apart from the ask's own text, so the decision log, digests and exports show the ask
    as it was raised and the questions and answers as their own lines."""

    id: int = 0
    organization_id: int
    ask_id: int
    author_id: int
    kind: ConversationKind
    text: str
    created_at: datetime


@dataclass(kw_only=True)
class Decision:
    """One line of the append-only decision log."""

    id: int = 0
    organization_id: int
    project_id: int
    subject_kind: str
    """``ask``, ``blocker`` or ``free``."""
    subject_id: int | None = None
    outcome: str
    rationale: str = ""
    decided_by_id: int
    on_behalf_of_id: int | None = None
    """Set when a delegate decided: the person they decided for ("Carmen Diaz for Dana Lee")."""
    decided_at: datetime


@dataclass(kw_only=True)
class CadencePreference:
    id: int = 0
    person_id: int
    frequency: Frequency = Frequency.WEEKLY
    weekday: int = 0
    """0 = Monday."""
    local_time: time = time(8, 30)
    detail: Detail = Detail.CONCISE
    max_lines: int = 12
    channel: str = "dm"


@dataclass(kw_only=True)
class Feedback:
    id: int = 0
    person_id: int
    period: str
    kind: FeedbackKind
    created_at: datetime


@dataclass(kw_only=True)
class Thread:
    """The platform anchor of a conversation about one ask or blocker in one channel."""

    id: int = 0
    key: str
    """``blocker:12``, ``ask:7``: what Message.thread_key names."""
    workspace_id: int
    channel_id: str
    root_id: str
    """Slack ``ts`` of the root post, or Teams activity id of the channel post."""


@dataclass(kw_only=True)
class AuditEvent:
    id: int = 0
    organization_id: int
    actor_id: int | None
    action: str
    subject: str
    detail: str = ""
    platform: str = ""
    at: datetime


@dataclass(kw_only=True)
class OutboxMessage:
    """One message to one address, sent at most once (``key`` is unique)."""

    id: int = 0
    organization_id: int
    key: str
    platform: Platform
    workspace_id: int
    address: str
    """Slack channel/DM id, or the Teams conversation id; with ``person_id``/``project_id``."""
    person_id: int | None = None
    project_id: int | None = None
    payload: str
    """The neutral Message as JSON (bot.messages.to_json)."""
    category: str = "reply"
    """``ping`` (a reminder or nudge: working hours, counts against a person's daily cap),
    ``item`` (an ask card, a rung, a question or answer: working hours, never capped),
    ``urgent`` (critical: ignores quiet hours), ``digest``, ``channel`` (project channel post)
    or ``reply`` (bot.attention)."""
    state: OutboxState = OutboxState.PENDING
    attempts: int = 0
    next_attempt_at: datetime
    created_at: datetime
    deadline: datetime | None = None
    """Transient failures are retried until then (capped backoff), and only then given up:
    a digest until the next one is due, an ask card until the ask expires, a rung until the
    next rung, anything else a day after it was due (bot.services.delivery). Producers always
    set it; None (a row written by hand) means a day after it was written."""
    sent_at: datetime | None = None
    platform_ref: str | None = None
    """What the platform returned (Slack ``ts``, Teams activity id), so a later message can
    update it in place."""
    error: str = ""
    memo: str = ""
    """What the producer keeps with the message, as JSON: a digest's item fingerprints, read by
    the next digest to mark items new / changed / still open (cadence)."""
