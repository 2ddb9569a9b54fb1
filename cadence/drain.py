"""The outbox drain: send due messages through the platform senders, once each (DESIGN §5).

A pass claims due rows and leases them in one statement (``UPDATE … RETURNING``: see
``OutboxRepository.claim_due``): their ``next_attempt_at`` moves ``policy.lease`` ahead, so no
other pass — in this process, another one, or ``leaderbot tick --now`` — takes them while they
are in flight.
Then each message is sent and its result recorded at once, in a transaction of its own. No
transaction is open while a platform is waited on. A leased row carries :data:`IN_FLIGHT` as its
error until its result is recorded; a crash leaves that mark on the rows whose sends were under
way, and when their lease has passed they go out as ``uncertain`` deliveries, as do retries after
a timeout or 5xx: the Slack sender looks for such a message in the channel (by the outbox key in
its metadata) before posting it again. What a crash can repeat is therefore only the sends the
platform accepted but the drain had not recorded, on a platform where the sender cannot look
(Teams, the file sender): at most ``concurrency`` per crashed process (docs/architecture.md).

Per row: wait for its thread's root to be posted (``thread_key``) and for the message it
replaces to be sent (``replaces_key``); pace it (:mod:`cadence.limiter`); then send.
``RETRY`` honours ``Retry-After`` and otherwise backs off exponentially with jitter (capped at
``max_delay``, 30 minutes) until the row's own ``deadline``: an outage of any length short of it
loses nothing. Past the deadline, or at once on ``FAILED`` (a permanent error), the row is given
up: marked failed with the reason (the dashboard's undelivered list, ``/metrics``, ``leaderbot
outbox list|retry``), an unreachable identity is marked, and the organization's admin is told
once per address, on another identity than the failing one where they have one.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta

from bot.links import Links, item_of, personal
from bot.messages import Message, Target, from_json
from bot.model import OutboxMessage, OutboxState, Platform, Thread
from bot.ports import (
    Clock,
    Delivery,
    Sender,
    SendOutcome,
    SendResult,
    UnitOfWork,
    UnitOfWorkFactory,
)
from bot.services.delivery import (
    FAILURE_NOTICE,
    LIFETIME,
    NOTICE_PREFIXES,
    deliver,
    dm_address,
    outbox_key,
    tell_admin,
)
from cadence.announce import announce_raised
from cadence.limiter import POST, UPDATE, Limiter

__all__ = ["DrainPolicy", "DrainReport", "backoff", "drain_once", "drain_until_idle"]

log = logging.getLogger(__name__)

MAYBE_SENT = "maybe sent"
"""How a pending row's error starts when an earlier try of it may have landed."""
IN_FLIGHT = f"{MAYBE_SENT}: claimed by a drain, result not recorded yet"
"""The error a leased row carries until its send's result is recorded: still there when the
lease passes means the process died mid-send, so the send may have landed."""


@dataclass(frozen=True, kw_only=True)
class DrainPolicy:
    batch: int = 50
    """Rows claimed per pass."""
    lease: timedelta = timedelta(minutes=2)
    """How long claimed rows stay out of other passes' reach: longer than a pass can take
    (sends time out after ``send_timeout``); after a crash, its unsent rows go out then."""
    concurrency: int = 16
    """Sends in flight at once (different addresses; pacing orders those to one address)."""
    send_timeout: float = 45.0
    """A send that takes longer counts as a timeout: retried, as an uncertain delivery. Longer
    than the Slack sender's own 30 s wait for an answer, which it handles itself."""
    base_delay: float = 2.0
    max_delay: float = 1800.0
    """The longest wait between two tries of a failing message (5xx, timeouts); they go on
    until the message's own deadline (``OutboxMessage.deadline``)."""
    thread_wait: timedelta = timedelta(minutes=10)
    """How long a reply waits for its thread's root; after that it is posted on its own."""
    defer: timedelta = timedelta(seconds=5)
    """How soon a row waiting on another message (thread root, replaced message) is looked at."""


@dataclass(kw_only=True)
class DrainReport:
    announced: int = 0
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    throttled: int = 0
    failed: int = 0
    deferred: int = 0

    def __str__(self) -> str:
        return "drain: " + ", ".join(f"{f.name} {getattr(self, f.name)}" for f in fields(self))


