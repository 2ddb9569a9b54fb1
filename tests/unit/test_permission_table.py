"""The permission table, cell by cell: each action × each role is allowed or refused as the
issue's table says (written out here again, independently of bot.permissions)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.model import Ask, Blocker, Organization, Project, Severity
from bot.permissions import TABLE, Action, Party, allows, refusal

A, P = Action, Party
STEWARDS = {P.LEAD, P.SPONSOR, P.ADMIN}
EXPECTED: dict[Action, set[Party]] = {
    A.DECIDE_ASK: {P.DECIDER, P.DELEGATE},
    A.ANSWER_ASK: {P.REQUESTER},
    A.WITHDRAW_ASK: {P.REQUESTER},
    A.POST_UPDATE: {P.LEAD, P.RESPONSIBLE, P.SPONSOR, P.ADMIN},
    A.EDIT_CHARTER: STEWARDS,
    A.SET_STATUS: STEWARDS,
    A.SET_ROLES: STEWARDS,
    A.SET_RACI: STEWARDS,
    A.EDIT_KPIS: STEWARDS,
    A.LINK_CHANNEL: STEWARDS,
    A.HANDOVER: STEWARDS,
    A.ACK_BLOCKER: {P.RUNG_HOLDER, P.REPORTER, P.LEAD, P.SPONSOR, P.ADMIN},
    A.RESOLVE_BLOCKER: {P.RUNG_HOLDER, P.REPORTER, P.LEAD, P.SPONSOR, P.ADMIN},
    A.WITHDRAW_BLOCKER: {P.REPORTER},
    A.VIEW_ASK: {
        P.REQUESTER,
        P.DECIDER,
        P.DELEGATE,
        P.NAMED,
        P.INVOLVED,
        P.LEAD,
        P.RESPONSIBLE,
        P.SPONSOR,
        P.ADMIN,
    },
    A.VIEW_BLOCKER: {
        P.REPORTER,
        P.RUNG_HOLDER,
        P.NAMED,
        P.INVOLVED,
        P.LEAD,
        P.RESPONSIBLE,
        P.SPONSOR,
        P.ADMIN,
    },
    A.ORG_INVITE: {P.ADMIN},
    A.ORG_JOIN: {P.ADMIN},
    A.ORG_ADMINS: {P.ADMIN},
    A.ORG_EXECUTIVE: {P.ADMIN},
    A.ORG_NAME: {P.ADMIN},
}


def test_every_action_has_a_row() -> None:
    assert set(TABLE) == set(Action) == set(EXPECTED)


@pytest.mark.parametrize("party", list(Party))
@pytest.mark.parametrize("action", list(Action))
def test_each_cell(action: Action, party: Party) -> None:
    assert allows(action, frozenset({party, P.MEMBER})) is (party in EXPECTED[action])


@pytest.mark.parametrize("party", [P.DECIDER, P.DELEGATE, P.ADMIN, P.LEAD, P.SPONSOR])
def test_a_requester_never_decides_their_own_ask(party: Party) -> None:
    assert not allows(A.DECIDE_ASK, frozenset({P.REQUESTER, party}))


def test_acknowledging_and_resolving_are_open_to_the_same_people() -> None:
    assert TABLE[A.ACK_BLOCKER] == TABLE[A.RESOLVE_BLOCKER]


NOW = datetime(2026, 11, 23, 10, tzinfo=UTC)
PROJECT = Project(id=1, organization_id=1, key="SEPSIS", name="Sepsis")
ORGANIZATION = Organization(id=1, name="St Mary's", admin_ids=[9, 2])
ASK = Ask(
    id=7,
    organization_id=1,
    project_id=1,
    requester_id=1,
    assignee_id=2,
    area="*",
    text="x",
    created_at=NOW,
)
BLOCKER = Blocker(
    id=4,
    organization_id=1,
    project_id=1,
    reporter_id=1,
    area="*",
    severity=Severity.HIGH,
    text="x",
    ladder=[3, 2],
    created_at=NOW,
)
NAMES = {1: "Ana Silva", 2: "Dana Lee", 3: "Raj Patel", 9: "Omar Haddad"}
SENTENCES = {
    A.DECIDE_ASK: "Only Dana Lee or their active delegate can decide ask #7.",
    A.ANSWER_ASK: "Only Ana Silva, who raised it, can answer the question on ask #7.",
    A.WITHDRAW_ASK: "Only Ana Silva, who raised it, can withdraw ask #7.",
    A.POST_UPDATE: "Only the lead, the R for * or the sponsor of #SEPSIS, or an admin, "
    "can post its weekly update.",
    A.EDIT_CHARTER: "Only the lead or sponsor of #SEPSIS, or an admin, can change its charter.",
    A.SET_STATUS: "Only the lead or sponsor of #SEPSIS, or an admin, can pause, resume or "
    "close it.",
    A.SET_ROLES: "Only the lead or sponsor of #SEPSIS, or an admin, can change its roles.",
    A.SET_RACI: "Only the lead or sponsor of #SEPSIS, or an admin, can change its RACI.",
    A.EDIT_KPIS: "Only the lead or sponsor of #SEPSIS, or an admin, can add or record its KPIs.",
    A.LINK_CHANNEL: "Only the lead or sponsor of #SEPSIS, or an admin, can set its home channel.",
    A.HANDOVER: "Only the lead or sponsor of #SEPSIS, or an admin, can hand over its roles.",
    A.ACK_BLOCKER: "Only Raj Patel (whose rung it is), Ana Silva (who raised it), the lead or "
    "sponsor of #SEPSIS, or an admin, can acknowledge blocker #4.",
    A.RESOLVE_BLOCKER: "Only Raj Patel (whose rung it is), Ana Silva (who raised it), the lead "
    "or sponsor of #SEPSIS, or an admin, can resolve blocker #4.",
    A.WITHDRAW_BLOCKER: "Only Ana Silva, who raised it, can withdraw blocker #4.",
    A.VIEW_ASK: "Only the people on it, anyone on #SEPSIS, or an admin, can see ask #7.",
    A.VIEW_BLOCKER: "Only the people on it, anyone on #SEPSIS, or an admin, can see blocker #4.",
    A.ORG_INVITE: "Only an admin of St Mary's (Omar Haddad, Dana Lee) can invite a partner.",
    A.ORG_JOIN: "Only an admin of St Mary's (Omar Haddad, Dana Lee) can move this workspace.",
    A.ORG_ADMINS: "Only an admin of St Mary's (Omar Haddad, Dana Lee) can change the admins.",
    A.ORG_EXECUTIVE: "Only an admin of St Mary's (Omar Haddad, Dana Lee) can name the executive.",
    A.ORG_NAME: "Only an admin of St Mary's (Omar Haddad, Dana Lee) can rename the organization.",
}
ORG_ACTIONS = [A.ORG_INVITE, A.ORG_JOIN, A.ORG_ADMINS, A.ORG_EXECUTIVE, A.ORG_NAME]


@pytest.mark.parametrize("action", list(Action))
def test_each_refusal_says_who_may(action: Action) -> None:
    on_organization = action in ORG_ACTIONS
    error = refusal(
        action,
        held=frozenset({P.MEMBER}),
        project=None if on_organization else PROJECT,
        organization=ORGANIZATION if on_organization else None,
        ask=ASK,
        blocker=BLOCKER,
        names=NAMES,
    )
    assert error.message == f"{SENTENCES[action]} Nothing was changed."


@pytest.mark.parametrize("action", ORG_ACTIONS)
def test_an_organization_without_admins_says_how_to_name_one(action: Action) -> None:
    error = refusal(
        action,
        held=frozenset({P.MEMBER}),
        organization=Organization(id=1, name="St Mary's"),
        names={},
    )
    assert error.message == (
        f"Only an admin of St Mary's can {action.value}, and it has none yet: the operator "
        "names one with `leaderbot org admin add @handle`. Nothing was changed."
    )


def test_the_requester_is_told_why_they_may_not_decide() -> None:
    error = refusal(
        A.DECIDE_ASK, held=frozenset({P.REQUESTER}), project=PROJECT, ask=ASK, names=NAMES
    )
    assert error.message == (
        "You raised ask #7, and nobody decides their own ask: Dana Lee or their active delegate "
        "decides it. Nothing was changed."
    )
