"""``leaderbot …``: the command line (DESIGN §7).

Every subcommand is a small async function of the parsed arguments and the settings; the wiring
lives in :mod:`adapters.app`. A user's mistake (bad arguments, a missing file, a malformed CSV
row, an unknown person) ends with one ``leaderbot: error: …`` line and a non-zero exit code:
2 for usage, 1 for everything else. Only a bug prints a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

import yaml
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from adapters import app as composition
from adapters import logs, redact
from adapters.console.render import render
from adapters.settings import Settings
from adapters.web.rows import (
    AskRow,
    DecisionRow,
    default_organization,
    load_asks,
    load_decisions,
    load_undelivered,
    row_dict,
)
from bot.context import Caller
from bot.errors import LeaderbotError
from bot.model import CodeKind, Letter, Organization, Person, Platform, Role
from bot.ports import UnitOfWork
from bot.services import org as org_service
from bot.services.lookup import person_named, project_named
from bot.services.people import caller_of
from bot.services.projects import set_role
from bot.services.raci import set_letter
from bot.services.undelivered import requeue
from bot.tenancy import bound
from bot.wording import plural


class CliError(Exception):
    """A user's mistake: printed as one line, exit code 1."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (the full usage stays one ``--help`` away)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


# --- import -------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class RaciRow:
    line: int
    project: str
    area: str
    person: str
    letter: Letter


@dataclass(frozen=True, kw_only=True)
class RoleRow:
    line: int
    project: str
    person: str
    role: Role
    note: str


def _handle(value: str) -> str:
    return value.strip().lstrip("@")


def parse_raci_csv(text: str) -> list[RaciRow]:
    """``project,area,person,letter`` rows (a header line first); person is a handle."""
    reader = csv.DictReader(text.splitlines())
    missing = {"project", "area", "person", "letter"} - set(reader.fieldnames or ())
    if missing:
        raise CliError(f"the CSV header lacks column(s): {', '.join(sorted(missing))}")
    rows = []
    for record in reader:
        line = reader.line_num
        values = {k: (record.get(k) or "").strip() for k in ("project", "area", "person", "letter")}
        if not all(values.values()):
            raise CliError(f"line {line}: project, area, person and letter are all required")
        try:
            letter = Letter(values["letter"].upper())
        except ValueError:
            raise CliError(f"line {line}: letter must be R, A, C or I") from None
        rows.append(
            RaciRow(
                line=line,
                project=values["project"].lstrip("#"),
                area=values["area"],
                person=_handle(values["person"]),
                letter=letter,
            )
        )
    return rows


def parse_stakeholders_yaml(text: str) -> list[RoleRow]:
    """A YAML list of ``{project, person, role, note}`` (note optional)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CliError(f"not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, list):
        raise CliError("the YAML must be a list of {project, person, role, note} entries")
    rows = []
    for number, entry in enumerate(data, start=1):
        if not isinstance(entry, dict) or not all(
            entry.get(k) for k in ("project", "person", "role")
        ):
            raise CliError(f"entry {number}: project, person and role are required")
        try:
            role = Role(str(entry["role"]).strip().lower())
        except ValueError:
            roles = ", ".join(r.value for r in Role)
            raise CliError(f"entry {number}: role must be one of {roles}") from None
        rows.append(
            RoleRow(
                line=number,
                project=str(entry["project"]).strip().lstrip("#"),
                person=_handle(str(entry["person"])),
                role=role,
                note=str(entry.get("note") or ""),
            )
        )
    return rows


async def _organization(uow: UnitOfWork, org: int | None) -> Organization:
    found = await (uow.organizations.get(org) if org else default_organization(uow))
    if found is None:
        raise CliError(
            f"no organization {org}" if org else "no organization yet: run `leaderbot demo seed`"
        )
    return found


async def _actor(uow: UnitOfWork, organization: Organization, handle: str | None) -> Person:
    """Who the change is recorded as: ``--as``, else the organization's admin."""
    if handle:
        return await person_named(uow, organization_id=organization.id, handle=handle)
    admin = await uow.people.get(organization.admin_ids[0] if organization.admin_ids else 0)
    if admin is None:
        raise CliError("the organization has no admin; name who imports with --as <handle>")
    return admin


