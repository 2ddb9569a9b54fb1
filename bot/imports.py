"""Bulk set-up: check a whole import file against the organization, then say what it changes.

``leaderbot import`` reads ``people.csv``, ``raci.csv``, ``stakeholders.csv`` or ``org.yaml``
into a :class:`Document` (rows that keep their line numbers, see ``adapters/import_files.py``).
:func:`check` is a pure function of that document and a :class:`Snapshot` of what the
organization holds: it finds *every* problem at once, each with its line, so a facilitator fixes
the file in one pass, and when there is none it returns the changes the file makes, and only
those: a file imported twice changes nothing the second time. ``bot.services.imports`` loads the
snapshot and applies the changes through the services, in one unit of work.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import time

from bot.calendar import valid_timezone
from bot.model import (
    CadencePreference,
    Detail,
    Frequency,
    Letter,
    Organization,
    Person,
    Project,
    ProjectStatus,
    RaciEntry,
    Role,
    Stakeholder,
)
from bot.services.preferences import WEEKDAYS
from bot.services.projects import CHARTER_FIELDS, KEY_PATTERN

HANDLE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,29}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
FREQUENCIES = {
    **{f.value: f for f in Frequency},
    "daily": Frequency.DAILY_DURING_ACTIVE_CYCLE,
}
WEEKDAY_NUMBERS = {
    name: number for number, day in enumerate(WEEKDAYS) for name in (day.lower(), day.lower()[:3])
}


# --- what a file holds ------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class PersonRow:
    line: int
    handle: str
    name: str
    email: str = ""
    timezone: str = ""


@dataclass(frozen=True, kw_only=True)
class ProjectRow:
    line: int
    key: str
    name: str
    lead: str = ""
    charter: Mapping[str, str] = field(default_factory=dict)
    """``aim``, ``scope``, ``measures``, ``priority`` as given (absent: left as they are)."""


@dataclass(frozen=True, kw_only=True)
class RoleRow:
    line: int
    project: str
    person: str
    role: str
    note: str = ""


@dataclass(frozen=True, kw_only=True)
class RaciRow:
    line: int
    project: str
    area: str
    person: str
    letter: str


@dataclass(frozen=True, kw_only=True)
class CadenceRow:
    line: int
    person: str
    frequency: str
    weekday: str = ""
    time: str = ""
    detail: str = ""


@dataclass(frozen=True, kw_only=True)
class OrganizationRow:
    """``org.yaml``'s ``organization:`` section: its name (used when the import founds it),
    admins and executive."""

    line: int
    name: str = ""
    admins: tuple[str, ...] = ()
    executive: str = ""


@dataclass(frozen=True)
class Problem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass(frozen=True, kw_only=True)
class Document:
    """An import file's rows, of any kinds, with the problems found while reading it (a
    missing column, a YAML entry that is not a mapping); :func:`check` adds the rest."""

    organization: OrganizationRow | None = None
    people: tuple[PersonRow, ...] = ()
    projects: tuple[ProjectRow, ...] = ()
    roles: tuple[RoleRow, ...] = ()
    raci: tuple[RaciRow, ...] = ()
    cadence: tuple[CadenceRow, ...] = ()
    problems: tuple[Problem, ...] = ()


# --- what the organization holds --------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Snapshot:
    """The organization's rows an import compares itself with (loaded in a few queries)."""

    organization: Organization
    people: Sequence[Person]
    projects: Sequence[Project]
    stakeholders: Sequence[Stakeholder]
    raci: Sequence[RaciEntry]
    preferences: Sequence[CadencePreference]


# --- what an import changes -------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class AddPerson:
    handle: str
    name: str
    email: str
    timezone: str

    def __str__(self) -> str:
        return f"Added @{self.handle} ({self.name}, {self.timezone})."


@dataclass(frozen=True, kw_only=True)
class EditPerson:
    handle: str
    changes: Mapping[str, str]
    """Field → new value, only the fields that differ."""

    def __str__(self) -> str:
        said = ", ".join(f"{k} {v}" for k, v in self.changes.items())
        return f"Changed @{self.handle}: {said}."


