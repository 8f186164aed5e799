"""``/metrics`` (Prometheus text format, prometheus-client) and ``/readyz`` for one bot process.

Each ``App`` has its own registry (several apps live in one test process). Counters of events and handler
latency are kept as events pass ``App.dispatch``; outbox, timer and connection gauges are read from the
database and the platforms when Prometheus scrapes, so every process reports the shared tables the same way
(use ``max``/``min`` across processes for them, ``sum`` for the counters). Ages and lag are measured with the
bot's clock, so a test's ``ManualClock`` moves them.

Metric names: ``collabbot_events_total{platform,kind,result}``, ``collabbot_handler_seconds{platform,kind}``,
``collabbot_outbox_messages{status}``, ``collabbot_outbox_oldest_pending_seconds``, ``collabbot_timers_due``,
``collabbot_timer_lag_seconds``, ``collabbot_platform_connected{platform}``,
``collabbot_deliveries_total{platform,result}``, ``collabbot_rate_limited_total{platform}``,
``collabbot_database_up``, ``collabbot_housekeeping_deleted_total{table}``.
"""

from __future__ import annotations

import asyncio
import collections
import inspect
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, cast

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from bot.errors import PlatformError, RateLimited
from storage import db
from storage.models import OutboxMessage, Timer

if TYPE_CHECKING:
    from bot.app import App
    from bot.engine import DispatchResult
    from bot.platform import Delivery, Platform, Receipt
    from bot.types import Event

log = logging.getLogger("collabbot.metrics")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
DATABASE_TIMEOUT = 3.0


async def connection_state(platform: Any) -> bool | None:
    """A platform's ``connected()`` (sync or async): True/False, or None where nothing stays connected
    (HTTP callbacks, the simulator)."""
    probe = getattr(platform, "connected", None)
    if probe is None:
        return None
    value = probe()
    if inspect.isawaitable(value):
        value = await value
    return None if value is None else bool(value)


async def database_ok() -> tuple[bool, str]:
    """``SELECT 1`` on the bot's connection within a few seconds; the reason when it fails (no URL in it)."""
    try:
        await asyncio.wait_for(db.connection().execute_query("SELECT 1"), DATABASE_TIMEOUT)
    except Exception as exc:  # a closed pool, a removed file, a stopped server, a timeout: all "not ready"
        return False, type(exc).__name__
    return True, "ok"


class CountingPlatform:
    """A platform as the delivery worker sees it: every ``deliver`` is counted by result (sent, rate_limited,
    transient, permanent) before the worker decides what to do with it. Everything else passes through."""

    def __init__(self, platform: Platform, tally: collections.Counter[tuple[str, str]]):
        self._platform = platform
        self._tally = tally

    def __getattr__(self, name: str) -> Any:
        return getattr(self._platform, name)

    async def deliver(self, delivery: Delivery) -> Receipt:
        name = self._platform.name
        try:
            receipt = await self._platform.deliver(delivery)
        except RateLimited as exc:  # a platform may mark its own kind of hold (WeCom: "configuration")
            self._tally[(name, getattr(exc, "metric", "rate_limited"))] += 1
            raise
        except PlatformError as exc:
            self._tally[(name, "permanent" if exc.permanent else "transient")] += 1
            raise
        except Exception:
            self._tally[(name, "error")] += 1
            raise
        self._tally[(name, "sent")] += 1
        if receipt.ambiguity:
            self._tally[(name, f"ambiguous_{receipt.ambiguity}")] += 1
        return receipt


class _ProcessCounters(Collector):
    """This process's own tallies as Prometheus counters: the sends of ``CountingPlatform``, the housekeeping's deletes."""

    def __init__(self, metrics: Metrics):
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        deliveries = CounterMetricFamily(
            "collabbot_deliveries", "Sends handed to a platform, by result", labels=["platform", "result"]
        )
        limited = CounterMetricFamily("collabbot_rate_limited", "429 / rate-limit answers received", labels=["platform"])
        for platform in self.metrics.app.platforms:
            limited.add_metric([platform], float(self.metrics.tally[(platform, "rate_limited")]))
        for (platform, result), count in sorted(self.metrics.tally.items()):
            if result != "rate_limited":
                deliveries.add_metric([platform, result], float(count))
        yield deliveries
        yield limited
        swept = CounterMetricFamily(
            "collabbot_housekeeping_deleted", "Bookkeeping rows this process deleted past their retention", labels=["table"]
        )
        for table, count in sorted(self.metrics.app.housekeeper.deleted.items()):
            swept.add_metric([table], float(count))
        yield swept


