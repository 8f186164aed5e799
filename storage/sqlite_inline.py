"""The SQLite backend collabbot uses: tortoise's own client, with statements run on the event loop's thread.

tortoise's SQLite client sends every statement through aiosqlite's worker
thread, and that hop costs more than the statement itself: an event's twenty
short statements spent most of their time crossing threads (see
bench/README.md). SQLite statements on a WAL database take microseconds, so
here they run inline. The price: while another *process* holds the write lock,
this process's loop waits for it (up to ``busy_timeout``). collabbot keeps
transactions short and write-first, and one process owns the SQLite file;
several processes should share PostgreSQL instead.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

from tortoise.backends.sqlite.client import SqliteClient


class _Cursor:
    def __init__(self, cursor: sqlite3.Cursor):
        self._cursor = cursor

    async def close(self) -> None:
        self._cursor.close()

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()


class InlineConnection:
    """The part of ``aiosqlite.Connection`` tortoise's SQLite client uses, without the thread."""

    def __init__(self, connection: sqlite3.Connection):
        self._conn = connection

    @property
    def total_changes(self) -> int:
        return self._conn.total_changes

    async def execute(self, sql: str, parameters: Iterable[Any] | None = None) -> _Cursor:
        return _Cursor(self._conn.execute(sql, tuple(parameters or ())))

    async def execute_insert(self, sql: str, parameters: Iterable[Any] | None = None) -> tuple[int | None]:
        cursor = self._conn.execute(sql, tuple(parameters or ()))
        try:
            return (cursor.lastrowid,)
        finally:
            cursor.close()

    async def execute_fetchall(self, sql: str, parameters: Iterable[Any] | None = None) -> list[Any]:
        cursor = self._conn.execute(sql, tuple(parameters or ()))
        try:
            return cursor.fetchall()
        finally:
            cursor.close()

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> _Cursor:
        return _Cursor(self._conn.executemany(sql, parameters))

    async def executescript(self, script: str) -> _Cursor:
        return _Cursor(self._conn.executescript(script))

    async def commit(self) -> None:
        self._conn.commit()

    async def rollback(self) -> None:
        self._conn.rollback()

    async def close(self) -> None:
        self._conn.close()


class InlineSqliteClient(SqliteClient):
    async def create_connection(self, with_db: bool) -> None:
        if self._connection:
            return
        connection = sqlite3.connect(self.filename, isolation_level=None, check_same_thread=False)
        connection.row_factory = sqlite3.Row
        self._connection = InlineConnection(connection)  # type: ignore[assignment]
        for pragma, value in self.pragmas.items():
            connection.execute(f"PRAGMA {pragma}={value}").close()
        await self._post_connect()


client_class = InlineSqliteClient


def get_client_class(db_info: dict[str, Any]) -> type[SqliteClient]:
    return InlineSqliteClient
