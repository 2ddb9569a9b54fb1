"""Turning a Message into outbox rows: one per address it must reach (DESIGN §3).

A person is reached on one platform (their first reachable chat identity; the console only when
they have nothing else); a project's post goes to its home channel in every linked workspace.
The outbox key ``{message.key}@{workspace}:{address}`` is unique, so enqueuing the same message
twice — a retried request, a second process, a restart — writes nothing the second time.

Nothing is dropped here (DESIGN §5, "never lost, never silent"): quiet hours and the daily cap
only move a row's first attempt (bot.attention); every row carries its own ``deadline``, until
which the drain retries it; and a message for someone the bot cannot message at all (no
identity with a chat to post in) is written as an undelivered row — on the dashboard, in
``/metrics``, requeued by ``leaderbot outbox retry`` — while the admin is told once, on an
identity other than the broken one where there is one.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta

from bot.attention import PING, plan_ping
from bot.calendar import local_date, zone
from bot.messages import Message, Target, to_json
from bot.model import Identity, Organization, OutboxMessage, OutboxState, Person, Platform
from bot.ports import UnitOfWork

CHANNEL = "channel"
LIFETIME = timedelta(days=1)
"""How long a message without a deadline of its own (a reply, a notice, a channel post) is
retried after it was due: long enough to ride out any outage of the platform, short enough
that what arrives is still news."""
LEAST_LIFETIME = timedelta(hours=1)
"""A deadline is never sooner than this after the message is due (an ask due in ten minutes
still gets an hour of retries for its card)."""
FAILURE_NOTICE = "delivery-failed"
UNREACHABLE_NOTICE = "unreachable"
NOTICE_PREFIXES = (FAILURE_NOTICE, UNREACHABLE_NOTICE)
"""Keys of the notices to the admin about delivery: never reported on themselves (a loop)."""


def outbox_key(message_key: str, workspace_id: int, address: str) -> str:
    """The per-address idempotency key (also how a later message finds one to replace)."""
    return f"{message_key}@{workspace_id}:{address}"


def dm_address(identity: Identity) -> str | None:
    """Where a DM to this identity goes: the Slack IM channel (or the user id, which the sender
    opens an IM with), the Teams personal conversation id (none until the adapter stored one:
    Teams bots cannot start a chat before the app is installed for the user), the console
    handle."""
    if identity.platform is Platform.TEAMS:
        return identity.address or None
    if identity.platform is Platform.SLACK:
        return identity.address or identity.conversation_ref or identity.user_id
    return identity.user_id


def preferred_identity(
    identities: list[Identity], *, avoid_workspace: int | None = None
) -> Identity | None:
    """The identity a DM goes to: a reachable chat platform before the console, oldest first;
    one outside ``avoid_workspace`` (where delivery is failing) before one inside it."""
    reachable = [i for i in identities if not i.unreachable and dm_address(i)]
    reachable.sort(
        key=lambda i: (i.workspace_id == avoid_workspace, i.platform is Platform.CONSOLE, i.id)
    )
    return reachable[0] if reachable else None


def why_unreachable(person: Person, identities: list[Identity]) -> str:
    """The true reason the bot cannot message ``person`` (they have no reachable identity)."""
    if any(i.unreachable for i in identities):
        return f"Leaderbot can no longer reach {person.name} (messages to them fail)"
    return f"{person.name} hasn't opened a chat with Leaderbot yet"


async def unreachable_note(
    uow: UnitOfWork, *, person: Person, organization_id: int, now: datetime
) -> str | None:
    """None when ``person`` can be messaged; else the sentence for whoever caused the message
    ("Nora Noinstall hasn't opened a chat with Leaderbot yet, so I've told your admin."), the
    admin having been told (once per person) in this same unit of work."""
    identities = await uow.identities.find(person_id=person.id)
    if preferred_identity(identities) is not None:
        return None
    told = await _tell_unreachable(
        uow, person=person, identities=identities, organization_id=organization_id, now=now
    )
    reason = why_unreachable(person, identities)
    if told:
        return f"{reason}, so I've told your admin."
    return f"{reason}, and your organization has no admin to tell: please ask them to message it."


def _admin_ids(organization: Organization | None) -> list[int]:
    """Who hears about delivery problems: the organization's admins."""
    return list(organization.admin_ids) if organization is not None else []


