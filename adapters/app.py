"""The composition root (DESIGN §9): settings → database → core → adapters → scheduler.

The only module that knows every part. Everything is built here from a ``Settings`` and handed
down explicitly; nothing is a module-level singleton, so a test can build two applications side by
side. Heavy parts (SQLAlchemy, bolt, botbuilder, APScheduler) are imported inside the functions
that build them, so ``leaderbot --help`` and the console start fast and never load a platform SDK
they do not use.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

from adapters.http import HEADER_TIMEOUT, WEB, Mount, build_web_app
from adapters.logs import AccessLogger
from adapters.metrics import Metrics, ObservedSender
from adapters.settings import Settings
from adapters.web.legal import mount_legal
from adapters.web.link_key import link_key
from adapters.web.links import SignedLinks
from bot.clock import ManualClock, SystemClock
from bot.dispatch import Core, CoreSettings
from bot.links import Links
from bot.model import Platform
from bot.ports import Clock, Sender, UnitOfWorkFactory

if TYPE_CHECKING:
    from cadence.scheduler import CadenceScheduler
    from storage.database import Database

log = logging.getLogger(__name__)


class SetupError(Exception):
    """A command cannot run as configured (the CLI prints the sentence as one line)."""


@dataclass(kw_only=True)
class Application:
    """Everything one server process runs, wired."""

    settings: Settings
    clock: Clock
    database: Database
    uow: UnitOfWorkFactory
    core: Core
    web: web.Application
    metrics: Metrics
    senders: dict[Platform, Sender] = field(default_factory=dict)
    scheduler: CadenceScheduler
    """Built, not started: :func:`serve` starts it (tests and one-shot commands do not)."""
    platforms: dict[str, str] = field(default_factory=dict)
    """Platform name → "on" or why it is off, for the startup line."""
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    """What the platforms hold open (the Slack sender's HTTP session), closed before the
    database."""

    async def close(self) -> None:
        """Close the platforms' connections, then the database (the scheduler is stopped by
        :func:`serve`)."""
        for close in self.closers:
            await close()
        await self.database.close()


async def migrate(settings: Settings) -> None:
    """Bring the schema to the latest Alembic revision (``leaderbot db upgrade``)."""
    from storage.migrate import upgrade

    await upgrade(settings.database_url)


def _database(settings: Settings) -> Database:
    from storage.database import Database

    return Database(settings.database_url)


def _links(settings: Settings, clock: Clock, *, serving: bool) -> Links | None:
    """Personal dashboard links, when they will verify: in the server itself, or anywhere the
    key is shared (DASHBOARD_SECRET, or the key file beside a local SQLite database)."""
    key = link_key(settings)
    if key is None and not serving:
        return None
    return SignedLinks(key=key or settings.dashboard_key, clock=clock, link_base=settings.link_base)


def _core(
    settings: Settings,
    uow: UnitOfWorkFactory,
    clock: Clock,
    *,
    serving: bool,
    metrics: Metrics | None = None,
) -> Core:
    return Core(
        uow=uow,
        clock=clock,
        settings=CoreSettings(
            link_base=settings.link_base,
            links=_links(settings, clock, serving=serving),
        ),
        observer=metrics,
    )


@dataclass(frozen=True, kw_only=True)
class _Platform:
    mount: Mount
    sender: Sender
    state: str = "on"
    close: Callable[[], Awaitable[None]] | None = None


def _slack(settings: Settings, core: Core, database: Database, metrics: Metrics) -> _Platform | str:
    """The bolt app at ``/slack/…`` and its Web API sender, or why Slack stays off."""
    reason = settings.slack_off_reason()
    if reason:
        return reason
    from adapters.slack.app import build_slack_app, mount_slack
    from adapters.slack.sender import SlackSender
    from adapters.slack.settings import SlackSettings

    bolt = build_slack_app(
        core=core,
        settings=SlackSettings.from_env(settings.slack_env()),
        engine=database.engine,
        on_ack=metrics.slack_acked,
    )
    if bolt is None:
        return "the Slack adapter refused the configuration (see above)"
    sender = SlackSender(bolt)
    app_token = settings.slack_env().get("SLACK_APP_TOKEN")
    if app_token:
        from adapters.slack.socket_mode import mount_socket_mode

        mount = partial(mount_socket_mode, bolt=bolt, app_token=app_token)
        return _Platform(mount=mount, sender=sender, state="on (Socket Mode)", close=sender.close)
    return _Platform(mount=partial(mount_slack, bolt=bolt), sender=sender, close=sender.close)


def _teams(settings: Settings, core: Core, uow: UnitOfWorkFactory, clock: Clock) -> _Platform | str:
    """The Bot Framework adapter at ``/api/messages`` and its proactive sender, or why Teams
    stays off."""
    reason = settings.teams_off_reason()
    if reason:
        return reason
    from adapters.teams.app import build_teams, mount_teams
    from adapters.teams.refs import uow_readers_lookup, uow_ref_lookup
    from adapters.teams.sender import TeamsSender
    from adapters.teams.settings import TeamsSettings

    teams_settings = TeamsSettings.from_env(settings.teams_env())
    adapter, bot = build_teams(core, teams_settings)
    sender = TeamsSender(
        adapter,
        ref_for=uow_ref_lookup(uow),
        bot_app_id=teams_settings.bot_app_id,
        now=clock.now,
        readers_for=uow_readers_lookup(core),
    )
    state = "on" if teams_settings.app_id else "on (Bot Framework Emulator only: no MicrosoftAppId)"
    return _Platform(
        mount=partial(
            mount_teams, adapter=adapter, bot=bot, authenticated=bool(teams_settings.app_id)
        ),
        sender=sender,
        state=state,
    )


def _dry_run_senders(settings: Settings) -> dict[Platform, Sender]:
    """With OUTBOX_FILE set, every platform "sends" by appending to that file: a dry run that
    reaches nobody (demos without credentials, and tests watching a real server deliver)."""
    if settings.outbox_file is None:
        return {}
    from cadence.file_sender import FileSender

    log.warning("OUTBOX_FILE is set: messages go to %s, not to any platform", settings.outbox_file)
    return {platform: FileSender(settings.outbox_file, platform) for platform in Platform}


async def build_application(settings: Settings, *, clock: Clock | None = None) -> Application:
    """Wire one server process. Does not migrate, seed, listen or start the scheduler: that is
    :func:`serve`'s job, so tests can build an application around a prepared database."""
    clock = clock or SystemClock()
    metrics = Metrics()
    database = _database(settings)
    uow = database.uow
    core = _core(settings, uow, clock, serving=True, metrics=metrics)
    mounts: dict[str, Mount] = {}
    senders: dict[Platform, Sender] = {}
    platforms: dict[str, str] = {}
    closers: list[Callable[[], Awaitable[None]]] = []
    for platform, built in (
        (Platform.SLACK, _slack(settings, core, database, metrics)),
        (Platform.TEAMS, _teams(settings, core, uow, clock)),
    ):
        if isinstance(built, str):
            platforms[platform.value] = f"off ({built})"
            log.info("%s: off (%s)", platform.value.capitalize(), built)
            continue
        platforms[platform.value] = built.state
        mounts[platform.value] = built.mount
        senders[platform] = built.sender
        if built.close is not None:
            closers.append(built.close)
    mounts[WEB] = partial(mount_legal, contact=settings.legal_contact, site=settings.link_base)
    web_app = build_web_app(
        uow=uow,
        clock=clock,
        admin_token=settings.admin_token_value,
        dashboard_key=link_key(settings) or settings.dashboard_key,
        mounts=mounts,
        metrics=metrics,
    )
    senders.update(_dry_run_senders(settings))
    senders = {platform: ObservedSender(sender, metrics) for platform, sender in senders.items()}
    from cadence.drain import DrainPolicy
    from cadence.scheduler import build_scheduler

    return Application(
        settings=settings,
        clock=clock,
        database=database,
        uow=uow,
        core=core,
        web=web_app,
        metrics=metrics,
        senders=senders,
        scheduler=build_scheduler(
            uow_factory=uow,
            clock=clock,
            senders=senders,
            settings=settings,
            policy=DrainPolicy(lease=timedelta(seconds=settings.drain_lease_seconds)),
            links=core.settings.links,
        ),
        platforms=platforms,
        closers=closers,
    )


