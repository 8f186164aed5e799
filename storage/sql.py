"""Hand-written statements run through tortoise's connection, one text for SQLite and PostgreSQL.

The engine's fixed path (inbox, audit, outbox, cards, timers) writes the same few rows for every event;
building each statement with tortoise's query builder cost more than running it (see bench/README.md).
Those statements are written here once, with ``?`` placeholders, and run on the connection of the
current transaction (``connections.get("default")`` is the transaction's client inside
``in_transaction``). PostgreSQL (asyncpg) numbers its placeholders: ``$1, $2, …``; ``statement``
rewrites the text once per dialect and caches it. Values are encoded by the model's own fields
(``to_db_value``), so a row written here is exactly the row tortoise would write, and the ORM reads it back.
Inside a transaction a statement skips tortoise's client: on SQLite it runs on sqlite3 itself
(``storage.sqlite_inline``), on PostgreSQL it goes to asyncpg on the transaction's connection
(``storage.pg_inline``).

The workflows' hot reads and writes use the same path: ``select`` (model instances from a hand-written
``WHERE``), ``row_instance`` / ``columns_of`` (instances from a join's aliased columns) and ``update_where``
(one ``UPDATE``, e.g. a state machine's compare-and-set). ``update_at_end`` and ``insert_at_end`` hand a write to
the event's last statement instead (``storage.at_end``).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime
from functools import cache, lru_cache, partial
from typing import Any, TypeVar

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import RawSQL
from tortoise.fields import DatetimeField, Field, JSONField
from tortoise.models import Model
from tortoise.validators import MaxLengthValidator

from storage import at_end, db, pg_inline
from storage.sqlite_inline import fetch_dicts, transaction_connection

M = TypeVar("M", bound=Model)


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


def among(ids: Iterable[int]) -> RawSQL:
    """``ids`` for a filter ``field__in=among(ids)``, written into the statement as numbers: however many there
    are, they take no parameter (PostgreSQL's driver refuses more than 32,767 a statement, and the collaborations
    one reader may see can be more)."""
    return RawSQL("(" + (", ".join(str(int(i)) for i in ids) or "NULL") + ")")


def json_list_holds(column: str, dialect: str) -> str:
    """A condition: the JSON list in ``column`` holds the next ``?`` parameter, both compared as text (the code
    writes ids as numbers; a list typed into the configuration or a form may hold them as strings)."""
    if dialect == "postgres":
        return f'EXISTS (SELECT 1 FROM jsonb_array_elements_text({column}) AS "e"("item") WHERE "e"."item" = ?)'
    return f'EXISTS (SELECT 1 FROM json_each({column}) WHERE CAST("value" AS TEXT) = ?)'


async def fetch(sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    """Run a statement that returns rows (a ``SELECT``, or a write with ``RETURNING``)."""
    connection = db.connection()
    return await run_query(connection, statement(sql, connection.capabilities.dialect), list(params))


async def run_query(connection: BaseDBAsyncClient, text: str, params: list[Any]) -> list[dict[str, Any]]:
    """Run ``text``, its placeholders already in ``connection``'s dialect, and return its rows."""
    inline = transaction_connection(connection)
    if inline is not None:  # SQLite inside a transaction: straight to sqlite3, past tortoise's wrappers
        return fetch_dicts(inline, text, params)[1]
    held = pg_inline.transaction_client(connection)
    if held is not None:  # PostgreSQL inside a transaction: straight to asyncpg
        return await pg_inline.fetch(held, text, params)
    return await connection.execute_query_dict(text, params)


async def execute(sql: str, params: Sequence[Any] = ()) -> int:
    """Run a write without ``RETURNING``; returns how many rows it changed."""
    connection = db.connection()
    inline = transaction_connection(connection)
    if inline is not None:
        return fetch_dicts(inline, sql, list(params))[0]
    text = statement(sql, connection.capabilities.dialect)
    held = pg_inline.transaction_client(connection)
    if held is not None:
        return await pg_inline.execute(held, text, list(params))
    changed, _rows = await connection.execute_query(text, list(params))
    return changed


Encoder = Callable[[Any], Any]


def encoders(model: type[Model], names: Iterable[str]) -> list[Encoder | None]:
    """How tortoise's ``Model.create`` turns each named field's value into its database value: the field's
    ``to_python_value`` (datetimes move to the configured zone, UTC) then its ``to_db_value`` (validation,
    JSON encoding).

    ``None`` for a foreign key's ``<name>_id`` column: an id is written as it is.
    """
    return _per_field(model, names, _encoder)


def _per_field(model: type[Model], names: Iterable[str], make: Callable[[Any, type[Model]], Encoder]) -> list[Encoder | None]:
    fields = model._meta.fields_map
    return [
        None if (field := fields.get(name)) is None or (name.endswith("_id") and name[:-3] in fields) else make(field, model)
        for name in names
    ]


