"""Outbox leases run on real time, whatever the product's clock says: a demo's manual clock moved a day
ahead does not expire a live worker's lease (no double send), and a clock held still does not keep a dead
worker's row from being taken over."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.clock import ManualClock, SystemClock
from bot.delivery import LEASE, DeliveryWorker
from storage.models import OutboxMessage
from tests.delivery.helpers import queue

REAL = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


def worker(clock: ManualClock, lease_clock: ManualClock) -> DeliveryWorker:
    return DeliveryWorker({"simulator": None}, clock, lease_clock=lease_clock)  # type: ignore[dict-item]  # claims only


async def test_a_lease_runs_on_the_lease_clock_not_the_product_clock(database, clock):
    real = ManualClock(REAL)
    [row_id] = await queue(clock, "simulator", "g1", ["第一条"])
    first = worker(clock, real)
    [row] = await first.claim()
    assert row.id == row_id and row.lease_until == REAL + LEASE

    # the demo moves its clock a day ahead: the lease is still live in real time, nobody takes the row
    clock.advance(days=1)
    assert await worker(clock, real).claim() == []

    # real time passes the lease while the demo's clock stands still: the row is taken over
    real.advance(seconds=LEASE.total_seconds() + 1)
    second = worker(clock, real)
    [again] = await second.claim()
    assert again.id == row_id and again.lease_owner == second.owner and again.attempts == 1
    assert again.lease_until == real.now() + LEASE


async def test_a_frozen_demo_clock_still_frees_a_dead_workers_row(database, clock):
    real = ManualClock(REAL)
    [row_id] = await queue(clock, "simulator", "g1", ["第一条"])
    await OutboxMessage.filter(id=row_id).update(status="sending", lease_owner="dead", lease_until=REAL - timedelta(seconds=1))
    clock.set(REAL - timedelta(days=30))  # the demo's clock far behind real time
    [row] = await worker(clock, real).claim()
    assert row.id == row_id


def test_the_default_lease_clock_is_real_time():
    assert isinstance(DeliveryWorker({}, ManualClock(REAL)).lease_clock, SystemClock)
