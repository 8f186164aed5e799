"""``collabbot export`` writes the same tables as the chat, to files (the real command, in a subprocess)."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import openpyxl

from storage import db

from .fixture import CODE, OTHER, seed


async def seeded(database_url: str) -> None:
    await db.connect(database_url, run_migrations=False)
    try:
        await seed()
    finally:
        await db.close()


def collabbot(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLABBOT_")}
    env["COLLABBOT_DATABASE_URL"] = database_url
    return subprocess.run([sys.executable, "-m", "bot.cli", "export", *args], capture_output=True, text=True, env=env, timeout=120, check=False)


def test_export_all_as_csv_and_one_as_xlsx_in_english(database_url: str, tmp_path: Path):
    asyncio.run(seeded(database_url))
    done = collabbot("all", "--format", "csv", "--out", str(tmp_path / "csv"), database_url=database_url)
    assert done.returncode == 0, done.stderr
    files = sorted(p.name for p in (tmp_path / "csv").iterdir())
    assert len(files) == 5 and all(name.endswith(".csv") for name in files)
    table1 = next(p for p in (tmp_path / "csv").iterdir() if "表1" in p.name).read_bytes()
    assert table1.startswith(b"\xef\xbb\xbf")
    assert [row[0] for row in csv.reader(io.StringIO(table1.decode("utf-8-sig")))] == ["任务编号", CODE, OTHER]

    done = collabbot(CODE, "--locale", "en", "--out", str(tmp_path / "xlsx"), database_url=database_url)
    assert done.returncode == 0, done.stderr
    book = openpyxl.load_workbook(tmp_path / "xlsx" / f"{CODE}.xlsx")
    assert book.worksheets[0]["A1"].value == "Task ID" and book.worksheets[0]["A2"].value == CODE


def test_unknown_collaboration_and_locale_are_refused(database_url: str, tmp_path: Path):
    asyncio.run(seeded(database_url))
    done = collabbot("XZB2099010101", "--out", str(tmp_path), database_url=database_url)
    assert done.returncode == 2 and "no collaboration 'XZB2099010101'" in done.stderr
    done = collabbot(CODE, "--locale", "fr", database_url=database_url)
    assert done.returncode == 2 and "unsupported locale" in done.stderr
    done = collabbot(CODE, "--format", "pdf", database_url=database_url)
    assert done.returncode == 2 and "invalid choice: 'pdf'" in done.stderr
    assert not list(tmp_path.iterdir())


def test_export_all_within_a_date_range(database_url: str, tmp_path: Path):
    asyncio.run(seeded(database_url))
    # both raised on 2026-09-24; CODE is due on 10-20, OTHER on 10-30, neither finished: only OTHER reaches 10-25
    done = collabbot("all", "--from", "2026-10-25", "--to", "2026-12-31", "--out", str(tmp_path), database_url=database_url)
    assert done.returncode == 0, done.stderr
    book = openpyxl.load_workbook(tmp_path / "collabbot-2026-10-25_2026-12-31.xlsx")
    assert [row[0] for row in book.worksheets[0].iter_rows(min_row=2, values_only=True)] == [OTHER]
    done = collabbot("all", "--to", "2026-09-01", "--out", str(tmp_path / "none"), database_url=database_url)
    assert done.returncode == 2 and "no collaboration falls within … – 2026-09-01" in done.stderr
    done = collabbot(CODE, "--from", "2026-10-01", database_url=database_url)
    assert done.returncode == 2 and "--from and --to go with 'all'" in done.stderr
    done = collabbot("all", "--from", "2026-10-05", "--to", "2026-10-01", database_url=database_url)
    assert done.returncode == 2 and "before --from" in done.stderr
    done = collabbot("all", "--from", "十月", database_url=database_url)
    assert done.returncode == 2 and "is not a date; write it as 2026-12-31" in done.stderr
    assert not (tmp_path / "none").exists()