def backoff(attempts: int, policy: DrainPolicy, rand: Callable[[], float] = random.random) -> float:
    """Seconds before try ``attempts + 1``: exponential, capped, with full jitter in the upper
    half (so a burst of failures does not retry in lockstep)."""
    ceiling = min(policy.max_delay, policy.base_delay * 2.0 ** max(attempts - 1, 0))
    return float(ceiling / 2 + rand() * ceiling / 2)


@dataclass(kw_only=True)
class _Job:
    row: OutboxMessage
    message: Message
    sender: Sender
    thread_root: str | None = None
    replaces_ref: str | None = None
    linked_thread: Thread | None = None
    uncertain: bool = False
    result: SendResult = field(default_factory=lambda: SendResult(outcome=SendOutcome.RETRY))


def _uncertain(row: OutboxMessage) -> bool:
    """Whether an earlier try of ``row`` may have landed: one that failed without a clear "no"
    (timeout, 5xx: the only failures that leave a row pending and count an attempt), or one
    that was under way when its process died (:data:`IN_FLIGHT` outlived the lease; a 429
    since keeps the :data:`MAYBE_SENT` prefix)."""
    return row.attempts > 0 or row.error.startswith(MAYBE_SENT)


def _method(job: _Job) -> str:
    """The API method the send uses, which is what a platform's rate limits count."""
    return UPDATE if job.replaces_ref else POST


async def drain_once(
    uow_factory: UnitOfWorkFactory,
    *,
    senders: Mapping[Platform, Sender],
    clock: Clock,
    limiter: Limiter | None = None,
    policy: DrainPolicy | None = None,
    limit: int | None = None,
    link_base: str = "",
    links: Links | None = None,
) -> DrainReport:
    """One pass: announce the asks raised since the last one (their messages join the outbox;
    ``link_base`` is where their links point), then send the due outbox rows, an item link in a
    message to one person signed for them with ``links``; returns what happened."""
    policy = policy or DrainPolicy()
    limiter = limiter or Limiter(clock)
    report = DrainReport()
    try:
        report.announced = await announce_raised(uow_factory, now=clock.now(), link_base=link_base)
    except Exception:
        # Logged, not raised: what is already in the outbox still goes out.
        log.exception("announcing raised asks failed; the next pass tries again")
    async with uow_factory() as uow:
        now = clock.now()
        rows = await uow.outbox.claim_due(
            now=now,
            limit=limit or policy.batch,
            platforms=list(senders),
            lease_until=now + policy.lease,
        )
        report.claimed = len(rows)
        claimed = {row.id for row in rows}
        jobs: list[_Job] = []
        later: list[tuple[OutboxMessage, datetime]] = []
        roots_later: dict[tuple[int, str], datetime] = {}
        """Thread roots of this batch held back (paced): their linking messages wait too."""
        ready: list[_Job] = []
        for row in rows:
            prepared = await _prepare(
                uow, row, senders=senders, now=now, policy=policy, claimed=claimed, links=links
            )
            if isinstance(prepared, datetime):
                later.append((row, prepared))
                continue
            ready.append(prepared)
        for job in sorted(ready, key=lambda j: not j.message.anchors_thread):
            row = job.row
            held = _root_held(job, roots_later, now=now, policy=policy)
            if held is not None:
                later.append((row, held))
                continue
            wait = limiter.reserve(row.platform, row.workspace_id, row.address, _method(job))
            if wait > 0:
                until = now + timedelta(seconds=wait)
                later.append((row, until))
                if job.message.anchors_thread:
                    roots_later[(row.workspace_id, job.message.anchors_thread)] = until
                continue
            jobs.append(job)
        for job in jobs:  # leased by the claim; marked in flight until its result is recorded
            job.row.error = IN_FLIGHT
        await _postpone(uow, [*later, *((job.row, job.row.next_attempt_at) for job in jobs)])
        await uow.commit()

    gate = asyncio.Semaphore(policy.concurrency)

    async def send_and_record(job: _Job) -> None:
        # The gate spans the send *and* its record: at most ``concurrency`` messages are ever
        # sent but not yet recorded, which bounds what a crash can repeat.
        async with gate:
            if clock.now() >= job.row.next_attempt_at:
                # The lease ran out while this row waited for the gate (a slow pass): another
                # process may have claimed it since. Leave it to that claim, unsent.
                report.deferred += 1
                return
            held = limiter.paused(job.row.platform, job.row.workspace_id, _method(job))
            if held:
                # A 429 answered to another send of this pass: this one waits too, unsent.
                job.result = SendResult(
                    outcome=SendOutcome.RETRY, retry_after=held, error="rate limited"
                )
            else:
                await _send(job, policy)
            async with uow_factory() as uow:
                await _record(uow, job, report=report, limiter=limiter, clock=clock, policy=policy)
                await uow.commit()

    first, linking = _split_linking(jobs)
    await asyncio.gather(*(send_and_record(job) for job in first))
    linking, waiting = _link_new_roots(linking, first, now=now, policy=policy)
    await asyncio.gather(*(send_and_record(job) for job in linking))
    if waiting:
        async with uow_factory() as uow:
            await _postpone(uow, [(job.row, until) for job, until in waiting])
            await uow.commit()
    report.deferred += len(later) + len(waiting)
    return report


