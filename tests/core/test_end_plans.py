"""PostgreSQL finds a card's copies through their index in an event's last statement, whatever its statistics say.

On PostgreSQL an event ends in one statement (``storage.event_end``) that places cards and updates them, and both
look up the copies in ``card_post``. Planned on a young table — empty, or not yet analyzed, as in the first hours
of a deployment — a join made the planner hash the whole table, and asyncpg's prepared statement kept that plan
while the table grew. This test asks PostgreSQL for the generic plan on a young, unanalyzed table.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from tortoise.transactions import in_transaction

from storage import sql
from storage.event_end import CardCopy, _one_statement
from storage.event_rows import OutboxRow
from tests.conftest import PG_URL

pytestmark = pytest.mark.skipif(not PG_URL, reason="the statement is PostgreSQL's; the PostgreSQL pass runs it")

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


def scans(plan: dict[str, Any]) -> list[tuple[str, str]]:
    """Every (node type, table) of the plan that names a table."""
    found = [(plan["Node Type"], plan["Relation Name"])] if "Relation Name" in plan else []
    for child in plan.get("Plans", []):
        found += scans(child)
    return found


async def test_placed_and_updated_cards_find_their_copies_through_the_index(database: str) -> None:
    # a young table: a few pages of copies, never analyzed
    await sql.execute("INSERT INTO \"card\" (\"key\", \"content\", \"version\", \"updated_at\") SELECT 'old:' || i, '{}', 1, now() FROM generate_series(1, 600) i")
    await sql.execute(
        'INSERT INTO "card_post" ("card_id", "platform", "conversation_id", "locale", "sent_version") '
        "SELECT \"id\", 'dingtalk', 'cid-' || \"id\", 'zh_CN', 1 FROM \"card\""
    )
    row = OutboxRow("dedupe-1", "dingtalk", "cid-launch", False, None, None, "post", {"type": "card"}, "zh_CN", None, None, NOW, NOW)
    placed = [CardCopy(f"request:XZB202611230{n}", row) for n in (1, 2)]  # two cards placed, as a new request does
    text, params = _one_statement(placed, {copy.card_key: "{}" for copy in placed}, {"board:XZB2026112301": "{}"}, [], NOW)
    async with in_transaction() as connection:
        # the plan asyncpg's prepared statement keeps after its first executions: the generic one
        await connection.execute_script("SET LOCAL plan_cache_mode = force_generic_plan")
        await connection.execute_script('PREPARE "event_end" AS ' + sql.statement(text, "postgres"))
        nulls = ", ".join("NULL" for _value in params)  # a generic plan does not look at the values
        (answer,) = await connection.execute_query_dict(f'EXPLAIN (FORMAT JSON) EXECUTE "event_end"({nulls})')
        await connection.execute_script('DEALLOCATE "event_end"')
    found = answer["QUERY PLAN"]
    plan = (json.loads(found) if isinstance(found, str) else found)[0]["Plan"]
    reads = [(node, table) for node, table in scans(plan) if table == "card_post" and node != "ModifyTable"]  # not the insert
    assert len(reads) == 2 and all(node in ("Index Scan", "Index Only Scan", "Bitmap Heap Scan") for node, _table in reads), reads
