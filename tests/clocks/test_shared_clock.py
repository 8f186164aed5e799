"""Two bot processes on one database sharing the clock: every due row is fired exactly once.

On PostgreSQL (CI's PostgreSQL pass sets COLLABBOT_TEST_DATABASE_URL) both processes claim rows with
``FOR UPDATE SKIP LOCKED``; on SQLite the same test runs, and the clock lease lets one process fire at a
time. Deliveries are counted at the simulator (its message table).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

from bot.clock import ManualClock
from storage import db
from storage.models import InboxEntry, Timer
from tests.clocks.harness import bot_messages, local, make_config, person, reset_database, running

SH = "Asia/Shanghai"
DAY = date(2026, 11, 24)
GROUPS = 6
ROOT = Path(__file__).resolve().parents[2]


def people() -> list[dict]:
    return [person(f"p{g}{n}", f"Person {g}-{n}") for g in range(GROUPS) for n in range(3)] + [person("lead", "Lead")]


async def wait_for(path: Path, limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while not await asyncio.to_thread(path.exists):
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        await asyncio.sleep(0.02)


async def test_two_processes_fire_every_due_row_once(database_url, tmp_path):
    await reset_database(database_url)
    groups = [{"platform": "simulator", "id": f"g{g}", "name": f"Team {g}", "timezone": SH} for g in range(GROUPS)]
    config = make_config(database_url, people=people(), groups=groups)
    clock = ManualClock(datetime(2026, 11, 23, 12, 0, tzinfo=UTC))
    async with running(config, clock) as (_app, sim):
        for g in range(GROUPS):
            who = ", ".join(f"p{g}{n}" for n in range(3))
            r = await sim.say("lead", f"standup set time: 09:30 cutoff: 11:00 participants: {who}", f"g{g}")
            assert r["ok"] and not r["error"], r

    barrier = tmp_path / "barrier"
    barrier.mkdir()
    spec = tmp_path / "spec.json"
    instants = [local(DAY, t, SH).isoformat() for t in ("09:31", "10:31", "11:01")]
    spec.write_text(json.dumps({"config": config.model_dump(mode="json"), "instants": instants, "barrier": str(barrier), "workers": 2}))
    procs = []
    for name in ("alpha", "beta"):
        procs.append(
            await asyncio.create_subprocess_exec(
                sys.executable, "-m", "tests.clocks.worker", str(spec), name,
                cwd=ROOT, env=dict(os.environ), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            )
        )
        await wait_for(barrier / f"ready-{name}")  # start one after the other; then they race at each instant
    results = []
    for proc in procs:
        out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
        assert proc.returncode == 0, err.decode()[-3000:]
        results.append(json.loads(out.decode().strip().splitlines()[-1]))

    await db.connect(database_url, run_migrations=False)
    try:
        due = await Timer.filter(due_at__lte=local(DAY, "11:01", SH)).values_list("key", "status")
        assert len([key for key, _status in due if key.startswith("standup:")]) == GROUPS * 3
        assert {status for _key, status in due} == {"fired"}
        # each row was dispatched under one delivery id (a second firing would have been a second event)
        assert await InboxEntry.filter(platform="timer").count() == len(due)
        assert sum(r["handled"] for r in results) == len(due), results
        for g in range(GROUPS):
            for n in range(3):
                assert len(await bot_messages(f"dm:p{g}{n}", "standup:")) == 1
                assert len(await bot_messages(f"dm:p{g}{n}", "standup-remind:")) == 1
            assert len(await bot_messages(f"g{g}", "standup-digest:")) == 1
    finally:
        await db.close()
