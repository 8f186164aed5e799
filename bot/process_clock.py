"""The process's clock: an APScheduler ``AsyncIOScheduler`` that wakes the timer rounds and the materializer.

What is due lives in the database (the ``timer`` table, see ``bot/scheduler.py``); this module only decides
*when this process looks*. APScheduler keeps no job store here on purpose: its in-memory jobs are wake-ups,
and exactly-once comes from claiming timer rows (compare-and-set on SQLite, ``SKIP LOCKED`` on PostgreSQL),
so a wake-up that runs twice, late, or in two processes at once fires nothing twice.

Jobs:

- ``timers``: one ``TimerRunner.run_due`` round. An ``IntervalTrigger`` every ``idle_seconds`` catches rows
  other processes wrote; after each round the job is moved to the next due row's time, and ``wake()`` (an
  event that wrote timers) runs it at once.
- ``materializer``: writes recurring occurrences ahead (``Materializer.run``), every ``interval`` (1 h);
  the first run is at start.
- ``housekeeping``: deletes the bookkeeping rows ``[retention]`` no longer keeps (``bot.housekeeping``), every
  hour, the first a minute after start; one process a hour does it (a lease).

``coalesce`` and ``max_instances`` keep one round at a time per job: a round that overruns its interval is not
stacked, and a wake-up that comes during it runs one more round right after. In tests nothing here runs: ``App.start(background=False)`` leaves the scheduler off and
``App.settle()`` drives the same ``run_due`` with the ``ManualClock``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.clock import Clock
from bot.housekeeping import Housekeeper
from bot.scheduler import TimerRunner

log = logging.getLogger("collabbot.clock")

TIMERS = "timers"
MATERIALIZER = "materializer"
HOUSEKEEPING = "housekeeping"
HOUSEKEEPING_DELAY = timedelta(minutes=1)  # after start: a starting process's first minute belongs to its events
MIN_WAIT = timedelta(milliseconds=200)


class ProcessClock:
    """Wake-ups of one process on an ``AsyncIOScheduler`` (started on the running event loop)."""

    def __init__(self, runner: TimerRunner, clock: Clock, *, idle_seconds: float = 5.0, housekeeper: Housekeeper | None = None):
        self.runner = runner
        self.housekeeper = housekeeper
        self.clock = clock
        self.idle = timedelta(seconds=idle_seconds)
        self.scheduler = AsyncIOScheduler(
            timezone=UTC, job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None}
        )
        self.rounds = 0
        self._in_round = False
        self._again = False  # woken while a round ran: run another one right after it

    def start(self) -> None:
        now = datetime.now(UTC)
        # two instances allowed so that a wake-up during a long round reaches ``_timer_round``, which turns it into
        # "once more right after" — with one, APScheduler would log a warning that the wake-up was skipped
        self.scheduler.add_job(
            self._timer_round, IntervalTrigger(seconds=self.idle.total_seconds()), id=TIMERS, next_run_time=now, max_instances=2
        )
        materializer = self.runner.materializer
        if materializer is not None:
            self.runner.materialize_in_round = False  # its own job from now on
            self.scheduler.add_job(
                self._materialize, IntervalTrigger(seconds=materializer.interval.total_seconds()), id=MATERIALIZER, next_run_time=now
            )
        if self.housekeeper is not None:
            self.scheduler.add_job(
                self._housekeeping, IntervalTrigger(seconds=self.housekeeper.interval.total_seconds()), id=HOUSEKEEPING,
                next_run_time=now + HOUSEKEEPING_DELAY,
            )
        self.scheduler.start()

    def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    def wake(self) -> None:
        """Run a timer round now (a handler just wrote timers that may be due soon)."""
        if self._in_round:  # asking APScheduler now would only log that the running round "was skipped"
            self._again = True
            return
        self._move_timers(datetime.now(UTC))

    def _move_timers(self, when: datetime) -> None:
        if not self.scheduler.running:
            return
        job = self.scheduler.get_job(TIMERS)
        if job is not None and (job.next_run_time is None or when < job.next_run_time):
            job.modify(next_run_time=when)

    async def _timer_round(self) -> None:
        if self._in_round:  # the interval fired during a long round: one more round after it covers it
            self._again = True
            return
        self._in_round, self._again = True, False
        try:
            await self.runner.run_due()
            upcoming = await self.runner.next_due()
        except Exception:
            log.exception("timer round failed")
            return
        finally:
            self.rounds += 1
            self._in_round = False
        if self._again:
            self._again = False
            self._move_timers(datetime.now(UTC))
        elif upcoming is not None:
            wait = max(MIN_WAIT, upcoming - self.clock.now())
            if wait < self.idle:
                self._move_timers(datetime.now(UTC) + wait)

    async def _materialize(self) -> None:
        materializer = self.runner.materializer
        if materializer is None:
            return
        try:
            written = await materializer.run(self.clock.now())
        except Exception:
            log.exception("materializer run failed")
            return
        if written:
            log.info("materializer wrote %d timer row(s)", written)
            self.wake()

    async def _housekeeping(self) -> None:
        if self.housekeeper is None:
            return
        try:
            await self.housekeeper.run()
        except Exception:
            log.exception("housekeeping failed; it runs again in an hour")
