"""Timers: durable rows fired through ``Engine.dispatch`` as ``Event(kind=TIMER)``.

A due row is claimed by compare-and-set (``pending`` → ``firing`` with a
lease), dispatched with the delivery id ``timer:{key}:{due_at}`` (so a second
process that fires the same row is deduped by the inbox), then marked
``fired``. The clock that wakes this loop is only a clock: what is due lives
in the ``timer`` table.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

from tortoise.expressions import Q

from bot.clock import Clock
from bot.types import Event, EventKind
from storage.models import Timer

log = logging.getLogger("collabbot.scheduler")

LEASE = timedelta(seconds=120)


@dataclass
class TimerRunner:
    dispatch: Callable[[Event], Awaitable[object]]
    clock: Clock
    owner: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    batch: int = 100

    async def run_due(self) -> int:
        """Fire every timer due now; returns how many fired."""
        fired = 0
        while True:
            now = self.clock.now()
            due = Q(status="pending", due_at__lte=now) | Q(status="firing", lease_until__lt=now)
            candidates = await Timer.filter(due).order_by("due_at", "id").limit(self.batch).values_list("id", "status")
            if not candidates:
                return fired
            for timer_id, status in candidates:
                claimed = await Timer.filter(id=timer_id, status=status).update(
                    status="firing", lease_until=now + LEASE, lease_owner=self.owner
                )
                if not claimed:
                    continue
                timer = await Timer.get(id=timer_id)
                event = Event(
                    kind=EventKind.TIMER,
                    platform="timer",
                    delivery_id=f"timer:{timer.key}:{timer.due_at.isoformat()}",
                    action=timer.kind,
                    timer_key=timer.key,
                    payload=dict(timer.payload or {}),
                )
                await self.dispatch(event)
                await Timer.filter(id=timer_id, status="firing").update(status="fired", fired_at=now, lease_until=None)
                fired += 1

    async def run_forever(self, stop: asyncio.Event, wake: asyncio.Event | None = None, idle_seconds: float = 5.0) -> None:
        while not stop.is_set():
            try:
                await self.run_due()
            except Exception:
                log.exception("timer round failed")
            waiters = {asyncio.ensure_future(stop.wait())}
            if wake is not None:
                wake.clear()
                waiters.add(asyncio.ensure_future(wake.wait()))
            await asyncio.wait(waiters, timeout=idle_seconds, return_when=asyncio.FIRST_COMPLETED)
            for task in waiters:
                task.cancel()
