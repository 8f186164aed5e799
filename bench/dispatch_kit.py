"""What the in-process benchmarks share: a counter of the SQL statements the database driver runs, the
event type of an event, and timing a list of events through a dispatch coroutine (p50/p99, events/s).

Used by ``bench_dispatch.py`` and ``bench_standup.py``.
"""

from __future__ import annotations

import statistics
import time

from bot.types import Event, EventKind
from storage import db


class StatementCounter:
    """Counts the statements the database driver is asked to run (SQLite: its trace callback; PostgreSQL:
    asyncpg's query paths), split into queries and transaction control."""

    CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")

    def __init__(self) -> None:
        self.queries = 0
        self.control = 0

    def see(self, sql: str) -> None:
        if sql.lstrip().upper().startswith(self.CONTROL):
            self.control += 1
        else:
            self.queries += 1

    def install(self, url: str) -> None:
        if url.startswith("sqlite"):
            raw = db.connection()._connection._conn  # type: ignore[attr-defined]
            raw.set_trace_callback(self.see)
            return
        import asyncpg

        counter = self
        original_execute, original_inner = asyncpg.Connection.execute, asyncpg.Connection._execute

        async def execute(self, query, *args, **kwargs):  # type: ignore[no-untyped-def]
            if not args:  # the simple-query path (transaction control); with arguments it goes through _execute
                counter.see(query)
            return await original_execute(self, query, *args, **kwargs)

        async def inner(self, query, args, *rest, **kwargs):  # type: ignore[no-untyped-def]
            counter.see(query)
            return await original_inner(self, query, args, *rest, **kwargs)

        asyncpg.Connection.execute = execute  # type: ignore[method-assign]
        asyncpg.Connection._execute = inner  # type: ignore[method-assign]


def kind_of(event: Event) -> str:
    if event.kind is EventKind.ACTION:
        return event.action or "click"
    word = (event.text or "").split(maxsplit=1)[0] if event.text else ""
    return word or event.kind.value


async def counted(dispatch, events: list[Event], counter: StatementCounter, kind=kind_of) -> dict[str, tuple[int, int, int]]:
    """Statements per event type (``kind(event)``): ``{kind: (events, queries, control)}``."""
    per: dict[str, list[int]] = {}
    for event in events:
        q0, c0 = counter.queries, counter.control
        await dispatch(event)
        row = per.setdefault(kind(event), [0, 0, 0])
        row[0] += 1
        row[1] += counter.queries - q0
        row[2] += counter.control - c0
    return {k: (v[0], v[1], v[2]) for k, v in per.items()}


async def timed(dispatch, events: list[Event], cpu: list[float] | None = None) -> tuple[float, list[float]]:
    """Total seconds and each event's latency; with ``cpu``, each event's CPU seconds in this process are
    appended to it (what an event costs, whatever else runs on the machine)."""
    latencies = []
    start = time.perf_counter()
    for event in events:
        c0, t0 = time.process_time(), time.perf_counter()
        await dispatch(event)
        latencies.append(time.perf_counter() - t0)
        if cpu is not None:
            cpu.append(time.process_time() - c0)
    return time.perf_counter() - start, latencies


def summary(total: float, latencies: list[float]) -> dict[str, float]:
    """Events per second over ``total`` seconds, and the p50 / p99 latency in milliseconds."""
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return {"rate": len(latencies) / total, "p50": statistics.median(ordered) * 1000, "p99": p99 * 1000}


def describe(name: str, total: float, latencies: list[float]) -> dict[str, float]:
    row = summary(total, latencies)
    print(f"{name:13s} {row['rate']:10.0f} ev/s   p50 {row['p50']:7.2f} ms   p99 {row['p99']:7.2f} ms")
    return row
