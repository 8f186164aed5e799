"""Another bot process on the same database: its own Engine and directory cache, one event, then exit.

Run as ``python -m tests.directory_cache.other_process URL ACTOR TEXT``; prints one JSON line with the
reply text (localized) and whether the event was refused.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime

from bot.clock import ManualClock
from bot.config import from_dict
from bot.engine import Engine
from bot.i18n import localize
from bot.types import Conversation, Event, EventKind, Text
from storage import db
from tests.core.harness import demo_config
from workflows.registry import build_router

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


async def main(url: str, actor: str, text: str) -> None:
    config = from_dict(demo_config(url), environ={})
    await db.connect(url, run_migrations=False)
    try:
        engine = Engine(build_router(), config, ManualClock(NOW))
        event = Event(
            EventKind.COMMAND, "simulator", f"other-process-{actor}-{abs(hash(text))}",
            Conversation("simulator", f"dm:{actor}", is_direct=True), actor_id=actor, actor_name=actor, text=text,
        )
        result = await engine.dispatch(event)
        replies = [m.content for m in result.outcome.messages] if result.outcome else []
        texts = [str(localize(c.body, result.locale)) for c in replies if isinstance(c, Text)]
        print(json.dumps({"refused": result.error is not None, "incident": result.incident, "replies": texts}, ensure_ascii=False), flush=True)
    finally:
        await db.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))
