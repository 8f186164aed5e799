"""The WAL file of the embedded SQLite database starts over, though its checkpoints run on a thread of their own.

SQLite starts the file over only when a write begins after a checkpoint that copied every frame; the thread's
checkpoints never do while the loop keeps committing (storage/sqlite_inline.py, ``Checkpointer``).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from storage.sqlite_inline import Checkpointer

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
