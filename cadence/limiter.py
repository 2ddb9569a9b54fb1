"""Pacing: never send faster than a platform allows, so a fan-out earns no ``429`` storm.

Limits are data (:data:`SLACK`, :data:`TEAMS`), sliding windows per scope, driven by the injected
clock: a test or benchmark moves time by hand and the limiter follows. A ``429`` with
``Retry-After`` pauses that API method (``post`` or ``update``) for the whole workspace (Slack) or
tenant (Teams) in this process (:meth:`Limiter.pause`): both platforms count their limits per
method and workspace/tenant, so a 429 seen in one channel means the others are over too.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType

from bot.model import Platform
from bot.ports import Clock

__all__ = ["POST", "SLACK", "TEAMS", "UPDATE", "Limit", "Limiter", "Rule", "default_rules"]

POST = "post"
"""A new message (``chat.postMessage``, Teams' send activity)."""
UPDATE = "update"
"""An edit in place (``chat.update``, Teams' update activity)."""


@dataclass(frozen=True, kw_only=True)
class Limit:
    """At most ``count`` messages in any ``seconds`` window."""

    count: int
    seconds: float


@dataclass(frozen=True, kw_only=True)
class Rule:
    """Limits applied per ``scope``: ``conversation`` (one channel / DM) or ``tenant`` (every
    message of one workspace: Teams' per app and tenant limit)."""

    scope: str
    limits: tuple[Limit, ...]


SLACK: tuple[Rule, ...] = (Rule(scope="conversation", limits=(Limit(count=3, seconds=3.0),)),)
"""Slack: about one message per second per channel (``chat.postMessage``), short bursts
allowed: three may go at once, then the channel averages one per second."""

TEAMS: tuple[Rule, ...] = (
    Rule(
        scope="conversation",
        limits=(
            Limit(count=7, seconds=1.0),
            Limit(count=8, seconds=2.0),
            Limit(count=60, seconds=30.0),
            Limit(count=1800, seconds=3600.0),
        ),
    ),
    Rule(scope="tenant", limits=(Limit(count=50, seconds=1.0),)),
)
"""Bot Framework limits per bot per conversation, and per app and tenant (Microsoft Learn:
"Optimize your bot with rate limiting and best practices in Teams")."""


def default_rules() -> Mapping[Platform, tuple[Rule, ...]]:
    return MappingProxyType({Platform.SLACK: SLACK, Platform.TEAMS: TEAMS})


class Limiter:
    """Sliding-window pacing per (platform, scope key); single process, single event loop."""

    def __init__(
        self, clock: Clock, rules: Mapping[Platform, Sequence[Rule]] | None = None
    ) -> None:
        self._clock = clock
        self._rules = rules if rules is not None else default_rules()
        self._sent: dict[tuple[str, ...], deque[datetime]] = {}
        self._paused: dict[tuple[str, ...], datetime] = {}

    def _scopes(
        self, platform: Platform, workspace_id: int, address: str
    ) -> list[tuple[tuple[str, ...], tuple[Limit, ...]]]:
        keys = {"conversation": address, "tenant": ""}
        return [
            ((platform.value, str(workspace_id), rule.scope, keys[rule.scope]), rule.limits)
            for rule in self._rules.get(platform, ())
        ]

    def reserve(
        self, platform: Platform, workspace_id: int, address: str, method: str = POST
    ) -> float:
        """Take a slot now and return 0, or return how many seconds to wait (nothing taken)."""
        now = self._clock.now()
        scopes = self._scopes(platform, workspace_id, address)
        wait = self.paused(platform, workspace_id, method)
        for key, limits in scopes:
            sent = self._sent.get(key)
            if not sent:
                continue
            horizon = max(limit.seconds for limit in limits)
            while sent and (now - sent[0]).total_seconds() >= horizon:
                sent.popleft()
            for limit in limits:
                recent = [t for t in sent if (now - t).total_seconds() < limit.seconds]
                if len(recent) >= limit.count:
                    oldest = recent[-limit.count]
                    wait = max(wait, limit.seconds - (now - oldest).total_seconds())
        if wait > 0:
            return wait
        for key, _ in scopes:
            self._sent.setdefault(key, deque()).append(now)
        return 0.0

    def paused(self, platform: Platform, workspace_id: int, method: str = POST) -> float:
        """Seconds left of a ``Retry-After`` pause of ``method`` in this workspace, or 0. The
        drain asks again just before each send, so a 429 answered to one send in a batch holds
        back the batch's other sends of that method to the workspace too."""
        until = self._paused.get((platform.value, str(workspace_id), method))
        if until is None:
            return 0.0
        return max((until - self._clock.now()).total_seconds(), 0.0)

    def pause(
        self, platform: Platform, workspace_id: int, seconds: float, method: str = POST
    ) -> None:
        """The platform answered ``429 Retry-After: seconds`` to a ``method`` call in this
        workspace: hold that method there for that long, for every address this process sends
        to (another workspace, or the other method, carries on)."""
        key = (platform.value, str(workspace_id), method)
        until = self._clock.now() + timedelta(seconds=seconds)
        if self._paused.get(key, until) <= until:
            self._paused[key] = until