@dataclass(frozen=True, kw_only=True)
class AddAdmin:
    handle: str

    def __str__(self) -> str:
        return f"@{self.handle} is now an admin."


@dataclass(frozen=True, kw_only=True)
class SetExecutive:
    handle: str

    def __str__(self) -> str:
        return f"@{self.handle} is now the executive (the top rung of every blocker)."


@dataclass(frozen=True, kw_only=True)
class AddProject:
    key: str
    name: str
    lead: str

    def __str__(self) -> str:
        return f"Created #{self.key} {self.name}, led by @{self.lead}."


@dataclass(frozen=True, kw_only=True)
class EditProject:
    key: str
    field: str
    """``name`` or a charter field."""
    value: str

    def __str__(self) -> str:
        return f"#{self.key} {self.field}: {self.value}"


@dataclass(frozen=True, kw_only=True)
class SetRole:
    project: str
    person: str
    role: Role
    note: str

    def __str__(self) -> str:
        return f"@{self.person} is {self.role.value} of #{self.project}."


@dataclass(frozen=True, kw_only=True)
class SetLetter:
    project: str
    area: str
    person: str
    letter: Letter

    def __str__(self) -> str:
        return f"@{self.person} is {self.letter.value} for {self.area} on #{self.project}."


@dataclass(frozen=True, kw_only=True)
class SetCadence:
    person: str
    frequency: Frequency
    weekday: int
    local_time: time
    detail: Detail

    def __str__(self) -> str:
        return (
            f"@{self.person} hears {self.frequency.value.replace('_', ' ')} on "
            f"{WEEKDAYS[self.weekday]} at {self.local_time:%H:%M}, {self.detail.value}."
        )


Change = (
    AddPerson
    | EditPerson
    | AddAdmin
    | SetExecutive
    | AddProject
    | EditProject
    | SetRole
    | SetLetter
    | SetCadence
)


@dataclass(frozen=True, kw_only=True)
class Plan:
    """Either problems (then nothing may be written) or the changes, in the order they apply:
    people, the organization's admins and executive, projects, roles (leads, then sponsors, so
    a project never loses its sponsor on the way), RACI, cadence."""

    changes: tuple[Change, ...] = ()
    problems: tuple[Problem, ...] = ()


# --- checking ---------------------------------------------------------------------------------


def handle_of(text: str) -> str:
    """``@Dana`` → ``dana``: how a file names a person."""
    return text.strip().lstrip("@").lower()


def key_of(text: str) -> str:
    """``#sepsis`` → ``SEPSIS``: how a file names a project."""
    return text.strip().lstrip("#").upper()


def _role_order(change: SetRole) -> tuple[bool, bool]:
    return change.role is not Role.LEAD, change.role is not Role.SPONSOR


def check(document: Document, snapshot: Snapshot) -> Plan:
    """Every problem of the document against the snapshot, or the changes it makes."""
    checker = _Checker(document, snapshot)
    changes = checker.run()
    # By line, each line's problems in the order its fields were checked; once each.
    found = dict.fromkeys([*document.problems, *checker.problems])
    problems = sorted(found, key=lambda problem: problem.line)
    return Plan(problems=tuple(problems)) if problems else Plan(changes=tuple(changes))


