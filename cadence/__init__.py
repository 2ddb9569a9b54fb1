"""When things happen (DESIGN §5): the scheduler wiring, the tick and the outbox drain."""

from cadence.announce import announce_raised
from cadence.drain import DrainPolicy, DrainReport, drain_once, drain_until_idle
from cadence.file_sender import FileSender
from cadence.limiter import Limit, Limiter, Rule
from cadence.scheduler import CadenceScheduler, build_scheduler
from cadence.tick import run_tick

__all__ = [
    "CadenceScheduler",
    "DrainPolicy",
    "DrainReport",
    "FileSender",
    "Limit",
    "Limiter",
    "Rule",
    "announce_raised",
    "build_scheduler",
    "drain_once",
    "drain_until_idle",
    "run_tick",
]