def _encoder(field: Any, model: type[Model]) -> Encoder:
    def encode(value: Any) -> Any:
        return field.to_db_value(field.to_python_value(value), model)

    # the common values skip the two conversions where those would hand them back unchanged
    if isinstance(field, DatetimeField) and not (field.validators or field.auto_now or field.auto_now_add):

        def encode_datetime(value: Any) -> Any:
            if value is None or (value.__class__ is datetime and value.tzinfo is UTC):  # the zone tortoise stores
                return value
            return encode(value)

        return encode_datetime
    if isinstance(field, JSONField) and _is_compact_json(field.encoder) and not field.validators:
        # a dict or list is encoded as the field's encoder does, by one encoder built once instead of per value
        def encode_json(value: Any) -> Any:
            if value.__class__ is dict or value.__class__ is list:
                return _COMPACT_JSON(value)
            return encode(value)

        return encode_json
    kind = field.field_type
    plain = type(field).to_db_value is Field.to_db_value and type(field).to_python_value is Field.to_python_value
    limit = _only_max_length(field)
    if plain and kind is str and limit is not None:

        def encode_text(value: Any) -> Any:
            if value.__class__ is str and len(value) <= limit:  # what the field's one validator checks
                return value
            if value is None or value.__class__ is str:
                field.validate(value)
                return value
            return encode(value)

        return encode_text
    if plain and kind in (str, int, bool):

        def encode_plain(value: Any) -> Any:
            if value is None or value.__class__ is kind:
                field.validate(value)
                return value
            return encode(value)

        return encode_plain
    return encode


def _only_max_length(field: Any) -> int | None:
    """The field's maximum length when that is all its validators check (a ``CharField``'s)."""
    validators = field.validators
    if len(validators) == 1 and type(validators[0]) is MaxLengthValidator:
        return int(validators[0].max_length)
    return None


_COMPACT_JSON = json.JSONEncoder(separators=(",", ":")).encode


def _is_compact_json(encoder: Any) -> bool:
    """Whether ``encoder`` is ``json.dumps(value, separators=(",", ":"))`` (tortoise's own, without orjson)."""
    return isinstance(encoder, partial) and encoder.func is json.dumps and not encoder.args and encoder.keywords == {"separators": (",", ":")}


def encoded(codecs: Sequence[Encoder | None], values: Sequence[Any]) -> list[Any]:
    """``values`` (one per column) as the database stores them."""
    return [value if codec is None else codec(value) for codec, value in zip(codecs, values, strict=True)]


def _update_encoders(model: type[Model], names: Iterable[str]) -> list[Encoder | None]:
    return _per_field(model, names, lambda field, model: partial(field.to_db_value, instance=model))


_UPDATES: dict[tuple[type[Model], tuple[str, ...], tuple[tuple[str, bool], ...]], tuple[str, list[Encoder | None]]] = {}


def _column(model: type[Model], name: str) -> str:
    return model._meta.fields_db_projection[name]


def update_statement(model: type[Model], values: dict[str, Any], where: dict[str, Any]) -> tuple[str, list[Any]]:
    """The ``UPDATE`` of the ``model`` rows whose fields equal ``where`` (``IS NULL`` for a ``None``) to ``values``
    (fields or ``<fk>_id`` columns), and its parameters. The statement is built once per shape; each value is
    encoded by its field's ``to_db_value``, as tortoise's ``QuerySet.update`` does."""
    names = tuple(values)
    conditions = tuple((name, value is None) for name, value in where.items())
    shape = _UPDATES.get((model, names, conditions))
    if shape is None:
        text = (
            f'UPDATE "{model._meta.db_table}" SET '
            + ", ".join(f'"{_column(model, name)}" = ?' for name in names)
            + " WHERE "
            + " AND ".join(f'"{_column(model, name)}" {"IS NULL" if null else "= ?"}' for name, null in conditions)
        )
        compared = tuple(name for name, null in conditions if not null)
        shape = _UPDATES[(model, names, conditions)] = (text, _update_encoders(model, names + compared))
    text, codecs = shape
    return text, encoded(codecs, (*values.values(), *(value for value in where.values() if value is not None)))


async def update_where(model: type[Model], values: dict[str, Any], where: dict[str, Any]) -> int:
    """``update_statement``'s ``UPDATE``, run now; returns how many rows changed."""
    return await execute(*update_statement(model, values, where))


async def update_at_end(model: type[Model], values: dict[str, Any], where: dict[str, Any], on_stale: at_end.Stale | None = None) -> None:
    """``update_where`` with the event's last statement (``storage.at_end``; at once outside an event).
    ``where`` names the row by its primary key; ``on_stale`` is awaited when the update changes no row."""
    row = (model._meta.db_table, where.get(model._meta.pk_attr))
    await write_at_end(at_end.AtEnd(*update_statement(model, values, where), (row,), on_stale))


