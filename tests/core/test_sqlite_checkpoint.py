"""The WAL file of the embedded SQLite database starts over, though its checkpoints run on a thread of their own,
and is written again from its start rather than trimmed.

SQLite starts the file over only when a write begins after a checkpoint that copied every frame; the thread's
checkpoints never do while the loop keeps committing (storage/sqlite_inline.py, ``Checkpointer``).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from storage import db, sql
from storage.sqlite_inline import Checkpointer
from tests.conftest import PG_URL

ROW = "站会" * 1500  # 9 KB of text: a few pages a commit


def _writer(path: Path) -> sqlite3.Connection:
    writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "wal_autocheckpoint=0", "journal_size_limit=16384"):
        writer.execute(f"PRAGMA {pragma}").close()
    writer.execute("CREATE TABLE note (body TEXT)")
    return writer


def _commit(writer: sqlite3.Connection) -> None:
    writer.execute("BEGIN")
    writer.execute("INSERT INTO note (body) VALUES (?)", (ROW,))
    writer.execute("COMMIT")


def test_the_wal_file_starts_over_after_the_threads_checkpoints(tmp_path: Path) -> None:
    writer = _writer(tmp_path / "bot.db")
    checkpointer = Checkpointer(str(tmp_path / "bot.db"), every=200, restart_frames=100)
    # a reader's snapshot stands for the commits that land while the thread copies: its checkpoint cannot copy
    # the frames committed after the snapshot, as it cannot copy those committed during its run
    reader = sqlite3.connect(tmp_path / "bot.db", isolation_level=None)
    try:
        for _ in range(100):
            _commit(writer)
            checkpointer.committed(writer)
        reader.execute("BEGIN")
        reader.execute("SELECT COUNT(*) FROM note").fetchall()
        for _ in range(100):  # the 200th commit hands a checkpoint to the thread
            _commit(writer)
            checkpointer.committed(writer)
        assert checkpointer._running is not None
        checkpointer._running.result()  # wait for it (not for time)
        reader.execute("ROLLBACK")
        _commit(writer)
        assert os.path.getsize(tmp_path / "bot.db-wal") > 1024 * 1024  # not started over: frames were left
        checkpointer.committed(writer)  # the thread is done and the file is long: the writer copies what is left
        _commit(writer)  # so this write starts the file over (and journal_size_limit trims it)
        wal = os.path.getsize(tmp_path / "bot.db-wal")
        assert wal < 128 * 1024, f"the WAL file holds {wal} bytes"
        assert writer.execute("SELECT COUNT(*) FROM note").fetchone()[0] == 202
    finally:
        reader.close()
        checkpointer.close()
        writer.close()
    check = sqlite3.connect(tmp_path / "bot.db")
    assert check.execute("SELECT COUNT(*) FROM note").fetchone()[0] == 202
    check.close()


@pytest.mark.skipif(bool(PG_URL), reason="SQLite's WAL file: the SQLite pass runs it")
async def test_the_bots_wal_file_is_written_again_from_its_start_not_trimmed(database: str) -> None:
    """tortoise trims the file to 16 KB each time it starts over: freeing 25 MB of it took 5–7 ms of CPU in the
    commit that did it, once every 500 commits, and every commit after it grew the file again. The bot keeps
    up to 64 MB of it and writes it again from its start."""
    assert (await sql.fetch("PRAGMA journal_size_limit"))[0]["journal_size_limit"] == 64 << 20
    wal = Path(database.removeprefix("sqlite://").split("?", 1)[0] + "-wal")

    written = 0

    async def commits(count: int) -> None:
        nonlocal written
        for _ in range(count):
            written += 1
            async with db.transaction():
                await sql.execute('INSERT INTO "sequence" ("name", "value") VALUES (?, 1)', (f"wal-{written}",))

    await commits(60)
    grown = _size(wal)
    assert grown > 200 * 1024
    assert (await sql.fetch("PRAGMA wal_checkpoint(PASSIVE)"))[0]["busy"] == 0  # every frame copied: the next write starts over
    await commits(1)
    assert _size(wal) == grown  # written again from its start, not trimmed
    await commits(59)
    assert _size(wal) <= grown + 64 * 1024  # the same file, not a longer one


def _size(path: Path) -> int:
    return path.stat().st_size
