"""What every command handler gets: the open unit of work, who is asking, and when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from bot.calendar import local_date
from bot.context import Caller
from bot.links import Links
from bot.model import Person
from bot.ports import UnitOfWork


@dataclass(frozen=True, kw_only=True)
class Ctx:
    uow: UnitOfWork
    caller: Caller
    person: Person
    now: datetime
    link_base: str
    max_text: int
    links: Links

    @property
    def today(self) -> date:
        """The caller's local date: what ``tomorrow`` and ``fri`` are relative to."""
        return local_date(self.now, self.person.timezone)