async def import_rows(
    session: composition.CoreSession,
    rows: Sequence[RaciRow | RoleRow],
    *,
    org: int | None,
    as_handle: str | None,
) -> list[str]:
    """Apply every row through the core services in ONE transaction: a bad row changes nothing."""
    now = session.clock.now()
    results = []
    async with session.uow() as uow:
        organization_id = (await _organization(uow, org)).id
    async with bound(session.uow(), organization_id) as uow:
        organization = await _organization(uow, organization_id)
        actor = await _actor(uow, organization, as_handle)
        for row in rows:
            try:
                project = await project_named(uow, organization_id=organization.id, key=row.project)
                person = await person_named(uow, organization_id=organization.id, handle=row.person)
                if isinstance(row, RaciRow):
                    done = await set_letter(
                        uow,
                        project=project,
                        person=person,
                        letter=row.letter,
                        area=row.area,
                        actor=actor,
                        now=now,
                    )
                else:
                    done = await set_role(
                        uow,
                        project=project,
                        person=person,
                        role=row.role,
                        note=row.note,
                        actor=actor,
                        now=now,
                    )
            except LeaderbotError as exc:
                raise CliError(f"line {row.line}: {exc} (nothing was imported)") from None
            results.append(done)
        await uow.commit()
    return results


async def _import(args: argparse.Namespace, settings: Settings) -> int:
    path = Path(args.file)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}") from None
    if path.suffix.lower() == ".csv":
        rows: Sequence[RaciRow | RoleRow] = parse_raci_csv(text)
    elif path.suffix.lower() in {".yaml", ".yml"}:
        rows = parse_stakeholders_yaml(text)
    else:
        raise CliError("import takes a RACI .csv or a stakeholders .yaml file")
    async with composition.core_session(settings) as session:
        for line in await import_rows(session, rows, org=args.org, as_handle=args.as_handle):
            print(line)
    print(f"Imported {plural(len(rows), 'row')} from {path.name}.")
    return 0


# --- export, digest -------------------------------------------------------------------------


async def _export(args: argparse.Namespace, settings: Settings) -> int:
    kind: type[AskRow | DecisionRow] = AskRow if args.what == "asks" else DecisionRow
    async with composition.core_session(settings) as session:
        async with session.uow() as uow:
            organization_id = (await _organization(uow, args.org)).id
        async with bound(session.uow(), organization_id) as uow:
            organization = await _organization(uow, organization_id)
            rows: Sequence[AskRow | DecisionRow] = await (
                load_asks(
                    uow, organization_id=organization.id, now=session.clock.now(), states=None
                )
                if kind is AskRow
                else load_decisions(uow, organization_id=organization.id, limit=None)
            )
    writer = csv.DictWriter(
        sys.stdout, fieldnames=[f.name for f in fields(kind)], lineterminator="\n"
    )
    writer.writeheader()
    writer.writerows(row_dict(row) for row in rows)
    return 0


async def _digest(args: argparse.Namespace, settings: Settings) -> int:
    async with composition.core_session(settings) as session:
        async with session.uow() as uow:
            organization = await _organization(uow, args.org)
            person = await person_named(uow, organization_id=organization.id, handle=args.handle)
        caller: Caller = caller_of(person, platform=Platform.CONSOLE, workspace_id=None)
        reply = await session.core.command(caller, "digest")
    print("\n\n".join(render(m, first_choice=1)[0] for m in reply.messages))
    return 0 if reply.ok else 1


# --- org ------------------------------------------------------------------------------------
# The operator at the keyboard has the database: no admin check here, which is how the first
# admin of an organization is named (`leaderbot org admin add @dana`).

OrgChange = Callable[[UnitOfWork, Organization, argparse.Namespace, datetime], Awaitable[str]]


async def _in_org(args: argparse.Namespace, settings: Settings, change: OrgChange) -> int:
    """Run one ``org`` subcommand in one transaction and print what it did."""
    async with composition.core_session(settings) as session, session.uow() as uow:
        organization = await _organization(uow, args.org)
        said = await change(uow, organization, args, session.clock.now())
        await uow.commit()
    print(said)
    return 0


async def _org_show(
    uow: UnitOfWork, organization: Organization, args: argparse.Namespace, now: datetime
) -> str:
    seen = await org_service.overview(uow, organization_id=organization.id)
    workspaces = [
        f"  {w.platform.value} {w.external_id} {w.name}".rstrip() for w in seen.workspaces
    ]
    executive = seen.executive
    return "\n".join(
        [
            f"{organization.name} (organization {organization.id})",
            "workspaces:",
            *(workspaces or ["  none"]),
            "admins: " + (", ".join(f"@{p.handle}" for p in seen.admins) or "none"),
            f"executive: {'@' + executive.handle if executive else 'none'}",
        ]
    )