class Metrics:
    """The metrics of one ``App``."""

    def __init__(self, app: App):
        self.app = app
        self.registry = CollectorRegistry(auto_describe=True)
        self.events = Counter(
            "collabbot_events", "Events dispatched, by platform, kind and result", ["platform", "kind", "result"], registry=self.registry
        )
        self.latency = Histogram(
            "collabbot_handler_seconds", "Time to handle one event (dispatch, commit included)", ["platform", "kind"],
            buckets=LATENCY_BUCKETS, registry=self.registry,
        )
        self.outbox = Gauge("collabbot_outbox_messages", "Outbox rows by status", ["status"], registry=self.registry)
        self.outbox_age = Gauge(
            "collabbot_outbox_oldest_pending_seconds", "Age of the oldest pending outbox row", registry=self.registry
        )
        self.timers_due = Gauge("collabbot_timers_due", "Timer rows due and not fired yet", registry=self.registry)
        self.timer_lag = Gauge("collabbot_timer_lag_seconds", "How late the most overdue pending timer is", registry=self.registry)
        self.connected = Gauge(
            "collabbot_platform_connected", "1 when the platform connection is up (HTTP-only platforms: 1)", ["platform"], registry=self.registry
        )
        self.database_up = Gauge("collabbot_database_up", "1 when the database answers", registry=self.registry)
        self.tally: collections.Counter[tuple[str, str]] = collections.Counter()
        self.registry.register(_ProcessCounters(self))

    def counting(self, platforms: dict[str, Platform]) -> dict[str, Platform]:
        """The platforms to give the delivery worker, each counting its sends."""
        return {name: cast("Platform", CountingPlatform(platform, self.tally)) for name, platform in platforms.items()}

    def observe(self, event: Event, result: DispatchResult | None, seconds: float) -> None:
        kind = event.kind.value if hasattr(event.kind, "value") else str(event.kind)
        if result is None:
            outcome = "failed"
        elif result.duplicate:
            outcome = "duplicate"
        elif result.error is not None:
            outcome = "refused"
        else:
            outcome = "handled"
        self.events.labels(event.platform, kind, outcome).inc()
        self.latency.labels(event.platform, kind).observe(seconds)

    async def refresh(self) -> None:
        """Read the gauges from the database and the platforms (called on each scrape)."""
        ok, _reason = await database_ok()
        self.database_up.set(1 if ok else 0)
        for name, platform in self.app.platforms.items():
            state = await connection_state(platform)
            self.connected.labels(name).set(0 if state is False else 1)
        if not ok:
            return
        now = self.app.clock.now()
        try:
            for status in ("pending", "sending", "dead"):
                self.outbox.labels(status).set(await OutboxMessage.filter(status=status).count())
            oldest = await OutboxMessage.filter(status="pending").order_by("created_at").only("created_at").first()
            self.outbox_age.set(max(0.0, (now - oldest.created_at).total_seconds()) if oldest else 0.0)
            self.timers_due.set(await Timer.filter(status="pending", due_at__lte=now).count())
            late = await Timer.filter(status="pending", due_at__lte=now).order_by("due_at").only("due_at").first()
            self.timer_lag.set(max(0.0, (now - late.due_at).total_seconds()) if late else 0.0)
        except Exception:
            log.warning("reading outbox and timer gauges failed", exc_info=True)

    async def exposition(self) -> bytes:
        await self.refresh()
        return generate_latest(self.registry)


async def readiness(app: App) -> tuple[bool, dict[str, Any]]:
    """Ready when the database answers and every connection-holding platform is connected."""
    ok, reason = await database_ok()
    checks: dict[str, Any] = {"database": reason}
    ready = ok
    for name, platform in sorted(app.platforms.items()):
        state = await connection_state(platform)
        checks[name] = "n/a" if state is None else ("connected" if state else "disconnected")
        ready = ready and state is not False
    return ready, checks
