"""The triggers that make every directory write bump ``directory_version`` in its own transaction.

A trigger, not application code, because it cannot be forgotten: a handler, the config sync, a future
write path, a bulk update or an operator's hand-typed SQL all bump the version, and a rolled-back
write bumps nothing. Each change also records which row it touched in a ring of ``RING`` slots
(``directory_change``), so other processes evict that row only, not their whole cache.

PostgreSQL runs them as deferred constraint triggers: they fire at COMMIT, so the version row is locked
only while a writing transaction commits, not from its first directory write to its end. SQLite has one
writer at a time anyway and runs them at once.

An account's ``last_seen_at`` is no directory change: the engine writes it once an hour per person
(``storage.directory.mark_seen``), and bumping the version for it would make every process re-read that person
each time. An update that changes nothing else bumps nothing; the one reader of that column reads it from the
database (``storage.directory.last_seen``).

They are (re)installed by ``storage.db.upgrade`` after the migrations, under the same lock: migrations
are regenerated from the models (``scripts/makemigrations.py --reset``) and a trigger is no model.
"""

from __future__ import annotations

from tortoise.transactions import in_transaction

from storage.models import Identity

RING = 1024
"""How many recent changes are kept; a process that fell further behind empties its cache instead."""

TABLES = {"person": "person", "identity": "identity", "department": "department", "chat_group": "group", "group_binding": "binding"}
"""The directory tables (name → the change kind recorded). ``storage.directory`` caches exactly these: the
directory itself, and which groups follow each collaboration (read for every card a collaboration's groups get)."""

OWNERS = {"identity": "person_id", "group_binding": "collaboration_id"}
"""Tables whose rows are cached under another row's id (a person's accounts, a collaboration's groups): their
change names that row."""


NOT_A_CHANGE = "last_seen_at"
"""The identity column whose change alone is no directory change."""


def _changed_beyond_last_seen() -> str:
    """SQLite: the ``WHEN`` of an identity update that changed more than ``last_seen_at``."""
    columns = [c for c in Identity._meta.fields_db_projection.values() if c != NOT_A_CHANGE]
    return "WHEN " + " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in columns)


def _row_id(table: str, row: str) -> str:
    return f"{row}.{OWNERS.get(table, 'id')}"


def sqlite_statements() -> list[str]:
    # no INSERT OR IGNORE / OR REPLACE: inside a trigger the firing statement's conflict policy overrides them
    statements: list[str] = []

    def trigger(name: str, timing: str, table: str, kind: str, row_id: str, when: str = "") -> None:
        statements.append(f"DROP TRIGGER IF EXISTS {name}")
        statements.append(
            f"CREATE TRIGGER {name} AFTER {timing} ON {table} {when} BEGIN "
            "INSERT INTO directory_version (id, version) SELECT 1, 0 WHERE NOT EXISTS (SELECT 1 FROM directory_version WHERE id = 1); "
            "UPDATE directory_version SET version = version + 1 WHERE id = 1; "
            f"DELETE FROM directory_change WHERE slot = (SELECT version % {RING} FROM directory_version WHERE id = 1); "
            "INSERT INTO directory_change (slot, version, kind, row_id) "
            f"SELECT version % {RING}, version, '{kind}', {row_id} FROM directory_version WHERE id = 1; "
            "END"
        )

    for table, kind in TABLES.items():
        trigger(f"directory_{table}_insert", "INSERT", table, kind, _row_id(table, "NEW"))
        when = _changed_beyond_last_seen() if table == "identity" else ""
        trigger(f"directory_{table}_update", "UPDATE", table, kind, _row_id(table, "NEW"), when)
        trigger(f"directory_{table}_delete", "DELETE", table, kind, _row_id(table, "OLD"))
    for table, owner in OWNERS.items():  # a row moved to another owner: the one it left changed too
        trigger(
            f"directory_{table}_moved", f"UPDATE OF {owner}", table, TABLES[table], f"OLD.{owner}",
            f"WHEN OLD.{owner} <> NEW.{owner}",
        )
    return statements


def _owner_branches() -> str:
    """PostgreSQL: for each table of ``OWNERS``, the owners a row's change names (both, when it moved)."""
    return "".join(
        f"""    {"IF" if n == 0 else "ELSIF"} TG_TABLE_NAME = '{table}' THEN
        IF TG_OP = 'DELETE' THEN
            changed := ARRAY[OLD.{owner}];
        ELSIF TG_OP = 'UPDATE' AND OLD.{owner} <> NEW.{owner} THEN
            changed := ARRAY[NEW.{owner}, OLD.{owner}];
        ELSE
            changed := ARRAY[NEW.{owner}];
        END IF;
"""
        for n, (table, owner) in enumerate(OWNERS.items())
    )


_PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION directory_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed integer[];
    one integer;
    next_version bigint;
BEGIN
    IF TG_TABLE_NAME = 'identity' AND TG_OP = 'UPDATE'
            AND to_jsonb(OLD) - '{NOT_A_CHANGE}' = to_jsonb(NEW) - '{NOT_A_CHANGE}' THEN
        RETURN NULL;
    END IF;
{_owner_branches()}    ELSIF TG_OP = 'DELETE' THEN
        changed := ARRAY[OLD.id];
    ELSE
        changed := ARRAY[NEW.id];
    END IF;
    FOREACH one IN ARRAY changed LOOP
        INSERT INTO directory_version (id, version) VALUES (1, 1)
            ON CONFLICT (id) DO UPDATE SET version = directory_version.version + 1
            RETURNING version INTO next_version;
        INSERT INTO directory_change (slot, version, kind, row_id)
            VALUES (next_version % {RING}, next_version, TG_ARGV[0], one)
            ON CONFLICT (slot) DO UPDATE SET version = EXCLUDED.version, kind = EXCLUDED.kind, row_id = EXCLUDED.row_id;
    END LOOP;
    RETURN NULL;
END
$$
"""


def postgres_statements(existing: set[str]) -> list[str]:
    """The function is replaced every time (no lock on the tables); a trigger is created only where it is
    missing, so a process starting beside running ones takes no table lock. Its definition only names the
    function: change the function, or give a changed trigger a new name."""
    statements = [_PG_FUNCTION]
    for table, kind in TABLES.items():
        name = f"directory_{table}"
        if name not in existing:
            statements.append(
                f'CREATE CONSTRAINT TRIGGER {name} AFTER INSERT OR UPDATE OR DELETE ON "{table}" '
                f"DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION directory_changed('{kind}')"
            )
    return statements


async def install(*, sqlite: bool) -> None:
    """Create or replace the triggers on the ``default`` connection, in one transaction (idempotent: every
    process runs it at start, after the migrations)."""
    async with in_transaction("default") as conn:
        if sqlite:  # one statement each: executescript would commit first, and a writer could slip between
            for statement in sqlite_statements():
                await conn.execute_query(statement)
            return
        rows = await conn.execute_query_dict(
            "SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema()"
        )
        for statement in postgres_statements({str(r["tgname"]) for r in rows}):
            await conn.execute_script(statement)
