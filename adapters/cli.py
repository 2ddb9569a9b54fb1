"""``leaderbot …``: the command line (DESIGN §7).

Every subcommand is a small async function of the parsed arguments and the settings; the wiring
lives in :mod:`adapters.app`. A user's mistake (bad arguments, a missing file, an unknown
person) ends with one ``leaderbot: error: …`` line — an import file's problems are listed
under it, all of them — and a non-zero exit code: 2 for usage, 1 for everything else. Only a
bug prints a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from adapters import app as composition
from adapters import import_files, logs, redact
from adapters.console.render import render
from adapters.import_files import Kind, kind_of
from adapters.settings import Settings
from adapters.web import exports
from adapters.web.rows import (
    default_organization,
    load_undelivered,
)
from bot.context import Caller, Reply
from bot.errors import LeaderbotError
from bot.imports import Document, Problem, check, handle_of
from bot.inbound import Inbound, Text
from bot.model import CodeKind, Organization, Person, Platform
from bot.ports import UnitOfWork
from bot.services import imports as import_service
from bot.services import org as org_service
from bot.services.demo import DEMO_NAME, demo_organizations, seed_demo
from bot.services.exports import ExportKind
from bot.services.lookup import person_named
from bot.services.people import caller_of
from bot.services.undelivered import requeue
from bot.tenancy import bound
from bot.wording import plural


class CliError(Exception):
    """A user's mistake: printed after ``leaderbot: error:`` (one line, or an import's list of
    problems), exit code 1."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (the full usage stays one ``--help`` away)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


# --- import -------------------------------------------------------------------------------


def _handle(value: str) -> str:
    return value.strip().lstrip("@")


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


async def _chosen(uow: UnitOfWork, org: int | None) -> Organization | None:
    """The organization ``--org`` names, else the only one (None: there is none yet). Several
    and no ``--org`` is refused: an import or export must never guess whose data it is."""
    if org:
        return await _organization(uow, org)
    found = await uow.organizations.find(order_by="id", limit=20)
    if len(found) > 1:
        listed = ", ".join(f"{o.id} ({o.name})" for o in found)
        raise CliError(f"there are {len(found)} organizations: name one with --org ID ({listed})")
    return found[0] if found else None


_UNCHANGED = "Nothing was changed."


def _import_kind(path: Path, flag: str | None) -> Kind:
    kind = Kind(flag) if flag else kind_of(path)
    if kind is None:
        kinds = "|".join(k.value for k in Kind)
        raise CliError(
            f"which kind of file is {path.name}? Name it people.csv, raci.csv, "
            f"stakeholders.csv or org.yaml, or give --kind {kinds}"
        )
    return kind


async def _import(args: argparse.Namespace, settings: Settings) -> int:
    path = Path(args.file)
    kind = _import_kind(path, args.kind)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    document = import_files.read(kind, text, suffix=path.suffix)
    async with composition.core_session(settings) as session, session.uow() as inner:
        now = session.clock.now()
        if args.new_org and args.org:
            raise CliError("give --org (import into it) or --new-org (found one), not both")
        organization = None if args.new_org else await _chosen(inner, args.org)
        if organization is None:
            organization = await _founded(inner, document, path, now=now, asked=args.new_org)
        uow = bound(inner, organization.id)
        plan = check(document, await import_service.snapshot(uow, organization=organization))
        as_handle = _handle(args.as_handle).lower() if args.as_handle else None
        declared = {handle_of(p.handle) for p in document.people}
        if as_handle and as_handle not in declared and not await uow.people.first(handle=as_handle):
            raise CliError(f"--as: I don't know anyone called @{as_handle}")
        if plan.problems:
            raise _problems(path, plan.problems)
        try:
            changes = await import_service.apply(
                uow,
                organization=organization,
                plan=plan,
                source=path.name,
                as_handle=as_handle,
                now=now,
            )
        except LeaderbotError as exc:  # a service refused one change: none of the file is kept
            said = str(exc)
            raise CliError(
                f"{path.name}: {said}" + ("" if _UNCHANGED in said else f" {_UNCHANGED}")
            ) from None
        await inner.commit()
    for change in changes:
        print(change)
    print(
        f"Imported {path.name} into {organization.name}: {plural(len(changes), 'change')}."
        if changes
        else f"{path.name} matches {organization.name} already. Nothing changed."
    )
    return 0


def _problems(path: Path, problems: Sequence[Problem]) -> CliError:
    """Every problem of the file, a line each, under one ``leaderbot: error:`` line."""
    count = len(problems)
    return CliError(
        "\n".join(
            [
                f"{path.name} has {count} problem{'s' if count > 1 else ''}:",
                *(f"  {path.name} {problem}" for problem in problems),
                _UNCHANGED,
            ]
        )
    )


async def _founded(
    uow: UnitOfWork, document: Document, path: Path, *, now: datetime, asked: bool
) -> Organization:
    """The organization an ``org.yaml`` founds: on an empty database, or with ``--new-org``."""
    section = document.organization
    if section is None or not section.name:
        where = "" if asked else "the database has no organization yet: "
        raise CliError(
            f"{where}import an org.yaml whose organization: section has a name and admins "
            "(it founds the organization), or run `leaderbot demo seed`"
        )
    return await import_service.found(uow, name=section.name, now=now)


