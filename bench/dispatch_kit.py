"""What the in-process benchmarks share: a counter of the SQL statements the database driver runs, the
event type of an event, and timing a list of events through a dispatch coroutine (p50/p99, events/s), one at a
time or several in flight (``in_lanes``).

Used by ``bench_dispatch.py``, ``bench_standup.py`` and ``bench_processes.py``.
"""

from __future__ import annotations

import asyncio
import dataclasses
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
        self.last = ""

    def see(self, sql: str) -> None:
        # SQLite reports a write again for each step of the triggers it fires (the directory's version
        # triggers): the same text right after itself is the same statement, not a new one
        repeated, self.last = sql == self.last, sql
        if repeated and not sql.lstrip().upper().startswith("SELECT"):
            return
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


async def in_lanes(dispatch, cycles: list[list[Event]], lanes: int) -> list[float]:
    """Each event's latency, the cycles run by ``lanes`` coroutines at once, as a process serves deliveries from
    several conversations side by side (the DingTalk stream handles up to eight frames at once): a lane takes the
    next cycle and sends its events one after the other. A cycle's first event raises a collaboration whose code
    depends on the order in which the lanes' first events commit: the code the cycle's events name is replaced by
    the one its audit entry gives. An event refused or failed stops the run."""
    queue = list(reversed(cycles))
    latencies: list[float] = []

    async def lane() -> None:
        while queue:
            events = queue.pop()
            planned = actual = None
            for event in events:
                if actual != planned and planned is not None and actual is not None:
                    event = _renamed(event, planned, actual)
                t0 = time.perf_counter()
                result = await dispatch(event)
                latencies.append(time.perf_counter() - t0)
                if result.error is not None or result.incident is not None:  # a benchmark of refusals measures nothing
                    raise RuntimeError(f"{kind_of(event)} failed in a lane: {result.error or result.incident}")
                if planned is None and result.outcome is not None and result.outcome.audit:
                    planned, actual = _planned_code(events), result.outcome.audit[0].subject

    await asyncio.gather(*(lane() for _ in range(lanes)))
    return latencies


def _planned_code(events: list[Event]) -> str | None:
    return next((e.value["code"] for e in events if e.value and "code" in e.value), None)


def _renamed(event: Event, planned: str, actual: str) -> Event:
    value = {k: v.replace(planned, actual) if isinstance(v, str) else v for k, v in event.value.items()} if event.value else event.value
    return dataclasses.replace(event, text=event.text.replace(planned, actual) if event.text else event.text, value=value)


def summary(total: float, latencies: list[float]) -> dict[str, float]:
    """Events per second over ``total`` seconds, and the p50 / p99 latency in milliseconds."""
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return {"rate": len(latencies) / total, "p50": statistics.median(ordered) * 1000, "p99": p99 * 1000}


def describe(name: str, total: float, latencies: list[float]) -> dict[str, float]:
    row = summary(total, latencies)
    print(f"{name:13s} {row['rate']:10.0f} ev/s   p50 {row['p50']:7.2f} ms   p99 {row['p99']:7.2f} ms")
    return row
