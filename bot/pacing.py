"""The platforms' rate limits, one budget for all processes.

Each ``Pace`` a platform names for a delivery (a group, a member, an API) is one row in the
``rate_bucket`` table (``storage/models_delivery.py``). Why rows and compare-and-set rather than
advisory locks or leases: a decision is a read and one ``UPDATE … WHERE key = ? AND version = ?``
— nothing is held while the message is on the wire, it works the same on SQLite and PostgreSQL,
a process that dies holds nothing, and a restarted process reads what the others (or it, before
the crash) already spent. Two workers that decide on the same bucket at once cannot both win:
the loser reads again and waits.

Two shapes of limit (``Pace.burst``):

- a sliding window (no burst): at most ``limit`` sends in any ``per_seconds``. The state is the
  send times still inside the window, so the whole limit can go at once and the next send is due
  the moment the oldest one leaves the window — exactly what DingTalk (20 a minute per group)
  and WeCom (30 a minute, 1,000 an hour per member) enforce, used to the last message;
- a token bucket (``burst``): ``limit`` per ``per_seconds`` on average, at most ``burst`` at
  once, kept as a theoretical arrival time (GCRA) — Slack's one message a second per channel.

A throttle answer puts a hold on every bucket of the delivery until the time the platform said.
Times are integer microseconds, so a send exactly one window after another is never a rounding
error away from the limit.

Costs: each process remembers the state it last wrote and tries its update with that version
first, so a send costs one ``UPDATE`` per bucket while no other process touches the bucket; a
bucket that says "wait until T" is not read again before T. Rows waiting for the same bucket are
given successive slots (``slot``) so they do not all wake at T to find one token.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.transactions import in_transaction

from bot.platform import Pace
from storage.models_delivery import RateBucket

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SECOND = 1_000_000
MAX_CAS_TRIES = 20


def micros(when: datetime) -> int:
    return (when - EPOCH) // timedelta(microseconds=1)


def from_micros(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=value)


def wait_micros(pace: Pace, state: dict[str, Any], now: int) -> int:
    """How long (µs) a send at ``now`` must wait for ``pace``, given the bucket's ``state`` (0 = go)."""
    wait = max(0, int(state.get("hold", 0)) - now)
    if pace.burst is None:
        window = int(pace.per_seconds * SECOND)
        recent = [t for t in state.get("sent", []) if t > now - window]
        if len(recent) >= pace.limit:
            wait = max(wait, recent[-pace.limit] + window - now)
    else:
        interval = pace.per_seconds * SECOND / pace.limit
        tolerance = int((pace.burst - 1) * interval)
        tat = max(int(state.get("tat", 0)), now)
        wait = max(wait, tat - tolerance - now)
    return wait


def after_send(pace: Pace, state: dict[str, Any], now: int) -> dict[str, Any]:
    """The bucket's state once a send at ``now`` is counted."""
    new = dict(state)
    if pace.burst is None:
        window = int(pace.per_seconds * SECOND)
        new["sent"] = ([t for t in state.get("sent", []) if t > now - window] + [now])[-pace.limit :]
    else:
        interval = pace.per_seconds * SECOND / pace.limit
        new["tat"] = int(max(int(state.get("tat", 0)), now) + interval)
    if int(new.get("hold", 0)) <= now:
        new.pop("hold", None)
    return new


def after_hold(state: dict[str, Any], until: int) -> dict[str, Any]:
    new = dict(state)
    new["hold"] = max(int(state.get("hold", 0)), until)
    return new


@dataclass(slots=True)
class _Known:
    state: dict[str, Any]
    version: int
    not_before: int = 0  # this bucket said "wait": nothing can make it free sooner
    last_slot: int = 0  # the latest wake-up time handed to a row waiting for this bucket


