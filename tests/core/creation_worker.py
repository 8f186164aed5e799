"""One OS process of the concurrency test: an Engine on a shared database creating collaborations at once.

Run as ``python -m tests.core.creation_worker URL WORKER COUNT``. It connects, prints ``ready``,
waits for a line on stdin (so every process starts together), dispatches COUNT ``新建协作`` events
concurrently and prints one JSON line: how many were created, refused and failed.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime

from bot.clock import ManualClock
from bot.config import from_dict
from bot.engine import DispatchResult, Engine
from bot.types import Conversation, Event, EventKind
from storage import db
from tests.core.harness import demo_config
from workflows.registry import build_router

NEW = "新建协作\n标题：并发{n}\n目标：并发创建\n协作部门：设计部\n截止：2026-12-20"
NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


def creation(worker: str, number: int) -> Event:
    return Event(
        kind=EventKind.COMMAND,
        platform="simulator",
        delivery_id=f"concurrent-{worker}-{number}",
        conversation=Conversation(platform="simulator", id=f"dm-{worker}-{number}", is_direct=True),
        actor_id=f"newcomer-{worker}-{number}",  # distinct people: no shared row serializes their events
        text=NEW.format(n=f"{worker}-{number}"),
    )


def summary(results: list[DispatchResult | BaseException]) -> dict[str, object]:
    failed = [repr(r) for r in results if isinstance(r, BaseException)]
    failed += [f"incident {r.incident}" for r in results if isinstance(r, DispatchResult) and r.incident]
    refused = [str(r.error) for r in results if isinstance(r, DispatchResult) and r.error is not None]
    created = sum(1 for r in results if isinstance(r, DispatchResult) and not r.incident and r.error is None and not r.duplicate)
    return {"created": created, "refused": refused, "failed": failed}


async def create_at_once(engine: Engine, worker: str, count: int) -> dict[str, object]:
    results = await asyncio.gather(*(engine.dispatch(creation(worker, n)) for n in range(count)), return_exceptions=True)
    return summary(list(results))


async def main(url: str, worker: str, count: int) -> None:
    config = from_dict(demo_config(url), environ={})
    await db.connect(url, run_migrations=False)
    try:
        engine = Engine(build_router(), config, ManualClock(NOW))
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        print(json.dumps(await create_at_once(engine, worker, count)), flush=True)
    finally:
        await db.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
