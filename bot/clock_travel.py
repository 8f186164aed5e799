"""Moving a manual clock forward the way time passes for a running bot (the demo page, the simulator API).

Setting a ``ManualClock`` ahead in one jump and then running a timer round looks to the scheduler like an
outage: every row that fell due in between is fired "late" or reported missed. The demo clock is not an
outage, so ``advance_to`` walks the clock through every due time on the way instead — the next due timer
row, the next due outbox row, and at most ``MAX_STEP`` at a time so the materializer writes the next
recurring occurrences before they fall due — and at each stop fires what is due and delivers it. Every
prompt, reminder and report is then dispatched and delivered at its own due time, in order, exactly as a
running bot would have done it, and nothing is labelled late or missed for a jump of any length.

A real outage (the process was not running) does not pass through here: the scheduler's next round
still fires late rows with their "late" label and reports those past their grace window as missed.

The clock never moves backwards: rows already fired would not fire again, and recurring series would
stall until the clock caught up, so ``advance_to`` refuses with ``ClockMovedBackwards``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from bot.clock import ManualClock

# Shorter than the materializer's horizon (36 h) minus its interval (1 h): every recurring occurrence is
# written as a timer row before the walk reaches its due time.
MAX_STEP = timedelta(hours=12)
MAX_STOPS = 100_000  # a runaway (a row that never leaves ``pending``) ends the walk, not the process

Upcoming = Callable[[], Awaitable[datetime | None]]


class ClockMovedBackwards(ValueError):
    """The requested time is before the clock's current time."""

    def __init__(self, now: datetime, target: datetime):
        super().__init__(f"the clock is at {now.isoformat()}; it cannot move back to {target.isoformat()}")
        self.now = now
        self.target = target


async def advance_to(
    clock: ManualClock,
    target: datetime,
    settle: Callable[[], Awaitable[None]],
    upcoming: list[Upcoming],
    *,
    max_step: timedelta = MAX_STEP,
) -> int:
    """Walk ``clock`` to ``target``, stopping at every due time on the way; returns the number of stops.

    ``settle`` fires the timers due now and delivers the outbox (``App.settle``); each of ``upcoming``
    tells when its next row falls due (``TimerRunner.next_due``, the outbox's next due row), or None.
    """
    if target.tzinfo is None:
        raise ValueError("the target time needs a timezone")
    if target < clock.now():
        raise ClockMovedBackwards(clock.now(), target)
    await settle()
    stops = 0
    while clock.now() < target and stops < MAX_STOPS:
        now = clock.now()
        stop = min(target, now + max_step)
        for source in upcoming:
            due = await source()
            if due is not None and now < due < stop:
                stop = due
        clock.set(stop)
        await settle()
        stops += 1
    return stops
