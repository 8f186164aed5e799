"""Looking for due rows does not walk the rows that wait: a backlog must not slow the acks.

On SQLite collabbot runs statements on the event loop's thread (storage/sqlite_inline.py), so a
look that reads every waiting row holds up the answers to the platforms' requests while it runs.
The measure is SQLite's own: virtual-machine steps, counted by a progress handler.
"""

from __future__ import annotations

import shutil
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest

from bot.clock import ManualClock
from storage import db, outbox_queue
from storage.models import OutboxMessage
from tests.conftest import _template_sqlite


@pytest.fixture
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    # SQLite in both passes of the suite: the inline connection is SQLite's alone
    target = tmp_path_factory.mktemp("look") / "look.db"
    shutil.copyfile(_template_sqlite(tmp_path_factory.getbasetemp()), target)
    yield f"sqlite://{target}"


async def _steps(look: Callable[[], Awaitable[Any]]) -> int:
    raw = db.connection()._connection._conn
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0

    raw.set_progress_handler(count, 1)
    try:
        await look()
    finally:
        raw.set_progress_handler(None, 1)
    return steps


async def _wait(clock: ManualClock, count: int, start: int) -> None:
    later = clock.now() + timedelta(hours=1)
    await OutboxMessage.bulk_create(
        [
            OutboxMessage(
                dedupe_key=f"look:{n}",
                platform="slack",
                conversation_id=f"C{n % 100:03d}BACKLOG",
                recipient="U1LI",
                kind="text",
                payload={"type": "text", "text": "帮助"},
                locale="zh_CN",
                next_attempt_at=later,
                created_at=clock.now(),
            )
            for n in range(start, start + count)
        ],
        batch_size=500,
    )


async def test_the_worker_s_looks_cost_the_same_with_2000_rows_waiting_as_with_20(sqlite_url: str, clock: ManualClock) -> None:
    await db.connect(sqlite_url, run_migrations=False)
    try:
        looks: dict[str, Callable[[], Awaitable[Any]]] = {
            "due": lambda: outbox_queue.due(["slack"], clock.now(), 50),
            "next_due": lambda: outbox_queue.next_due(["slack"]),
            "next_lease_expiry": lambda: outbox_queue.next_lease_expiry(["slack"]),
        }
        await _wait(clock, 20, 0)
        few = {name: await _steps(look) for name, look in looks.items()}
        assert await outbox_queue.due(["slack"], clock.now(), 50) == []

        await _wait(clock, 2000, 20)
        many = {name: await _steps(look) for name, look in looks.items()}
        assert await outbox_queue.due(["slack"], clock.now(), 50) == []
        for name in looks:
            # walking the 1,980 extra rows would cost tens of thousands of steps
            assert many[name] <= few[name] + 200, (name, few[name], many[name])
    finally:
        await db.close()
