"""Import files → :class:`bot.imports.Document`: the file formats of ``leaderbot import``.

Only the shape of a file is checked here (its columns, that a YAML entry is a mapping); every
value stays text with its line number, so :func:`bot.imports.check` can report every bad value
of the whole file at once. The formats are documented in ``docs/import.md``, with samples in
``examples/``.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from bot.imports import (
    CadenceRow,
    Document,
    OrganizationRow,
    PersonRow,
    Problem,
    ProjectRow,
    RaciRow,
    RoleRow,
)
from bot.services.projects import CHARTER_FIELDS


class Kind(StrEnum):
    PEOPLE = "people"
    RACI = "raci"
    STAKEHOLDERS = "stakeholders"
    ORG = "org"


@dataclass(frozen=True)
class _Columns:
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()


COLUMNS = {
    Kind.PEOPLE: _Columns(("handle", "name"), ("email", "timezone")),
    Kind.RACI: _Columns(("project", "area", "person", "letter")),
    Kind.STAKEHOLDERS: _Columns(("project", "person", "role"), ("note",)),
}
"""The CSV kinds' header columns."""


_CSV, _YAML = {".csv"}, {".yaml", ".yml"}
_SUFFIXES = {
    Kind.PEOPLE: _CSV,
    Kind.RACI: _CSV,
    Kind.STAKEHOLDERS: _CSV | _YAML,
    Kind.ORG: _YAML,
}


def kind_of(path: Path) -> Kind | None:
    """The kind a file's name says (``people.csv``, ``northfield-raci.csv``, ``org.yaml``); a
    ``.yaml`` file not named for a kind is an ``org.yaml`` (a list: the older
    ``stakeholders.yaml``, told apart when read)."""
    suffix = path.suffix.lower()
    words = path.stem.lower().replace("-", "_").replace(".", "_").split("_")
    named = [kind for kind in Kind if kind.value in words and suffix in _SUFFIXES[kind]]
    if len(named) == 1:
        return named[0]
    if not named and suffix in _YAML:
        return Kind.ORG
    return None


def read(kind: Kind, text: str, *, suffix: str) -> Document:
    """The rows of a file of this kind: YAML for ``org``, and for ``stakeholders`` named
    ``.yaml``/``.yml``; CSV otherwise."""
    if kind is Kind.ORG or (kind is Kind.STAKEHOLDERS and suffix.lower() in _YAML):
        return _read_yaml(text)
    return _read_csv(kind, text)


# --- CSV ------------------------------------------------------------------------------------


Csv = Callable[[int, Mapping[str, str]], Any]

_CSV_ROWS: dict[Kind, Csv] = {
    Kind.PEOPLE: lambda line, r: PersonRow(
        line=line, handle=r["handle"], name=r["name"], email=r["email"], timezone=r["timezone"]
    ),
    Kind.RACI: lambda line, r: RaciRow(
        line=line, project=r["project"], area=r["area"], person=r["person"], letter=r["letter"]
    ),
    Kind.STAKEHOLDERS: lambda line, r: RoleRow(
        line=line, project=r["project"], person=r["person"], role=r["role"], note=r["note"]
    ),
}
_CSV_DOCUMENT: dict[Kind, Callable[[tuple[Any, ...]], Document]] = {
    Kind.PEOPLE: lambda rows: Document(people=rows),
    Kind.RACI: lambda rows: Document(raci=rows),
    Kind.STAKEHOLDERS: lambda rows: Document(roles=rows),
}


def _read_csv(kind: Kind, text: str) -> Document:
    columns = COLUMNS[kind]
    reader = csv.DictReader(text.lstrip("\ufeff").splitlines())
    header = [name.strip().lower() for name in reader.fieldnames or ()]
    reader.fieldnames = header
    missing = [c for c in columns.required if c not in header]
    unknown = [c for c in header if c not in (*columns.required, *columns.optional)]
    problems = []
    if missing:
        problems.append(Problem(1, f"the header lacks column(s): {', '.join(missing)}"))
    if unknown:
        known = ", ".join((*columns.required, *columns.optional))
        problems.append(
            Problem(1, f"unknown column(s): {', '.join(unknown)} ({kind.value} has {known})")
        )
    if problems:
        return Document(problems=tuple(problems))
    rows = []
    for record in reader:
        values = {c: (record.get(c) or "").strip() for c in (*columns.required, *columns.optional)}
        if any(values.values()):  # a blank line is no row
            rows.append(_CSV_ROWS[kind](reader.line_num, values))
    return _CSV_DOCUMENT[kind](tuple(rows))


# --- YAML -----------------------------------------------------------------------------------


class _Mapping(dict[str, Any]):
    """A YAML mapping that remembers the line it starts on."""

    line = 0