async def _postpone(uow: UnitOfWork, rows: list[tuple[OutboxMessage, datetime]]) -> None:
    """Each row's next look and its in-flight mark, in one round trip (a pass's 50 saves, one
    hop each, held SQLite's writer for ~30 ms under load)."""
    for row, until in rows:
        row.next_attempt_at = until
    await uow.outbox.save_all([row for row, _ in rows])


async def drain_until_idle(
    uow_factory: UnitOfWorkFactory,
    *,
    senders: Mapping[Platform, Sender],
    clock: Clock,
    limiter: Limiter | None = None,
    policy: DrainPolicy | None = None,
    passes: int = 1000,
    link_base: str = "",
    links: Links | None = None,
) -> DrainReport:
    """Drain passes until one sends nothing (at most ``passes``); the summed report. For the
    CLI's one-shot tick and for tests; the server drains on its schedule instead."""
    limiter = limiter or Limiter(clock)
    total = DrainReport()
    for _ in range(passes):
        report = await drain_once(
            uow_factory,
            senders=senders,
            clock=clock,
            limiter=limiter,
            policy=policy,
            link_base=link_base,
            links=links,
        )
        for f in fields(total):
            setattr(total, f.name, getattr(total, f.name) + getattr(report, f.name))
        if report.sent + report.retried + report.failed + report.throttled == 0:
            break
    return total


async def _prepare(
    uow: UnitOfWork,
    row: OutboxMessage,
    *,
    senders: Mapping[Platform, Sender],
    now: datetime,
    policy: DrainPolicy,
    claimed: Collection[int],
    links: Links | None = None,
) -> _Job | datetime:
    """The row ready to send, or when to look at it again: thread root not posted yet, replaced
    message still pending. (Only rows of platforms in ``senders`` are ever claimed.)"""
    sender = senders[row.platform]
    message = from_json(row.payload)
    if links is not None and row.person_id is not None and item_of(message.link, links.link_base):
        reader = await uow.people.get(row.person_id)
        message = personal(message, reader, links) if reader is not None else message
    job = _Job(row=row, message=message, sender=sender, uncertain=_uncertain(row))
    if message.thread_key:
        thread = await uow.threads.first(
            key=message.thread_key, workspace_id=row.workspace_id, channel_id=row.address
        )
        if thread is not None:
            job.thread_root = thread.root_id
        elif row.project_id is not None and now - row.created_at < policy.thread_wait:
            return now + policy.defer
    if message.links_thread:
        job.linked_thread = await uow.threads.first(
            key=message.links_thread, workspace_id=row.workspace_id, order_by="id"
        )
    if message.replaces_key:
        original = await _replaced(uow, message.replaces_key, row)
        if original is not None and original.state is OutboxState.PENDING:
            # Claimed in this pass, its next_attempt_at is the lease: look again soon instead.
            if original.id in claimed:
                return now + policy.defer
            return max(now + policy.defer, original.next_attempt_at)
        if original is not None and original.state is OutboxState.SENT:
            job.replaces_ref = original.platform_ref
    return job


async def _replaced(uow: UnitOfWork, key: str, row: OutboxMessage) -> OutboxMessage | None:
    """The row of the message ``row`` replaces: at the same address, or — a person's DM
    address having changed since (Slack: the user id a card was sent to, then the DM channel
    learnt from the App Home) — at another address of theirs in the workspace. Otherwise the
    update would be posted as a new message."""
    exact = await uow.outbox.first(key=outbox_key(key, row.workspace_id, row.address))
    if exact is not None or row.person_id is None:
        return exact
    identities = await uow.identities.find(person_id=row.person_id, workspace_id=row.workspace_id)
    addresses = {i.user_id for i in identities} | {a for i in identities if (a := dm_address(i))}
    keys = [outbox_key(key, row.workspace_id, a) for a in sorted(addresses - {row.address})]
    return await uow.outbox.first(key=keys) if keys else None