class _Checker:
    """One pass over a document; collects problems instead of stopping at the first."""

    def __init__(self, document: Document, snapshot: Snapshot) -> None:
        self.document = document
        self.snapshot = snapshot
        self.problems: list[Problem] = []
        self.people = {p.handle: p for p in snapshot.people}
        self.handles = {p.id: p.handle for p in snapshot.people}
        self.projects = {p.key: p for p in snapshot.projects}
        self.keys = {p.id: p.key for p in snapshot.projects}
        # Names the file declares count as known, even when their own row has a problem, so
        # one bad person row is reported once rather than at every line that names them.
        self.declared_people = {handle_of(r.handle) for r in document.people}
        self.declared_projects = {key_of(r.key) for r in document.projects}
        self.sponsor_lines: dict[str, int] = {}
        """Project key → the line naming its sponsor."""
        self.unsponsored: dict[str, int] = {}
        """Project key → a line giving its only sponsor another role."""

    def problem(self, line: int, message: str) -> None:
        self.problems.append(Problem(line, message))

    def run(self) -> list[Change]:
        changes: list[Change] = []
        changes += self.people_changes()
        changes += self.organization_changes()
        projects = self.project_changes()
        roles = self.role_changes()
        self.require_sponsors()
        changes += projects
        # Leads first (naming a lead drops their other roles), then sponsors (a new sponsor
        # replaces the old one before the old one's role changes).
        ordered: list[SetRole] = sorted(roles, key=_role_order)
        changes += ordered
        changes += self.raci_changes()
        changes += self.cadence_changes()
        return changes

    # names ---------------------------------------------------------------------------------

    def person(self, line: int, text: str, what: str = "person") -> str | None:
        handle = handle_of(text)
        if not handle:
            self.problem(line, f"{what} is required")
            return None
        if handle not in self.people and handle not in self.declared_people:
            self.problem(line, f"unknown person @{handle} (not in the organization nor the file)")
            return None
        return handle

    def project(self, line: int, text: str) -> str | None:
        key = key_of(text)
        if not key:
            self.problem(line, "project is required")
            return None
        if key not in self.projects and key not in self.declared_projects:
            known = ", ".join("#" + k for k in sorted({*self.projects, *self.declared_projects}))
            self.problem(line, f"unknown project #{key} (known: {known or 'none yet'})")
            return None
        return key

    def first_seen(self, seen: dict[object, int], what: object, line: int, message: str) -> bool:
        """True the first time ``what`` is seen; else reports ``message`` with the first line."""
        if what in seen:
            self.problem(line, f"{message} (line {seen[what]} already has it)")
            return False
        seen[what] = line
        return True

    # people --------------------------------------------------------------------------------

    def people_changes(self) -> Iterable[Change]:
        seen: dict[object, int] = {}
        emails: dict[object, int] = {}
        owners = {p.email: p.handle for p in self.snapshot.people if p.email}
        for row in self.document.people:
            handle, name, email = handle_of(row.handle), row.name.strip(), row.email.strip().lower()
            zone = row.timezone.strip()
            ok = True
            if not HANDLE.match(handle):
                self.problem(
                    row.line,
                    f"handle '{row.handle.strip()}' must be 1–30 letters, digits, '.', '_' or "
                    "'-' (like dana.lee)",
                )
                ok = False
            elif not self.first_seen(seen, handle, row.line, f"@{handle} appears twice"):
                ok = False
            if not name:
                self.problem(row.line, "name is required")
                ok = False
            if email and not EMAIL.match(email):
                self.problem(row.line, f"'{email}' is not an email address")
                ok = False
            elif email and owners.get(email, handle) != handle:
                self.problem(row.line, f"{email} is already @{owners[email]}'s email")
                ok = False
            elif email and not self.first_seen(emails, email, row.line, f"{email} appears twice"):
                ok = False
            if zone and not valid_timezone(zone):
                self.problem(
                    row.line, f"unknown timezone '{zone}' (use an IANA name like Europe/London)"
                )
                ok = False
            if not ok:
                continue
            existing = self.people.get(handle)
            if existing is None:
                yield AddPerson(handle=handle, name=name, email=email, timezone=zone or "UTC")
                continue
            wanted = {"name": name, "email": email, "timezone": zone}
            changes = {k: v for k, v in wanted.items() if v and v != getattr(existing, k)}
            if changes:
                yield EditPerson(handle=handle, changes=changes)

    # the organization ----------------------------------------------------------------------

    def organization_changes(self) -> Iterable[Change]:
        row = self.document.organization
        if row is None:
            return
        organization = self.snapshot.organization
        admins = {self.handles.get(i) for i in organization.admin_ids}
        for text in row.admins:
            handle = self.person(row.line, text, "admin")
            if handle and handle not in admins:
                admins.add(handle)
                yield AddAdmin(handle=handle)
        if not admins - {None}:
            self.problem(row.line, "the organization needs an admin: list one under admins")
        if row.executive:
            handle = self.person(row.line, row.executive, "executive")
            current = self.handles.get(organization.escalation_contact_id or 0)
            if handle and handle != current:
                yield SetExecutive(handle=handle)

    # projects ------------------------------------------------------------------------------

    def project_changes(self) -> list[Change]:
        changes: list[Change] = []
        seen: dict[object, int] = {}
        for row in self.document.projects:
            key = key_of(row.key)
            if not KEY_PATTERN.match(key):
                self.problem(
                    row.line,
                    f"project key '{row.key.strip()}' must be 2–20 letters, digits, - or _, "
                    "starting with a letter (like SEPSIS)",
                )
                continue
            if not self.first_seen(seen, key, row.line, f"duplicate project key #{key}"):
                continue
            name = " ".join(row.name.split())
            existing = self.projects.get(key)
            lead = self.person(row.line, row.lead, "lead") if row.lead or not existing else None
            if existing is None:
                if not name:
                    self.problem(row.line, f"#{key} needs a name")
                if name and lead:
                    changes.append(AddProject(key=key, name=name, lead=lead))
                current = {f: "" for f in CHARTER_FIELDS}
            else:
                if name and name != existing.name:
                    changes.append(EditProject(key=key, field="name", value=name))
                if lead and not self.has_role(existing, lead, Role.LEAD):
                    changes.append(SetRole(project=key, person=lead, role=Role.LEAD, note=""))
                current = {f: getattr(existing, f) for f in CHARTER_FIELDS}
            changes += [
                EditProject(key=key, field=f, value=v.strip())
                for f, v in row.charter.items()
                if f in current and v.strip() != current[f]
            ]
        return changes

    def has_role(self, project: Project, handle: str, role: Role, note: str | None = None) -> bool:
        return any(
            s.project_id == project.id
            and self.handles.get(s.person_id) == handle
            and s.role is role
            and (note is None or s.note == note)
            for s in self.snapshot.stakeholders
        )

    # roles ---------------------------------------------------------------------------------

    def role_changes(self) -> list[SetRole]:
        changes: list[SetRole] = []
        sponsors: dict[object, int] = {}
        held: dict[object, int] = {}
        for row in self.document.roles:
            key = self.project(row.line, row.project)
            handle = self.person(row.line, row.person)
            try:
                role = Role(row.role.strip().lower())
            except ValueError:
                roles = ", ".join(r.value for r in Role)
                self.problem(row.line, f"role '{row.role.strip()}' must be one of {roles}")
                continue
            if key is None or handle is None:
                continue
            if role is Role.SPONSOR:
                if not self.first_seen(sponsors, key, row.line, f"two sponsors for #{key}"):
                    continue
                self.sponsor_lines[key] = row.line
            elif role is not Role.LEAD and not self.first_seen(
                held, (key, handle), row.line, f"@{handle} has two roles on #{key}"
            ):
                continue
            if role is not Role.SPONSOR and self.is_sponsor(key, handle):
                self.unsponsored[key] = row.line
            existing = self.projects.get(key)
            # A lead's note is not kept (leading is a fact, not an engagement note).
            note = "" if role is Role.LEAD else row.note.strip()
            if existing is not None and self.has_role(
                existing, handle, role, None if role is Role.LEAD else note
            ):
                continue
            if existing is None and role is Role.LEAD and self.leads_new(key, handle):
                continue  # creating the project makes its lead
            changes.append(SetRole(project=key, person=handle, role=role, note=note))
        return changes

    def is_sponsor(self, key: str, handle: str) -> bool:
        project = self.projects.get(key)
        return project is not None and self.has_role(project, handle, Role.SPONSOR)

    def leads_new(self, key: str, handle: str) -> bool:
        return any(
            key_of(r.key) == key and handle_of(r.lead) == handle for r in self.document.projects
        )

    def require_sponsors(self) -> None:
        """A new project is named with its sponsor; an active one never loses its sponsor."""
        new = {key_of(r.key): r.line for r in reversed(self.document.projects)}  # first line
        for key, line in new.items():
            if (
                KEY_PATTERN.match(key)
                and key not in self.projects
                and key not in self.sponsor_lines
            ):
                self.problem(line, f"new project #{key} needs a sponsor: give someone role sponsor")
        for key, line in self.unsponsored.items():
            project = self.projects[key]
            if key not in self.sponsor_lines and project.status is ProjectStatus.ACTIVE:
                self.problem(
                    line,
                    f"this takes the only sponsor of #{key} away: name its new sponsor too",
                )

    # RACI ----------------------------------------------------------------------------------

    def raci_changes(self) -> Iterable[Change]:
        accountable: dict[object, int] = {}
        seen: dict[object, int] = {}
        existing = {
            (self.keys.get(e.project_id), e.area, self.handles.get(e.person_id)): e.letter
            for e in self.snapshot.raci
        }
        for row in self.document.raci:
            key = self.project(row.line, row.project)
            handle = self.person(row.line, row.person)
            area = row.area.strip().lower()
            if not area:
                self.problem(row.line, "area is required (a word like budget, or * for default)")
            try:
                letter = Letter(row.letter.strip().upper())
            except ValueError:
                self.problem(row.line, f"RACI letter '{row.letter.strip()}' must be R, A, C or I")
                continue
            if key is None or handle is None or not area:
                continue
            if letter is Letter.A and not self.first_seen(
                accountable, (key, area), row.line, f"two Accountables for {area} on #{key}"
            ):
                continue
            if not self.first_seen(
                seen, (key, area, handle), row.line, f"@{handle} appears twice for {area} on #{key}"
            ):
                continue
            if existing.get((key, area, handle)) is not letter:
                yield SetLetter(project=key, area=area, person=handle, letter=letter)

    # cadence -------------------------------------------------------------------------------

    def cadence_changes(self) -> Iterable[Change]:
        seen: dict[object, int] = {}
        stored = {self.handles.get(p.person_id): p for p in self.snapshot.preferences}
        for row in self.document.cadence:
            handle = self.person(row.line, row.person)
            current = stored.get(handle) or CadencePreference(person_id=0)
            frequency = FREQUENCIES.get(row.frequency.strip().lower())
            if frequency is None:
                self.problem(
                    row.line,
                    f"cadence '{row.frequency.strip()}' must be weekly, biweekly, daily or off",
                )
            weekday = (
                WEEKDAY_NUMBERS.get(row.weekday.strip().lower())
                if row.weekday.strip()
                else current.weekday
            )
            if weekday is None:
                self.problem(row.line, f"weekday '{row.weekday.strip()}' is not a day of the week")
            clock = CLOCK.match(row.time.strip()) if row.time.strip() else None
            if row.time.strip() and clock is None:
                self.problem(row.line, f"time '{row.time.strip()}' must be HH:MM, like \"08:30\"")
            local_time = time(int(clock[1]), int(clock[2])) if clock else current.local_time
            detail_text = row.detail.strip().lower()
            detail = (
                {d.value: d for d in Detail}.get(detail_text) if detail_text else current.detail
            )
            if detail is None:
                self.problem(row.line, f"detail '{row.detail.strip()}' must be concise or detailed")
            if handle is None or frequency is None or weekday is None or detail is None:
                continue
            if not self.first_seen(seen, handle, row.line, f"@{handle} has two cadences"):
                continue
            wanted = (frequency, weekday, local_time, detail)
            if handle in stored and wanted == (
                current.frequency,
                current.weekday,
                current.local_time,
                current.detail,
            ):
                continue
            yield SetCadence(
                person=handle,
                frequency=frequency,
                weekday=weekday,
                local_time=local_time,
                detail=detail,
            )
