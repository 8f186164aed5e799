"""A row with the rows it points to, read in one hand-written join.

tortoise's ``select_related`` reads the same in one statement, but building and decoding its join costs more
than the separate selects it saves (bench/README.md: about 1.3 ms against 0.6 ms for a subtask with its
collaboration, owner and reviewer). Here the statement is written once per shape and kept; each row becomes
model instances through tortoise's own ``_init_from_db`` (the same conversions as any query), and each
joined row is set on its parent as if ``select_related`` had loaded it (``records.loaded`` / ``related``).
People are the exception: they come from the directory's per-process cache, which costs less than decoding
them from the join again in every event.
"""

from __future__ import annotations

from typing import Any, TypeVar

from tortoise.models import Model

from storage import db, directory
from storage.directory_cache import copy_of
from storage.models import Person
from storage.sql import columns_of, row_instance, run_query

M = TypeVar("M", bound=Model)

# (path, model, foreign key field on the parent, nullable); the parent of "department__head" is "department"
Joins = tuple[tuple[str, type[Model], str, bool], ...]

_STATEMENTS: dict[tuple[Any, ...], str] = {}


def _alias(path: str) -> str:
    return f"j_{path}" if path else "base"


def _statement(
    base: type[Model], joins: Joins, where: tuple[tuple[str, int], ...], order: tuple[str, ...], limit: bool, lock: bool, postgres: bool
) -> str:
    key = (base, joins, where, order, limit, lock, postgres)
    sql = _STATEMENTS.get(key)
    if sql is not None:
        return sql
    shapes = [("", base), *((path, model) for path, model, _fk, _outer in joins)]
    columns = [columns_of(model, _alias(path)) for path, model in shapes]
    sql = f'SELECT {", ".join(columns)} FROM "{base._meta.db_table}" "base"'
    for path, model, fk, outer in joins:
        parent = _parent(path)
        parent_model = base if not parent else next(m for p, m, _f, _o in joins if p == parent)
        fk_column = parent_model._meta.fields_db_projection[f"{fk}_id"]
        sql += (
            f' {"LEFT JOIN" if outer else "JOIN"} "{model._meta.db_table}" "{_alias(path)}"'
            f' ON "{_alias(path)}"."{model._meta.fields_db_projection[model._meta.pk_attr]}" = "{_alias(parent)}"."{fk_column}"'
        )
    conditions = []
    numbers = iter(range(1, 100_000))

    def placeholder() -> str:
        return f"${next(numbers)}" if postgres else "?"

    for name, count in where:
        field, _, operator = name.partition("__")
        column = f'"base"."{base._meta.fields_db_projection[field]}"'
        if operator == "in":
            conditions.append(f'{column} IN ({", ".join(placeholder() for _ in range(count))})' if count else "1 = 0")
        else:
            conditions.append(f'{column} {"<>" if operator == "not" else "="} {placeholder()}')
    if conditions:
        sql += " WHERE " + " AND ".join(conditions)
    if order:
        sql += " ORDER BY " + ", ".join(f'"base"."{base._meta.fields_db_projection[name]}"' for name in order)
    if limit:
        sql += " LIMIT 1"
    if lock and postgres:
        sql += ' FOR UPDATE OF "base"'
    _STATEMENTS[key] = sql
    return sql


def _parent(path: str) -> str:
    return path.rsplit("__", 1)[0] if "__" in path else ""


def _build(base: type[Model], joins: Joins, row: dict[str, Any]) -> dict[str, Model | None]:
    """The row's instances by path ("" for the base row), each set on its parent."""

    def instance(path: str, model: type[Model]) -> Model | None:
        alias = _alias(path)
        if row[f"{alias}.{model._meta.pk_attr}"] is None:  # an outer join that found nothing
            return None
        return row_instance(model, alias, row)

    made: dict[str, Model | None] = {"": instance("", base)}
    for path, model, fk, _outer in joins:
        parent = made[_parent(path)]
        made[path] = child = instance(path, model)
        if parent is not None:
            setattr(parent, f"_{fk}", child)
    return made


async def joined(
    base: type[M], joins: Joins, where: dict[str, Any], *, order: tuple[str, ...] = (), first: bool = False, lock: bool = False
) -> list[M]:
    """The ``base`` rows matching ``where`` (field → value; a ``__not`` suffix for ``<>``, ``__in`` for a list),
    each with its ``joins`` loaded; ``lock``: ``FOR UPDATE OF`` the base rows on PostgreSQL (SQLite has one writer).

    A joined person comes from the directory (``storage.directory``, cached per process) instead of the join.
    """
    connection = db.connection()
    postgres = connection.capabilities.dialect == "postgres"
    in_sql = tuple(join for join in joins if join[1] is not Person)
    from_cache = tuple(join for join in joins if join[1] is Person)
    shape = tuple((name, len(value) if name.endswith("__in") else 1) for name, value in where.items())
    sql = _statement(base, in_sql, shape, order, first, lock, postgres)
    params: list[Any] = []
    for name, value in where.items():
        field = base._meta.fields_map[name.split("__", 1)[0]]
        params += [field.to_db_value(v, base) for v in value] if name.endswith("__in") else [field.to_db_value(value, base)]
    rows = await run_query(connection, sql, params)
    built = [_build(base, in_sql, row) for row in rows]
    if from_cache:
        await _set_people(built, from_cache)
    return [made[""] for made in built]  # type: ignore[misc]


async def _set_people(built: list[dict[str, Model | None]], joins: Joins) -> None:
    """Set each joined person from the directory (its cache), one read for the people it lacks."""
    wanted = {getattr(made[_parent(path)], f"{fk}_id") for made in built for path, _m, fk, _o in joins if made[_parent(path)] is not None}
    people = await directory.people(wanted, shared=True)  # each is copied below
    for made in built:
        for path, _model, fk, _outer in joins:
            parent = made[_parent(path)]
            if parent is not None:
                found = people.get(getattr(parent, f"{fk}_id"))
                made[path] = person = copy_of(found) if found is not None else None
                setattr(parent, f"_{fk}", person)
