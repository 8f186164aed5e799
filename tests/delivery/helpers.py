"""Rows in the outbox and a clock that jumps to the next moment one can go: driving ``DeliveryWorker`` in simulated time."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from bot.clock import ManualClock
from bot.delivery import DeliveryWorker
from bot.types import Card, Text
from storage import outbox_queue
from storage.models import OutboxMessage

_serial = iter(range(1, 10**9))


async def queue(
    clock: ManualClock,
    platform: str,
    conversation: str,
    bodies: list[str],
    *,
    card: bool = False,
    recipient: str | None = None,
    is_direct: bool = False,
    mentions: list[str] | None = None,
    locale: str = "zh_CN",
) -> list[int]:
    """Commit one outbox row per body, in order, as an event's outcome would."""
    ids = []
    for body in bodies:
        content: Card | Text = Card(title=body, body=body) if card else Text(body, ephemeral=bool(recipient), mentions=list(mentions or []))
        row = await OutboxMessage.create(
            dedupe_key=f"test:{platform}:{conversation}:{next(_serial)}",
            platform=platform,
            conversation_id=conversation,
            is_direct=is_direct,
            recipient=recipient,
            kind="post" if card else "text",
            payload=content.to_json(),
            locale=locale,
            next_attempt_at=clock.now(),
            created_at=clock.now(),
        )
        ids.append(row.id)
    return ids


async def unfinished() -> int:
    return await OutboxMessage.filter(status__in=["pending", "sending"]).count()


async def drive(
    workers: list[DeliveryWorker], clock: ManualClock, *, limit: timedelta = timedelta(hours=2), take_turns: bool = False
) -> None:
    """Run the workers side by side (as separate processes would) and jump the clock to the next due row.

    ``take_turns``: one after the other instead of at once, a different one first each round — every worker then
    gets rows (run at once, on a loaded machine one worker may claim them all before the others' first claim).
    """
    start = clock.now()
    platforms = sorted({name for worker in workers for name in worker.platforms})
    turn = 0
    while await unfinished():
        if take_turns:
            for worker in workers[turn:] + workers[:turn]:
                await worker.flush()
            turn = (turn + 1) % len(workers)
        else:
            await asyncio.gather(*(worker.flush() for worker in workers))
        upcoming = await outbox_queue.next_due(platforms)
        if upcoming is None:
            break
        clock.set(max(upcoming, clock.now() + timedelta(milliseconds=1)))
        assert clock.now() - start < limit, "the outbox never drained"


def most_in_any(times: list[Any], seconds: float) -> int:
    times = sorted(times)
    best, first = 0, 0
    for last, t in enumerate(times):
        while (t - times[first]).total_seconds() >= seconds:
            first += 1
        best = max(best, last - first + 1)
    return best
