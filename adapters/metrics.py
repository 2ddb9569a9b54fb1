"""``/metrics``: this process's instruments and the outbox's state, in Prometheus' text format.

Everything lives in one :class:`Metrics` with its own ``CollectorRegistry``, built by the
composition root and handed to whoever observes something (the web app's middleware, the core's
:class:`~bot.ports.RequestObserver` port, the Slack app's ack, the senders the drain calls). No
instrument is registered in ``prometheus_client``'s global registry, so two applications in one
process (tests) never collide.

Two kinds of figures. Counters and histograms of what *this process* did: HTTP requests and
their latency by route and platform, requests the core ran by kind and outcome, Slack ack
latency, delivery attempts and their latency by platform. And gauges of what the *database*
holds, read when Prometheus scrapes (:meth:`Metrics.scrape`), so every process reports the same
outbox whoever wrote it: messages by state, given-up and stuck ones, the oldest pending
message's age, and escalations so far. ``prometheus_client``'s collectors are synchronous, so a
scrape first reads the database (async), then renders what it read.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.registry import Collector

from adapters.logs import log_delivery
from bot.model import OutboxState, Platform
from bot.ports import Clock, Delivery, Outcome, Sender, SendResult, UnitOfWorkFactory
from bot.services.undelivered import stuck_since

__all__ = ["CONTENT_TYPE", "Metrics", "ObservedSender"]

log = logging.getLogger(__name__)

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
"""The classic text format, which every Prometheus version scrapes."""

SCRAPE_TIMEOUT = 5.0
"""Seconds a scrape waits for the database before reporting it down."""

ESCALATIONS = {"blocker": "blocker.escalated", "reminder": "reminder.escalated"}
"""Escalation kind → the audit action that records one (a blocker climbed a rung; an ask
snoozed too often went to the sponsor)."""

_FAST = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0)
"""Latency buckets in seconds, with 3.0 among them: Slack's ack deadline."""


@dataclass(frozen=True, kw_only=True)
class _Stored:
    """What one scrape read from the database."""

    outbox: dict[OutboxState, int] = field(default_factory=dict)
    undelivered: dict[Platform, int] = field(default_factory=dict)
    stuck: int = 0
    oldest_pending_age: float = 0.0
    escalations: dict[str, int] = field(default_factory=dict)


class _StoredCollector(Collector):
    """Renders the figures the last scrape read (None: the database did not answer)."""

    def __init__(self) -> None:
        self.stored: _Stored | None = None

    def describe(self) -> Iterable[Metric]:
        return ()  # read at scrape: nothing to check at registration

    def collect(self) -> Iterator[Metric]:
        stored = self.stored
        up = GaugeMetricFamily("leaderbot_database_up", "1 when the database answered this scrape.")
        up.add_metric([], 1 if stored is not None else 0)
        yield up
        if stored is None:
            return
        states = GaugeMetricFamily(
            "leaderbot_outbox_messages",
            "Outbox messages by state, read at scrape time.",
            labels=["state"],
        )
        for state, count in stored.outbox.items():
            states.add_metric([state.value], count)
        yield states
        given_up = GaugeMetricFamily(
            "leaderbot_outbox_undelivered",
            "Outbox messages given up (past their deadline, a permanent error, or nobody to "
            "reach), by platform: `leaderbot outbox retry` resends.",
            labels=["platform"],
        )
        for platform, count in stored.undelivered.items():
            given_up.add_metric([platform.value], count)
        yield given_up
        yield GaugeMetricFamily(
            "leaderbot_outbox_stuck",
            "Outbox messages that failed and are still being retried an hour after they were "
            "written (a platform is failing).",
            value=stored.stuck,
        )
        yield GaugeMetricFamily(
            "leaderbot_outbox_oldest_pending_age_seconds",
            "Age of the oldest message waiting in the outbox (0 when none waits).",
            value=stored.oldest_pending_age,
        )
        escalations = CounterMetricFamily(
            "leaderbot_escalations",
            "Escalations so far, by kind (blocker rungs climbed, asks sent to the sponsor).",
            labels=["kind"],
        )
        for kind, count in stored.escalations.items():
            escalations.add_metric([kind], count)
        yield escalations


def _children(instrument: Any) -> Callable[..., Any]:
    """``instrument.labels``, remembered per label values: ``labels`` takes a lock and checks
    its arguments on every call (about 2 µs), and each Slack request calls it four times. The
    label values are bounded (route templates, command kinds, statuses), so is the cache."""
    labels: Callable[..., Any] = cache(instrument.labels)
    return labels


