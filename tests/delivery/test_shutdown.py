"""A delivery loop cancelled at shutdown leaves nothing behind: no wait of its own still pending."""

from __future__ import annotations

import asyncio

from tests.slack.world import SlackWorld


def _event_waits() -> list[asyncio.Task]:
    return [t for t in asyncio.all_tasks() if not t.done() and getattr(t.get_coro(), "__qualname__", "") == "Event.wait"]


async def test_a_cancelled_delivery_loop_leaves_no_pending_wait(database_url, clock):
    async with SlackWorld.open(database_url, clock, mode="http") as world:
        worker = world.app.delivery
        before = set(_event_waits())
        stop = asyncio.Event()
        loop = asyncio.create_task(worker.run_forever(stop, idle_seconds=30))
        for _ in range(200):  # a bounded wait until the loop sleeps on its events (a poll, not a timing)
            if set(_event_waits()) - before:
                break
            await asyncio.sleep(0.01)
        assert set(_event_waits()) - before, "the loop never waited"
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)
        await asyncio.sleep(0)  # let the cancelled waits finish cancelling
        assert not set(_event_waits()) - before
