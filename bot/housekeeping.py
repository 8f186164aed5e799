"""Housekeeping: once an hour, one process deletes the bookkeeping rows older than ``[retention]`` allows.

The rows and why each may go are in ``storage.housekeeping``. Which process sweeps: the one that takes the
``housekeeping`` lease (a ``clock_lease`` row) for the hour, so several processes on one database do not sweep
the same rows side by side; a process that stops without giving the lease back leaves the next hour's sweep to
whichever process comes first. A sweep that fails is logged and tried again the next hour; it deleted what it
deleted (each batch commits on its own), so nothing is half done.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from bot.clock import Clock
from bot.config import RetentionSection
from storage import housekeeping
from storage.models_clocks import ClockLease

log = logging.getLogger("collabbot.housekeeping")

INTERVAL = timedelta(hours=1)
LEASE_NAME = "housekeeping"


async def sweep(retention: RetentionSection, now: datetime) -> dict[str, int]:
    """Delete what ``retention`` no longer keeps; how many rows went, by table (only those it sweeps)."""
    deleted: dict[str, int] = {}
    if retention.inbox_days:
        deleted["inbox"] = await housekeeping.delete_walking(housekeeping.INBOX, now - timedelta(days=retention.inbox_days))
    if retention.outbox_sent_days:
        cutoff = now - timedelta(days=retention.outbox_sent_days)
        deleted["outbox"] = await housekeeping.delete_walking(housekeeping.SENT_OUTBOX, cutoff)
    if retention.timers_days:
        deleted["timer"] = await housekeeping.delete_done_timers(now - timedelta(days=retention.timers_days))
    return deleted


async def take_lease(owner: str, now: datetime, hold: timedelta) -> bool:
    """Take the ``housekeeping`` lease until ``now + hold`` if nobody holds it now."""
    until = now + hold
    free = Q(name=LEASE_NAME) & (Q(lease_until__lte=now) | Q(lease_until=None) | Q(owner=None))
    if await ClockLease.filter(free).update(owner=owner, lease_until=until):
        return True
    if await ClockLease.exists(name=LEASE_NAME):
        return False
    try:
        await ClockLease.create(name=LEASE_NAME, owner=owner, lease_until=until)
    except IntegrityError:  # another process created it first
        return False
    return True


@dataclass
class Housekeeper:
    """The hourly sweep of one process (``ProcessClock`` runs it; ``deleted`` feeds ``/metrics``)."""

    retention: RetentionSection
    clock: Clock
    owner: str
    interval: timedelta = INTERVAL
    deleted: Counter[str] = field(default_factory=Counter)

    async def run(self) -> dict[str, int] | None:
        """Sweep if this process takes the hour's lease; None when another process has it."""
        now = self.clock.now()
        # a little under the interval: the next hour's wake-up finds it free, whichever process wakes first
        if not await take_lease(self.owner, now, self.interval - timedelta(minutes=5)):
            return None
        deleted = await sweep(self.retention, now)
        self.deleted.update(deleted)
        if any(deleted.values()):
            log.info("housekeeping deleted %s", ", ".join(f"{count} {table} row(s)" for table, count in deleted.items() if count))
        return deleted