class _Loader(yaml.SafeLoader):
    """safe_load, with line numbers on every mapping."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> _Mapping:
    mapping = _Mapping({str(k): v for k, v in loader.construct_mapping(node, deep=True).items()})
    mapping.line = node.start_mark.line + 1
    return mapping


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


class _Yaml:
    """Reads one YAML document into rows, noting every entry of the wrong shape."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def entries(self, value: object, *, line: int, what: str) -> list[_Mapping]:
        """A list of mappings (``people:``, ``roles:``); anything else is a problem."""
        if value is None:
            return []
        if not isinstance(value, list):
            self.problems.append(Problem(line, f"{what} must be a list of entries"))
            return []
        found = []
        for number, entry in enumerate(value, start=1):
            if isinstance(entry, _Mapping):
                found.append(entry)
            else:
                self.problems.append(Problem(line, f"{what} entry {number} must be a mapping"))
        return found

    def text(self, entry: _Mapping, name: str) -> str:
        value = entry.get(name)
        if value is None:
            return ""
        if isinstance(value, dict | list):
            self.problems.append(Problem(entry.line, f"{name} must be text, not a list or mapping"))
            return ""
        return str(value).strip()

    def unknown(self, entry: _Mapping, known: tuple[str, ...], what: str) -> None:
        extra = sorted(str(k) for k in entry if k not in known)
        if extra:
            self.problems.append(
                Problem(
                    entry.line,
                    f"unknown field(s) in {what}: {', '.join(extra)} (known: {', '.join(known)})",
                )
            )

    def role(self, entry: _Mapping, project: str) -> RoleRow:
        self.unknown(entry, ("project", "person", "role", "note"), "a role")
        return RoleRow(
            line=entry.line,
            project=self.text(entry, "project") or project,
            person=self.text(entry, "person"),
            role=self.text(entry, "role"),
            note=self.text(entry, "note"),
        )

    def raci(self, entry: _Mapping, project: str) -> RaciRow:
        self.unknown(entry, ("area", "person", "letter"), "a RACI entry")
        return RaciRow(
            line=entry.line,
            project=project,
            area=self.text(entry, "area"),
            person=self.text(entry, "person"),
            letter=self.text(entry, "letter"),
        )


_ORG_KEYS = ("organization", "people", "projects")
_PERSON_KEYS = ("handle", "name", "email", "timezone", "cadence")
_CADENCE_KEYS = ("frequency", "weekday", "time", "detail")
_PROJECT_KEYS = ("key", "name", "lead", *CHARTER_FIELDS, "roles", "raci")


def _read_yaml(text: str) -> Document:
    try:
        data = yaml.load(text, Loader=_Loader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        return Document(problems=(Problem(line, f"not valid YAML: {str(exc).splitlines()[0]}"),))
    reader = _Yaml()
    if isinstance(data, list):  # the older stakeholders.yaml: a list of roles
        entries = reader.entries(data, line=1, what="the file")
        listed = tuple(reader.role(e, "") for e in entries)
        return Document(roles=listed, problems=tuple(reader.problems))
    if not isinstance(data, _Mapping):
        return Document(
            problems=(Problem(1, "an org.yaml is a mapping with people: and projects:"),)
        )
    reader.unknown(data, _ORG_KEYS, "the file")
    organization = None
    if "organization" in data:
        section = data["organization"]
        if isinstance(section, _Mapping):
            reader.unknown(section, ("name", "admins", "executive"), "organization")
            admins = section.get("admins") or []
            organization = OrganizationRow(
                line=section.line,
                name=reader.text(section, "name"),
                admins=tuple(str(a) for a in (admins if isinstance(admins, list) else [admins])),
                executive=reader.text(section, "executive"),
            )
        else:
            reader.problems.append(Problem(1, "organization must be a mapping (name, admins)"))
    people, cadence = [], []
    for entry in reader.entries(data.get("people"), line=data.line, what="people"):
        reader.unknown(entry, _PERSON_KEYS, "a person")
        people.append(
            PersonRow(
                line=entry.line,
                handle=reader.text(entry, "handle"),
                name=reader.text(entry, "name"),
                email=reader.text(entry, "email"),
                timezone=reader.text(entry, "timezone"),
            )
        )
        wanted = entry.get("cadence")
        if isinstance(wanted, _Mapping):
            reader.unknown(wanted, _CADENCE_KEYS, "a cadence")
            cadence.append(
                CadenceRow(
                    line=wanted.line,
                    person=reader.text(entry, "handle"),
                    frequency=reader.text(wanted, "frequency"),
                    weekday=reader.text(wanted, "weekday"),
                    time=reader.text(wanted, "time"),
                    detail=reader.text(wanted, "detail"),
                )
            )
        elif wanted is not None:
            reader.problems.append(Problem(entry.line, "cadence must be a mapping (frequency …)"))
    projects, roles, raci = [], [], []
    for entry in reader.entries(data.get("projects"), line=data.line, what="projects"):
        reader.unknown(entry, _PROJECT_KEYS, "a project")
        key = reader.text(entry, "key")
        projects.append(
            ProjectRow(
                line=entry.line,
                key=key,
                name=reader.text(entry, "name"),
                lead=reader.text(entry, "lead"),
                charter={f: reader.text(entry, f) for f in CHARTER_FIELDS if f in entry},
            )
        )
        roles += [
            reader.role(e, key)
            for e in reader.entries(entry.get("roles"), line=entry.line, what="roles")
        ]
        raci += [
            reader.raci(e, key)
            for e in reader.entries(entry.get("raci"), line=entry.line, what="raci")
        ]
    return Document(
        organization=organization,
        people=tuple(people),
        projects=tuple(projects),
        roles=tuple(roles),
        raci=tuple(raci),
        cadence=tuple(cadence),
        problems=tuple(reader.problems),
    )