async def _org_invite(
    uow: UnitOfWork, organization: Organization, args: argparse.Namespace, now: datetime
) -> str:
    actor = await _actor(uow, organization, args.as_handle)
    code, row = await org_service.issue_code(
        uow, kind=CodeKind.ORG_INVITE, organization_id=organization.id, created_by=actor, now=now
    )
    return (
        f"Invitation code for {organization.name}: {code}\n"
        f"Valid once, until {row.expires_at:%Y-%m-%d %H:%M} UTC. The partner's admin types "
        f"this to Leaderbot in their own Slack or Teams: org join {code}"
    )


async def _org_admin(
    uow: UnitOfWork, organization: Organization, args: argparse.Namespace, now: datetime
) -> str:
    person = await person_named(uow, organization_id=organization.id, handle=_handle(args.handle))
    if args.verb == "remove":
        await org_service.remove_admin(
            uow, organization=organization, person=person, actor=None, now=now
        )
        return f"@{person.handle} is no longer an admin of {organization.name}."
    added = await org_service.add_admin(
        uow, organization=organization, person=person, actor=None, now=now
    )
    return (
        f"@{person.handle} {'is now' if added else 'already was'} an admin of {organization.name}."
    )


async def _org_executive(
    uow: UnitOfWork, organization: Organization, args: argparse.Namespace, now: datetime
) -> str:
    person = await person_named(uow, organization_id=organization.id, handle=_handle(args.handle))
    await org_service.set_executive(
        uow, organization=organization, person=person, actor=None, now=now
    )
    return f"@{person.handle} is now the executive of {organization.name}."


async def _org_name(
    uow: UnitOfWork, organization: Organization, args: argparse.Namespace, now: datetime
) -> str:
    await org_service.rename(
        uow, organization=organization, name=" ".join(args.name), actor=None, now=now
    )
    return f"The organization is now called {organization.name}."


def _org(change: OrgChange) -> Command:
    async def run(args: argparse.Namespace, settings: Settings) -> int:
        return await _in_org(args, settings, change)

    return run


# --- outbox ---------------------------------------------------------------------------------


async def _outbox(args: argparse.Namespace, settings: Settings) -> int:
    """``outbox list``: what was given up and what is stuck; ``outbox retry``: send given-up
    messages again (the drain of a running server, or the next ``tick``, sends them)."""
    async with composition.core_session(settings) as session, session.uow() as uow:
        organization = await _organization(uow, args.org)
        now = session.clock.now()
        if args.action == "list":
            rows = await load_undelivered(uow, organization_id=organization.id, now=now)
            for r in rows:
                print(
                    f"{r.id}\t{r.state}\tto {r.to} on {r.platform}\t{r.title}\t"
                    f"written {r.created_at:%Y-%m-%d %H:%M}, {r.attempts} tries\t{r.error}"
                )
            print(f"{len(rows)} undelivered." if rows else "Nothing waits undelivered.")
            return 0
        if not args.all and not args.ids:
            raise CliError("name the messages to retry (ids from `outbox list`) or give --all")
        if args.all and args.ids:
            raise CliError("give message ids or --all, not both")
        done = await requeue(
            uow, organization_id=organization.id, ids=None if args.all else args.ids, now=now
        )
        await uow.commit()
    for item in done:
        print(item.note)
    if not done:
        print("Nothing was given up; nothing to retry.")
    return 0 if all(item.ok for item in done) else 1


# --- the rest -------------------------------------------------------------------------------


async def _serve(args: argparse.Namespace, settings: Settings) -> int:
    overrides = {"host": args.host, "port": args.port}
    settings = settings.model_copy(update={k: v for k, v in overrides.items() if v is not None})
    await composition.serve(settings, demo=args.demo)
    return 0


async def _console(args: argparse.Namespace, settings: Settings) -> int:
    return await composition.console(settings, handle=args.as_handle)


async def _db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    await composition.migrate(settings)
    print(f"Database at the latest revision: {settings.safe_database_url}")
    return 0


async def _demo_seed(args: argparse.Namespace, settings: Settings) -> int:
    async with composition.core_session(settings) as session:
        seeded = await composition.seed_demo_if_empty(session.uow, session.clock)
    print("Seeded the demo organization." if seeded else "Nothing to do: the database has data.")
    return 0


