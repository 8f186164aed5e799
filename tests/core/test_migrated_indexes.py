"""The migrated database holds exactly the indexes the models declare: an index an upgrade lost (tortoise's
``AlterField`` rebuilds an SQLite table without its other indexes) or one left behind fails here."""

from __future__ import annotations

from typing import Any

from tortoise import Tortoise

from storage import pg_indexes, sql


def _declared() -> set[tuple[str, tuple[str, ...]]]:
    """(table, columns) of every non-unique index the models declare: ``Meta.indexes`` and ``db_index`` fields."""
    declared = set()
    for model in Tortoise.apps["models"].values():
        meta = model._meta
        for index in meta.indexes:
            names = tuple(index) if isinstance(index, tuple | list) else tuple(index.fields)
            declared.add((meta.db_table, tuple(meta.fields_map[n].source_field or n if n in meta.fields_map else n for n in names)))
        for name, field in meta.fields_map.items():
            if getattr(field, "index", False) and not field.unique and not field.pk:
                declared.add((meta.db_table, (field.source_field or name,)))
    return declared


async def _in_database() -> set[tuple[str, tuple[str, ...]]]:
    """(table, columns) of every index in the database that is neither unique nor a primary key (nor one of
    ``storage.pg_indexes``)."""
    if sql.dialect() == "postgres":
        rows = await sql.fetch(
            "SELECT t.relname AS tbl, i.relname AS idx, array_agg(a.attname ORDER BY k.n) AS cols "
            "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
            "JOIN pg_namespace s ON s.oid = t.relnamespace, unnest(x.indkey) WITH ORDINALITY AS k(attnum, n) "
            "JOIN pg_attribute a ON a.attnum = k.attnum "
            "WHERE a.attrelid = t.oid AND s.nspname = current_schema() AND NOT x.indisunique AND NOT x.indisprimary "
            "AND t.relname NOT LIKE 'tortoise%' AND NOT i.relname = ANY(?) GROUP BY t.relname, i.relname",
            [list(pg_indexes.INDEXES)],  # PostgreSQL's own, which the models cannot declare
        )
        return {(r["tbl"], tuple(r["cols"])) for r in rows}
    found: set[tuple[str, tuple[str, ...]]] = set()
    tables = await sql.fetch("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%' AND name NOT LIKE 'tortoise%'", [])
    for table in (r["name"] for r in tables):
        for index in await sql.fetch(f"PRAGMA index_list(\"{table}\")", []):
            if not index["unique"]:
                columns: list[Any] = await sql.fetch(f"PRAGMA index_info(\"{index['name']}\")", [])
                found.add((table, tuple(c["name"] for c in sorted(columns, key=lambda c: c["seqno"]))))
    return found


async def test_the_migrated_database_has_the_indexes_the_models_declare(database):
    declared, present = _declared(), await _in_database()
    assert present - declared == set(), "in the database, not in the models"
    assert declared - present == set(), "in the models, not in the database"
