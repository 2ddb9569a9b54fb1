"""The set-up commands (``org …``, ``me …``) through Core, on memory, SQLite and PostgreSQL:
what each replies, allowed and refused, and the state after; one-time codes' expiry and reuse."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

import pytest

from bot.clock import ManualClock
from bot.context import Caller
from bot.dispatch import Core
from bot.model import Identity, Organization, Person, Platform, Project, Workspace
from bot.services import blockers
from bot.services.org import CODE_LIFETIME, NO_EXECUTIVE
from bot.services.people import caller_of

MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
CODE = re.compile(r"[A-Z2-9]{4}(?:-[A-Z2-9]{4}){3}")


async def who(core: Core, handle: str) -> Caller:
    caller = await core.caller_for_handle(handle, platform=Platform.CONSOLE)
    assert caller is not None
    return caller


async def say(core: Core, caller: Caller | str, line: str) -> str:
    caller = await who(core, caller) if isinstance(caller, str) else caller
    reply = await core.command(caller, line)
    return "\n".join(
        "\n".join((m.title, *m.sections, *(f"{f.label}: {f.value}" for f in m.facts)))
        for m in reply.messages
    ).strip()


async def org_of(core: Core, caller: Caller) -> Organization:
    async with core.uow() as uow:
        found = await uow.organizations.get(caller.organization_id)
    assert found is not None
    return found


async def partner(
    core: Core,
    *,
    email: str = "bo@partner.example",
    projects: int = 0,
    tenant: str = "tenant-partner",
) -> tuple[Caller, Caller]:
    """A partner organization on Teams (``tenant``): its admin Bo, and Dana (an email the demo
    also has)."""
    async with core.uow() as uow:
        organization = await uow.organizations.add(Organization(name="Partner Clinic"))
        workspace = await uow.workspaces.add(
            Workspace(
                organization_id=organization.id,
                platform=Platform.TEAMS,
                external_id=tenant,
                name="Partner",
            )
        )
        callers = []
        for handle, name, mail in (
            ("bo", "Bo Chen", email),
            ("dana", "Dana L.", "dana@northfield.example"),
        ):
            person = await uow.people.add(
                Person(organization_id=organization.id, handle=handle, name=name, email=mail)
            )
            await uow.identities.add(
                Identity(
                    person_id=person.id,
                    workspace_id=workspace.id,
                    platform=Platform.TEAMS,
                    user_id=f"29:{handle}",
                )
            )
            callers.append(caller_of(person, platform=Platform.TEAMS, workspace_id=workspace.id))
        organization.admin_ids = [callers[0].person_id]
        await uow.organizations.save(organization)
        for n in range(projects):
            await uow.projects.add(
                Project(organization_id=organization.id, key=f"P{n}X", name="Own project")
            )
        await uow.commit()
    return callers[0], callers[1]


def code_in(said: str) -> str:
    found = CODE.search(said)
    assert found, said
    return found[0]


# --- org show, admins, executive, name ------------------------------------------------------


async def test_org_show_lists_workspaces_admins_and_executive(core: Core) -> None:
    said = await say(core, "raj", "org show")
    assert said == (
        "Northfield Health (demo)\n"
        "Workspaces: console Console\n"
        "Admins: Ana Silva (@ana)\n"
        "Executive: Eve Martin (@eve)"
    )


@pytest.mark.parametrize(
    ("line", "doing"),
    [
        ("org invite", "invite a partner"),
        ("org admin add @raj", "change the admins"),
        ("org admin remove @ana", "change the admins"),
        ("org executive @raj", "name the executive"),
        ("org name Raj's Hospital", "rename the organization"),
    ],
)
async def test_non_admins_are_refused_and_nothing_changes(
    core: Core, line: str, doing: str
) -> None:
    raj = await who(core, "raj")
    before = await org_of(core, raj)
    said = await say(core, raj, line)
    assert said == (
        f"Only an admin of Northfield Health (demo) (Ana Silva) can {doing}. Nothing was changed."
    )
    assert await org_of(core, raj) == before
    async with core.uow() as uow:
        assert await uow.codes.count() == 0


async def test_admins_add_and_remove_admins_but_never_the_last(core: Core) -> None:
    ana = await who(core, "ana")
    assert await say(core, ana, "org admin add @raj") == (
        "Raj Patel (@raj) is now an admin of Northfield Health (demo)."
    )
    assert await say(core, ana, "org admin add @raj") == (
        "Raj Patel (@raj) already was an admin of Northfield Health (demo)."
    )
    assert (await org_of(core, ana)).admin_ids == [
        ana.person_id,
        (await who(core, "raj")).person_id,
    ]
    assert await say(core, "raj", "org admin remove @ana") == (
        "Ana Silva (@ana) is no longer an admin of Northfield Health (demo)."
    )
    assert await say(core, "raj", "org admin remove @raj") == (
        "Raj Patel is the only admin of Northfield Health (demo); name another admin first "
        "(org admin add @person). Nothing was changed."
    )
    assert await say(core, "raj", "org admin remove @ben") == (
        "Ben Okafor is not an admin of Northfield Health (demo). Nothing was changed."
    )
    assert (await org_of(core, ana)).admin_ids == [(await who(core, "raj")).person_id]


async def test_an_organization_without_admins_says_who_can_name_one(core: Core) -> None:
    ana = await who(core, "ana")
    async with core.uow() as uow:
        organization = await uow.organizations.get(ana.organization_id)
        assert organization is not None
        organization.admin_ids = []
        await uow.organizations.save(organization)
        await uow.commit()
    assert await say(core, ana, "org invite") == (
        "Only an admin of Northfield Health (demo) can invite a partner, and it has none yet: "
        "the operator names one with `leaderbot org admin add @handle`. Nothing was changed."
    )


async def test_admins_name_the_executive_and_the_organization(core: Core) -> None:
    ana = await who(core, "ana")
    assert await say(core, ana, "org executive @carmen") == (
        "Dr Carmen Diaz (@carmen) is now the executive of Northfield Health (demo): the top rung "
        "of the escalation ladder of blockers raised from now on."
    )
    assert await say(core, ana, "org name  Northfield   Health") == (
        "The organization is now called Northfield Health."
    )
    organization = await org_of(core, ana)
    assert organization.name == "Northfield Health"
    assert organization.escalation_contact_id == (await who(core, "carmen")).person_id


# --- me timezone, me hours ---------------------------------------------------------------------


async def test_me_timezone_and_hours_change_the_callers_working_day(core: Core) -> None:
    raj = await who(core, "raj")
    assert await say(core, raj, "me timezone Europe/Berlin") == (
        "Done. Your working day: 08:00–18:00 Europe/Berlin."
    )
    assert await say(core, raj, "me hours 07:30-16:00") == (
        "Done. Your working day: 07:30–16:00 Europe/Berlin."
    )
    async with core.uow() as uow:
        person = await uow.people.get(raj.person_id)
    assert person is not None
    assert (person.timezone, person.work_start, person.work_end) == (
        "Europe/Berlin",
        time(7, 30),
        time(16, 0),
    )


@pytest.mark.parametrize(
    ("line", "refusal"),
    [
        (
            "me timezone Mars/Olympus",
            "'Mars/Olympus' is not a time zone I know. Use an IANA name, like Europe/Berlin or "
            "America/New_York. Nothing was changed.",
        ),
        (
            "me timezone CET+1",
            "'CET+1' is not a time zone I know. Use an IANA name, like Europe/Berlin or "
            "America/New_York. Nothing was changed.",
        ),
        (
            "me hours 9 to 5",
            "I can't read the hours '9 to 5'. Give a start and an end, like 08:00-18:00. "
            "Nothing was changed.",
        ),
        (
            "me hours 18:00-08:00",
            "Your working day must start before it ends, like 08:00-18:00. Nothing was changed.",
        ),
    ],
)
async def test_bad_working_time_is_refused(core: Core, line: str, refusal: str) -> None:
    said = await say(core, "raj", line)
    assert said.splitlines()[0] == refusal
    async with core.uow() as uow:
        person = await uow.people.get((await who(core, "raj")).person_id)
    assert person is not None
    assert (person.timezone, person.work_start) == ("Asia/Kolkata", time(8, 0))


# --- org invite / org join ----------------------------------------------------------------------


async def test_a_partner_workspace_joins_with_an_invitation_code(core: Core) -> None:
    ana = await who(core, "ana")
    said = await say(core, ana, "org invite")
    code = code_in(said)
    assert said == (
        f"Invitation code for Northfield Health (demo): {code}\n"
        "It works once, until Tue 24 Nov 2026 10:00 GMT. Give it to the partner's Leaderbot "
        "admin and ask them to type this to Leaderbot in their own Slack or Teams: "
        f"org join {code}\nTheir workspace then joins Northfield Health (demo)."
    )
    async with core.uow() as uow:
        (stored,) = await uow.codes.find()
    assert code not in repr(stored)
    bo, their_dana = await partner(core)
    assert await say(core, bo, f"org join {code.lower()}") == (
        "This Teams workspace is now part of Northfield Health (demo): 2 people came along, 1 of "
        "them matched by email. Partner Clinic was removed.\n"
        "An admin of Northfield Health (demo) can make you an admin there (org admin add @you). "
        "org show lists the workspaces."
    )
    async with core.uow() as uow:
        workspace = await uow.workspaces.first(external_id="tenant-partner")
        assert workspace is not None and workspace.organization_id == ana.organization_id
        assert await uow.organizations.get(bo.organization_id) is None
        dana = await uow.people.first(organization_id=ana.organization_id, handle="dana")
        assert dana is not None and dana.name == "Dana Lee"
        platforms = {i.platform for i in await uow.identities.find(person_id=dana.id)}
        assert platforms == {Platform.CONSOLE, Platform.TEAMS}
        assert await uow.people.get(their_dana.person_id) is None
        moved = await uow.people.get(bo.person_id)
        assert moved is not None and moved.organization_id == ana.organization_id
    assert "Teams Partner" in await say(core, "raj", "org show")


async def test_an_invitation_code_works_once_and_for_24_hours(
    core: Core, clock: ManualClock
) -> None:
    first = code_in(await say(core, "ana", "org invite"))
    second = code_in(await say(core, "ana", "org invite"))
    bo, _ = await partner(core)
    clock.advance(CODE_LIFETIME)
    assert await say(core, bo, f"org join {second}") == (
        "That invitation code expired on Tue 24 Nov 2026 10:00 UTC. Ask the inviting admin "
        "for a new one (org invite). Nothing was changed."
    )
    clock.set(MONDAY + CODE_LIFETIME - timedelta(seconds=1))
    assert "is now part of" in await say(core, bo, f"org join {first}")
    async with core.uow() as uow:
        other = await uow.organizations.add(Organization(name="Third", admin_ids=[]))
        workspace = await uow.workspaces.add(
            Workspace(
                organization_id=other.id, platform=Platform.SLACK, external_id="T3", name="Third"
            )
        )
        carl = await uow.people.add(Person(organization_id=other.id, handle="carl", name="Carl"))
        other.admin_ids = [carl.id]
        await uow.organizations.save(other)
        await uow.commit()
    carl_caller = caller_of(carl, platform=Platform.SLACK, workspace_id=workspace.id)
    assert await say(core, carl_caller, f"org join {first}") == (
        "That invitation code was already used. Ask the inviting admin for a new one "
        "(org invite). Nothing was changed."
    )
    assert await say(core, carl_caller, "org join ABCD-EFGH-JKLM-NPQR") == (
        "That is not a valid invitation code. Check it for typos. Ask the inviting admin for a "
        "new one (org invite). Nothing was changed."
    )
    async with core.uow() as uow:
        assert (await uow.workspaces.get(workspace.id)) == workspace


async def test_a_workspace_whose_organization_has_projects_cannot_join(core: Core) -> None:
    code = code_in(await say(core, "ana", "org invite"))
    bo, sam = await partner(core, projects=1)
    assert await say(core, sam, f"org join {code}") == (
        "Only an admin of Partner Clinic (Bo Chen) can move this workspace. Nothing was changed."
    )
    assert await say(core, bo, f"org join {code}") == (
        "Partner Clinic already has projects (#P0X), so its workspaces cannot join Northfield "
        "Health (demo): only an organization without projects can. Nothing was changed."
    )
    async with core.uow() as uow:
        assert await uow.organizations.get(bo.organization_id) is not None
        (invite,) = await uow.codes.find()
        assert invite.used_at is None


async def test_org_join_is_typed_in_the_joining_workspace(core: Core) -> None:
    code = code_in(await say(core, "ana", "org invite"))
    assert await say(core, "ana", f"org join {code}") == (
        "Type org join in the Slack or Teams workspace that should join. Nothing was changed."
    )


# --- me link -----------------------------------------------------------------------------------


async def test_me_link_joins_another_identity_to_the_person_who_asked(
    core: Core, clock: ManualClock
) -> None:
    ana = await who(core, "ana")
    said = await say(core, ana, "me link")
    code = code_in(said)
    assert said.startswith(f"Your link code: {code}\n")
    async with core.uow() as uow:
        workspace = await uow.workspaces.add(
            Workspace(
                organization_id=ana.organization_id,
                platform=Platform.TEAMS,
                external_id="tenant-own",
            )
        )
        fresh = await uow.people.add(
            Person(organization_id=ana.organization_id, handle="ana.silva", name="Ana S")
        )
        await uow.identities.add(
            Identity(
                person_id=fresh.id,
                workspace_id=workspace.id,
                platform=Platform.TEAMS,
                user_id="29:ana",
            )
        )
        await uow.commit()
    on_teams = caller_of(fresh, platform=Platform.TEAMS, workspace_id=workspace.id)
    assert await say(core, on_teams, f"me link {code}") == (
        "Linked: this Teams identity is now Ana Silva (@ana)'s, so your asks, blockers and "
        "digests are the same here and there."
    )
    async with core.uow() as uow:
        identity = await uow.identities.first(workspace_id=workspace.id, user_id="29:ana")
        assert identity is not None and identity.person_id == ana.person_id
        assert await uow.people.get(fresh.id) is None
    caller = await core.identify(
        platform=Platform.TEAMS, workspace_external_id="tenant-own", user_id="29:ana"
    )
    assert caller is not None and caller.person_id == ana.person_id
    assert await say(core, caller, f"me link {code}") == (
        "That link code was already used. Type me link where you already use Leaderbot for a "
        "new one. Nothing was changed."
    )
    late = code_in(await say(core, ana, "me link"))
    clock.advance(timedelta(hours=25))
    assert (await say(core, "raj", f"me link {late}")) == (
        "That link code expired on Tue 24 Nov 2026 15:30 IST. Type me link where you already "
        "use Leaderbot for a new one. Nothing was changed."
    )


async def test_me_link_never_crosses_organizations_nor_merges_someone_with_work(
    core: Core,
) -> None:
    bo, _ = await partner(core)
    code = code_in(await say(core, bo, "me link"))
    assert await say(core, "raj", f"me link {code}") == (
        "That is not a valid link code. Check it for typos. Type me link where you already "
        "use Leaderbot for a new one. Nothing was changed."
    )
    code = code_in(await say(core, "ana", "me link"))
    assert await say(core, "raj", f"me link {code}") == (
        "This identity (Raj Patel, @raj) already has roles or items; hand them over first "
        "(handover @raj @ana). Nothing was changed."
    )
    async with core.uow() as uow:
        assert await uow.people.get((await who(core, "raj")).person_id) is not None


# --- no executive ------------------------------------------------------------------------------


async def test_without_an_executive_the_top_rung_tells_the_admins_once(
    core: Core, clock: ManualClock
) -> None:
    ana = await who(core, "ana")
    async with core.uow() as uow:
        organization = await uow.organizations.get(ana.organization_id)
        assert organization is not None
        organization.escalation_contact_id = None
        organization.admin_ids = [ana.person_id, (await who(core, "ben")).person_id]
        await uow.organizations.save(organization)
        await uow.commit()
    for text in ("lab access blocked", "no beds"):
        await say(core, "raj", f"blocker {text} #SEPSIS area:it severity:high")
    async with core.uow() as uow:
        raised = await uow.blockers.find(order_by="id")
        assert all(len(b.ladder) == 2 for b in raised)  # Accountable(*) and sponsor, no executive
        for blocker in raised * 2:
            blocker = await uow.blockers.get(blocker.id) or blocker
            blocker.level = len(blocker.ladder) - 1
            await uow.blockers.save(blocker)  # at the top rung, as stored
            await blockers.climb(uow, blocker=blocker, now=clock.now(), link_base="")
        await uow.commit()
    async with core.uow() as uow:
        notices = await uow.outbox.find(key__gte=NO_EXECUTIVE, key__lt=NO_EXECUTIVE + ";")
    assert sorted(n.person_id or 0 for n in notices) == sorted(organization.admin_ids)
    assert {n.key for n in notices} == {
        f"{NO_EXECUTIVE}:{ana.organization_id}@1:ana",
        f"{NO_EXECUTIVE}:{ana.organization_id}@1:ben",
    }
