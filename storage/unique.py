"""Writes that race on a unique key, done so that no caller's transaction is lost.

PostgreSQL aborts the whole transaction on the first failed statement: a
handler that catches an ``IntegrityError`` and tries again without a savepoint
gets ``InFailedSQLTransactionError`` for everything that follows, and the
person's request is lost. So a counter is one atomic upsert (no failed
statement at all), and a row that two events may create at once is inserted
inside a savepoint, re-read when the other one won.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from tortoise.exceptions import IntegrityError
from tortoise.models import Model
from tortoise.transactions import in_transaction

from storage import sql

M = TypeVar("M", bound=Model)

# Identical on SQLite (>= 3.35, for RETURNING) and PostgreSQL (``storage.sql`` numbers the placeholder).
_NEXT_VALUE = (
    'INSERT INTO "sequence" ("name", "value") VALUES (?, 1) '
    'ON CONFLICT ("name") DO UPDATE SET "value" = "sequence"."value" + 1 '
    'RETURNING "value"'
)


async def next_sequence_value(name: str) -> int:
    """The next value of the named counter (1 for a new one), in one statement that cannot conflict."""
    rows = await sql.fetch(_NEXT_VALUE, [name])
    return int(rows[0]["value"])


async def create_coded(model: type[M], code: str, prefix: str, counter: str, **values: Any) -> M:
    """Create a row whose ``code`` field is ``prefix`` and the next value of the named ``counter``, two digits at
    least (``XZB2026112301-07``): what ``next_sequence_value`` and ``model.create`` do, but on PostgreSQL the
    counter's increment is a clause of the insert, one round trip instead of two."""
    instance = model(**values)
    meta = model._meta
    columns, params = sql.row_values(instance, (code,))
    code_column, pk_column = meta.fields_db_projection[code], meta.fields_db_projection[meta.pk_attr]
    insert = f'INSERT INTO "{meta.db_table}" ({", ".join(columns)}, "{code_column}") VALUES ({", ".join("?" * len(params))}, ?'
    if sql.dialect() == "postgres":
        number = 'SELECT CASE WHEN "value" < 10 THEN \'0\' ELSE \'\' END || CAST("value" AS TEXT) FROM "n"'
        text = f'WITH "n" AS ({_NEXT_VALUE}) {insert} || ({number})) RETURNING "{pk_column}", "{code_column}"'
        row = (await sql.fetch(text, [counter, *params, prefix]))[0]
    else:
        value = f"{prefix}{await next_sequence_value(counter):02d}"
        row = (await sql.fetch(f'{insert}) RETURNING "{pk_column}", "{code_column}"', [*params, value]))[0]
    instance.pk = row[pk_column]
    setattr(instance, code, row[code_column])
    instance._saved_in_db = True
    return instance


async def create_or_get(model: type[M], keys: dict[str, Any], values: dict[str, Any] | None = None) -> tuple[M, bool]:
    """The row with these unique ``keys``, created with ``values`` when there is none yet.

    Returns ``(row, created)``. When a concurrent transaction inserts the same
    keys first, the insert fails inside its own savepoint (the caller's
    transaction stays usable) and the other transaction's row is returned.
    """
    row = await model.filter(**keys).first()
    if row is not None:
        return row, False
    try:
        async with in_transaction("default"):  # nested: a savepoint
            return await model.create(**keys, **(values or {})), True
    except IntegrityError:
        return await model.get(**keys), False


def upsert_statement(model: type[Model], keys: dict[str, Any], values: dict[str, Any], update: Iterable[str]) -> tuple[str, list[Any]]:
    """Insert the row with these unique ``keys`` and ``values``, or set the ``update`` fields (taken from
    ``values``) on the row already there: ``INSERT … ON CONFLICT (keys) DO UPDATE``, one statement that cannot fail
    on the key, so no savepoint. Returns the statement (``?`` placeholders, ``storage.sql``) and its parameters."""
    meta = model._meta
    columns: list[str] = []
    params: list[Any] = []
    for name, value in {**keys, **values}.items():
        field = meta.fields_map[name]
        columns.append(f'"{field.source_field or name}"')
        params.append(field.to_db_value(value, model))
    conflict = ", ".join(f'"{meta.fields_map[name].source_field or name}"' for name in keys)
    assignments = ", ".join(f'"{column}" = EXCLUDED."{column}"' for column in (meta.fields_map[name].source_field or name for name in update))
    placeholders = ", ".join("?" * len(params))
    return f'INSERT INTO "{meta.db_table}" ({", ".join(columns)}) VALUES ({placeholders}) ON CONFLICT ({conflict}) DO UPDATE SET {assignments}', params


async def create_numbered(model: type[M], number: str, scope: dict[str, Any], **values: Any) -> M:
    """Create a row numbered one past the highest ``number`` among the rows matching ``scope`` (1 for the
    first): the next attempt of a submission, in one ``INSERT … VALUES (…, (SELECT MAX(…) + 1 …)) RETURNING``
    instead of a count and an insert. Callers hold the lock of the scope's parent row: two writers of the
    same scope would otherwise both take the same number."""
    instance = model(**scope, **values)
    meta = model._meta
    columns, params = sql.row_values(instance, (number,))
    number_column = meta.fields_db_projection[number]
    where = " AND ".join(f'"{meta.fields_db_projection[name]}" = ?' for name in scope)
    params += [meta.fields_map[name].to_db_value(value, instance) for name, value in scope.items()]
    pk_column = meta.fields_db_projection[meta.pk_attr]
    text = (
        f'INSERT INTO "{meta.db_table}" ({", ".join(columns)}, "{number_column}") '
        f'VALUES ({", ".join("?" * (len(columns)))}, (SELECT COALESCE(MAX("{number_column}"), 0) + 1 FROM "{meta.db_table}" WHERE {where})) '
        f'RETURNING "{pk_column}", "{number_column}"'
    )
    rows = await sql.fetch(text, params)
    instance.pk = rows[0][pk_column]
    setattr(instance, number, int(rows[0][number_column]))
    instance._saved_in_db = True
    return instance
