"""The operator commands on a real database: ``outbox list`` shows dead rows with their error, ``outbox retry``
sends them again, ``purge-sent`` deletes only old sent rows, ``timers list`` says how late a due row is,
``db current`` says the schema is up to date; wrong ids and short durations are refused clearly."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from storage import db
from storage.models import OutboxMessage, Timer
from tests.conftest import PG_URL, _truncate_pg

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str, url: str, **environ: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True, check=False, cwd=ROOT, timeout=120,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT), "COLLABBOT_DATABASE_URL": url, **environ},
    )


def rows(url: str) -> None:
    async def make() -> None:
        await db.connect(url, run_migrations=False)
        if PG_URL:
            await _truncate_pg()
        now = datetime.now(UTC)
        common = {"platform": "slack", "conversation_id": "C1LAUNCH", "kind": "text", "payload": {"type": "text", "body": "hi"}, "locale": "zh_CN"}
        await OutboxMessage.create(dedupe_key="dead-1", status="dead", attempts=8, last_error="SlackError('channel_not_found')", next_attempt_at=now, created_at=now - timedelta(hours=1), **common)
        await OutboxMessage.create(dedupe_key="sent-old", status="sent", attempts=1, next_attempt_at=now, created_at=now - timedelta(days=40), sent_at=now - timedelta(days=40), **common)
        await OutboxMessage.create(dedupe_key="sent-new", status="sent", attempts=1, next_attempt_at=now, created_at=now, sent_at=now - timedelta(days=2), **common)
        await Timer.create(key="standup:1:2026-11-23", kind="standup.prompt", due_at=now - timedelta(minutes=3), created_at=now)
        await Timer.create(key="report:1:2026-W48", kind="report.weekly.ask", due_at=now + timedelta(days=2), created_at=now)
        await db.close()

    asyncio.run(make())


def state(url: str) -> dict[str, tuple[str, int]]:
    async def read() -> dict[str, tuple[str, int]]:
        await db.connect(url, run_migrations=False)
        try:
            return {r.dedupe_key: (r.status, r.attempts) for r in await OutboxMessage.all()}
        finally:
            await db.close()

    return asyncio.run(read())


def test_outbox_and_timer_commands(database_url: str):
    rows(database_url)
    listed = cli("outbox", "list", url=database_url)
    assert listed.returncode == 0, listed.stderr
    assert "channel_not_found" in listed.stdout and "1 of 1 dead row(s)" in listed.stdout
    dead_id = listed.stdout.splitlines()[1].split()[0]
    assert f"retry with: collabbot outbox retry {dead_id}" in listed.stdout

    refused = cli("outbox", "retry", "999999", url=database_url)
    assert refused.returncode == 1 and "999999: no such outbox row" in refused.stderr
    retried = cli("outbox", "retry", dead_id, url=database_url)
    assert retried.returncode == 0 and f"{dead_id}: queued again" in retried.stdout
    assert state(database_url)["dead-1"] == ("pending", 0)
    again = cli("outbox", "retry", dead_id, url=database_url)
    assert again.returncode == 1 and "is pending, not dead" in again.stderr

    too_short = cli("outbox", "purge-sent", "--older-than", "2h", url=database_url)
    assert too_short.returncode == 2 and "at least 1d" in too_short.stderr
    bad = cli("outbox", "purge-sent", "--older-than", "soon", url=database_url)
    assert bad.returncode == 2 and "is not a duration" in bad.stderr
    dry = cli("outbox", "purge-sent", "--older-than", "30d", "--dry-run", url=database_url)
    assert "1 sent row(s) older than" in dry.stdout and "would be deleted" in dry.stdout
    purged = cli("outbox", "purge-sent", "--older-than", "30d", url=database_url)
    assert purged.returncode == 0 and "deleted 1 sent row(s)" in purged.stdout
    assert set(state(database_url)) == {"dead-1", "sent-new"}

    timers = cli("timers", "list", url=database_url)
    assert timers.returncode == 0
    lines = timers.stdout.splitlines()
    late = re.search(r"late (\d+)s", lines[1])
    assert "standup.prompt" in lines[1] and late is not None and int(late.group(1)) >= 180  # due three minutes ago
    assert "report.weekly.ask" in lines[2] and "2 of 2 pending timer(s)" in timers.stdout
    only = cli("timers", "list", "--kind", "report.*", url=database_url)
    assert "1 of 1 pending timer(s)" in only.stdout

    current = cli("db", "current", url=database_url)
    assert current.returncode == 0 and "pending:  none (up to date)" in current.stdout
