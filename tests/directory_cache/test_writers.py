"""Guards for future code: every directory write bumps the version (database triggers on every table the cache
reads, whatever writes), a rolled-back one does not, and a ``QuerySet`` write of a directory table in our code
tells the cache of its own event (``directory.written``) — signals do that for ``save``/``create``/``delete``."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tortoise.transactions import in_transaction

from storage import db, directory
from storage.directory_triggers import TABLES
from storage.models import Collaboration, Group, Person

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


async def _version() -> int:
    rows = await db.connection().execute_query_dict("SELECT version FROM directory_version WHERE id = 1")
    return int(rows[0]["version"]) if rows else 0


async def _changes_since(version: int) -> list[tuple[str, int]]:
    rows = await db.connection().execute_query_dict(
        f"SELECT kind, row_id FROM directory_change WHERE version > {int(version)} ORDER BY version"
    )
    return [(str(r["kind"]), int(r["row_id"])) for r in rows]


def test_the_cache_reads_exactly_the_tables_that_have_triggers() -> None:
    assert {model._meta.db_table for model in directory.KINDS} == set(TABLES)
    assert set(directory.KINDS.values()) == set(TABLES.values())


# plain SQL, as an operator or a future write path might run it: (statement, kind, row id it names)
WRITES = [
    ("INSERT INTO person (id, handle, name, is_admin, created_at) VALUES (900, 'guard', '守卫', FALSE, '2026-11-23 01:00:00+00:00')", "person", 900),
    ("UPDATE person SET name = '守卫二' WHERE id = 900", "person", 900),
    ("INSERT INTO identity (id, person_id, platform, platform_user_id) VALUES (900, 900, 'simulator', 'guard')", "identity", 900),
    ("UPDATE identity SET display_name = 'g' WHERE id = 900", "identity", 900),
    ("INSERT INTO department (id, code, name, head_id) VALUES (900, 'guard', '守卫部', 900)", "department", 900),
    ("UPDATE department SET head_id = NULL WHERE id = 900", "department", 900),
    ("INSERT INTO chat_group (id, platform, conversation_id, created_at) VALUES (900, 'simulator', 'guard', '2026-11-23 01:00:00+00:00')", "group", 900),
    ("UPDATE chat_group SET locale = 'en' WHERE id = 900", "group", 900),
    ("DELETE FROM chat_group WHERE id = 900", "group", 900),
    ("DELETE FROM identity WHERE id = 900", "identity", 900),
    ("DELETE FROM department WHERE id = 900", "department", 900),
    ("DELETE FROM person WHERE id = 900", "person", 900),
]


async def test_every_write_to_a_directory_table_bumps_the_version_and_names_its_row(database: str) -> None:
    for statement, kind, row_id in WRITES:
        before = await _version()
        async with in_transaction("default") as conn:
            await conn.execute_query(statement)
        assert await _version() == before + 1, statement
        assert await _changes_since(before) == [(kind, row_id)], statement


async def test_a_rolled_back_write_bumps_nothing(database: str) -> None:
    before = await _version()
    with pytest.raises(RuntimeError):
        async with in_transaction("default") as conn:
            await conn.execute_query(WRITES[0][0])
            raise RuntimeError("the event failed")
    assert await _version() == before
    assert await Person.filter(id=900).count() == 0


async def test_an_account_moved_to_another_person_names_both(database: str) -> None:
    first = await Person.create(handle="first", name="甲", created_at=NOW)
    second = await Person.create(handle="second", name="乙", created_at=NOW)
    async with in_transaction("default") as conn:
        await conn.execute_query(f"INSERT INTO identity (person_id, platform, platform_user_id) VALUES ({first.id}, 'simulator', 'moved')")
    before = await _version()
    async with in_transaction("default") as conn:
        await conn.execute_query(f"UPDATE identity SET person_id = {second.id} WHERE platform_user_id = 'moved'")
    assert sorted(await _changes_since(before)) == sorted([("identity", first.id), ("identity", second.id)])


async def test_a_group_bound_unbound_or_moved_names_the_collaborations_whose_groups_changed(database: str) -> None:
    """A collaboration's groups are cached under the collaboration: a binding's change names it (both, when a
    binding moves to another collaboration)."""
    lilei = await Person.create(handle="lilei", name="李雷", created_at=NOW)
    first, second = [
        await Collaboration.create(code=code, title=code, raised_on=NOW.date(), deadline=NOW.date(), initiator=lilei, created_at=NOW)
        for code in ("XZB2026112301", "XZB2026112302")
    ]
    group = await Group.create(platform="simulator", conversation_id="launch", created_at=NOW)
    for statement, named in [
        (f"INSERT INTO group_binding (id, collaboration_id, group_id, created_at) VALUES (900, {first.id}, {group.id}, '2026-11-23 01:00:00+00:00')", [first.id]),
        (f"UPDATE group_binding SET collaboration_id = {second.id} WHERE id = 900", [first.id, second.id]),
        ("DELETE FROM group_binding WHERE id = 900", [second.id]),
    ]:
        before = await _version()
        async with in_transaction("default") as conn:
            await conn.execute_query(statement)
        assert sorted(await _changes_since(before)) == [("binding", i) for i in sorted(named)], statement


async def test_an_account_seen_again_is_no_change_but_any_other_column_is(database: str) -> None:
    """``last_seen_at`` is written hourly for everyone who talks: alone, it bumps nothing."""
    async with in_transaction("default") as conn:
        await conn.execute_query(WRITES[0][0])
        await conn.execute_query(WRITES[2][0])
    before = await _version()
    async with in_transaction("default") as conn:
        await conn.execute_query("UPDATE identity SET last_seen_at = '2026-11-23 02:00:00+00:00' WHERE id = 900")
    assert await _version() == before
    async with in_transaction("default") as conn:
        await conn.execute_query("UPDATE identity SET last_seen_at = '2026-11-23 03:00:00+00:00', dm_conversation = 'd' WHERE id = 900")
    assert await _changes_since(before) == [("identity", 900)]


_MODEL = r"\b(?:Person|Identity|Department|Group|GroupBinding)\."
_QUERYSET_WRITE = re.compile(_MODEL + r"(?:filter|exclude|all|select_for_update)\(.*\)\.(?:update|delete)\(|" + _MODEL + r"bulk_(?:create|update)\(")


def test_every_queryset_write_of_a_directory_table_tells_the_cache() -> None:
    """``Model.save/create/delete`` fire tortoise's signals; ``QuerySet.update/delete`` and bulk writes do not, so
    the code must call ``directory.written`` right after them (the version row is bumped by the database anyway)."""
    silent = []
    for folder in ("bot", "workflows", "adapters", "storage"):
        for path in (ROOT / folder).rglob("*.py"):
            lines = path.read_text(encoding="utf-8").splitlines()
            for number, line in enumerate(lines):
                if _QUERYSET_WRITE.search(line) and not any("directory.written(" in after for after in lines[number + 1 : number + 3]):
                    silent.append(f"{path.relative_to(ROOT)}:{number + 1}: {line.strip()}")
    assert not silent, "call directory.written(kind, row_id) after:\n" + "\n".join(silent)