def _root_held(
    job: _Job,
    roots_later: Mapping[tuple[int, str], datetime],
    *,
    now: datetime,
    policy: DrainPolicy,
) -> datetime | None:
    """When a message linking to a thread goes, if its root is in this batch but held back by
    pacing (a channel that had several posts in the last seconds): with the root, so the link
    can point at it — the blocker's first rung DM would otherwise go without it. None: go now."""
    key = job.message.links_thread
    if job.linked_thread is not None or not key:
        return None
    until = roots_later.get((job.row.workspace_id, key))
    if until is None or now - job.row.created_at >= policy.thread_wait:
        return None
    return until


def _split_linking(jobs: list[_Job]) -> tuple[list[_Job], list[_Job]]:
    """The batch as (send now, send after): a message linking to a thread whose root is in this
    same batch (a blocker's first rung DM, queued with the blocker's root post) goes once the
    root has landed, so its link can point at it."""
    roots = {
        (j.row.workspace_id, j.message.anchors_thread) for j in jobs if j.message.anchors_thread
    }
    first: list[_Job] = []
    linking: list[_Job] = []
    for job in jobs:
        waits = (
            job.linked_thread is None and (job.row.workspace_id, job.message.links_thread) in roots
        )
        (linking if waits else first).append(job)
    return first, linking


def _link_new_roots(
    linking: list[_Job], sent: list[_Job], *, now: datetime, policy: DrainPolicy
) -> tuple[list[_Job], list[tuple[_Job, datetime]]]:
    """After the batch's roots went out: (send, wait). A message gets the link to where its
    root landed; when the root is to be retried (throttled, Slack down) the message waits for
    it like a thread reply does, up to ``thread_wait``; when the root failed for good it goes
    without the link."""
    send: list[_Job] = []
    wait: list[tuple[_Job, datetime]] = []
    for job in linking:
        key = job.message.links_thread
        root = next(
            r
            for r in sent
            if r.message.anchors_thread == key and r.row.workspace_id == job.row.workspace_id
        )
        result = root.result
        if key and result.outcome is SendOutcome.SENT and result.platform_ref:
            job.linked_thread = Thread(
                key=key,
                workspace_id=root.row.workspace_id,
                channel_id=root.row.address,
                root_id=result.platform_ref,
            )
        elif result.outcome is SendOutcome.RETRY and now - job.row.created_at < policy.thread_wait:
            delay = timedelta(seconds=result.retry_after) if result.retry_after else policy.defer
            wait.append((job, now + max(delay, policy.defer)))
            continue
        send.append(job)
    return send, wait


async def _send(job: _Job, policy: DrainPolicy) -> None:
    delivery = Delivery(
        outbox=job.row,
        message=job.message,
        thread_root=job.thread_root,
        replaces_ref=job.replaces_ref,
        linked_thread=job.linked_thread,
        uncertain=job.uncertain,
    )
    try:
        job.result = await asyncio.wait_for(job.sender.send(delivery), policy.send_timeout)
    except TimeoutError:
        job.result = SendResult(outcome=SendOutcome.RETRY, error="timed out")
    except Exception as exc:  # a sender bug must not lose the rest of the batch
        log.exception("sender %s crashed on outbox %s", job.row.platform, job.row.id)
        job.result = SendResult(outcome=SendOutcome.RETRY, error=f"sender error: {exc!r}")


