"""The demo organization: two projects, six leaders, a RACI matrix and some live items, so a
newcomer can try every command (``leaderbot serve --demo``, ``leaderbot console --as ana``).

Built through the same services as real use, so the demo also exercises routing, the ladder,
audit events and the outbox.
"""

from __future__ import annotations

from datetime import time, timedelta

from bot.model import (
    Direction,
    Identity,
    Letter,
    Organization,
    Person,
    Platform,
    ProjectChannel,
    Rag,
    Role,
    Severity,
    Stakeholder,
    Workspace,
)
from bot.ports import Clock, UnitOfWork, UnitOfWorkFactory
from bot.services import asks, blockers, kpis, projects, raci, updates
from bot.services.erase import erase_organization

CONSOLE_WORKSPACE = "console"

PEOPLE = (
    ("ana", "Ana Silva", "Europe/London"),
    ("ben", "Ben Okafor", "Europe/London"),
    ("carmen", "Dr Carmen Diaz", "Europe/London"),
    ("dana", "Dana Lee", "America/New_York"),
    ("raj", "Raj Patel", "Asia/Kolkata"),
    ("eve", "Eve Martin", "Europe/London"),
)
ROLES = (
    ("SEPSIS", "ana", Role.LEAD, "Runs the sepsis bundle project"),
    ("SEPSIS", "carmen", Role.SPONSOR, "CMO; owns the sepsis priority"),
    ("SEPSIS", "dana", Role.CHAMPION, "Nursing support on the wards"),
    ("SEPSIS", "raj", Role.RESISTOR, "Worried about screening-tool costs"),
    ("SEPSIS", "eve", Role.INFLUENCER, ""),
    ("FALLS", "ben", Role.LEAD, "Falls prevention lead"),
    ("FALLS", "dana", Role.SPONSOR, "Director of Nursing"),
    ("FALLS", "carmen", Role.CHAMPION, ""),
)
MATRIX = (
    ("SEPSIS", "budget", "raj", Letter.A),
    ("SEPSIS", "budget", "carmen", Letter.I),
    ("SEPSIS", "staffing", "dana", Letter.A),
    ("SEPSIS", "staffing", "raj", Letter.C),
    ("SEPSIS", "staffing", "carmen", Letter.I),
    ("SEPSIS", "it", "eve", Letter.A),
    ("SEPSIS", "*", "carmen", Letter.A),
    ("SEPSIS", "*", "ana", Letter.R),
    ("FALLS", "budget", "raj", Letter.A),
    ("FALLS", "staffing", "dana", Letter.A),
    ("FALLS", "it", "eve", Letter.A),
    ("FALLS", "*", "dana", Letter.A),
    ("FALLS", "*", "ben", Letter.R),
    ("FALLS", "*", "carmen", Letter.C),
)


DEMO_NAME = "Northfield Health (demo)"


