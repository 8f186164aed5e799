"""Benchmark: the dashboard's board page of a collaboration with 500 subtasks, served over HTTP, against a floor.

    python bench/bench_dashboard.py [--subtasks 500] [--requests 50]

One process, the demo organisation on a temporary SQLite file (WAL), the bot's own aiohttp server on 127.0.0.1:
  * floor — an empty aiohttp handler on the same server (what any request costs: HTTP parse, routing, socket);
  * board — ``/dashboard/collab/{id}`` opened with a signed link: the link checked, the reader's visibility,
    500 subtask rows with owners and colours, 1,000 timeline entries, acceptance history, minutes and the
    health table, rendered by Jinja2.
Latency is measured by the client around each GET (response body read), one request at a time.
Charts are separate image requests and not part of the page.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import tomllib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
from aiohttp import web

from bot.app import App
from bot.cli import DEMO_CONFIG
from bot.clock import ManualClock
from bot.config import from_dict
from bot.links import sign_link
from storage.models import (
    AcceptanceRequest,
    AuditEntry,
    Collaboration,
    Department,
    Person,
    RequestedDepartment,
    Subtask,
)

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
OWNERS = ("hanmei", "liuyang", "anna", "chenjie", "lilei")
ACTIONS = ("task.created", "task.acknowledged", "task.progress", "acceptance.submitted", "acceptance.passed")


async def seed(subtasks: int) -> tuple[int, int]:
    """One active collaboration of 市场部 asking 设计部 and 研发部, with ``subtasks`` subtasks and 1,000 audit entries."""
    people = {p.handle: p for p in await Person.all()}
    lilei = people["lilei"]
    collab = await Collaboration.create(code="XZB2026112301", title="新品发布物料", goal="12月18日前完成海报和落地页", raised_on=date(2026, 11, 23), deadline=date(2026, 12, 31), initiator=lilei, state="active", created_at=NOW)
    for code in ("design", "rd"):
        dept = await Department.get(code=code)
        await RequestedDepartment.create(collaboration=collab, department=dept, state="accepted", decided_at=NOW)
    rows = [
        Subtask(
            code=f"{collab.code}-{n:03d}", collaboration=collab, title=f"子任务 {n} 主视觉海报与落地页素材",
            owner=people[OWNERS[n % len(OWNERS)]], delivery_standard="300DPI", deadline=date(2026, 11, 20) + timedelta(days=n % 40),
            stage=("not_started", "in_progress", "in_review", "done")[n % 4], progress=(n * 7) % 101, created_at=NOW, updated_at=NOW,
        )
        for n in range(1, subtasks + 1)
    ]
    await Subtask.bulk_create(rows)
    tasks = list(await Subtask.filter(collaboration_id=collab.id).order_by("id").limit(50))
    await AcceptanceRequest.bulk_create(
        [AcceptanceRequest(subtask=t, attempt=1, submitted_by=lilei, submitted_at=NOW, state="passed", reviewer=lilei, decided_at=NOW + timedelta(hours=3)) for t in tasks]
    )
    await AuditEntry.bulk_create(
        [AuditEntry(at=NOW + timedelta(minutes=n), actor=lilei, platform="simulator", platform_user_id="lilei", action=ACTIONS[n % len(ACTIONS)], subject=f"{collab.code}-{1 + n % subtasks:03d}", detail={}) for n in range(1000)]
    )
    return collab.id, lilei.id


def summary(name: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return f"{name:<6} p50 {statistics.median(samples) * 1000:7.2f} ms   p95 {p95 * 1000:7.2f} ms   mean {statistics.fmean(samples) * 1000:7.2f} ms"


async def timed(session: aiohttp.ClientSession, url: str, count: int) -> list[float]:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        async with session.get(url) as response:
            await response.read()
            assert response.status == 200, (url, response.status)
        samples.append(time.perf_counter() - started)
    return samples


async def main(subtasks: int, requests: int) -> None:
    with DEMO_CONFIG.open("rb") as handle:
        data = tomllib.load(handle)
    with tempfile.TemporaryDirectory() as tmp:
        data["database"] = {"url": f"sqlite://{tmp}/bench.db"}
        data["server"] = {"host": "127.0.0.1", "port": 0}
        data["simulator"] = {"enabled": False}
        data["dashboard"] = {"enabled": True, "secret": "bench-secret-0123456789abcdef", "base_url": "http://127.0.0.1"}
        app = App(from_dict(data, environ={}), clock=ManualClock(NOW), platforms=[])
        assert app.web is not None

        async def floor(request: web.Request) -> web.Response:
            return web.Response(text="")

        app.web.router.add_get("/bench/floor", floor)
        await app.start(background=False)
        try:
            collab_id, person_id = await seed(subtasks)
            link = urlsplit(sign_link(app.config, scope=f"collab:{collab_id}", person_id=person_id, now=NOW))
            base = f"http://127.0.0.1:{app.port}"
            board_url = f"{base}{link.path}?{link.query}"
            async with aiohttp.ClientSession() as session:
                await timed(session, board_url, 3)  # warm-up: templates compiled, statements cached
                await timed(session, f"{base}/bench/floor", 3)
                floor_samples = await timed(session, f"{base}/bench/floor", requests)
                board_samples = await timed(session, board_url, requests)
                async with session.get(board_url) as response:
                    size = len(await response.read())
        finally:
            await app.stop()
    print(f"collabbot dashboard benchmark — board page of {subtasks} subtasks, {requests} requests each, SQLite WAL")
    print(summary("floor", floor_samples))
    print(summary("board", board_samples))
    print(f"page size: {size / 1024:.0f} KiB")
    print(f"ratio board / floor (p50): {statistics.median(board_samples) / statistics.median(floor_samples):.0f}")
    verdict = "met" if statistics.median(board_samples) < 0.2 else "NOT met"
    print(f"target: board page for {subtasks} subtasks under 200 ms — p50 {statistics.median(board_samples) * 1000:.0f} ms: {verdict}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subtasks", type=int, default=500)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(main(args.subtasks, args.requests))
