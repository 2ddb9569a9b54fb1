"""The server's :class:`bot.links.Links`: personal links signed with the dashboard key."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from adapters.web.access import sign_link
from bot.links import ITEM_PATHS, LINK_DAYS, ItemKind
from bot.model import Person
from bot.ports import Clock


@dataclass(frozen=True, kw_only=True)
class SignedLinks:
    """Links that open as one person for :data:`~bot.links.LINK_DAYS` days from now."""

    key: bytes
    clock: Clock
    link_base: str
    signed: bool = True

    def _sign(self, person: Person, path: str) -> str:
        return sign_link(
            key=self.key,
            organization_id=person.organization_id,
            person_id=person.id,
            expires_at=self.clock.now() + timedelta(days=LINK_DAYS),
            base_url=self.link_base,
            path=path,
        )

    def for_person(self, person: Person) -> str:
        return self._sign(person, "/dashboard")

    def to_item(self, person: Person, kind: ItemKind, item_id: int) -> str:
        return self._sign(person, f"{ITEM_PATHS[kind]}/{item_id}")
