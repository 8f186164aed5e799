"""Pacing costs nothing while it waits: rows waiting for their slot are not claimed round after round."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from storage import outbox_queue
from storage.models import OutboxMessage
from tests.delivery.helpers import drive, queue
from tests.slack.world import SlackWorld

CHANNELS = [f"C{n:02d}BACKLOG" for n in range(20)]


async def test_a_backlog_waiting_for_its_slot_costs_a_bounded_number_of_claims_per_row(database_url, clock):
    async with SlackWorld.open(database_url, clock, mode="http") as world:
        worker = world.app.delivery
        # 30 posts to one channel (one a second, bursts of 3) and 300 replies only their reader sees,
        # in 20 channels, held to 100 a minute for the whole workspace (chat.postEphemeral, Tier 4)
        await queue(clock, "slack", "C1LAUNCH", [f"公告{i}" for i in range(30)])
        for n, channel in enumerate(CHANNELS):
            await queue(clock, "slack", channel, [f"帮助{n}-{i}" for i in range(15)], recipient="U1LI")
        start = clock.now()
        await worker.flush()
        first = worker.claims
        # nothing can go now: looking again claims nothing, and the next look is due at a real slot
        for _ in range(5):
            await worker.run_once()
        assert worker.claims == first
        upcoming = await outbox_queue.next_due(["slack"])
        assert upcoming is not None and upcoming > clock.now()

        await drive([worker], clock)
        assert worker.delivered == 330
        assert worker.claims <= 2 * worker.delivered  # bounded: not one claim per round per waiting row
        assert worker.parked <= 3 * 330
        ephemeral = [c for c in world.fake.calls_to("chat.postEphemeral") if c.status == 200]
        assert len(ephemeral) == 300
        posts = world.fake.in_channel("C1LAUNCH")
        assert [m["text"] for m in posts] == [f"公告{i}" for i in range(30)]
        assert (clock.now() - start) < timedelta(minutes=4)  # 300 at 100 a minute: the limit, used whole


async def test_an_idle_loop_with_a_backlog_sleeps_until_a_row_can_go(database_url, clock):
    async with SlackWorld.open(database_url, clock, mode="http") as world:
        worker = world.app.delivery
        await queue(clock, "slack", "C1LAUNCH", [f"公告{i}" for i in range(50)])
        stop = asyncio.Event()
        rounds = 0
        original = worker.run_once

        async def counted(platform: str | None = None) -> int:
            nonlocal rounds
            rounds += 1
            return await original(platform)

        worker.run_once = counted  # type: ignore[method-assign]
        loop = asyncio.create_task(worker.run_forever(stop, idle_seconds=0.05))
        try:
            for _ in range(200):  # a bounded wait for the first rounds (a poll, not a timing)
                if rounds >= 6:
                    break
                await asyncio.sleep(0.01)
            claims = worker.claims
            for _ in range(3):  # new commits wake it; nothing it holds can go before the clock moves
                worker.kick()
                seen = rounds
                for _ in range(200):
                    if rounds > seen:
                        break
                    await asyncio.sleep(0.01)
        finally:
            stop.set()
            await loop
        # the burst of three went, the fourth was told its slot once; the 46 behind it were never claimed
        assert worker.claims == claims == 4
        assert len(world.fake.in_channel("C1LAUNCH")) == 3
        assert await OutboxMessage.filter(status="pending").count() == 47