async def seed_demo(
    uow_factory: UnitOfWorkFactory, clock: Clock, *, replacing: int | None = None
) -> None:
    """Create the demo organization in one transaction; ``replacing`` (``demo reset``): erase
    that organization first, in the same transaction, so a failed reset leaves the old one."""
    now = clock.now()
    async with uow_factory() as uow:
        if replacing is not None:
            await erase_organization(uow, organization_id=replacing)
        org = await uow.organizations.add(Organization(name=DEMO_NAME))
        workspace = await uow.workspaces.add(
            Workspace(
                organization_id=org.id,
                platform=Platform.CONSOLE,
                external_id=CONSOLE_WORKSPACE,
                name="Console",
            )
        )
        people: dict[str, Person] = {}
        for handle, name, zone in PEOPLE:
            people[handle] = await uow.people.add(
                Person(
                    organization_id=org.id,
                    handle=handle,
                    name=name,
                    email=f"{handle}@northfield.example",
                    timezone=zone,
                    work_start=time(8, 0),
                    work_end=time(18, 0),
                )
            )
            await uow.identities.add(
                Identity(
                    person_id=people[handle].id,
                    workspace_id=workspace.id,
                    platform=Platform.CONSOLE,
                    user_id=handle,
                )
            )
        org.escalation_contact_id = people["eve"].id
        org.admin_ids = [people["ana"].id]
        await uow.organizations.save(org)
        sepsis = await projects.create(
            uow,
            organization_id=org.id,
            key="SEPSIS",
            name="Sepsis six within the hour",
            creator=people["ana"],
            now=now,
        )
        sepsis.aim = (
            "90% of patients with red-flag sepsis get antibiotics within 60 minutes by June"
        )
        sepsis.scope = "Emergency department and acute medical unit"
        sepsis.measures = "Time to antibiotics; screening compliance"
        sepsis.priority = "Patient safety: reduce avoidable deaths"
        await uow.projects.save(sepsis)
        falls = await projects.create(
            uow,
            organization_id=org.id,
            key="FALLS",
            name="Fewer inpatient falls",
            creator=people["ben"],
            now=now,
        )
        falls.aim = "Cut inpatient falls with harm by 30% in a year"
        await uow.projects.save(falls)
        keyed = {"SEPSIS": sepsis, "FALLS": falls}
        for key, project in keyed.items():
            await uow.channels.add(
                ProjectChannel(
                    project_id=project.id, workspace_id=workspace.id, channel_id=f"#{key.lower()}"
                )
            )
        for key, handle, role, note in ROLES:
            if role is not Role.LEAD:
                await uow.stakeholders.add(
                    Stakeholder(
                        project_id=keyed[key].id, person_id=people[handle].id, role=role, note=note
                    )
                )
        for key, area, handle, letter in MATRIX:
            await raci.set_letter(
                uow,
                project=keyed[key],
                person=people[handle],
                letter=letter,
                area=area,
                actor=people["ana"],
                now=now,
            )
        await updates.post_update(
            uow,
            project=sepsis,
            author=people["ana"],
            text="Screening tool live in ED; AMU starts Monday.",
            next_steps="Train AMU night staff",
            rag=Rag.AMBER,
            now=now,
        )
        await updates.post_update(
            uow,
            project=falls,
            author=people["ben"],
            text="Bay-watch pilot running on two wards.",
            next_steps="Review falls data at month end",
            rag=Rag.GREEN,
            now=now,
        )
        await asks.raise_ask(
            uow,
            project=sepsis,
            requester=people["ana"],
            text="Fund the sepsis screening tool licence for AMU (£4,000 a year)",
            area="budget",
            needed_by=(now + timedelta(days=10)).date(),
            assignee=None,
            now=now,
            link_base="",
        )
        await asks.raise_ask(
            uow,
            project=falls,
            requester=people["ben"],
            text="Release two healthcare assistants for the bay-watch pilot",
            area="staffing",
            needed_by=(now + timedelta(days=7)).date(),
            assignee=None,
            now=now,
            link_base="",
        )
        await asks.announce_pending(uow, now=now, link_base="")  # as the drain would
        await blockers.raise_blocker(
            uow,
            project=sepsis,
            reporter=people["ana"],
            text="Lab system access for the sepsis nurses blocked for two weeks",
            area="it",
            severity=Severity.HIGH,
            now=now,
            link_base="",
        )
        antibiotics = await kpis.add_measure(
            uow,
            project=sepsis,
            name="Time to antibiotics",
            unit="min",
            direction=Direction.LOWER,
            target=60,
            warn=70,
            alert=90,
            actor=people["ana"],
            now=now,
        )
        falls_rate = await kpis.add_measure(
            uow,
            project=falls,
            name="Falls per 1000 bed days",
            unit="",
            direction=Direction.LOWER,
            target=3,
            warn=4,
            alert=5,
            actor=people["ben"],
            now=now,
        )
        for measure, project, values in (
            (antibiotics, sepsis, (85.0, 78.0, 95.0)),
            (falls_rate, falls, (4.6, 4.1, 3.8)),
        ):
            for weeks_ago, value in zip((3, 2, 1), values, strict=True):
                await kpis.record_observation(
                    uow,
                    project=project,
                    measure=measure,
                    value=value,
                    observed_on=(now - timedelta(weeks=weeks_ago)).date(),
                    actor=people["ana"],
                    now=now,
                )
        await uow.commit()


async def demo_organizations(uow: UnitOfWork) -> list[Organization]:
    """The organizations :func:`seed_demo` made (found by its name)."""
    return await uow.organizations.find(name=DEMO_NAME, order_by="id")