async def tell_admin(
    uow: UnitOfWork,
    *,
    organization_id: int,
    title: str,
    sections: tuple[str, ...],
    key: str,
    now: datetime,
    avoid_workspace: int | None = None,
) -> bool:
    """Tell the organization's admins something only they can act on (a delivery problem, a
    ladder with no executive), once per ``key``, on an identity outside ``avoid_workspace`` when
    they have one, so a delivery notice does not go down the channel that is failing; False when
    there is no admin."""
    admins = _admin_ids(await uow.organizations.get(organization_id))
    for admin_id in admins:
        await deliver(
            uow,
            Message(title=title, sections=sections, target=Target(person_id=admin_id), key=key),
            organization_id=organization_id,
            now=now,
            avoid_workspace=avoid_workspace,
        )
    return bool(admins)


async def _tell_unreachable(
    uow: UnitOfWork,
    *,
    person: Person,
    identities: list[Identity],
    organization_id: int,
    now: datetime,
) -> bool:
    return await tell_admin(
        uow,
        organization_id=organization_id,
        title="Leaderbot cannot reach someone",
        sections=(
            f"{why_unreachable(person, identities)}, so messages for {person.name} "
            f"(@{person.handle}) cannot be delivered. They wait on the dashboard's "
            "undelivered list.",
            "Once they have sent Leaderbot a direct message, `leaderbot outbox retry --all` "
            "sends what waits for them.",
        ),
        key=f"{UNREACHABLE_NOTICE}:{person.id}",
        now=now,
    )


async def deliver(
    uow: UnitOfWork,
    message: Message,
    *,
    organization_id: int,
    now: datetime,
    category: str = "reply",
    deadline: datetime | None = None,
    avoid_workspace: int | None = None,
) -> int:
    """Enqueue ``message`` for every address of its target; returns how many rows were written
    to be sent.

    ``ping`` and ``item`` DMs wait for the person's working hours, ``ping`` ones also for a day
    under the daily cap (bot.attention). The drain retries a row until ``deadline`` (default
    :data:`LIFETIME` after it is due; never less than :data:`LEAST_LIFETIME`). A person with no
    reachable identity gets an undelivered row instead and the admin is told once.
    """
    rows = await addressed(
        uow,
        message,
        organization_id=organization_id,
        now=now,
        category=category,
        deadline=deadline,
        avoid_workspace=avoid_workspace,
    )
    return await enqueue_rows(uow, rows)


async def enqueue_rows(uow: UnitOfWork, rows: list[OutboxMessage]) -> int:
    """Write the rows :func:`addressed` made, of one message or many, in one round trip; how
    many were written to be sent (a row whose key is taken is not written again)."""
    inserted = await uow.outbox.enqueue_all(rows)
    return sum(
        1
        for row, new in zip(rows, inserted, strict=True)
        if new and row.state is OutboxState.PENDING
    )


