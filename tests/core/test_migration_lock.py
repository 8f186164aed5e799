"""Processes that start together on one PostgreSQL migrate one after the other (an advisory lock)."""

from __future__ import annotations

import asyncio
import sys
import uuid
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from tests.conftest import PG_URL

pytestmark = pytest.mark.skipif(not PG_URL, reason="PostgreSQL only (SQLite has one writer); the PostgreSQL pass runs it")

UPGRADE = "import asyncio, sys; from storage import db; asyncio.run(db.upgrade(sys.argv[1]))"


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


async def test_three_processes_migrating_a_new_database_at_once_all_succeed(tmp_path) -> None:
    assert PG_URL
    name = f"migrate_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(PG_URL)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = _with_database(PG_URL, name)
    try:
        processes = [
            await asyncio.create_subprocess_exec(sys.executable, "-c", UPGRADE, url, stderr=asyncio.subprocess.PIPE)
            for _ in range(3)
        ]
        results = [await asyncio.wait_for(p.communicate(), timeout=180) for p in processes]
        assert [p.returncode for p in processes] == [0, 0, 0], [err.decode()[-800:] for _out, err in results]
        check = await asyncpg.connect(url)
        try:
            tables = {r["tablename"] for r in await check.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
            assert {"outbox", "inbox", "collaboration"} <= tables
        finally:
            await check.close()
    finally:
        await admin.execute(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()")
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.close()
