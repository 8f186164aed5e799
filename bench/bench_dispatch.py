"""Benchmark: in-process ``Engine.dispatch`` of a realistic mix of commands and clicks on SQLite WAL.

    python bench/bench_dispatch.py [--events 5000] [--stored 10000] [--database-url postgres://…]

Three runs in the same process, on the same machine state:
  * floor-ack   — a bare coroutine that only acknowledges the event (no framework, no database);
  * floor-engine — the same events through Engine.dispatch with handlers that do nothing
    (dedupe insert, person/group/locale middleware, one commit);
  * full        — the real workflows: create, accept, subtask, progress, acceptance, pass, help.
It prints events per second, p50/p99 latency per event (database work committed), the ratios
between the runs, the SQL statements per event (total, and per event type; BEGIN/COMMIT/SAVEPOINT
counted apart), and the peak RSS with ``--stored`` collaborations in the database.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import resource
import sys
import tempfile
import tomllib
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.dispatch_kit import StatementCounter, counted, describe, timed
from bot.app import settle_heap
from bot.cli import DEMO_CONFIG
from bot.clock import ManualClock
from bot.config import Config, from_dict
from bot.engine import Engine
from bot.router import Router
from bot.types import Conversation, Event, EventKind, Outcome
from storage import db
from storage.models import Collaboration, Person
from workflows.directory.sync import sync_directory
from workflows.registry import build_router

GROUP = Conversation("simulator", "launch")


def config(url: str) -> Config:
    with DEMO_CONFIG.open("rb") as handle:
        data = tomllib.load(handle)
    data["database"] = {"url": url}
    return from_dict(data, environ={})


class Mix:
    """A realistic cycle of ten events per collaboration, in the order people would send them."""

    def __init__(self) -> None:
        self.n = 0

    def _id(self) -> str:
        self.n += 1
        return f"bench-{self.n}"

    def command(self, person: str, text: str, conversation: Conversation = GROUP) -> Event:
        return Event(EventKind.COMMAND, "simulator", self._id(), conversation, actor_id=person, actor_name=person, text=text)

    def click(self, person: str, action: str, value: dict) -> Event:
        dm = Conversation("simulator", f"dm:{person}", is_direct=True)
        return Event(EventKind.ACTION, "simulator", self._id(), dm, actor_id=person, actor_name=person, action=action, value=value)

    def cycle(self, index: int, day: date) -> list[Event]:
        code = f"XZB{day:%Y%m%d}{index + 1:02d}"
        sub = f"{code}-01"
        return [
            self.command("lilei", f"新建协作\n标题：物料{index}\n目标：按时完成\n协作部门：设计部\n截止：2026-12-20\n优先级：高"),
            self.click("liuyang", "request.accept", {"code": code, "dept": "design", "round": 1}),
            self.command("lilei", f"任务 {code}\n标题：海报\n负责人：hanmei\n交付标准：300DPI\n截止：2026-12-10"),
            self.click("hanmei", "task.ack", {"code": sub}),
            self.command("hanmei", f"进度 {sub} 30% 已完成：草图"),
            self.command("hanmei", f"进度 {sub} 80% 已完成：初稿 问题：无"),
            self.command("hanmei", f"提交验收 {sub} 交付物：海报 https://files.example/{sub} v1"),
            self.click("wangfang", "acceptance.pass", {"code": sub, "attempt": 1}),
            self.command("hanmei", "帮助"),
            self.command("lilei", f"查看 {code}"),
        ]


# what an archived collaboration keeps below it, copied by the database from the stored collaborations' rows
# (``@at`` is the time they were written)
_ARCHIVED_ROWS = (
    """INSERT INTO "requested_department" ("collaboration_id", "department_id", "state", "round", "decided_by_id",
        "decided_at", "reason", "version")
    SELECT "c"."id", "d"."id", 'accepted', 1, "c"."initiator_id", @at, '', 1
    FROM "collaboration" "c" CROSS JOIN (SELECT "id" FROM "department" ORDER BY "id" LIMIT 2) "d"
    WHERE "c"."code" LIKE 'OLD%'""",
    """INSERT INTO "subtask" ("code", "collaboration_id", "title", "owner_id", "collaborators", "resources",
        "delivery_standard", "deadline", "stage", "progress", "priority", "depends_on", "reviewer_id", "version",
        "created_at", "updated_at")
    SELECT "c"."code" || '-0' || "k"."n", "c"."id", 'archived', "c"."initiator_id", '[]', '', 'x', '2025-02-01',
        'done', 100, 'medium', '[]', "c"."initiator_id", 1, @at, @at
    FROM "collaboration" "c" CROSS JOIN (SELECT 1 AS "n" UNION ALL SELECT 2 UNION ALL SELECT 3) "k"
    WHERE "c"."code" LIKE 'OLD%'""",
    """INSERT INTO "progress_update" ("subtask_id", "author_id", "stage", "progress", "done", "problems", "support",
        "next_step", "created_at")
    SELECT "s"."id", "s"."owner_id", 'in_progress', 50 * "k"."n", 'x', '', '', '', @at
    FROM "subtask" "s" CROSS JOIN (SELECT 1 AS "n" UNION ALL SELECT 2) "k"
    WHERE "s"."code" LIKE 'OLD%'""",
    """INSERT INTO "acceptance_request" ("subtask_id", "attempt", "deliverables", "statement", "self_check",
        "checklist", "submitted_by_id", "submitted_at", "state", "reviewer_id", "decided_at", "comments", "version")
    SELECT "s"."id", 1, '[]', '', '', '[]', "s"."owner_id", @at, 'passed', "s"."reviewer_id", @at, '', 1
    FROM "subtask" "s" WHERE "s"."code" LIKE 'OLD%'""",
)


async def store_collaborations(count: int, now: datetime) -> None:
    """Archived collaborations written before the runs, each with what a finished one keeps: two departments that
    accepted, three subtasks done, two progress reports and a passed acceptance for each (so a query that reads a
    whole table instead of one collaboration's rows shows here as it would in a year's database). The
    collaborations go a thousand at a time: the list of all of them at once would be the process's peak memory,
    not the bot's."""
    initiator = await Person.get(handle="lilei")
    async with db.transaction() as connection:
        for start in range(0, count, 1000):
            await Collaboration.bulk_create(
                [
                    Collaboration(
                        code=f"OLD{i:010d}", title=f"archived {i}", goal="x", raised_on=date(2025, 1, 1),
                        deadline=date(2025, 2, 1), initiator=initiator, state="archived", created_at=now,
                    )
                    for i in range(start, min(count, start + 1000))
                ]
            )
        for statement in _ARCHIVED_ROWS:
            await connection.execute_script(statement.replace("@at", f"'{now:%Y-%m-%d %H:%M:%S}+00:00'"))


