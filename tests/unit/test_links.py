"""The links port's pure parts: which links are an item's, and signing one for its reader."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from bot.links import ItemKind, UnsignedLinks, item_link, item_of, personal
from bot.messages import Message
from bot.model import Person

BASE = "https://lb.example.org"
DANA = Person(id=4, organization_id=2, handle="dana", name="Dana Lee")


@dataclass(frozen=True)
class Stamping:
    """Links that say whom they were made for (what SignedLinks does, minus the HMAC)."""

    link_base: str = BASE
    signed: bool = True

    def for_person(self, person: Person) -> str:
        return f"{self.link_base}/dashboard?p={person.id}"

    def to_item(self, person: Person, kind: ItemKind, item_id: int) -> str:
        return f"{item_link(self.link_base, kind, item_id)}?p={person.id}"


@pytest.mark.parametrize(
    ("link", "item"),
    [
        (f"{BASE}/dashboard/asks/7", ("ask", 7)),
        (f"{BASE}/dashboard/blockers/12", ("blocker", 12)),
        (f"{BASE}/dashboard/asks/7?p=1", None),  # already signed
        (f"{BASE}/dashboard/asks/x", None),
        (f"{BASE}/dashboard", None),
        ("https://elsewhere.example/dashboard/asks/7", None),
        (None, None),
    ],
)
def test_item_of_knows_only_plain_item_links_on_its_base(
    link: str | None, item: tuple[str, int] | None
) -> None:
    assert item_of(link, BASE) == item


def test_personal_signs_an_item_link_for_its_reader_and_leaves_others() -> None:
    card = Message(title="Ask #7", link=item_link(BASE, "ask", 7))
    assert personal(card, DANA, Stamping()).link == f"{BASE}/dashboard/asks/7?p=4"
    other = Message(title="x", link="https://example.org/doc")
    assert personal(other, DANA, Stamping()) is other
    assert personal(card, DANA, UnsignedLinks(BASE)) is card  # nothing can sign: stays plain
