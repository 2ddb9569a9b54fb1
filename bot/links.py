"""Links the bot hands out to the dashboard (DESIGN §7): a port the server implements.

The core never signs anything itself: the composition root passes a :class:`Links` that makes
personal, expiring links with the server's key. Where nothing can sign (a CLI process whose
key the server would not share), :class:`UnsignedLinks` gives plain addresses whose page says
how to get a personal link, so no reply ever hands out a link that only looks personal.

Cards store the plain :func:`item_link`; it is made personal only when the message goes to one
reader (:func:`personal`: the core for a reply, the drain for an outbox row), so no signature is
ever written to the outbox, a channel post never carries one, and a link is valid for a week
from when it was delivered, not from when it was queued.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Literal, Protocol

from bot.messages import Message
from bot.model import Person

ItemKind = Literal["ask", "blocker"]

ITEM_PATHS: dict[ItemKind, str] = {"ask": "/dashboard/asks", "blocker": "/dashboard/blockers"}
"""Where an item's own page lives, under the server's base URL."""

LINK_DAYS = 7
"""How long a personal link works."""


_ITEM = re.compile(r"/dashboard/(asks|blockers)/([0-9]{1,18})")
_KINDS: dict[str, ItemKind] = {"asks": "ask", "blockers": "blocker"}


def item_link(link_base: str, kind: ItemKind, item_id: int) -> str:
    """The plain address of an item's page, what a card stores."""
    return f"{link_base.rstrip('/')}{ITEM_PATHS[kind]}/{item_id}"


def item_of(link: str | None, link_base: str) -> tuple[ItemKind, int] | None:
    """The item a plain :func:`item_link` on ``link_base`` points at; None for any other link."""
    base = link_base.rstrip("/")
    if not link or not link.startswith(base):
        return None
    found = _ITEM.fullmatch(link[len(base) :])
    return (_KINDS[found.group(1)], int(found.group(2))) if found else None


def personal(message: Message, person: Person, links: Links) -> Message:
    """``message`` with its item link signed for ``person``, its one reader (unchanged when
    the links cannot sign or the link is not an item's)."""
    item = item_of(message.link, links.link_base) if links.signed else None
    if item is None:
        return message
    return replace(message, link=links.to_item(person, *item))


class Links(Protocol):
    @property
    def link_base(self) -> str:
        """The server's public base URL every link starts with."""
        ...

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
        return item_link(self.link_base, kind, item_id)
