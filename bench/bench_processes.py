"""Benchmark: one process against several on one PostgreSQL, and the CPU each event costs bot and database.

    python bench/bench_processes.py --database-url 'postgres://postgres@/bench?host=/var/run/postgresql'
                                     [--events 1000] [--processes 1 3] [--no-sqlite] [--lanes 4] [--pairs 5]

The same mix as ``bench_dispatch.py`` (ten events per collaboration: create, accept, subtask, acknowledge, two
progress reports, acceptance, pass, help, show), through ``Engine.dispatch`` with the real workflows. Each
worker is an OS process of its own that sends its ``--events`` one after the other (a person waits for the
answer before the next command); N workers run at once on one database, so a run of N sends N × events.

For each run it prints the throughput of all workers together, p50/p99 per event, and the CPU each event cost:
the workers' own CPU plus that of the PostgreSQL server's processes (read from ``/proc`` — so the database must
run on this machine, and nothing else use it, for that column). One process also runs on each database with
``--lanes`` events in flight: its collaborations' cycles side by side, each cycle's events in order, as a process
serves several conversations at once (``dispatch_kit.in_lanes``). The runs of each ratio follow each other
(this VM's speed drifts within minutes); the two with events in flight do so ``--pairs`` times, and their ratio
is the median of the pairs'. Then the ratios the scale issue asks for: N processes against one in
throughput and in CPU per event, and — unless ``--no-sqlite`` — one process on PostgreSQL against one on an
SQLite file, with events in flight and one at a time. The database's tables are emptied before each run. The
delivery worker and the timers are not running: this measures committing events, the part every process shares.
The URL above reaches a server on this machine through its Unix socket, as a deployment on one machine should
(docs/deploy.md): a round trip through ``127.0.0.1`` costs both sides more.

A floor runs between them (``round_trip_floor``): the mix's round trips per event on PostgreSQL, and the CPU one
trivial round trip costs the bot and the server on this machine with ``--lanes`` in flight; the last line says how
many such round trips a PostgreSQL event's extra CPU over an SQLite one is worth.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_dispatch import Mix, config
from dispatch_kit import StatementCounter, in_lanes

from bot.app import settle_heap
from bot.clock import ManualClock
from bot.engine import Engine
from storage import db
from workflows.directory.sync import sync_directory
from workflows.registry import build_router

FIRST_DAY = date(2026, 11, 2)  # a Monday; the workers of a run raise their collaborations on days of their own


@dataclass
class WorkerResult:
    events: int
    wall: float
    cpu: float
    latencies: list[float]


def server_ticks() -> float:
    """CPU seconds (user + system) the PostgreSQL server's processes on this machine have used so far: the
    backends serving the workers (one per connection) and the server's own writers."""
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            head, tail = Path(f"/proc/{entry.name}/stat").read_text().rsplit(")", 1)
        except (FileNotFoundError, ProcessLookupError, ValueError):
            continue
        if head.endswith("(postgres"):
            fields = tail.split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


async def _engine_and_mix(url: str, day: date) -> tuple[Engine, Mix]:
    """This process's engine on ``url`` with its clock on ``day``, and a mix whose delivery ids no other worker
    uses; one event already sent, which opens the database connection before anything is measured."""
    await db.connect(url, run_migrations=False)
    clock = ManualClock(datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=1))
    engine = Engine(build_router(), config(url), clock)
    mix = Mix()
    mix.n = day.toordinal() * 1_000_000
    await engine.dispatch(mix.command("hanmei", "帮助"))
    return engine, mix


