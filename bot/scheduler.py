"""Timers: durable rows fired through ``Engine.dispatch`` as ``Event(kind=TIMER)``, exactly once.

What is due lives in the ``timer`` table, never in memory: every prompt, reminder, escalation and report is
a row with a unique ``key`` (``standup:{group}:{local date}``, ``sla:request:{code}:{dept}:remind``). The
wake-up loop (``run_forever``) is only a clock.

Firing a row (``TimerRunner.run_due``):

1. **Claim** due rows: ``pending`` → ``firing`` with a lease (``lease_owner``/``lease_until``). On PostgreSQL
   ``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED)``, so several processes share the clock and
   never wait on each other; elsewhere a compare-and-set per row. A row whose lease expired (its process
   died mid-fire) is claimed again.
2. **Dispatch** it as ``Event(kind=TIMER, action=kind, delivery_id="timer:{key}:{due_at}")``. The engine's
   inbox dedupes on that id in the same transaction that writes the outbox, so a re-claimed row whose first
   dispatch committed does nothing: each row acts once.
3. **Grace.** A row fired more than ``LATE_AFTER`` after its due time carries ``payload["_late_s"]`` (the
   handler labels its message "late"). A row past its grace window (per kind, see ``GRACE``;
   ``payload["_grace_s"]`` overrides) is not sent: it is marked ``missed`` and all such rows of one round are
   reported once, as one ``Event(action="clock.missed", payload={"timers": [...]})``, in the same
   transaction that marks them. Rows of one recurring series (``payload["_series"]``) that fell due
   together are not replayed as a burst: only the newest is fired, the older ones are missed.

SQLite has one writer, so one process owns the clock at a time (``ClockLease``, renewed every round);
PostgreSQL lets every process fire (SKIP LOCKED).

Recurring occurrences are written ahead of time by the ``Materializer`` (idempotent: unique keys,
insert-or-ignore), from sources that workflow areas expose as a module-level
``async def materialize(ctx: MaterializeContext) -> list[TimerSpec]``.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from bot.clock import Clock, wait_for_any
from bot.config_sections import TIMER_BACKFILL_DAYS
from bot.types import Event, EventKind, TimerSpec
from storage import event_rows
from storage.event_rows import TimerRow
from storage.models import Timer

if TYPE_CHECKING:
    from bot.calendar import WorkCalendar
    from bot.config import Config

log = logging.getLogger("collabbot.scheduler")

LEASE = timedelta(seconds=120)
CLOCK_LEASE = timedelta(seconds=60)
LATE_AFTER = timedelta(minutes=5)
MISSED_KIND = "clock.missed"

# Grace windows by kind: exact kind first, then the longest matching ``prefix*`` / ``*suffix``.
GRACE: dict[str, timedelta] = {
    "standup.prompt": timedelta(hours=2),  # the materializer narrows it to the cut-off
    "standup.remind": timedelta(minutes=30),
    "standup.digest": timedelta(hours=12),
    "report.weekly.ask": timedelta(hours=6),
    "report.weekly.compile": timedelta(hours=24),
    "deadline.sweep": timedelta(hours=8),
    "*.remind": timedelta(hours=4),
    "*.escalate": timedelta(days=3),
}
DEFAULT_GRACE = timedelta(hours=24)


def grace_for(kind: str, payload: dict[str, Any] | None = None) -> timedelta:
    """How long after its due time a row of ``kind`` is still worth sending."""
    if payload and payload.get("_grace_s") is not None:
        return timedelta(seconds=float(payload["_grace_s"]))
    if kind in GRACE:
        return GRACE[kind]
    best: tuple[int, timedelta] | None = None
    for pattern, grace in GRACE.items():
        matched = (pattern.endswith("*") and kind.startswith(pattern[:-1])) or (
            pattern.startswith("*") and kind.endswith(pattern[1:])
        )
        if matched and (best is None or len(pattern) > best[0]):
            best = (len(pattern), grace)
    return best[1] if best else DEFAULT_GRACE


def default_owner() -> str:
    """A process identity for leases: ``COLLABBOT_INSTANCE_ID`` (e.g. the pod name) or host:pid:random."""
    configured = os.environ.get("COLLABBOT_INSTANCE_ID")
    if configured:
        return configured[:64]
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def _is_postgres() -> bool:
    from storage import db

    try:
        return db.connection().capabilities.dialect == "postgres"
    except Exception:
        return False


# ------------------------------------------------------------------ materializer


@dataclass(slots=True)
class MaterializeContext:
    """What a materializer source gets: the window ``[since, until)`` to write occurrences for."""

    config: Config
    calendar: WorkCalendar
    now: datetime
    since: datetime
    until: datetime


Source = Callable[[MaterializeContext], Awaitable[list[TimerSpec]]]


async def insert_timers(specs: Iterable[TimerSpec], now: datetime) -> int:
    """Insert rows whose key does not exist yet; never touches an existing row. Returns how many are new."""
    return await event_rows.add_timers([TimerRow(s.key, s.kind, s.due_at, s.payload) for s in specs], now)


async def reconcile_timers(prefix: str, desired: Iterable[TimerSpec], now: datetime, *, insert: Iterable[str] | None = None) -> None:
    """Make the future rows under ``prefix`` match ``desired`` after a schedule change.

    Pending or cancelled rows due after ``now`` take the desired time and payload (a row whose new time has
    already passed fires at once) or are cancelled when no longer desired; missing rows are inserted —
    only those whose key is in ``insert`` when it is given. Rows that fired are never touched.
    """
    wanted = {spec.key: spec for spec in desired}
    allowed = set(insert) if insert is not None else None
    for row in await Timer.filter(key__startswith=prefix, due_at__gt=now, status__in=("pending", "cancelled")):
        spec = wanted.pop(row.key, None)
        if spec is None:
            if row.status == "pending":
                await Timer.filter(id=row.id, status="pending").update(status="cancelled")
            continue
        await Timer.filter(id=row.id, status=row.status).update(status="pending", due_at=max(spec.due_at, now), payload=spec.payload, kind=spec.kind)
    await insert_timers([s for s in wanted.values() if allowed is None or s.key in allowed], now)


@dataclass
class Materializer:
    """Writes recurring occurrences as timer rows ahead of time. Idempotent: run it anywhere, any time.

    Each source keeps a watermark (``ClockWatermark``), so after an outage the occurrences that fell due
    meanwhile are still written (at most ``backfill`` back) — and then fired late or reported missed.
    """

    config: Config
    calendar: WorkCalendar
    sources: dict[str, Source] = field(default_factory=dict)
    horizon: timedelta = timedelta(hours=36)
    interval: timedelta = timedelta(hours=1)
    backfill: timedelta = timedelta(days=TIMER_BACKFILL_DAYS)
    last_run: datetime | None = None

    @classmethod
    def from_areas(cls, config: Config, calendar: WorkCalendar, areas: Iterable[str]) -> Materializer:
        """Collect ``materialize`` from every workflow area module that has one."""
        sources: dict[str, Source] = {}
        for name in areas:
            module = importlib.import_module(name)
            source = getattr(module, "materialize", None)
            if source is not None:
                sources[name] = source
        return cls(config, calendar, sources)

    async def maybe_run(self, now: datetime) -> int:
        if self.last_run is not None and now - self.last_run < self.interval and now >= self.last_run:
            return 0
        return await self.run(now)

    async def run(self, now: datetime) -> int:
        from storage.models_clocks import ClockWatermark

        self.last_run = now
        written = 0
        until = now + self.horizon
        for name, source in self.sources.items():
            mark = await ClockWatermark.filter(name=name[:64]).first()
            since = max(mark.until, now - self.backfill) if mark else now
            try:
                specs = await source(MaterializeContext(self.config, self.calendar, now, since, until))
                written += await insert_timers(specs, now)
            except Exception:
                log.exception("materializer source %s failed", name)
                continue
            if mark is None:
                try:
                    await ClockWatermark.create(name=name[:64], until=until)
                except IntegrityError:
                    await ClockWatermark.filter(name=name[:64], until__lt=until).update(until=until)
            else:
                await ClockWatermark.filter(name=name[:64], until__lt=until).update(until=until)
        return written


# ------------------------------------------------------------------ runner


@dataclass
class TimerRunner:
    """Fires due timer rows (see the module docstring). ``run_due`` is one round; ``settle`` loops it."""

    dispatch: Callable[[Event], Awaitable[object]]
    clock: Clock
    owner: str = field(default_factory=default_owner)
    batch: int = 100
    config: Config | None = None
    materializer: Materializer | None = None
    single_owner: bool | None = None  # None: decide by database (SQLite: yes)
    materialize_in_round: bool = True  # False when the process clock runs the materializer as its own job
    areas: tuple[str, ...] = ()  # the workflow area modules whose ``materialize`` the materializer runs

    def __post_init__(self) -> None:
        if self.materializer is None and self.config is not None:
            from bot.calendar import WorkCalendar

            self.materializer = Materializer.from_areas(self.config, WorkCalendar.from_config(self.config), self.areas)

    # -- clock ownership (SQLite) -------------------------------------------

    async def owns_clock(self, now: datetime) -> bool:
        """Take or renew the clock lease. Always true on PostgreSQL (rows are claimed with SKIP LOCKED)."""
        single = self.single_owner if self.single_owner is not None else not _is_postgres()
        if not single:
            return True
        from storage.models_clocks import ClockLease

        until = now + CLOCK_LEASE
        taken = await ClockLease.filter(Q(name="timers") & (Q(owner=self.owner) | Q(lease_until__lt=now) | Q(owner=None))).update(
            owner=self.owner, lease_until=until
        )
        if taken:
            return True
        if not await ClockLease.exists(name="timers"):
            try:
                await ClockLease.create(name="timers", owner=self.owner, lease_until=until)
                return True
            except IntegrityError:
                return False
        return False

    async def release(self) -> None:
        """Give the clock lease back (a clean stop), so a restarted process need not wait for it to expire."""
        from storage.models_clocks import ClockLease

        try:
            await ClockLease.filter(name="timers", owner=self.owner).update(owner=None, lease_until=None)
            await Timer.filter(status="firing", lease_owner=self.owner).update(status="pending", lease_owner=None, lease_until=None)
        except Exception:
            log.debug("could not release the clock lease", exc_info=True)

    # -- claiming --------------------------------------------------------------

    async def claim(self, now: datetime) -> list[Timer]:
        """Claim up to ``batch`` due rows for this process, oldest first."""
        if _is_postgres():
            from storage import db

            rows = await db.connection().execute_query_dict(
                "UPDATE timer SET status = 'firing', lease_until = $1, lease_owner = $2 "
                "WHERE id IN (SELECT id FROM timer "
                "WHERE (status = 'pending' AND due_at <= $3) OR (status = 'firing' AND lease_until < $3) "
                "ORDER BY due_at, id LIMIT $4 FOR UPDATE SKIP LOCKED) RETURNING id",
                [now + LEASE, self.owner, now, self.batch],
            )
            ids = [r["id"] for r in rows]
        else:
            due = Q(status="pending", due_at__lte=now) | Q(status="firing", lease_until__lt=now)
            candidates = await Timer.filter(due).order_by("due_at", "id").limit(self.batch).values_list("id", "status", "lease_until")
            ids = []
            for timer_id, status, lease_until in candidates:
                claimed = await Timer.filter(id=timer_id, status=status, lease_until=lease_until).update(
                    status="firing", lease_until=now + LEASE, lease_owner=self.owner
                )
                if claimed:
                    ids.append(timer_id)
        if not ids:
            return []
        return list(await Timer.filter(id__in=ids, lease_owner=self.owner).order_by("due_at", "id"))

    # -- one round -----------------------------------------------------------------

    async def run_due(self) -> int:
        """Fire every timer due now; returns how many rows were handled (fired or reported missed)."""
        now = self.clock.now()
        if not await self.owns_clock(now):
            return 0
        if self.materializer is not None and self.materialize_in_round:
            await self.materializer.maybe_run(now)
        handled = 0
        while True:
            rows = await self.claim(now)
            if not rows:
                return handled
            newest: dict[str, Timer] = {}
            for row in rows:
                series = (row.payload or {}).get("_series")
                if series and (series not in newest or row.due_at >= newest[series].due_at):
                    newest[series] = row
            missed: list[Timer] = []
            for row in rows:
                payload = dict(row.payload or {})
                late = now - row.due_at
                superseded = payload.get("_series") and newest[payload["_series"]] is not row
                if late > grace_for(row.kind, payload) or superseded:
                    missed.append(row)
                    continue
                if late > LATE_AFTER:
                    payload["_late_s"] = int(late.total_seconds())
                await self.fire(row, payload, now)
                handled += 1
            if missed:
                handled += await self.report_missed(missed, now)

    async def fire(self, row: Timer, payload: dict[str, Any], now: datetime) -> None:
        event = Event(
            kind=EventKind.TIMER,
            platform="timer",
            delivery_id=f"timer:{row.key}:{row.due_at.isoformat()}",
            action=row.kind,
            timer_key=row.key,
            payload=payload,
        )
        await self.dispatch(event)
        await Timer.filter(id=row.id, status="firing", lease_owner=self.owner).update(
            status="fired", fired_at=now, lease_until=None
        )

    async def report_missed(self, rows: list[Timer], now: datetime) -> int:
        """Mark ``rows`` missed and dispatch one report of them, atomically."""
        async with in_transaction("default"):
            marked = []
            for row in rows:
                if await Timer.filter(id=row.id, status="firing", lease_owner=self.owner).update(
                    status="missed", fired_at=now, lease_until=None
                ):
                    marked.append(row)
            if not marked:
                return 0
            log.warning("%d timer(s) past their grace window marked missed: %s", len(marked), ", ".join(r.key for r in marked[:10]))
            ids = sorted(r.id for r in marked)
            await self.dispatch(
                Event(
                    kind=EventKind.TIMER,
                    platform="timer",
                    delivery_id=f"missed:{ids[0]}:{ids[-1]}:{len(ids)}",
                    action=MISSED_KIND,
                    timer_key=None,
                    payload={
                        "timers": [
                            {"key": r.key, "kind": r.kind, "due_at": r.due_at.isoformat(), "payload": r.payload or {}}
                            for r in marked
                        ],
                        "reported_at": now.isoformat(),
                    },
                )
            )
        return len(marked)

    # -- the wake-up loop -----------------------------------------------------------

    async def next_due(self) -> datetime | None:
        row = await Timer.filter(status="pending").order_by("due_at").only("due_at").first()
        return row.due_at if row else None

    async def run_forever(self, stop: asyncio.Event, wake: asyncio.Event | None = None, idle_seconds: float = 5.0) -> None:
        """Fire due rows, then sleep until the next due row (at most ``idle_seconds``) or a ``wake``."""
        while not stop.is_set():
            timeout = idle_seconds
            try:
                await self.run_due()
                upcoming = await self.next_due()
                if upcoming is not None:
                    timeout = min(idle_seconds, max(0.5, (upcoming - self.clock.now()).total_seconds()))
            except Exception:
                log.exception("timer round failed")
            if wake is not None:
                wake.clear()
            await wait_for_any([stop] if wake is None else [stop, wake], timeout)


# ------------------------------------------------------------------ SLA clocks


@dataclass(frozen=True, slots=True)
class SlaClock:
    """An answer awaited by a deadline: remind before it, escalate at it, stop when answered.

    ``start(...)`` gives the ``TimerSpec`` rows to put in an ``Outcome`` (``{key}:remind`` of kind
    ``{kind}.remind`` and ``{key}:escalate`` of kind ``{kind}.escalate``); ``stop(key)`` is the prefix to cancel
    (``Outcome.cancel``) the moment the answer arrives. The deadline is ``working_days`` working days after
    the start (same local wall-clock time, ``WorkCalendar.deadline_after``) or ``hours`` after it (working hours,
    ``WorkCalendar.hours_later``). The reminder
    goes ``remind_working_days`` working days before the deadline, else ``remind_before`` before it.
    """

    kind: str
    working_days: int | None = None
    hours: float | None = None
    remind_before: timedelta = timedelta(hours=1)
    remind_working_days: int | None = None

    def deadline(self, start: datetime, calendar: WorkCalendar, tz: str) -> datetime:
        if self.working_days is not None:
            return calendar.deadline_after(start, self.working_days, tz)
        return calendar.hours_later(start, self.hours or 0, tz)  # working hours unless [clocks] hour_clocks = "calendar"

    def remind_at(self, start: datetime, calendar: WorkCalendar, tz: str) -> datetime:
        deadline = self.deadline(start, calendar, tz)
        if self.remind_working_days:
            return max(start, calendar.deadline_after(deadline, -self.remind_working_days, tz))
        if self.hours is not None:
            return max(start, calendar.hours_later(deadline, -self.remind_before.total_seconds() / 3600, tz))
        return max(start, deadline - self.remind_before)

    def start(self, key: str, start: datetime, calendar: WorkCalendar, tz: str, **payload: Any) -> list[TimerSpec]:
        return self.between(key, start, self.remind_at(start, calendar, tz), self.deadline(start, calendar, tz), **payload)

    def between(self, key: str, start: datetime, remind: datetime | None, deadline: datetime, **payload: Any) -> list[TimerSpec]:
        data = {**payload, "sla": self.kind, "started_at": start.isoformat(), "due": deadline.isoformat()}
        specs = [TimerSpec(f"{key}:escalate", f"{self.kind}.escalate", deadline, dict(data))]
        if remind is not None and start < remind < deadline:
            specs.insert(0, TimerSpec(f"{key}:remind", f"{self.kind}.remind", remind, dict(data)))
        return specs

    @staticmethod
    def stop(key: str) -> str:
        return f"{key}:*"


def sla_clocks(config: Config) -> dict[str, SlaClock]:
    """Every answer-by clock of the spec, by name (the meeting notice is ``meeting_notice_timers``)."""
    bot = config.bot
    return {
        # a department head accepts or declines a collaboration request
        "request": SlaClock("sla.request", working_days=bot.request_answer_working_days, remind_working_days=1),
        # a reviewer passes or fails a submission
        "review": SlaClock("sla.review", working_days=bot.review_working_days, remind_working_days=1),
        # the initiator answers a risk report
        "risk": SlaClock("sla.risk", hours=4, remind_before=timedelta(hours=1)),
        # the minutes of a meeting are posted
        "minutes": SlaClock("sla.minutes", hours=24, remind_before=timedelta(hours=4)),
    }


def meeting_notice_due(meeting_at: datetime, calendar: WorkCalendar, tz: str, working_days: int = 3) -> datetime:
    """The last instant a notice for a meeting at ``meeting_at`` may go out: ``working_days`` working days
    before the meeting's local date, at the same wall-clock time (UTC)."""
    return calendar.deadline_after(meeting_at, -working_days, tz)


def meeting_notice_timers(
    key: str, meeting_at: datetime, now: datetime, calendar: WorkCalendar, tz: str, *, kind: str = "sla.notice", working_days: int = 3, **payload: Any
) -> list[TimerSpec]:
    """A meeting notice must go out ``working_days`` working days ahead: remind the organiser one working
    day before that, escalate when it passes. Cancel with ``SlaClock.stop(key)`` when the notice is sent."""
    deadline = meeting_notice_due(meeting_at, calendar, tz, working_days)
    remind = calendar.deadline_after(deadline, -1, tz)
    return SlaClock(kind).between(key, now, remind, deadline, meeting_at=meeting_at.isoformat(), **payload)