async def addressed(
    uow: UnitOfWork,
    message: Message,
    *,
    organization_id: int,
    now: datetime,
    category: str = "reply",
    deadline: datetime | None = None,
    avoid_workspace: int | None = None,
) -> list[OutboxMessage]:
    """The outbox rows of ``message`` (see :func:`deliver`), not written yet: a caller with
    many messages to send writes all their rows at once (:func:`enqueue_rows`). The admin is
    told about an unreachable person at once; that person's undelivered row is among those
    returned."""
    if not message.key:
        raise ValueError("an outbound message needs an idempotency key")
    target = message.target
    rows: list[OutboxMessage] = []
    if target.person_id is not None:
        person = await uow.people.get(target.person_id)
        identities = await uow.identities.find(person_id=target.person_id)
        identity = preferred_identity(identities, avoid_workspace=avoid_workspace)
        if person is not None and identity is None:
            rows += await _undeliverable(
                uow,
                message,
                person=person,
                identities=identities,
                organization_id=organization_id,
                category=category,
                now=now,
            )
        elif person is not None and identity is not None:
            due = plan_ping(
                now=now,
                person=person,
                category=category,
                pings_on=await _pings_by_day(uow, person=person, now=now)
                if category == PING
                else None,
            )
            rows.append(
                _row(
                    message,
                    organization_id=organization_id,
                    platform=identity.platform,
                    workspace_id=identity.workspace_id,
                    address=dm_address(identity) or identity.user_id,
                    person_id=person.id,
                    project_id=None,
                    category=category,
                    now=now,
                    due=due,
                    deadline=deadline,
                )
            )
    if target.project_id is not None:
        for channel in await uow.channels.find(project_id=target.project_id, order_by="id"):
            workspace = await uow.workspaces.get(channel.workspace_id)
            if workspace is None:
                continue
            rows.append(
                _row(
                    message,
                    organization_id=organization_id,
                    platform=workspace.platform,
                    workspace_id=workspace.id,
                    address=channel.channel_id,
                    person_id=None,
                    project_id=target.project_id,
                    category=CHANNEL,
                    now=now,
                    due=now,
                    deadline=deadline,
                )
            )
    return rows


def lifetime_end(due: datetime, deadline: datetime | None) -> datetime:
    """The deadline a row gets: its own, but at least :data:`LEAST_LIFETIME` after it is due;
    :data:`LIFETIME` after it is due when it has none."""
    if deadline is None:
        return due + LIFETIME
    return max(deadline, due + LEAST_LIFETIME)


def _row(
    message: Message,
    *,
    organization_id: int,
    platform: Platform,
    workspace_id: int,
    address: str,
    person_id: int | None,
    project_id: int | None,
    category: str,
    now: datetime,
    due: datetime,
    deadline: datetime | None,
    state: OutboxState = OutboxState.PENDING,
    error: str = "",
) -> OutboxMessage:
    return OutboxMessage(
        organization_id=organization_id,
        key=outbox_key(message.key, workspace_id, address),
        platform=platform,
        workspace_id=workspace_id,
        address=address,
        person_id=person_id,
        project_id=project_id,
        payload=to_json(message),
        category=category,
        state=state,
        error=error,
        next_attempt_at=due,
        created_at=now,
        deadline=lifetime_end(due, deadline),
    )


async def _undeliverable(
    uow: UnitOfWork,
    message: Message,
    *,
    person: Person,
    identities: list[Identity],
    organization_id: int,
    category: str,
    now: datetime,
) -> list[OutboxMessage]:
    """The row of a message nobody can be sent, kept as given up (the undelivered list;
    ``outbox retry`` finds an address for it again), when the person has an identity at all;
    and the admin told once about the person."""
    if not message.key.startswith(NOTICE_PREFIXES):
        await _tell_unreachable(
            uow, person=person, identities=identities, organization_id=organization_id, now=now
        )
    if not identities:
        return []
    first = min(identities, key=lambda i: i.id)
    return [
        _row(
            message,
            organization_id=organization_id,
            platform=first.platform,
            workspace_id=first.workspace_id,
            address="",
            person_id=person.id,
            project_id=None,
            category=category,
            now=now,
            due=now,
            deadline=now,
            state=OutboxState.FAILED,
            error=f"unreachable: {why_unreachable(person, identities)}",
        )
    ]


async def _pings_by_day(uow: UnitOfWork, *, person: Person, now: datetime) -> dict[date, int]:
    """Pings due to this person per local day, from their local midnight on: the daily cap's
    count (by the day a ping is due, so those the cap moved count on the day they go out)."""
    local = zone(person.timezone)
    local_midnight = datetime.combine(now.astimezone(local).date(), time(0), tzinfo=local)
    rows = await uow.outbox.find(
        person_id=person.id,
        category=PING,
        next_attempt_at__gte=local_midnight.astimezone(now.tzinfo),
    )
    return dict(Counter(local_date(row.next_attempt_at, person.timezone) for row in rows))