# --- export, digest -------------------------------------------------------------------------


async def _export(args: argparse.Namespace, settings: Settings) -> int:
    async with composition.core_session(settings) as session:
        async with session.uow() as uow:
            organization = await _chosen(uow, args.org)
        text = await exports.export_csv(
            session.uow,
            organization_id=organization.id if organization else 0,
            kind=ExportKind(args.what),
            now=session.clock.now(),
        )
    sys.stdout.write(text)
    return 0


async def _digest(args: argparse.Namespace, settings: Settings) -> int:
    async with composition.core_session(settings) as session:
        async with session.uow() as uow:
            organization = await _organization(uow, args.org)
            person = await person_named(uow, organization_id=organization.id, handle=args.handle)
        caller: Caller = caller_of(person, platform=Platform.CONSOLE, workspace_id=None)
        reply = await session.core.handle(
            Inbound(
                platform=Platform.CONSOLE,
                workspace="",
                user_id=caller.handle,
                request=Text(text="digest"),
                caller=caller,
            )
        )
    assert isinstance(reply, Reply)  # a caller given is never a newcomer
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


async def _demo(args: argparse.Namespace, settings: Settings) -> int:
    async with composition.core_session(settings) as session:
        if args.action == "reset":
            return await _demo_reset(session, confirmed=args.yes)
        seeded = await composition.seed_demo_if_empty(session.uow, session.clock)
    print("Seeded the demo organization." if seeded else "Nothing to do: the database has data.")
    return 0


async def _demo_reset(session: composition.CoreSession, *, confirmed: bool) -> int:
    """Erase the demo organization and seed it again; every other organization is left as it
    is. Asks first, unless ``--yes``."""
    async with session.uow() as uow:
        found = await demo_organizations(uow)
        if len(found) != 1:
            raise CliError(
                "there is no demo organization to reset: `leaderbot demo seed` loads one into "
                "an empty database"
                if not found
                else f"there are {len(found)} organizations called {DEMO_NAME}; "
                "reset would not know which"
            )
        demo = found[0]
        scoped = bound(uow, demo.id)
        held = [
            f"{await scoped.people.count()} people",
            f"{await scoped.projects.count()} projects",
            f"{await scoped.asks.count()} asks",
            f"{await scoped.audit.count()} audit events",
        ]
    print(
        f"This erases {demo.name} (organization {demo.id}: {', '.join(held)}) and loads the "
        "demo again. Other organizations are not touched."
    )
    if not confirmed:
        answer = await asyncio.to_thread(_ask, "Type yes to reset it: ")
        if answer.strip().lower() != "yes":
            print("Nothing was changed.")
            return 1
    await seed_demo(session.uow, session.clock, replacing=demo.id)
    print("The demo organization is as new.")
    return 0


def _ask(prompt: str) -> str:
    """One line from the keyboard ("" at end of input: a script without --yes is a no)."""
    try:
        return input(prompt)
    except EOFError:
        return ""


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

    def org_option(
        sub: argparse.ArgumentParser, help: str = "organization id (default: the first one)"
    ) -> None:
        sub.add_argument("--org", type=int, help=help)

    only_org = "organization id (needed when there are several)"

    serve = command("serve", _serve, "run the server (Slack, Teams, dashboard, cadence)")
    serve.add_argument("--host", help="address to listen on (default: HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: PORT or 3978)")
    serve.add_argument("--demo", action="store_true", help="seed demo data into an empty database")

    console = command("console", _console, "chat with the bot in this terminal")
    console.add_argument("--as", dest="as_handle", required=True, metavar="HANDLE")

    db = command("db", _db_upgrade, "database maintenance")
    db.add_argument("action", choices=["upgrade"], help="upgrade: apply pending migrations")

    demo = command("demo", _demo, "demo data")
    demo.add_argument(
        "action",
        choices=["seed", "reset"],
        help="seed: load the demo organization into an empty database; reset: erase it and load "
        "it again (other organizations untouched)",
    )
    demo.add_argument("--yes", action="store_true", help="reset without asking")

    imp = command(
        "import", _import, "load people, RACI, stakeholders or a whole org.yaml (docs/import.md)"
    )
    imp.add_argument("file", help="people.csv, raci.csv, stakeholders.csv or org.yaml")
    imp.add_argument("--kind", choices=[k.value for k in Kind], help="when the name does not say")
    imp.add_argument("--as", dest="as_handle", metavar="HANDLE", help="record changes as them")
    imp.add_argument(
        "--new-org", action="store_true", help="org.yaml: found a new organization from it"
    )
    org_option(imp, only_org)

    export = command("export", _export, "write asks, blockers, decisions, KPIs or audit as CSV")
    export.add_argument("what", choices=[k.value for k in ExportKind])
    export.add_argument("--csv", action="store_true", help="CSV (the only format)")
    org_option(export, only_org)

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