def _create_schema(url: str) -> None:
    async def migrate() -> None:
        await db.connect(url)
        await db.close()

    asyncio.run(migrate())


def schema_created_apart(url: str) -> float:
    """Migrate the database in a process of its own, as a first start would; its peak RSS in MB. The benchmark's
    process then starts as every later start does, on a database with its schema: creating the schema of an empty
    database replays every migration's model state, a one-off peak of its own (bench/README.md)."""
    child = multiprocessing.get_context("spawn").Process(target=_create_schema, args=(url,))
    child.start()
    child.join()
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


async def run(events: int, stored: int, url: str, first_start_mb: float) -> None:
    clock = ManualClock(datetime(2026, 11, 23, 1, 0, tzinfo=UTC))
    cfg = config(url)
    await db.connect(url)
    if url.startswith("postgres"):
        from tests.conftest import _truncate_pg

        await _truncate_pg()
    await sync_directory(cfg, clock.now())
    await store_collaborations(stored, clock.now())
    mix = Mix()
    cycles = events // 10
    full_events = [e for i in range(cycles) for e in mix.cycle(i, date(2026, 11, 23))]
    floor_events = [e for i in range(cycles) for e in mix.cycle(i, date(2026, 11, 23))]

    async def ack(event: Event) -> None:
        return None

    floor_router = Router()

    @floor_router.command("noop")
    async def noop() -> Outcome:
        return Outcome()

    for word in ("新建协作", "任务", "进度", "提交验收", "帮助", "查看"):
        floor_router.canonical[word] = "noop"
    for action in ("request.accept", "task.ack", "acceptance.pass"):
        floor_router.action(action)(noop)

    full_engine = Engine(build_router(), cfg, clock)
    floor_engine = Engine(floor_router, cfg, clock)
    full_engine.services["calendar"].preload(clock.now().date())  # as `collabbot run` does at start
    settle_heap()  # as `collabbot run` does after start-up
    backend = "PostgreSQL" if url.startswith("postgres") else "SQLite WAL"
    print(f"collabbot dispatch benchmark — {len(full_events)} events, {stored} stored collaborations, {backend}")
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    ack_row = describe("floor-ack", *await timed(ack, full_events))
    floor_row = describe("floor-engine", *await timed(floor_engine.dispatch, floor_events))
    full_row = describe("full", *await timed(full_engine.dispatch, full_events))
    failures = await Collaboration.filter(state="active").count()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"ratio full / floor-engine throughput: {full_row['rate'] / floor_row['rate']:.2f}")
    print(f"ratio full / floor-ack throughput:    {full_row['rate'] / ack_row['rate']:.5f}")
    print(f"collaborations completed the cycle:    {await Collaboration.filter(code__startswith='XZB', state='active').count() + failures * 0}")
    print(f"peak RSS: {rss_mb:.0f} MB (a first start, creating the schema of an empty database: {first_start_mb:.0f} MB)")
    counter = StatementCounter()
    counter.install(url)
    sample = [e for i in range(cycles, cycles + 20) for e in mix.cycle(i, date(2026, 11, 23))]
    per = await counted(full_engine.dispatch, sample, counter)
    n = sum(v[0] for v in per.values())
    print(f"statements per event (mix of {n} events): {counter.queries / n:.1f} queries + {counter.control / n:.1f} transaction control")
    for kind, (count, queries, control) in sorted(per.items(), key=lambda kv: -kv[1][1] / kv[1][0]):
        print(f"  {kind:16s} {queries / count:5.1f} queries + {control / count:.1f} control")
    await db.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--stored", type=int, default=10000)
    parser.add_argument("--database-url", default=None, help="run on this database (PostgreSQL: its tables are emptied)")
    args = parser.parse_args()
    url = args.database_url or f"sqlite://{tempfile.mkdtemp(prefix='collabbot-bench-')}/bench.db"
    first_start_mb = schema_created_apart(url)
    asyncio.run(run(args.events, args.stored, url, first_start_mb))


if __name__ == "__main__":
    main()
