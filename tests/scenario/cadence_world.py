"""A small organization, a recording sender and a time machine for the cadence scenarios.

Everyone has a console identity, so every outbound message lands in one outbox and one
:class:`RecordingSender`; the clock is a ManualClock that the scenarios step through days of
ticks and drains without sleeping.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from bot.clock import ManualClock
from bot.messages import Message
from bot.model import (
    CadencePreference,
    Frequency,
    Identity,
    Letter,
    Organization,
    OutboxMessage,
    Person,
    Platform,
    Project,
    ProjectChannel,
    RaciEntry,
    Role,
    Stakeholder,
    Workspace,
)
from bot.ports import Delivery, SendOutcome, SendResult, UnitOfWorkFactory
from cadence.drain import DrainPolicy, DrainReport, drain_until_idle
from cadence.limiter import Limiter
from cadence.tick import run_tick

LINK = "https://lb.example.org"


def no_digest() -> CadencePreference:
    """For a lead in a test about leaders' digests: leads get their own digest unless it is off."""
    return CadencePreference(person_id=0, frequency=Frequency.OFF)


@dataclass(frozen=True, kw_only=True)
class Sent:
    key: str
    address: str
    person_id: int | None
    message: Message
    at: datetime
    thread_root: str | None
    replaces_ref: str | None


class RecordingSender:
    """A neutral fake platform: records every delivery; can inject failures.

    ``faults`` is a sequence of outcomes to return before succeeding, per call, drawn in order
    (``"429"``, ``"500"``, ``"timeout"``, ``"gone"``); ``fault_rate`` injects them at random.
    """

    def __init__(
        self,
        clock: ManualClock,
        platform: Platform = Platform.CONSOLE,
        *,
        fault_rate: float = 0.0,
        seed: int = 7,
        fail_addresses: Sequence[str] = (),
    ) -> None:
        self.platform = platform
        self.clock = clock
        self.sent: list[Sent] = []
        self.calls = Counter[str]()
        self.fault_rate = fault_rate
        self.random = random.Random(seed)
        self.fail_addresses = set(fail_addresses)
        self.flaky: Counter[str] = Counter()
        """Message key → how many more calls answer HTTP 500 before it goes through."""

    async def send(self, delivery: Delivery) -> SendResult:
        row = delivery.outbox
        self.calls[row.key] += 1
        if row.address in self.fail_addresses:
            return SendResult(
                outcome=SendOutcome.FAILED, error="channel_not_found", unreachable=True
            )
        if self.flaky[delivery.message.key] > 0:
            self.flaky[delivery.message.key] -= 1
            return SendResult(outcome=SendOutcome.RETRY, error="HTTP 500")
        if self.fault_rate and self.random.random() < self.fault_rate:
            fault = self.random.choice(["429", "500", "timeout"])
            if fault == "429":
                return SendResult(outcome=SendOutcome.RETRY, retry_after=3.0, error="ratelimited")
            if fault == "500":
                return SendResult(outcome=SendOutcome.RETRY, error="HTTP 500")
            raise TimeoutError
        self.sent.append(
            Sent(
                key=row.key,
                address=row.address,
                person_id=row.person_id,
                message=delivery.message,
                at=self.clock.now(),
                thread_root=delivery.thread_root,
                replaces_ref=delivery.replaces_ref,
            )
        )
        return SendResult(outcome=SendOutcome.SENT, platform_ref=f"ref-{row.id}")

    def to(self, person: Person) -> list[Sent]:
        return [s for s in self.sent if s.person_id == person.id]

    def keys(self, prefix: str) -> list[str]:
        return [s.message.key for s in self.sent if s.message.key.startswith(prefix)]


@dataclass(kw_only=True)
class World:
    uow: UnitOfWorkFactory
    clock: ManualClock
    sender: RecordingSender
    org: Organization
    workspace: Workspace
    people: dict[str, Person] = field(default_factory=dict)
    projects: dict[str, Project] = field(default_factory=dict)
    limiter: Limiter | None = None
    policy: DrainPolicy = field(default_factory=DrainPolicy)

    async def person(
        self,
        handle: str,
        *,
        tz: str = "Europe/London",
        preference: CadencePreference | None = None,
        work: tuple[time, time] = (time(8), time(18)),
    ) -> Person:
        async with self.uow() as uow:
            person = await uow.people.add(
                Person(
                    organization_id=self.org.id,
                    handle=handle,
                    name=handle.capitalize() + " Example",
                    timezone=tz,
                    work_start=work[0],
                    work_end=work[1],
                )
            )
            await uow.identities.add(
                Identity(
                    person_id=person.id,
                    workspace_id=self.workspace.id,
                    platform=self.workspace.platform,
                    user_id=_user_id(self.workspace.platform, handle),
                )
            )
            if preference is not None:
                preference.person_id = person.id
                await uow.preferences.add(preference)
            await uow.commit()
        self.people[handle] = person
        return person

    async def project(
        self, key: str, *, sponsor: Person, lead: Person, accountable: Person | None = None
    ) -> Project:
        async with self.uow() as uow:
            project = await uow.projects.add(
                Project(organization_id=self.org.id, key=key, name=f"{key.title()} project")
            )
            await uow.channels.add(
                ProjectChannel(
                    project_id=project.id, workspace_id=self.workspace.id, channel_id=f"#{key}"
                )
            )
            await uow.stakeholders.add(
                Stakeholder(project_id=project.id, person_id=sponsor.id, role=Role.SPONSOR)
            )
            await uow.stakeholders.add(
                Stakeholder(project_id=project.id, person_id=lead.id, role=Role.LEAD)
            )
            await uow.raci.add(
                RaciEntry(
                    project_id=project.id,
                    area="*",
                    person_id=(accountable or sponsor).id,
                    letter=Letter.A,
                )
            )
            await uow.commit()
        self.projects[key] = project
        return project

    async def tick(self) -> None:
        await run_tick(self.uow, now=self.clock.now(), link_base=LINK)

    async def drain(self) -> DrainReport:
        self.limiter = self.limiter or Limiter(self.clock)
        return await drain_until_idle(
            self.uow,
            senders={self.sender.platform: self.sender},
            clock=self.clock,
            limiter=self.limiter,
            policy=self.policy,
        )

    async def run_until(self, end: datetime, *, step: timedelta, ticks: int = 1) -> None:
        """Tick (``ticks`` times, as several processes would) and drain every ``step``."""
        while self.clock.now() < end:
            for _ in range(ticks):
                await self.tick()
            await self.drain()
            self.clock.advance(step)

    async def outbox(self, **where: Any) -> list[OutboxMessage]:
        async with self.uow() as uow:
            return await uow.outbox.find(order_by="id", **where)


def _user_id(platform: Platform, handle: str) -> str:
    """A console handle, or a Slack-shaped user id (``U0ANA``)."""
    return f"U0{handle.upper()}" if platform is Platform.SLACK else handle


async def make_world(
    uow_factory: UnitOfWorkFactory,
    start: datetime,
    *,
    platform: Platform = Platform.CONSOLE,
    external_id: str = "console",
    **sender: Any,
) -> World:
    clock = ManualClock(start)
    async with uow_factory() as uow:
        org = await uow.organizations.add(Organization(name="Saint Elsewhere"))
        workspace = await uow.workspaces.add(
            Workspace(organization_id=org.id, platform=platform, external_id=external_id)
        )
        await uow.commit()
    return World(
        uow=uow_factory,
        clock=clock,
        sender=RecordingSender(clock, platform, **sender),
        org=org,
        workspace=workspace,
    )