class Metrics:
    """Every instrument of one application, in its own registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.requests = Counter(
            "leaderbot_http_requests",
            "HTTP requests served, by route, method and status.",
            ("route", "method", "status"),
            registry=self.registry,
        )
        self.request_seconds = Histogram(
            "leaderbot_http_request_duration_seconds",
            "Time to answer an HTTP request, by route and platform (web: pages, API, probes).",
            ("route", "platform"),
            buckets=_FAST,
            registry=self.registry,
        )
        self.commands = Counter(
            "leaderbot_commands",
            "Requests the core ran (commands, buttons, forms), by platform, kind and outcome.",
            ("platform", "command", "outcome"),
            registry=self.registry,
        )
        self.slack_ack_seconds = Histogram(
            "leaderbot_slack_ack_seconds",
            "Time from a Slack request's arrival to its ack, by transport (http, socket_mode).",
            ("transport",),
            buckets=_FAST,
            registry=self.registry,
        )
        self.deliveries = Counter(
            "leaderbot_deliveries",
            "Delivery attempts of outbox messages, by platform and outcome (sent; retry, "
            "failed, timeout, crashed are failures).",
            ("platform", "outcome"),
            registry=self.registry,
        )
        self.delivery_seconds = Histogram(
            "leaderbot_delivery_duration_seconds",
            "Time a platform took to take one outbox message, by platform.",
            ("platform",),
            buckets=_FAST,
            registry=self.registry,
        )
        self._stored = _StoredCollector()
        self.registry.register(self._stored)
        self._requests = _children(self.requests)
        self._request_seconds = _children(self.request_seconds)
        self._commands = _children(self.commands)
        self._slack_ack_seconds = _children(self.slack_ack_seconds)

    def request_done(self, *, platform: Platform, kind: str, outcome: Outcome) -> None:
        """The core's :class:`~bot.ports.RequestObserver`."""
        self._commands(platform.value, kind, outcome.value).inc()

    def slack_acked(self, transport: str, seconds: float) -> None:
        """The Slack app answered a request (its ack) ``seconds`` after it arrived."""
        self._slack_ack_seconds(transport).observe(seconds)

    def http_done(
        self, *, route: str, method: str, status: int, platform: str, seconds: float
    ) -> None:
        self._requests(route, method, status).inc()
        self._request_seconds(route, platform).observe(seconds)

    async def scrape(self, uow: UnitOfWorkFactory, clock: Clock) -> bytes:
        """Read the database's figures, then render every instrument."""
        self._stored.stored = await _read_stored(uow, clock)
        return generate_latest(self.registry)


async def _read_stored(uow_factory: UnitOfWorkFactory, clock: Clock) -> _Stored | None:
    now = clock.now()
    try:
        async with asyncio.timeout(SCRAPE_TIMEOUT), uow_factory() as uow:
            outbox = {state: await uow.outbox.count(state=state) for state in OutboxState}
            undelivered = {
                platform: await uow.outbox.count(state=OutboxState.FAILED, platform=platform)
                for platform in Platform
            }
            stuck = await uow.outbox.count(
                state=OutboxState.PENDING, attempts__gt=0, created_at__lt=stuck_since(now)
            )
            oldest = await uow.outbox.first(state=OutboxState.PENDING, order_by="created_at")
            escalations = {
                kind: await uow.audit.count(action=action) for kind, action in ESCALATIONS.items()
            }
    except Exception as exc:
        log.warning("Metrics could not read the database: %s", type(exc).__name__)
        return None
    return _Stored(
        outbox=outbox,
        undelivered=undelivered,
        stuck=stuck,
        oldest_pending_age=max((now - oldest.created_at).total_seconds(), 0.0) if oldest else 0.0,
        escalations=escalations,
    )


class ObservedSender:
    """A platform's sender, counted and logged: one metric sample and one log line per delivery
    attempt (its outcome, latency and ids — never the message or a token). The drain calls it
    like any sender; the drain's own timeout cancels it, which counts as ``timeout``."""

    def __init__(self, inner: Sender, metrics: Metrics) -> None:
        self.inner = inner
        self.platform = inner.platform
        self.metrics = metrics

    async def send(self, delivery: Delivery) -> SendResult:
        started = time.perf_counter()
        outcome, error = "crashed", ""
        try:
            result = await self.inner.send(delivery)
            outcome, error = result.outcome.value, result.error
            return result
        except asyncio.CancelledError:
            outcome = "timeout"
            raise
        except Exception as exc:
            error = type(exc).__name__
            raise
        finally:
            seconds = time.perf_counter() - started
            platform = self.platform.value
            self.metrics.deliveries.labels(platform, outcome).inc()
            self.metrics.delivery_seconds.labels(platform).observe(seconds)
            log_delivery(delivery.outbox, outcome=outcome, seconds=seconds, error=error)