async def _record(
    uow: UnitOfWork,
    job: _Job,
    *,
    report: DrainReport,
    limiter: Limiter,
    clock: Clock,
    policy: DrainPolicy,
) -> None:
    row, result = job.row, job.result
    now = clock.now()
    if result.outcome is SendOutcome.SENT:
        row.state, row.sent_at, row.platform_ref, row.error = (
            OutboxState.SENT,
            now,
            result.platform_ref,
            "",
        )
        row.attempts += 1
        await uow.outbox.save(row)
        report.sent += 1
        anchor = job.message.anchors_thread
        if anchor and result.platform_ref:
            await _anchor(uow, key=anchor, row=row, root_id=result.platform_ref)
        return
    if result.outcome is SendOutcome.RETRY and result.retry_after is not None:
        # Throttled (429): the platform is fine, we were early. Wait as told; no attempt spent.
        # The whole workspace waits: its limit is per method, not per channel.
        limiter.pause(row.platform, row.workspace_id, result.retry_after, _method(job))
        row.next_attempt_at = now + timedelta(seconds=result.retry_after)
        row.error = result.error or "rate limited"
        if job.uncertain:  # the earlier try may still have landed: look before posting
            row.error = f"{MAYBE_SENT}, then {row.error}"
        await uow.outbox.save(row)
        report.throttled += 1
        return
    row.attempts += 1
    row.error = result.error
    deadline = row.deadline or row.created_at + LIFETIME
    if result.outcome is SendOutcome.RETRY and now < deadline:
        wait = timedelta(seconds=backoff(row.attempts, policy))
        row.next_attempt_at = min(now + wait, deadline)  # one last try at the deadline
        await uow.outbox.save(row)
        report.retried += 1
        return
    if result.outcome is SendOutcome.RETRY:
        row.error = f"gave up at its deadline after {row.attempts} tries: {row.error}"
    row.state = OutboxState.FAILED
    await uow.outbox.save(row)
    report.failed += 1
    log.warning("outbox %s to %s given up: %s", row.key, row.address, row.error)
    if result.unreachable and row.person_id is not None:
        for identity in await uow.identities.find(
            person_id=row.person_id, workspace_id=row.workspace_id, platform=row.platform
        ):
            identity.unreachable = True
            await uow.identities.save(identity)
    told = await _tell_admin(uow, row, now=now)
    await _tell_cause(uow, job.message, row, admin_told=told, now=now)


async def _anchor(uow: UnitOfWork, *, key: str, row: OutboxMessage, root_id: str) -> None:
    """Remember where a thread's root landed, so its replies can be posted under it."""
    if (
        await uow.threads.first(key=key, workspace_id=row.workspace_id, channel_id=row.address)
        is None
    ):
        await uow.threads.add(
            Thread(key=key, workspace_id=row.workspace_id, channel_id=row.address, root_id=root_id)
        )


async def _tell_cause(
    uow: UnitOfWork, message: Message, row: OutboxMessage, *, admin_told: bool, now: datetime
) -> None:
    """Tell the person whose act the given-up message carried (a requester whose reply said
    "Ask #N sent to …") that it did not arrive, once per message."""
    if message.caused_by is None or message.caused_by == row.person_id:
        return
    then = (
        "Your admin has been told and can send it again once the problem is fixed."
        if admin_told
        else "Your organization has no admin to tell."
    )
    await deliver(
        uow,
        Message(
            title=f"Leaderbot could not deliver “{message.title or message.key}” to "
            f"{await _addressee(uow, row)}",
            sections=(
                f"It failed on {row.platform.value}: {row.error or 'unknown error'}. {then}",
            ),
            target=Target(person_id=message.caused_by),
            key=f"{FAILURE_NOTICE}:{row.key}:cause",
        ),
        organization_id=row.organization_id,
        now=now,
        avoid_workspace=row.workspace_id,
    )


async def _addressee(uow: UnitOfWork, row: OutboxMessage) -> str:
    """Who a row was for, as a person reads it."""
    if row.person_id is not None:
        person = await uow.people.get(row.person_id)
        return f"{person.name} (@{person.handle})" if person else "a person"
    project = await uow.projects.get(row.project_id) if row.project_id is not None else None
    return f"the channel of #{project.key}" if project else "a project channel"


async def _tell_admin(uow: UnitOfWork, row: OutboxMessage, *, now: datetime) -> bool:
    """Tell the organization's admin, once per address, that messages there cannot be
    delivered — on another identity than this workspace's where they have one (the notice must
    not go down the broken channel), and never about a failed notice itself (a loop). False
    when the organization has no admin."""
    if row.key.startswith(NOTICE_PREFIXES):
        return False
    who = await _addressee(uow, row)
    return await tell_admin(
        uow,
        organization_id=row.organization_id,
        title="Leaderbot cannot deliver messages",
        sections=(
            f"Messages to {who} on {row.platform.value} fail: {row.error or 'unknown error'}.",
            "Check that the bot is still installed there and the person or channel still "
            "exists; `leaderbot outbox list` shows what was not delivered and "
            "`leaderbot outbox retry` sends it again. You will not be told again about this "
            "address.",
        ),
        key=f"{FAILURE_NOTICE}:{row.workspace_id}:{row.address}",
        now=now,
        avoid_workspace=row.workspace_id,
    )
