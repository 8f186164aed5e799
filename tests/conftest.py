"""Shared fixtures: a fresh database per test (SQLite by default, PostgreSQL when
``COLLABBOT_TEST_DATABASE_URL`` is set), the injectable clock, and the simulator app."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tortoise import Tortoise

from bot.clock import ManualClock
from storage import db

# slack_sdk and aiohttp read proxies from the environment and ignore NO_PROXY: tests talk to 127.0.0.1 only.
for _var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
    os.environ.pop(_var, None)

PG_URL = os.environ.get("COLLABBOT_TEST_DATABASE_URL", "")
_TEMPLATE: dict[str, str] = {}


def _template_sqlite(tmp_root: Path) -> Path:
    """Migrate one SQLite file per session; each test copies it (much faster than migrating again)."""
    if "path" not in _TEMPLATE:
        path = tmp_root / "template.db"

        async def migrate() -> None:
            await db.upgrade(f"sqlite://{path}")
            await Tortoise.close_connections()

        asyncio.run(migrate())
        _TEMPLATE["path"] = str(path)
    return Path(_TEMPLATE["path"])


@pytest.fixture(scope="session")
def _pg_migrated() -> bool:
    if PG_URL:

        async def migrate() -> None:
            await db.upgrade(PG_URL)
            await Tortoise.close_connections()

        asyncio.run(migrate())
    return bool(PG_URL)


async def _truncate_pg() -> None:
    conn = db.connection()
    rows = await conn.execute_query_dict(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename NOT LIKE 'tortoise%'"
    )
    names = ", ".join(f'"{r["tablename"]}"' for r in rows)
    if names:
        await conn.execute_script(f"TRUNCATE {names} RESTART IDENTITY CASCADE")


def _truncate_pg_now() -> None:
    """Empty every table of the PostgreSQL test database, from synchronous code (its own loop, in a thread)."""
    import threading

    import asyncpg

    async def truncate() -> None:
        conn = await asyncpg.connect(PG_URL)
        try:
            rows = await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename NOT LIKE 'tortoise%'"
            )
            names = ", ".join(f'"{r["tablename"]}"' for r in rows)
            if names:
                await conn.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
        finally:
            await conn.close()

    worker = threading.Thread(target=asyncio.run, args=(truncate(),))
    worker.start()
    worker.join()


@pytest.fixture
def database_url(tmp_path_factory: pytest.TempPathFactory, _pg_migrated: bool) -> str:
    """A URL to a database with every migration applied and no rows."""
    if PG_URL:
        _truncate_pg_now()
        return PG_URL
    template = _template_sqlite(tmp_path_factory.getbasetemp())
    target = tmp_path_factory.mktemp("db") / f"{uuid.uuid4().hex[:8]}.db"
    shutil.copyfile(template, target)
    return f"sqlite://{target}"


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[str]:
    """The database opened for this test's event loop."""
    await db.connect(database_url, run_migrations=False)
    if PG_URL:
        await _truncate_pg()
    yield database_url
    await db.close()


@pytest.fixture
def clock() -> ManualClock:
    # Monday 2026-11-23 09:00 in Shanghai
    return ManualClock(datetime(2026, 11, 23, 1, 0, tzinfo=UTC))