@dataclass(frozen=True, kw_only=True)
class CoreSession:
    """What a one-shot CLI command needs: the core and its database, no server."""

    settings: Settings
    clock: Clock
    uow: UnitOfWorkFactory
    core: Core


@asynccontextmanager
async def core_session(
    settings: Settings, *, clock: Clock | None = None
) -> AsyncIterator[CoreSession]:
    """Migrate, open the database and build the core for one CLI command; close on exit."""
    await migrate(settings)
    clock = clock or SystemClock()
    async with _database(settings) as database:
        yield CoreSession(
            settings=settings,
            clock=clock,
            uow=database.uow,
            core=_core(settings, database.uow, clock, serving=False),
        )


async def seed_demo_if_empty(uow: UnitOfWorkFactory, clock: Clock) -> bool:
    """Load the demo organization into an empty database; True when it did."""
    async with uow() as session:
        if await session.organizations.count():
            log.info("Demo: the database already has data; not seeding")
            return False
    from bot.services.demo import seed_demo

    await seed_demo(uow, clock)
    log.info("Demo: seeded the demo organization")
    return True


async def _print_admin_link(app: Application) -> None:
    """``serve --demo`` prints a working admin link, so a newcomer opens the dashboard at once."""
    links = app.core.settings.links
    async with app.uow() as uow:
        organization = await uow.organizations.first(order_by="id")
        admin_id = organization.admin_ids[0] if organization and organization.admin_ids else 0
        admin = await uow.people.get(admin_id) if admin_id else None
    if links is None or admin is None:
        return
    print(f"Dashboard (as {admin.name}, admin): {links.for_person(admin)}", flush=True)


