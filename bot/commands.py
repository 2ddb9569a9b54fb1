"""The command model: one frozen value per command of the grammar (DESIGN §3).

``bot.grammar.parse`` builds these from text; forms and buttons may build them directly. Handles
are lowercase without ``@`` (``ana``), project keys uppercase without ``#`` (``SEPSIS``); ``None``
means "not given" (the handler falls back: the channel's project, the default area, …).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time
from typing import Literal

from bot.model import Detail, Direction, Frequency, Letter, ProjectStatus, Rag, Role, Severity

__all__ = [
    "AnswerCmd",
    "AskCmd",
    "AsksCmd",
    "BlockerActCmd",
    "BlockerCmd",
    "CadenceCmd",
    "CharterField",
    "Command",
    "DashboardCmd",
    "DecideCmd",
    "DecisionsCmd",
    "DelegateCmd",
    "DigestCmd",
    "HandoverCmd",
    "HelpCmd",
    "KpiAddCmd",
    "KpiListCmd",
    "KpiRecordCmd",
    "MeHoursCmd",
    "MeLinkCmd",
    "MeTimezoneCmd",
    "OrgAdminCmd",
    "OrgExecutiveCmd",
    "OrgInviteCmd",
    "OrgJoinCmd",
    "OrgNameCmd",
    "OrgShowCmd",
    "Outcome",
    "ProjectChannelCmd",
    "ProjectCharterCmd",
    "ProjectNewCmd",
    "ProjectShowCmd",
    "ProjectStatusCmd",
    "RaciSetCmd",
    "RaciShowCmd",
    "RoleCmd",
    "StatusCmd",
    "UpdateCmd",
    "WhoCmd",
    "WithdrawCmd",
]

CharterField = Literal["aim", "scope", "measures", "priority"]
Outcome = Literal["approve", "decline", "info"]


@dataclass(frozen=True, kw_only=True)
class AskCmd:
    """``ask [@person] <text> [by <date>] [#PROJECT] [area:<word>]``"""

    text: str
    assignee: str | None = None
    needed_by: date | None = None
    project: str | None = None
    area: str | None = None


@dataclass(frozen=True, kw_only=True)
class BlockerCmd:
    """``blocker <text> [#PROJECT] [area:<word>] [severity:<level>]``"""

    text: str
    project: str | None = None
    area: str | None = None
    severity: Severity | None = None


@dataclass(frozen=True, kw_only=True)
class UpdateCmd:
    """``update [#PROJECT] [rag:red|amber|green] <progress> [next: <next steps>]``"""

    text: str
    project: str | None = None
    rag: Rag | None = None
    next_steps: str = ""


@dataclass(frozen=True, kw_only=True)
class StatusCmd:
    project: str | None = None


@dataclass(frozen=True, kw_only=True)
class AsksCmd:
    """What waits on me, and what I wait for; ``everything`` lifts the cap on each list."""

    everything: bool = False


@dataclass(frozen=True, kw_only=True)
class DigestCmd:
    """Preview my digest now."""


@dataclass(frozen=True, kw_only=True)
class DashboardCmd:
    """A personal, expiring link to my organization's dashboard."""


@dataclass(frozen=True, kw_only=True)
class RaciShowCmd:
    project: str | None = None


@dataclass(frozen=True, kw_only=True)
class DecisionsCmd:
    project: str | None = None


@dataclass(frozen=True, kw_only=True)
class HelpCmd:
    topic: str | None = None
    """A command name as ``bot.grammar.usage`` takes it (``ask``, ``project new``)."""


@dataclass(frozen=True, kw_only=True)
class WhoCmd:
    """A person's roles and RACI letters; ``None`` = the caller."""

    person: str | None = None


@dataclass(frozen=True, kw_only=True)
class ProjectNewCmd:
    key: str
    name: str


@dataclass(frozen=True, kw_only=True)
class ProjectShowCmd:
    project: str | None = None


@dataclass(frozen=True, kw_only=True)
class ProjectCharterCmd:
    field: CharterField
    text: str
    project: str | None = None


@dataclass(frozen=True, kw_only=True)
class ProjectChannelCmd:
    """Make the current channel the project's home channel."""

    project: str | None = None


@dataclass(frozen=True, kw_only=True)
class ProjectStatusCmd:
    """``project pause|resume|close [#KEY]``"""

    status: ProjectStatus
    project: str | None = None


@dataclass(frozen=True, kw_only=True)
class RoleCmd:
    person: str
    role: Role
    project: str | None = None
    note: str = ""


@dataclass(frozen=True, kw_only=True)
class RaciSetCmd:
    person: str
    letter: Letter
    area: str
    """A lowercase word, or ``*`` for the project's default."""
    project: str | None = None
    new_area: bool = False
    """The ``!`` of ``raci set @person A newarea!``: the area is meant to be new (an area the
    organization never used is otherwise taken for a typo and refused)."""


@dataclass(frozen=True, kw_only=True)
class CadenceCmd:
    """Change digest settings; every field ``None`` means "show my current settings"."""

    frequency: Frequency | None = None
    weekday: int | None = None
    """0 = Monday."""
    local_time: time | None = None
    detail: Detail | None = None


@dataclass(frozen=True, kw_only=True)
class DelegateCmd:
    """``delegate @person until <date>``; ``person=None`` is ``delegate off``."""

    person: str | None
    until: date | None = None


@dataclass(frozen=True, kw_only=True)
class HandoverCmd:
    from_person: str
    to_person: str
    project: str | None = None


@dataclass(frozen=True, kw_only=True)
class KpiListCmd:
    project: str | None = None


@dataclass(frozen=True, kw_only=True)
class KpiAddCmd:
    name: str
    project: str | None = None
    unit: str = ""
    direction: Direction = Direction.HIGHER
    target: float | None = None
    warn: float | None = None
    alert: float | None = None


@dataclass(frozen=True, kw_only=True)
class KpiRecordCmd:
    name: str
    value: float
    project: str | None = None
    observed_on: date | None = None


@dataclass(frozen=True, kw_only=True)
class DecideCmd:
    """``approve <id> [rationale]``, ``decline <id> <rationale>``, ``info <id> <question>``."""

    ask_id: int
    outcome: Outcome
    text: str = ""


@dataclass(frozen=True, kw_only=True)
class AnswerCmd:
    """``answer <ask id> <text>``: the requester answers the decider's question."""

    ask_id: int
    text: str


@dataclass(frozen=True, kw_only=True)
class WithdrawCmd:
    kind: Literal["ask", "blocker"]
    item_id: int


@dataclass(frozen=True, kw_only=True)
class BlockerActCmd:
    """``ack <id> [note]`` or ``resolve <id> <how>``."""

    blocker_id: int
    verb: Literal["ack", "resolve"]
    text: str = ""


@dataclass(frozen=True, kw_only=True)
class OrgShowCmd:
    """The organization's workspaces, admins and executive."""


@dataclass(frozen=True, kw_only=True)
class OrgInviteCmd:
    """A one-time code for a partner's workspace to join (admins only)."""


@dataclass(frozen=True, kw_only=True)
class OrgJoinCmd:
    """Typed by a partner's admin: their workspace joins the organization that invited it."""

    code: str


@dataclass(frozen=True, kw_only=True)
class OrgAdminCmd:
    """``org admin add|remove @person``"""

    person: str
    verb: Literal["add", "remove"]


@dataclass(frozen=True, kw_only=True)
class OrgExecutiveCmd:
    """``org executive @person``: the top rung of every escalation ladder."""

    person: str


@dataclass(frozen=True, kw_only=True)
class OrgNameCmd:
    name: str


@dataclass(frozen=True, kw_only=True)
class MeTimezoneCmd:
    timezone: str
    """An IANA zone the grammar has checked (``Europe/Berlin``)."""


@dataclass(frozen=True, kw_only=True)
class MeHoursCmd:
    start: time
    end: time


@dataclass(frozen=True, kw_only=True)
class MeLinkCmd:
    """``me link`` asks for a code; ``me link CODE`` (on the other platform) uses it."""

    code: str | None = None


Command = (
    AskCmd
    | BlockerCmd
    | UpdateCmd
    | StatusCmd
    | AsksCmd
    | DigestCmd
    | DashboardCmd
    | RaciShowCmd
    | DecisionsCmd
    | HelpCmd
    | WhoCmd
    | ProjectNewCmd
    | ProjectShowCmd
    | ProjectCharterCmd
    | ProjectChannelCmd
    | ProjectStatusCmd
    | RoleCmd
    | RaciSetCmd
    | CadenceCmd
    | DelegateCmd
    | HandoverCmd
    | KpiListCmd
    | KpiAddCmd
    | KpiRecordCmd
    | DecideCmd
    | AnswerCmd
    | WithdrawCmd
    | BlockerActCmd
    | OrgShowCmd
    | OrgInviteCmd
    | OrgJoinCmd
    | OrgAdminCmd
    | OrgExecutiveCmd
    | OrgNameCmd
    | MeTimezoneCmd
    | MeHoursCmd
    | MeLinkCmd
)
"""Any parsed command; dispatch maps each type to its handler."""
