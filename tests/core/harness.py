"""Start the whole bot with the simulator on a free port, for black-box tests through its HTTP API."""

from __future__ import annotations

import tomllib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

from bot.app import App
from bot.cli import DEMO_CONFIG
from bot.clock import ManualClock
from bot.config import from_dict
from storage import db
from tests.conftest import PG_URL, _truncate_pg
from tests.simclient import SimClient
from workflows.directory.sync import sync_directory


def demo_config(database_url: str, **overrides: Any) -> dict[str, Any]:
    with DEMO_CONFIG.open("rb") as handle:
        data = tomllib.load(handle)
    data["database"] = {"url": database_url}
    data["server"] = {"host": "127.0.0.1", "port": 0}
    data["simulator"] = {"enabled": True, "manual_clock": True, **overrides.pop("simulator", {})}
    for key, value in overrides.items():
        data[key] = value
    return data


@asynccontextmanager
async def running(database_url: str, clock: ManualClock, *, fresh: bool = True, **overrides: Any) -> AsyncIterator[tuple[App, SimClient]]:
    """The bot on ``database_url`` (already migrated) with the demo organisation; yields the app and an API client."""
    config = from_dict(demo_config(database_url, **overrides), environ={})
    app = App(config, clock=clock)
    await db.connect(config.database.url, run_migrations=False)
    if PG_URL and fresh:
        await _truncate_pg()
    await sync_directory(config, clock.now())
    await db.close()
    await app.start(background=False)
    try:
        async with aiohttp.ClientSession() as session:
            yield app, SimClient(f"http://127.0.0.1:{app.port}", session)
    finally:
        await app.stop()
