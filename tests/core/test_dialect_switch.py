"""A process that opened SQLite before PostgreSQL (or the other way) writes each with its own dialect.

tortoise keeps each model's insert statement by connection name only; ``storage.db.connect`` forgets them when
the kind of database changes. The suite itself does this: one test of the delivery queue reads SQLite's
virtual-machine steps in the PostgreSQL pass too.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime

import pytest

from storage import db
from storage.models import OutboxMessage
from tests.conftest import PG_URL, _template_sqlite

pytestmark = pytest.mark.skipif(not PG_URL, reason="needs both kinds of database; the PostgreSQL pass runs it")

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


async def _write(key: str) -> int:
    row = await OutboxMessage.create(
        dedupe_key=key, platform="slack", conversation_id="C1", kind="text", payload={"type": "text", "text": "帮助"},
        locale="zh_CN", next_attempt_at=NOW, created_at=NOW,
    )
    return row.id


@pytest.fixture
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    target = tmp_path_factory.mktemp("switch") / "switch.db"
    shutil.copyfile(_template_sqlite(tmp_path_factory.getbasetemp()), target)
    return f"sqlite://{target}"


async def test_sqlite_then_postgresql_then_sqlite_each_get_their_own_statements(sqlite_url: str, database_url: str) -> None:
    for url, key in ((sqlite_url, "a"), (database_url, "b"), (sqlite_url, "c")):
        await db.connect(url, run_migrations=False)
        try:
            assert await _write(f"switch:{key}") > 0
            assert await OutboxMessage.filter(dedupe_key=f"switch:{key}").count() == 1
        finally:
            await db.close()