async def _until_stopped() -> None:
    """Wait for SIGTERM or SIGINT (Ctrl-C), the graceful way a container or a terminal stops us."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)


YOUNG_OBJECTS_COLLECTED = 10_000
"""New container objects (allocations less deallocations) that start a young collection; the
interpreter's default is 700. A request's unit of work leaves no reference cycles
(``bot.tenancy``), so what trips the default is not garbage but the objects of the ~20
requests in flight, which it then walks and promotes to the older generations, whose full
collections walk everything loaded since startup. Measured in-process on 2,000 signed
``/leader ask`` at 20 at a time, SQLite (2026-12-04, 2–3 runs of 3 rounds each way, a full
collection of the harness's own after each round left out): at 700, 243–257 young, 22–24
middle and 2 full collections a round, 72–91 µs of collector per request, full collections of
38–50 ms past the first round; at 10,000, 4 young and no other, 8–11 µs."""


def freeze_startup_heap() -> None:
    """Move every object alive after startup out of the cyclic garbage collector's sight, and
    collect the young generation less often (:data:`YOUNG_OBJECTS_COLLECTED`).

    Why: startup leaves a few hundred thousand long-lived objects (SQLAlchemy's metadata and
    compiled statements, bolt, botbuilder, the directory copy). Each full collection walks all
    of them, a pause of tens of milliseconds that lands on whichever requests are in flight:
    without this, ``bench/slack_ack.py`` saw p99 latencies of ~100 ms against a p50 of ~25 ms.
    Frozen objects are never collected, which costs nothing for objects that live as long as
    the process anyway."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_OBJECTS_COLLECTED, middle, old)


async def serve(settings: Settings, *, demo: bool) -> None:
    """Migrate, optionally seed, then serve HTTP and run the cadence until stopped."""
    if link_key(settings) is None:
        log.warning(
            "DASHBOARD_SECRET is not set: using a random key, so signed dashboard links stop "
            "working when this process restarts"
        )
    await migrate(settings)
    app = await build_application(settings)
    runner = web.AppRunner(
        app.web,
        access_log_class=AccessLogger,
        handle_signals=False,
        keepalive_timeout=HEADER_TIMEOUT,  # also cuts off a client whose headers crawl in
    )
    try:
        if demo:
            await seed_demo_if_empty(app.uow, app.clock)
            await _print_admin_link(app)
        await runner.setup()
        freeze_startup_heap()
        await web.TCPSite(runner, settings.host, settings.port).start()
        app.scheduler.start()
        platforms = ", ".join(f"{name} {state}" for name, state in app.platforms.items())
        log.info(
            "Leaderbot listening on http://%s:%s (links: %s; database: %s; %s)",
            settings.host,
            settings.port,
            settings.link_base,
            settings.safe_database_url,
            platforms,
        )
        await _until_stopped()
        log.info("Leaderbot stopping")
    finally:
        await app.scheduler.stop()  # a no-op unless started; lets a drain pass record its sends
        await runner.cleanup()
        await app.close()


async def console(settings: Settings, *, handle: str) -> int:
    """``leaderbot console --as <handle>``: the REPL over this database; the exit code."""
    from adapters.console import run_console

    async with core_session(settings) as session:
        return await run_console(session.core, handle, sys.stdin, sys.stdout)


async def tick(settings: Settings, *, now: datetime) -> str:
    """``leaderbot tick --now <iso>``: one cadence tick as if the time were ``now``, then drain
    the outbox through the configured platforms; returns what happened, one line each."""
    from cadence.drain import drain_until_idle
    from cadence.tick import run_tick

    await migrate(settings)
    app = await build_application(settings, clock=ManualClock(now))
    try:
        links = _links(settings, app.clock, serving=False)  # links a running server accepts
        report = await run_tick(app.uow, now=now, link_base=settings.link_base, links=links)
        drained = await drain_until_idle(
            app.uow,
            senders=app.senders,
            clock=app.clock,
            link_base=settings.link_base,
            links=links,
        )
    finally:
        await app.close()
    return f"{report}\n{drained}"


def teams_package(settings: Settings, *, out: Path) -> Path:
    """``leaderbot teams-package``: the Teams app zip (manifest + icons) in directory ``out``."""
    from adapters.teams.package import PackageError, build_package

    try:
        return build_package(settings.microsoft_app_id, out, public_url=settings.public_url)
    except PackageError as exc:
        raise SetupError(str(exc)) from None