def _instant(text: str) -> datetime:
    """An ISO 8601 time for ``tick --now``; a naive one is taken as UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def _tick(args: argparse.Namespace, settings: Settings) -> int:
    print(await composition.tick(settings, now=args.now))
    return 0


async def _teams_package(args: argparse.Namespace, settings: Settings) -> int:
    print(f"Wrote {composition.teams_package(settings, out=Path(args.out))}")
    return 0


Command = Callable[[argparse.Namespace, Settings], Awaitable[int]]


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="leaderbot", description="Keeps leaders engaged in projects.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")

    def command(name: str, run: Command, help: str) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = commands.add_parser(name, help=help, description=help)
        sub.set_defaults(run=run)
        return sub

    def org_option(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--org", type=int, help="organization id (default: the first one)")

    serve = command("serve", _serve, "run the server (Slack, Teams, dashboard, cadence)")
    serve.add_argument("--host", help="address to listen on (default: HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: PORT or 3978)")
    serve.add_argument("--demo", action="store_true", help="seed demo data into an empty database")

    console = command("console", _console, "chat with the bot in this terminal")
    console.add_argument("--as", dest="as_handle", required=True, metavar="HANDLE")

    db = command("db", _db_upgrade, "database maintenance")
    db.add_argument("action", choices=["upgrade"], help="upgrade: apply pending migrations")

    demo = command("demo", _demo_seed, "demo data")
    demo.add_argument("action", choices=["seed"], help="seed: load the demo organization")

    imp = command("import", _import, "load a RACI .csv or a stakeholders .yaml")
    imp.add_argument("file", help="raci.csv (project,area,person,letter) or stakeholders.yaml")
    imp.add_argument("--as", dest="as_handle", metavar="HANDLE", help="record changes as them")
    org_option(imp)

    export = command("export", _export, "write decisions or asks as CSV to stdout")
    export.add_argument("what", choices=["decisions", "asks"])
    export.add_argument("--csv", action="store_true", help="CSV (the only format)")
    org_option(export)

    digest = command("digest", _digest, "show a person's digest as it would be sent now")
    digest.add_argument("action", choices=["preview"])
    digest.add_argument("handle")
    org_option(digest)

    tick = command("tick", _tick, "run the cadence once (due digests, reminders, escalations)")
    tick.add_argument("--now", type=_instant, required=True, metavar="ISO_TIME")

    org = commands.add_parser("org", help="organization set-up", description="organization set-up")
    org_commands = org.add_subparsers(dest="org_command", required=True, metavar="command")

    def org_command(name: str, change: OrgChange, help: str) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = org_commands.add_parser(name, help=help, description=help)
        sub.set_defaults(run=_org(change))
        org_option(sub)
        return sub

    org_command("show", _org_show, "the organization's workspaces, admins and executive")
    invite = org_command("invite", _org_invite, "a one-time code (24 h) for a partner workspace")
    invite.add_argument("--as", dest="as_handle", metavar="HANDLE", help="invite as them")
    admin = org_command("admin", _org_admin, "add or remove an admin (never the last one)")
    admin.add_argument("verb", choices=["add", "remove"])
    admin.add_argument("handle")
    executive = org_command("executive", _org_executive, "who blockers reach at the top")
    executive.add_argument("handle")
    name = org_command("name", _org_name, "rename the organization")
    name.add_argument("name", nargs="+")
    outbox = command("outbox", _outbox, "messages given up or stuck, and sending them again")
    outbox.add_argument(
        "action", choices=["list", "retry"], help="list: show them; retry: requeue given-up ones"
    )
    outbox.add_argument("ids", nargs="*", type=int, metavar="ID", help="retry: these messages")
    outbox.add_argument("--all", action="store_true", help="retry: every given-up message")
    org_option(outbox)

    package = command("teams-package", _teams_package, "build the Teams app package (zip)")
    package.add_argument("--out", default=".", metavar="DIR", help="directory for the zip")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]).upper()
        return _fail(f"invalid setting {where}: {error['msg']}")
    # Only the server logs routine news; a console session or a one-shot command shows the
    # person at the keyboard its own output, with warnings and errors only.
    level = settings.log_level if args.run is _serve else max(logging.WARNING, _level(settings))
    logs.configure(level=level, log_format=settings.log_format)
    redact.install()
    if settings.log_level != "DEBUG":
        # One line per job run every few seconds, and one per Alembic plugin: noise, not news.
        for chatty in ("apscheduler", "alembic.runtime.plugins"):
            logging.getLogger(chatty).setLevel(logging.WARNING)
    try:
        code: int = asyncio.run(args.run(args, settings))
    except KeyboardInterrupt:
        return 130
    except (CliError, LeaderbotError, composition.SetupError) as exc:
        return _fail(str(exc))
    except (OSError, SQLAlchemyError) as exc:
        return _fail(str(exc).splitlines()[0])
    return code


def _level(settings: Settings) -> int:
    return logging.getLevelNamesMapping()[settings.log_level]


def _fail(message: str) -> int:
    print(f"leaderbot: error: {message}", file=sys.stderr)
    return 1