async def _worker_run(url: str, day: date, events: int, lanes: int, started, results, release) -> None:
    engine, mix = await _engine_and_mix(url, day)
    cycles = [mix.cycle(i, day) for i in range(events // 10)]
    settle_heap()  # as `collabbot run` does after start-up
    started.wait()
    cpu0, t0 = time.process_time(), time.perf_counter()
    latencies = await in_lanes(engine.dispatch, cycles, lanes)
    results.put((len(latencies), time.perf_counter() - t0, time.process_time() - cpu0, latencies))  # plain data across processes
    release.wait()  # the parent reads the server's CPU while this worker's connection still exists
    await db.close()


def _worker(url: str, day: date, events: int, lanes: int, started, results, release) -> None:
    asyncio.run(_worker_run(url, day, events, lanes, started, results, release))


def _reset_in_child(url: str) -> None:
    asyncio.run(_reset(url))


def _reset_apart(ctx, url: str) -> None:  # type: ignore[no-untyped-def]
    """Empty the database in a process of its own: tortoise keeps per-backend state in its models."""
    reset = ctx.Process(target=_reset_in_child, args=(url,))
    reset.start()
    reset.join()


async def _reset(url: str) -> None:
    """Empty the database and write the demo organisation's directory into it."""
    await db.connect(url)
    if url.startswith("postgres"):
        conn = db.connection()
        rows = await conn.execute_query_dict(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename NOT LIKE 'tortoise%'"
        )
        await conn.execute_script("TRUNCATE " + ", ".join(f'"{r["tablename"]}"' for r in rows) + " RESTART IDENTITY CASCADE")
    await sync_directory(config(url), datetime(2026, 11, 1, tzinfo=UTC))
    await db.close()


async def _round_trip_worker_run(url: str, lanes: int, count: int, started, results, release) -> None:
    """``count`` trivial round trips on each of ``lanes`` connections at once, straight through asyncpg (what one
    round trip costs on this machine); then, counted, the mix's round trips per event over 200 events."""
    import asyncpg

    connections = [await asyncpg.connect(url) for _ in range(lanes)]

    async def lane(connection) -> None:  # type: ignore[no-untyped-def]
        for _ in range(count):
            await connection.fetchval("SELECT $1::int", 1)

    await asyncio.gather(*(lane(c) for c in connections))  # warm: the statement prepared, the buffers grown
    started.wait()
    cpu0 = time.process_time()
    await asyncio.gather(*(lane(c) for c in connections))
    results.put((time.process_time() - cpu0) / (count * lanes))
    release.wait()  # the parent reads the server's CPU before the counted events add to it
    for connection in connections:
        await connection.close()
    day = FIRST_DAY + timedelta(days=30)
    engine, mix = await _engine_and_mix(url, day)
    counter = StatementCounter()
    counter.install(url)  # after the floor: the counter wraps asyncpg's query paths
    events = [event for i in range(20) for event in mix.cycle(i, day)]
    for event in events:
        await engine.dispatch(event)
    results.put((counter.queries + counter.control) / len(events))
    await db.close()


def _round_trip_worker(url: str, lanes: int, count: int, started, results, release) -> None:
    asyncio.run(_round_trip_worker_run(url, lanes, count, started, results, release))


def round_trip_floor(url: str, lanes: int, count: int = 5000) -> tuple[float, float, float]:
    """(the mix's round trips per event, bot CPU µs and server CPU µs per trivial round trip with ``lanes`` in
    flight). A PostgreSQL event costs the bot what an SQLite one does plus its round trips: this is their floor."""
    ctx = mp.get_context("spawn")
    _reset_apart(ctx, url)
    started, release, results = ctx.Barrier(2), ctx.Event(), ctx.Queue()
    worker = ctx.Process(target=_round_trip_worker, args=(url, lanes, count, started, results, release))
    worker.start()
    started.wait()
    db0 = server_ticks()
    bot = results.get()
    server = (server_ticks() - db0) / (count * lanes)
    release.set()
    per_event = results.get()
    worker.join()
    print(
        f"PostgreSQL round trip (SELECT 1, {lanes} in flight): CPU bot {bot * 1e6:5.1f} µs, server {server * 1e6:5.1f} µs;"
        f" the mix makes {per_event:.1f} an event"
    )
    return per_event, bot * 1e6, server * 1e6


@dataclass
class RunFigures:
    label: str
    rate: float
    cpu_per_event_ms: float
    bot_cpu_ms: float
    db_cpu_ms: float | None


def run(url: str, processes: int, events: int, first_day: date, label: str, lanes: int = 1) -> RunFigures:
    # every database step in a process of its own: tortoise keeps per-backend state in its models
    ctx = mp.get_context("spawn")
    _reset_apart(ctx, url)
    started, release, results = ctx.Barrier(processes + 1), ctx.Event(), ctx.Queue()
    workers = [
        ctx.Process(target=_worker, args=(url, first_day + timedelta(days=k), events, lanes, started, results, release))
        for k in range(processes)
    ]
    for w in workers:
        w.start()
    postgres = url.startswith("postgres")
    started.wait()
    db0 = server_ticks()
    t0 = time.perf_counter()
    done = [WorkerResult(*results.get()) for _ in workers]
    wall = time.perf_counter() - t0
    db_cpu = server_ticks() - db0 if postgres else None
    release.set()
    for w in workers:
        w.join()
    n = sum(r.events for r in done)
    latencies = sorted(x for r in done for x in r.latencies)
    bot_cpu = sum(r.cpu for r in done)
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
    per_event = (bot_cpu + (db_cpu or 0.0)) / n * 1000
    db_text = f"database {db_cpu / n * 1000:5.2f}" if db_cpu is not None else "database    —"
    print(
        f"{label:32s} {n:6d} events  {n / wall:7.0f} ev/s   p50 {p50:6.2f} ms   p99 {p99:6.2f} ms   "
        f"CPU/event {per_event:5.2f} ms (bot {bot_cpu / n * 1000:5.2f}, {db_text})"
    )
    return RunFigures(label, n / wall, per_event, bot_cpu / n * 1000, None if db_cpu is None else db_cpu / n * 1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="a PostgreSQL database on this machine (its tables are emptied)")
    parser.add_argument("--events", type=int, default=1000, help="events each worker sends (a multiple of 10)")
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--no-sqlite", action="store_true", help="skip the one-process runs on an SQLite file")
    parser.add_argument(
        "--lanes", type=int, default=4, help="also run one process with this many events in flight, on each database (0: no such run)"
    )
    parser.add_argument(
        "--pairs", type=int, default=5, help="how many times the two runs with events in flight follow each other (their ratio: the median)"
    )
    args = parser.parse_args()
    if not args.database_url.startswith("postgres"):
        parser.error("--database-url must be a PostgreSQL URL")
    asyncio.run(db.upgrade(db.normalize_url(args.database_url)))
    print(f"collabbot multi-process benchmark — {args.events} events per worker, full mix, {os.cpu_count()} cores")
    # each ratio's two runs one right after the other: this VM's speed drifts by a third within minutes
    figures: dict[str, RunFigures] = {}
    folder = tempfile.mkdtemp(prefix="collabbot-bench-")
    lane_pairs: list[tuple[RunFigures, RunFigures]] = []  # (SQLite, PostgreSQL), run one right after the other
    if args.lanes > 1:
        label = f"1 process, {args.lanes} lanes"
        if args.no_sqlite:
            run(args.database_url, 1, args.events, FIRST_DAY, f"PostgreSQL, {label}", args.lanes)
        for k in range(0 if args.no_sqlite else args.pairs):
            sqlite = run(f"sqlite://{folder}/lanes-{k}.db", 1, args.events, FIRST_DAY, f"SQLite, {label}", args.lanes)
            lane_pairs.append((sqlite, run(args.database_url, 1, args.events, FIRST_DAY, f"PostgreSQL, {label}", args.lanes)))
    floor = round_trip_floor(args.database_url, max(args.lanes, 1))
    if not args.no_sqlite:
        figures["sqlite"] = run(f"sqlite://{folder}/bench.db", 1, args.events, FIRST_DAY, "SQLite, 1 process")
    for n in args.processes:
        figures[str(n)] = run(args.database_url, n, args.events, FIRST_DAY, f"PostgreSQL, {n} process{'es' if n > 1 else ''}")
    one = figures.get("1")
    if one and "sqlite" in figures:
        print(f"ratio PostgreSQL / SQLite, one process, throughput: {one.rate / figures['sqlite'].rate:.2f}")
    if lane_pairs:
        ratios = [postgres.rate / sqlite.rate for sqlite, postgres in lane_pairs]
        print(
            f"ratio PostgreSQL / SQLite, one process with {args.lanes} events in flight, throughput: "
            f"{statistics.median(ratios):.2f} (the median of {len(ratios)} pairs: {', '.join(f'{r:.2f}' for r in ratios)})"
        )
        extra = statistics.median(postgres.bot_cpu_ms - sqlite.bot_cpu_ms for sqlite, postgres in lane_pairs)
        print(
            f"the bot's CPU for a PostgreSQL event over an SQLite one, {args.lanes} in flight (median): {extra:.2f} ms ="
            f" {extra * 1000 / floor[1]:.1f} trivial round trips (the mix makes {floor[0]:.1f})"
        )
    for n in args.processes:
        if one and n != 1:
            many = figures[str(n)]
            print(
                f"ratio {n} processes / 1 on PostgreSQL: throughput {many.rate / one.rate:.2f}, "
                f"CPU per event {many.cpu_per_event_ms / one.cpu_per_event_ms:.2f}"
            )


if __name__ == "__main__":
    main()
