"""Links the bot hands out to the dashboard (DESIGN §7): a port the server implements.

The core never signs anything itself: the composition root passes a :class:`Links` that makes
personal, expiring links with the server's key. Where nothing can sign (a CLI process whose
key the server would not share), :class:`UnsignedLinks` gives plain addresses whose page says
how to get a personal link, so no reply ever hands out a link that only looks personal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from bot.model import Person

ItemKind = Literal["ask", "blocker"]

ITEM_PATHS: dict[ItemKind, str] = {"ask": "/dashboard/asks", "blocker": "/dashboard/blockers"}
"""Where an item's own page lives, under the server's base URL."""

LINK_DAYS = 7
"""How long a personal link works."""


class Links(Protocol):
    @property
    def signed(self) -> bool:
        """True when the links open pages by themselves (personal and signed)."""
        ...

    def for_person(self, person: Person) -> str:
        """``person``'s own dashboard link: their "waiting on you" (an admin's: the overview)."""
        ...

    def to_item(self, person: Person, kind: ItemKind, item_id: int) -> str:
        """A link for ``person`` straight to one ask's or blocker's page."""
        ...


@dataclass(frozen=True)
class UnsignedLinks:
    """Plain addresses on ``link_base``: they open a page that says how to get a personal link."""

    link_base: str
    signed: bool = False

    def for_person(self, person: Person) -> str:
        return f"{self.link_base.rstrip('/')}/dashboard"

    def to_item(self, person: Person, kind: ItemKind, item_id: int) -> str:
        return f"{self.link_base.rstrip('/')}{ITEM_PATHS[kind]}/{item_id}"
