"""Who receives an ask, who climbs a blocker's ladder, who may decide (DESIGN §2, Routing).

Pure functions over data the services have already loaded: no I/O, so the rules are tested
exhaustively here and the services only load, call and persist.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from bot.errors import RoutingError
from bot.model import Delegation, Letter, Project, RaciEntry, Role, Stakeholder

__all__ = [
    "DEFAULT_AREA",
    "LadderRoles",
    "Routing",
    "accountable",
    "areas",
    "deciders",
    "ladder",
    "ladder_roles",
    "may_decide",
    "route",
    "rung_label",
    "signed",
    "sponsor_of",
]

DEFAULT_AREA = "*"


@dataclass(frozen=True, kw_only=True)
class Routing:
    """Where an ask goes and why; the reason is shown to the requester and on the card."""

    assignee_id: int
    assignee_name: str
    reason: str
    consulted_ids: tuple[int, ...] = ()
    informed_ids: tuple[int, ...] = ()
    responsible_ids: tuple[int, ...] = ()


def _same_area(entry: RaciEntry, area: str) -> bool:
    return entry.area.casefold() == area.casefold()


def accountable(raci: Sequence[RaciEntry], area: str) -> int | None:
    """The Accountable for exactly ``area`` (no fallback); the first if the matrix holds two."""
    return next(
        (e.person_id for e in raci if e.letter is Letter.A and _same_area(e, area)),
        None,
    )


def sponsor_of(stakeholders: Sequence[Stakeholder]) -> int | None:
    """The project's sponsor (one per active project), or None."""
    return next((s.person_id for s in stakeholders if s.role is Role.SPONSOR), None)


def areas(raci: Sequence[RaciEntry]) -> list[str]:
    """The areas a RACI names, sorted (``*`` first), each once."""
    return sorted({e.area for e in raci})


def _unique(ids: Iterable[int | None], *, without: Iterable[int] = ()) -> tuple[int, ...]:
    """``ids`` in order, each once, dropping None and ``without``."""
    seen = set(without)
    kept: list[int] = []
    for person_id in ids:
        if person_id is not None and person_id not in seen:
            seen.add(person_id)
            kept.append(person_id)
    return tuple(kept)


def _holders(
    raci: Sequence[RaciEntry], area: str
) -> tuple[dict[Letter, list[int]], dict[Letter, list[int]]]:
    """Each letter's holders for ``area`` and for the default area, in matrix order, found in
    one pass over the matrix (every ask is routed before its ack)."""
    wanted = area.casefold()
    here: dict[Letter, list[int]] = {}
    default: dict[Letter, list[int]] = {}
    for entry in raci:
        entry_area = entry.area.casefold()
        if entry_area == wanted:
            here.setdefault(entry.letter, []).append(entry.person_id)
        if entry_area == DEFAULT_AREA:
            default.setdefault(entry.letter, []).append(entry.person_id)
    return here, default


def _assignee(
    project: Project,
    area: str,
    accountables: tuple[list[int], list[int]],
    stakeholders: Sequence[Stakeholder],
) -> tuple[int, str]:
    key = project.key
    here, default = accountables
    if here and area != DEFAULT_AREA:
        return here[0], f"Accountable for {area} on {key} per RACI"
    if default:
        return default[0], f"Accountable by default (area *) on {key} per RACI"
    gap = "default (*) Accountable" if area == DEFAULT_AREA else f"Accountable for {area}"
    person_id = sponsor_of(stakeholders)
    if person_id is not None:
        return person_id, f"sponsor of {key} (no {gap} in the RACI)"
    nobody = (
        "no default (*) Accountable"
        if area == DEFAULT_AREA
        else f"no Accountable for '{area}', no default (*) Accountable"
    )
    raise RoutingError(
        f"{key} has {nobody} and no sponsor, so nobody can receive this.",
        hint=f"Ask an admin: raci set @person A {area} #{key}",
    )


