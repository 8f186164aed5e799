"""The SQLite backend collabbot uses: tortoise's own client, with statements run on the event loop's thread.

tortoise's SQLite client sends every statement through aiosqlite's worker
thread, and that hop costs more than the statement itself: an event's twenty
short statements spent most of their time crossing threads (see
bench/README.md). SQLite statements on a WAL database take microseconds, so
here they run inline. The price: while another *process* holds the write lock,
this process's loop waits for it (up to ``busy_timeout``). collabbot keeps
transactions short and write-first, and one process owns the SQLite file;
several processes should share PostgreSQL instead.

The WAL file is copied back into the database (a checkpoint, which writes and
syncs the database file) on a thread of its own, not by the commit that
happens to cross SQLite's threshold: on the loop's thread that commit took
6–8 ms instead of 0.2, about once every hundred events of the bench mix (see
bench/README.md). What is left on the loop's thread is a short checkpoint once
every 500 commits, which lets the WAL file start over (``Checkpointer``).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from tortoise.backends.sqlite.client import SqliteClient, SqliteTransactionWrapper
from tortoise.exceptions import IntegrityError, OperationalError
from tortoise.log import db_client_logger


class _Cursor:
    def __init__(self, cursor: sqlite3.Cursor):
        self._cursor = cursor

    async def close(self) -> None:
        self._cursor.close()

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()


class Checkpointer:
    """Checkpoints a WAL database on a thread of its own, once every ``every`` commits.

    A passive checkpoint neither waits for nor blocks the writer. But SQLite starts the WAL file over only when a
    write begins after a checkpoint that copied *every* frame, and while the thread copies, the loop keeps
    committing: alone, the thread's checkpoints would let the file grow without end. So once the file holds more
    than ``restart_frames`` frames, the writer's own connection copies the few frames committed during the
    thread's last checkpoint (a short checkpoint on the loop's thread, one in many), and its next write starts
    the file over: written again from its start, not trimmed (``storage.db.SQLITE_PRAGMAS``).
    """

    def __init__(self, filename: str, every: int = 500, restart_frames: int = 4_000):
        self._filename = filename
        self._every = every
        self._restart_frames = restart_frames
        self._commits = 0
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-checkpoint")
        self._connection: sqlite3.Connection | None = None
        self._running: Future[int] | None = None

    def committed(self, writer: sqlite3.Connection) -> None:
        """Called on the loop's thread after each commit of ``writer``, outside any transaction."""
        self._commits += 1
        running = self._running
        if running is not None and running.done():
            self._running = None
            if running.exception() is None and running.result() > self._restart_frames:
                writer.execute("PRAGMA wal_checkpoint(PASSIVE)").close()
        if self._commits >= self._every and self._running is None:
            self._commits = 0
            self._running = self._pool.submit(self._checkpoint)

    def _checkpoint(self) -> int:
        """A passive checkpoint; returns how many frames the WAL file held."""
        if self._connection is None:
            self._connection = sqlite3.connect(self._filename, isolation_level=None, check_same_thread=False)
        _busy, frames, _copied = self._connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return int(frames)

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def close(self) -> None:
        self._pool.submit(self._close)
        self._pool.shutdown(wait=True)


class InlineConnection:
    """The part of ``aiosqlite.Connection`` tortoise's SQLite client uses, without the thread."""

    def __init__(self, connection: sqlite3.Connection, checkpointer: Checkpointer | None = None):
        self._conn = connection
        self._checkpointer = checkpointer

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
            if self._checkpointer is not None and not self._conn.in_transaction:  # a statement that committed itself
                self._checkpointer.committed(self._conn)

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> _Cursor:
        return _Cursor(self._conn.executemany(sql, parameters))

    async def executescript(self, script: str) -> _Cursor:
        return _Cursor(self._conn.executescript(script))

    async def commit(self) -> None:
        self._conn.commit()
        if self._checkpointer is not None:
            self._checkpointer.committed(self._conn)

    async def rollback(self) -> None:
        self._conn.rollback()

    async def close(self) -> None:
        self._conn.close()
        if self._checkpointer is not None:
            self._checkpointer.close()


class InlineSqliteClient(SqliteClient):
    async def create_connection(self, with_db: bool) -> None:
        if self._connection:
            return
        # sqlite3 keeps 128 prepared statements by default; the bench mix alone uses more shapes than that
        connection = sqlite3.connect(self.filename, isolation_level=None, check_same_thread=False, cached_statements=1024)
        connection.row_factory = sqlite3.Row
        for pragma, value in self.pragmas.items():
            connection.execute(f"PRAGMA {pragma}={value}").close()
        checkpointer = None
        if connection.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
            connection.execute("PRAGMA wal_autocheckpoint=0").close()
            checkpointer = Checkpointer(self.filename)
        self._connection = InlineConnection(connection, checkpointer)  # type: ignore[assignment]
        await self._post_connect()


client_class = InlineSqliteClient


def transaction_connection(client: Any) -> sqlite3.Connection | None:
    """The sqlite3 connection under ``client`` when ``client`` is a transaction of an inline client, else None.

    Inside its transaction a statement may run on it directly: the transaction holds the client's lock, and an
    inline statement never yields to the loop. Outside one it may not (another task's transaction may be open).
    """
    if isinstance(client, SqliteTransactionWrapper):
        connection = client._connection
        if isinstance(connection, InlineConnection):
            return connection._conn
    return None


def fetch_dicts(connection: sqlite3.Connection, sql: str, params: list[Any]) -> tuple[int, list[dict[str, Any]]]:
    """Run one statement: how many rows it changed (as tortoise counts them) and the rows it returned; SQLite's
    errors raised as tortoise's and the statement logged, as tortoise's own client does."""
    if db_client_logger.isEnabledFor(logging.DEBUG):
        db_client_logger.debug("%s: %s", sql, params)
    start = connection.total_changes
    try:
        cursor = connection.execute(sql, params)
        try:
            rows = [dict(row) for row in cursor.fetchall()]
        finally:
            cursor.close()
    except sqlite3.OperationalError as exc:
        raise OperationalError(exc) from exc
    except sqlite3.IntegrityError as exc:
        raise IntegrityError(exc) from exc
    return (connection.total_changes - start) or len(rows), rows


def get_client_class(db_info: dict[str, Any]) -> type[SqliteClient]:
    return InlineSqliteClient
