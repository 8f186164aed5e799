"""Hand-written statements run through tortoise's connection, one text for SQLite and PostgreSQL.

The engine's fixed path (inbox, audit, outbox, cards, timers) writes the same few rows for every event;
building each statement with tortoise's query builder cost more than running it (see bench/README.md).
Those statements are written here once, with ``?`` placeholders, and run on the connection of the
current transaction (``connections.get("default")`` is the transaction's client inside
``in_transaction``). PostgreSQL (asyncpg) numbers its placeholders: ``$1, $2, …``; ``statement``
rewrites the text once per dialect and caches it. Values are encoded by the model's own fields
(``to_db_value``), so a row written here is exactly the row tortoise would write, and the ORM reads it back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.models import Model

from storage import db


@lru_cache(maxsize=1024)
def statement(sql: str, dialect: str) -> str:
    """``sql`` with its ``?`` placeholders numbered for PostgreSQL (``$1``…); unchanged for SQLite.

    A ``?`` inside a quoted literal or identifier is text, not a placeholder, and stays as it is.
    """
    if dialect != "postgres":
        return sql
    out: list[str] = []
    number = 0
    quote: str | None = None
    for char in sql:
        if quote is not None:
            if char == quote:
                quote = None
        elif char in ("'", '"'):
            quote = char
        elif char == "?":
            number += 1
            out.append(f"${number}")
            continue
        out.append(char)
    return "".join(out)


def rows_of(count: int, width: int) -> str:
    """The ``VALUES`` list of a multi-row insert: ``(?, ?), (?, ?)`` for two rows of two columns."""
    row = "(" + ", ".join("?" * width) + ")"
    return ", ".join([row] * count)


def dialect(connection: BaseDBAsyncClient | None = None) -> str:
    return (connection or db.connection()).capabilities.dialect


async def fetch(sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    """Run a statement that returns rows (a ``SELECT``, or a write with ``RETURNING``)."""
    connection = db.connection()
    return await connection.execute_query_dict(statement(sql, connection.capabilities.dialect), list(params))


async def execute(sql: str, params: Sequence[Any] = ()) -> int:
    """Run a write without ``RETURNING``; returns how many rows it changed."""
    connection = db.connection()
    changed, _rows = await connection.execute_query(statement(sql, connection.capabilities.dialect), list(params))
    return changed


Encoder = Callable[[Any], Any]


def encoders(model: type[Model], names: Iterable[str]) -> list[Encoder | None]:
    """How tortoise's ``Model.create`` turns each named field's value into its database value: the field's
    ``to_python_value`` (datetimes move to the configured zone, UTC) then its ``to_db_value`` (validation,
    JSON encoding).

    ``None`` for a foreign key's ``<name>_id`` column: an id is written as it is.
    """
    fields = model._meta.fields_map
    result: list[Encoder | None] = []
    for name in names:
        field = fields.get(name)
        if field is None or (name.endswith("_id") and name[:-3] in fields):
            result.append(None)
            continue
        result.append(_encoder(field, model))
    return result


def _encoder(field: Any, model: type[Model]) -> Encoder:
    def encode(value: Any) -> Any:
        return field.to_db_value(field.to_python_value(value), model)

    return encode


def encoded(codecs: Sequence[Encoder | None], values: Sequence[Any]) -> list[Any]:
    """``values`` (one per column) as the database stores them."""
    return [value if codec is None else codec(value) for codec, value in zip(codecs, values, strict=True)]