def route(
    *,
    project: Project,
    area: str,
    raci: Sequence[RaciEntry],
    stakeholders: Sequence[Stakeholder],
    names: Mapping[int, str],
) -> Routing:
    """Route an ask on ``area``: the Accountable of the area, else of ``*``, else the sponsor.

    Consulted, Informed and Responsible are those of the area plus those of ``*``, without the
    assignee; someone both Consulted and Informed is only Consulted (they are asked already).

    Raises:
        RoutingError: nobody is Accountable and the project has no sponsor.
    """
    here, default = _holders(raci, area)
    assignee_id, reason = _assignee(
        project, area, (here.get(Letter.A, []), default.get(Letter.A, [])), stakeholders
    )

    def holding(letter: Letter) -> list[int]:
        return here.get(letter, []) + default.get(letter, [])

    consulted = _unique(holding(Letter.C), without=(assignee_id,))
    return Routing(
        assignee_id=assignee_id,
        assignee_name=names.get(assignee_id, "?"),
        reason=reason,
        consulted_ids=consulted,
        informed_ids=_unique(holding(Letter.I), without=(assignee_id, *consulted)),
        responsible_ids=_unique(holding(Letter.R), without=(assignee_id,)),
    )


@dataclass(frozen=True, kw_only=True)
class LadderRoles:
    """Who holds each role a blocker's ladder is made of; one person may hold several."""

    accountable: int | None
    sponsor: int | None
    executive: int | None

    def rungs(self) -> list[int]:
        """The rungs in climbing order, each person once (their first, lowest rung)."""
        return list(_unique((self.accountable, self.sponsor, self.executive)))


def ladder_roles(
    *,
    area: str,
    raci: Sequence[RaciEntry],
    stakeholders: Sequence[Stakeholder],
    executive_id: int | None,
) -> LadderRoles:
    """The Accountable of ``area`` (else of ``*``), the sponsor and the executive."""
    owner = accountable(raci, area)
    if owner is None:
        owner = accountable(raci, DEFAULT_AREA)
    return LadderRoles(accountable=owner, sponsor=sponsor_of(stakeholders), executive=executive_id)


def ladder(
    *,
    area: str,
    raci: Sequence[RaciEntry],
    stakeholders: Sequence[Stakeholder],
    executive_id: int | None,
) -> list[int]:
    """A blocker's escalation rungs: [Accountable(area, else *), sponsor, executive].

    Missing rungs and repeats are dropped, order kept: a sponsor who is also the Accountable is
    one rung, not two. Empty when nobody at all can be reached (the caller refuses the blocker).
    """
    return ladder_roles(
        area=area, raci=raci, stakeholders=stakeholders, executive_id=executive_id
    ).rungs()


def rung_label(person_id: int, roles: LadderRoles) -> str:
    """What a rung is called, from the roles its holder has on the ladder: "sponsor",
    "Accountable and sponsor" — never from its position, which shifts when a role is missing
    or held twice. "rung holder" when the matrix changed since the ladder was built."""
    held = [
        label
        for label, holder in (
            ("Accountable", roles.accountable),
            ("sponsor", roles.sponsor),
            ("executive", roles.executive),
        )
        if holder == person_id
    ]
    return " and ".join(held) or "rung holder"


def deciders(*, assignee_id: int, delegations: Sequence[Delegation], today: date) -> frozenset[int]:
    """Who may decide an ask of ``assignee_id`` today: them and their active delegates.

    A delegation is active from ``starts_on`` to ``ends_on`` inclusive. Delegation is not
    transitive: a delegate's own delegate may not decide.
    """
    return frozenset(
        {assignee_id}
        | {
            d.delegate_id
            for d in delegations
            if d.delegator_id == assignee_id and d.starts_on <= today <= d.ends_on
        }
    )


def may_decide(
    person_id: int, *, assignee_id: int, delegations: Sequence[Delegation], today: date
) -> bool:
    """True when ``person_id`` may decide an ask assigned to ``assignee_id`` today."""
    return person_id in deciders(assignee_id=assignee_id, delegations=delegations, today=today)


def signed(names: Mapping[int, str], by_id: int | None, for_id: int | None) -> str:
    """Who decided, as everyone sees it: "Carmen Diaz for Dana Lee" when a delegate decided
    for the assignee; "" when nobody did."""
    by = names.get(by_id or 0, "")
    return f"{by} for {names.get(for_id, 'someone')}" if by and for_id else by
