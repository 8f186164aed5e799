"""Driving the clocks in tests: the whole bot with the simulator, a manual clock, and a loop that moves the
clock from one due row to the next (never sleeping) so that every timer fires at its own instant."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime, time, timedelta
from typing import Any

import aiohttp

from bot.app import App
from bot.calendar import utc_at
from bot.clock import ManualClock
from bot.config import Config, from_dict
from storage import db
from storage.models import SimulatorMessage, Timer
from tests.conftest import PG_URL, _truncate_pg
from tests.simclient import SimClient

MAX_STEP = timedelta(hours=6)  # well inside the materializer's horizon


def person(handle: str, name: str, **extra: Any) -> dict[str, Any]:
    return {"id": handle, "name": name, "identities": {"simulator": handle}, **extra}


def make_config(database_url: str, *, people: list[dict[str, Any]], groups: list[dict[str, Any]], **bot: Any) -> Config:
    return from_dict(
        {
            "bot": {"locale": "en", **bot},
            "database": {"url": database_url},
            "server": {"host": "127.0.0.1", "port": 0},
            "simulator": {"enabled": True, "manual_clock": True},
            "people": people,
            "groups": groups,
        },
        environ={},
    )


async def reset_database(url: str) -> None:
    """PostgreSQL is shared by the tests: empty it (SQLite files are fresh per test)."""
    if PG_URL:
        await db.connect(url, run_migrations=False)
        await _truncate_pg()
        await db.close()


@asynccontextmanager
async def running(config: Config, clock: ManualClock) -> AsyncIterator[tuple[App, SimClient]]:
    app = App(config, clock=clock)
    await app.start(background=False)
    try:
        async with aiohttp.ClientSession() as session:
            yield app, SimClient(f"http://127.0.0.1:{app.port}", session)
    finally:
        await app.stop()


async def run_until(app: App, clock: ManualClock, until: datetime) -> None:
    """Move the clock to ``until``, stopping at every due row on the way and settling there."""
    await app.settle()
    while clock.now() < until:
        upcoming = await Timer.filter(status="pending", due_at__gt=clock.now()).order_by("due_at").first()
        target = min(until, clock.now() + MAX_STEP)
        if upcoming is not None and upcoming.due_at < target:
            target = upcoming.due_at
        clock.set(target)
        await app.settle()


def local(day: date, hhmm: str, tz: str) -> datetime:
    hour, minute = (int(x) for x in hhmm.split(":"))
    return utc_at(day, time(hour, minute), tz)


async def bot_messages(conversation: str, key_prefix: str | None = None) -> list[SimulatorMessage]:
    rows = await SimulatorMessage.filter(conversation_id=conversation, sender="bot").order_by("id")
    if key_prefix is None:
        return list(rows)
    return [r for r in rows if str(r.content.get("key") or "").startswith(key_prefix)]


def text_of(message: SimulatorMessage) -> str:
    content = message.content
    if content.get("type") == "text":
        return str(content.get("body") or "")
    parts = [content.get("title"), content.get("body"), content.get("status")]
    parts += [f"{f['label']}: {f['value']}" for f in content.get("fields", [])]
    parts += [b["label"] for b in content.get("buttons") or []]
    return "\n".join(str(p) for p in parts if p)