def row_values(instance: Model, leave_out: Iterable[str] = ()) -> tuple[list[str], list[Any]]:
    """The columns of ``instance``'s row (quoted) and their values as tortoise's ``save`` writes them, but for
    its primary key and the fields named in ``leave_out``."""
    meta = instance._meta
    columns: list[str] = []
    params: list[Any] = []
    for name, column in meta.fields_db_projection.items():
        field = meta.fields_map[name]
        if not field.pk and name not in leave_out:
            columns.append(f'"{column}"')
            params.append(field.to_db_value(getattr(instance, name), instance))
    return columns, params


async def insert_at_end(instance: Model) -> None:
    """Insert ``instance`` (made as ``Model(**fields)``, unsaved) with the event's last statement
    (``storage.at_end``; at once outside an event): for a row whose id the event does not need."""
    columns, params = row_values(instance)
    text = f'INSERT INTO "{instance._meta.db_table}" ({", ".join(columns)}) VALUES ({", ".join("?" * len(params))})'
    await write_at_end(at_end.AtEnd(text, params))


async def write_at_end(write: at_end.AtEnd) -> None:
    """Queue ``write`` for the event's end, or run it now outside an event."""
    queued = at_end.pending()
    if queued is None:
        await run_at_end([write])
        return
    if any(row in earlier.rows for earlier in queued for row in write.rows):
        # one statement cannot write a row twice (only one of the writes would hold): the earlier ones go now
        await run_at_end(at_end.take())
    joined = queued[-1].joined(write) if queued else None
    if joined is not None:
        queued[-1] = joined
    else:
        queued.append(write)


async def write_queued_now() -> None:
    """Run now what handlers handed to the event's end: for a flow that reads those rows again in the event."""
    await run_at_end(at_end.take())


async def run_at_end(writes: Iterable[at_end.AtEnd]) -> None:
    """Run queued writes, each a statement, in their order."""
    for write in writes:
        if not await execute(write.text, write.params) and write.on_stale is not None:
            await write.on_stale()


# -- model instances from hand-written selects ---------------------------------------------


@cache
def _text_parsers(model: type[Model]) -> tuple[tuple[str, Callable[[str], Any]], ...]:
    """The date and datetime columns of ``model``, each with the standard library's parser of its ISO text."""
    parsers: dict[type, Callable[[str], Any]] = {datetime: datetime.fromisoformat, date: date.fromisoformat}
    meta = model._meta
    return tuple(
        (column, parsers[meta.fields_map[name].field_type])
        for name, column in meta.fields_db_projection.items()
        if meta.fields_map[name].field_type in parsers
    )


@cache
def _aliased(model: type[Model], alias: str) -> tuple[tuple[str, str], ...]:
    """Each column of ``model`` with its key in a row of ``columns_of(model, alias)``."""
    return tuple((c, f"{alias}.{c}") for c in model._meta.fields_db_projection.values())


def row_instance(model: type[M], alias: str, row: dict[str, Any]) -> M:
    """The ``model`` instance made of the columns ``"alias.column"`` of ``row``, as tortoise makes one from a query."""
    values = {column: row[key] for column, key in _aliased(model, alias)}
    for column, parse in _text_parsers(model):
        # SQLite returns dates and times as text: parsed here at a fraction of the CPU of tortoise's iso8601
        # parser; the field then treats the value as any other (an aware datetime moves to tortoise's zone)
        text = values[column]
        if isinstance(text, str):
            with contextlib.suppress(ValueError):
                values[column] = parse(text)
    return model._init_from_db(**values)


def columns_of(model: type[Model], alias: str) -> str:
    """Every column of ``model`` as ``"alias"."column" AS "alias.column"``: a select list ``row_instance`` reads."""
    return ", ".join(f'"{alias}"."{c}" AS "{alias}.{c}"' for c in model._meta.fields_db_projection.values())


@cache
def _select_from(model: type[Model]) -> str:
    return f'SELECT {columns_of(model, "t")} FROM "{model._meta.db_table}" "t" WHERE '


async def select(model: type[M], where: str, params: Sequence[Any] = ()) -> list[M]:
    """The ``model`` rows of ``SELECT … FROM "<table>" "t" WHERE <where>`` (``where`` names the table ``"t"``)."""
    return [row_instance(model, "t", row) for row in await fetch(_select_from(model) + where, params)]


async def select_one(model: type[M], where: str, params: Sequence[Any] = ()) -> M | None:
    """The first row ``select`` finds (``where`` may end with an ``ORDER BY``; ``LIMIT 1`` is added), or None."""
    found = await select(model, where + " LIMIT 1", params)
    return found[0] if found else None