@dataclass
class SharedBudget:
    """The rate budget of every ``Pace``, read and spent through the database."""

    known: dict[str, _Known] = field(default_factory=dict)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    conflicts: int = 0  # compare-and-set lost to another process (measured by the tests and benchmarks)

    async def try_take(self, paces: list[Pace], now: datetime) -> datetime | None:
        """Spend one send of every pace at ``now``; or, if one of them is spent, the time to try again.

        All or nothing: the buckets are written in one transaction, each guarded by its version.
        """
        async with self._lock:  # this process's rows are sent concurrently: one decision at a time here
            return await self._try_take(paces, now)

    async def _try_take(self, paces: list[Pace], now: datetime) -> datetime | None:
        at = micros(now)
        for _ in range(MAX_CAS_TRIES):
            waits: dict[str, int] = {}
            for pace in paces:
                known = self.known.get(pace.key)
                if known is not None and known.not_before > at:
                    waits[pace.key] = known.not_before - at
            if not waits:
                states = {pace.key: await self._state(pace.key) for pace in paces}
                for pace in paces:
                    wait_here = wait_micros(pace, states[pace.key].state, at)
                    if wait_here:
                        states[pace.key].not_before = at + wait_here
                        waits[pace.key] = wait_here
            if waits:
                return self._slot(paces, waits, at)
            if await self._write_all({pace.key: after_send(pace, states[pace.key].state, at) for pace in paces}):
                return None
            self.conflicts += 1
        return from_micros(at + SECOND)

    def _slot(self, paces: list[Pace], waits: dict[str, int], at: int) -> datetime:
        """When a row that must wait should wake: once its binding bucket frees up, after the rows already waiting on it.

        Only the buckets that hold the row back count: a row waiting for its group's minute must not
        push back the rows that wait only for the API's next second.
        """
        longest = max(waits.values())
        binding = [pace for pace in paces if waits.get(pace.key, 0) == longest]
        ready = at + longest
        for pace in binding:
            known = self.known.get(pace.key)
            if known is not None and known.last_slot >= ready:
                ready = known.last_slot + int(pace.per_seconds * SECOND / pace.limit)
        for pace in binding:
            known = self.known.get(pace.key)
            if known is not None:
                known.last_slot = max(known.last_slot, ready)
        return from_micros(ready)

    async def hold(self, paces: list[Pace], until: datetime) -> None:
        """A throttle answer: nothing goes on any of these buckets before ``until`` (from any process)."""
        value = micros(until)
        async with self._lock:
            for pace in paces:
                for _ in range(MAX_CAS_TRIES):
                    known = await self._state(pace.key)
                    if await self._write_all({pace.key: after_hold(known.state, value)}):
                        break
                self.known[pace.key].not_before = max(self.known[pace.key].not_before, value)

    def forget(self) -> None:
        """Drop what this process remembers (the next decision reads every bucket again)."""
        self.known.clear()

    async def _state(self, key: str) -> _Known:
        known = self.known.get(key)
        if known is not None:
            return known
        row = await RateBucket.get_or_none(key=key)
        if row is None:
            await RateBucket.bulk_create([RateBucket(key=key, state={}, version=0)], ignore_conflicts=True)
            row = await RateBucket.get(key=key)
        known = self.known[key] = _Known(dict(row.state or {}), row.version)
        return known

    async def _write_all(self, states: dict[str, dict[str, Any]]) -> bool:
        """Write every bucket's new state if none changed since we read it; else nothing, and forget them."""
        try:
            if len(states) == 1:  # one statement is atomic by itself
                [(key, state)] = states.items()
                known = self.known[key]
                if not await RateBucket.filter(key=key, version=known.version).update(state=state, version=known.version + 1):
                    raise _Conflict(key)
            else:
                async with in_transaction("default") as conn:
                    for key, state in states.items():
                        known = self.known[key]
                        updated = await RateBucket.filter(key=key, version=known.version).using_db(conn).update(
                            state=state, version=known.version + 1
                        )
                        if not updated:
                            raise _Conflict(key)
        except _Conflict:
            for key in states:
                self.known.pop(key, None)  # someone else changed one: read them again
            return False
        for key, state in states.items():
            known = self.known[key]
            known.state, known.version = state, known.version + 1
        return True


class _Conflict(Exception):
    """A bucket changed between our read and our write (another process spent it)."""
