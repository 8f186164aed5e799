"""Benchmark: the stand-up mix (status, answer, edit, digest) in collabbot against protomated/zulip-standup-bot.

    python bench/bench_standup.py --peer-path CLONE --peer-python PEER_VENV/bin/python [--rounds 30] [--status 20]
                                  [--participants 20] [--database-url postgres://…]

(or ``STANDUP_PEER_PATH`` / ``STANDUP_PEER_PYTHON`` in the environment; how to install the peer outside the
repository is in bench/README.md). Without the peer it says so and measures collabbot alone.

Both bots run one stand-up day per round for one group of ``--participants`` people, taking turns in the same
run (collabbot's day, the peer's day, collabbot's day, …), each on its own SQLite file in the same folder.
collabbot's day goes through ``Engine.dispatch`` in this process with the real stand-up workflow
(``workflows/standup``): its prompt timer fires (not timed), then

  * ``status`` — ``站会 状态`` in the group, ``--status`` times;
  * ``answer`` — each participant's answer in their direct chat (``昨天：… 今天：… 障碍：…``, free text);
  * ``edit``   — each participant changes their answer (the same message again, edited);
  * ``digest`` — the digest timer at the cut-off.

The peer's day (``bench/peer_standup.py``, run with the peer's own Python in its own process, in-process
calls of its message handler and its scheduler jobs) is the same day in its terms. Each command's latency
includes everything it wrote being committed. The script prints p50/p99, commands per second and the mean
CPU time of a command (this process's CPU: what a command costs even on a busy machine) for both, the ratio
collabbot/peer per command (of commands per second, and of CPU per command), and SQL statements per event for collabbot
(for the peer too, with its connections, from one more counted day outside the timed rounds).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.dispatch_kit import StatementCounter, counted, summary, timed
from bot.app import settle_heap
from bot.calendar import utc_at
from bot.clock import ManualClock
from bot.config import Config, from_dict
from bot.engine import DispatchResult, Engine
from bot.types import Conversation, Event, EventKind
from storage import db
from storage.models_clocks import Standup, StandupAnswer, StandupRun
from workflows.directory.sync import sync_directory
from workflows.registry import build_router
from workflows.standup.schedule import parse_hhmm

TZ = "Asia/Shanghai"
GROUP = Conversation("simulator", "standup-bench")
COMMANDS = ("status", "answer", "edit", "digest")
TARGET = 2.0
PEER_DRIVER = Path(__file__).resolve().parent / "peer_standup.py"
INSTALL = """the peer (protomated/zulip-standup-bot) is not installed{why}.
Install it outside the repository, then pass its paths (or set STANDUP_PEER_PATH / STANDUP_PEER_PYTHON):
    git clone https://github.com/protomated/zulip-standup-bot /tmp/peer/zulip-standup-bot
    python3 -m venv /tmp/peer/venv
    /tmp/peer/venv/bin/pip install -e /tmp/peer/zulip-standup-bot/zulip -e /tmp/peer/zulip-standup-bot/zulip_bots \\
        APScheduler==3.10.4 pytz holidays requests
    python bench/bench_standup.py --peer-path /tmp/peer/zulip-standup-bot --peer-python /tmp/peer/venv/bin/python
Measuring collabbot alone (no ratio)."""


def config(url: str, participants: int) -> Config:
    people = [{"id": f"p{i:02d}", "name": f"成员{i:02d}", "identities": {"simulator": f"p{i:02d}"}} for i in range(participants)]
    return from_dict(
        {
            "bot": {"timezone": TZ},
            "database": {"url": url},
            "people": people,
            "groups": [{"platform": "simulator", "id": GROUP.id, "name": "站会群", "timezone": TZ}],
        },
        environ={},
    )


class Peer:
    """The peer in its own process (its Python, its libraries), one JSON line per request."""

    def __init__(self, python: str, clone: str, database: str, participants: int) -> None:
        self.process = subprocess.Popen(
            [python, str(PEER_DRIVER), "--peer-path", clone, "--db", database, "--participants", str(participants)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        if self.request(None) != {"ready": True}:
            raise SystemExit("the peer did not start (its error is above)")

    def request(self, request: dict[str, Any] | None) -> Any:
        assert self.process.stdin is not None and self.process.stdout is not None
        if request is not None:
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit(f"the peer stopped (exit code {self.process.wait()}; its error is above)")
        return json.loads(line)

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"op": "quit"}) + "\n")
        self.process.stdin.close()
        self.process.wait(timeout=30)


def find_peer(path: str | None, python: str | None) -> tuple[str, str] | None:
    path = path or os.environ.get("STANDUP_PEER_PATH")
    python = python or os.environ.get("STANDUP_PEER_PYTHON") or sys.executable
    if not path:
        print(INSTALL.format(why=" (no --peer-path or STANDUP_PEER_PATH)"))
        return None
    module = Path(path) / "zulip_bots" / "zulip_bots" / "bots" / "standup" / "standup.py"
    if not module.is_file():
        print(INSTALL.format(why=f" at {path} (no {module.relative_to(path)})"))
        return None
    probe = subprocess.run([python, "-c", "import apscheduler, pytz, zulip_bots.test_lib"], capture_output=True, text=True)
    if probe.returncode != 0:
        print(INSTALL.format(why=f" for {python} (its libraries are missing: {probe.stderr.strip().splitlines()[-1:]})"))
        return None
    return path, python


class Day:
    """The events of one collabbot stand-up day, labelled by command."""

    def __init__(self, standup: Standup, participants: list[str], day: date, serial: int) -> None:
        self.standup, self.participants, self.day, self.serial = standup, participants, day, serial
        self.n = 0
        self.label: dict[str, str] = {}

    def _id(self, label: str) -> str:
        self.n += 1
        delivery = f"standup-bench-{self.day.isoformat()}-{self.n}"
        self.label[delivery] = label
        return delivery

    def timer(self, kind: str, label: str) -> Event:
        payload = {"standup": self.standup.id, "day": self.day.isoformat(), "version": self.standup.version}
        key = f"standup:{self.standup.group_id}:{self.day.isoformat()}:{label}"
        return Event(EventKind.TIMER, "timer", self._id(label), action=kind, timer_key=key, payload=payload)

    def say(self, label: str, person: str, text: str, conversation: Conversation = GROUP) -> Event:
        return Event(EventKind.COMMAND, "simulator", self._id(label), conversation, actor_id=person, actor_name=person, text=text)

    def dm(self, label: str, person: str, text: str) -> Event:
        return self.say(label, person, text, Conversation("simulator", f"dm:{person}", is_direct=True))

    def status(self, count: int) -> list[Event]:
        return [self.say("status", self.participants[i % len(self.participants)], "站会 状态") for i in range(count)]

    def answers(self) -> list[Event]:
        return [
            self.dm("answer", p, f"昨天：写完第 {self.serial} 天的规格 {p}\n今天：评审文案\n障碍：{'等法务确认' if i % 4 == 0 else '无'}")
            for i, p in enumerate(self.participants)
        ]

    def edits(self) -> list[Event]:
        return [
            self.dm("edit", p, f"昨天：写完第 {self.serial} 天的规格 {p}\n今天：评审文案和海报\n障碍：{'等法务确认' if i % 4 == 0 else '无'}")
            for i, p in enumerate(self.participants)
        ]


def checked(engine: Engine) -> Callable[[Event], Awaitable[DispatchResult]]:
    """``engine.dispatch`` that stops the bench when an event was refused, failed or taken for a duplicate."""

    async def dispatch(event: Event) -> DispatchResult:
        result = await engine.dispatch(event)
        if result.error is not None or result.incident or result.duplicate:
            raise SystemExit(f"collabbot: {event.text or event.action!r} failed: {result.error or result.incident or 'duplicate'}")
        return result

    return dispatch


class Collabbot:
    def __init__(self, engine: Engine, clock: ManualClock, standup: Standup, participants: list[str]) -> None:
        self.engine, self.clock, self.standup, self.participants = engine, clock, standup, participants
        self.dispatch = checked(engine)
        self.day = date(2026, 11, 22)
        self.serial = 0

    def next_day(self) -> Day:
        calendar = self.engine.services["calendar"]
        self.day += timedelta(days=1)
        while not calendar.is_working_day(self.day):
            self.day += timedelta(days=1)
        self.serial += 1
        return Day(self.standup, self.participants, self.day, self.serial)

    def at(self, hhmm: str, seconds: int = 30) -> None:
        self.clock.set(utc_at(self.day, parse_hhmm(hhmm), TZ) + timedelta(seconds=seconds))

    async def round(self, status: int) -> dict[str, dict[str, list[float]]]:
        """One day: ``{"wall": {command: [seconds…]}, "cpu": {command: [seconds…]}}``."""
        day = self.next_day()
        self.at(self.standup.time)
        await self.dispatch(day.timer("standup.prompt", "prompt"))
        wall: dict[str, list[float]] = {}
        cpu: dict[str, list[float]] = {command: [] for command in COMMANDS}
        wall["status"] = (await timed(self.dispatch, day.status(status), cpu["status"]))[1]
        wall["answer"] = (await timed(self.dispatch, day.answers(), cpu["answer"]))[1]
        wall["edit"] = (await timed(self.dispatch, day.edits(), cpu["edit"]))[1]
        self.at(self.standup.cutoff)
        wall["digest"] = (await timed(self.dispatch, [day.timer("standup.digest", "digest")], cpu["digest"]))[1]
        await self.check(day)
        return {"wall": wall, "cpu": cpu}

    async def check(self, day: Day) -> None:
        run = await StandupRun.get(standup_id=self.standup.id, day=day.day)
        answers = await StandupAnswer.filter(run_id=run.id, status="answered", edits=1, late=False).count()
        if run.state != "closed" or answers != len(self.participants):
            raise SystemExit(f"collabbot: the run of {day.day} is {run.state} with {answers} edited answers of {len(self.participants)}")

    async def count(self, url: str, status: int) -> dict[str, tuple[int, int, int]]:
        """Statements per command over one more day (not timed)."""
        counter = StatementCounter()
        counter.install(url)
        day = self.next_day()
        self.at(self.standup.time)
        await self.dispatch(day.timer("standup.prompt", "prompt"))
        events = day.status(status) + day.answers() + day.edits()
        per = await counted(self.dispatch, events, counter, kind=lambda e: day.label[e.delivery_id])
        self.at(self.standup.cutoff)
        per.update(await counted(self.dispatch, [day.timer("standup.digest", "digest")], counter, kind=lambda e: "digest"))
        await self.check(day)
        return per


async def set_up(url: str, participants: int, clock: ManualClock) -> tuple[Engine, Standup, list[str]]:
    cfg = config(url, participants)
    await db.connect(url)
    if url.startswith("postgres"):
        from tests.conftest import _truncate_pg

        await _truncate_pg()
    await sync_directory(cfg, clock.now())
    engine = Engine(build_router(), cfg, clock)
    engine.services["calendar"].preload(clock.now().date())  # as `collabbot run` does at start
    handles = [f"p{i:02d}" for i in range(participants)]
    setup = Event(
        EventKind.COMMAND, "simulator", "standup-bench-setup", GROUP, actor_id=handles[0], actor_name=handles[0],
        text="站会 设置\n时间：09:30\n截止：11:00\n参与人：" + "，".join(f"成员{i:02d}" for i in range(participants)),
    )
    await checked(engine)(setup)
    standup = await Standup.get(active=True)
    return engine, standup, handles


def row(times: list[float]) -> dict[str, float]:
    return summary(sum(times), times)


Samples = dict[str, dict[str, list[float]]]  # "wall" / "cpu" → command → seconds per command


def report(ours: Samples, theirs: Samples | None) -> list[tuple[str, float, float]]:
    """The table; returns (command, ratio of commands per second, ratio of CPU per command) collabbot/peer."""
    print()
    head = f"{'command':8s} {'n':>5s}  {'collabbot p50':>13s} {'p99':>9s} {'cmd/s':>6s} {'CPU':>8s}"
    if theirs:
        head += f"  {'peer n':>6s} {'p50':>8s} {'p99':>9s} {'cmd/s':>6s} {'CPU':>8s}  {'collabbot/peer':>14s} {'by CPU':>7s}"
    print(head)
    ratios = []
    for command in COMMANDS:
        a, a_cpu = row(ours["wall"][command]), statistics.mean(ours["cpu"][command]) * 1000
        line = f"{command:8s} {len(ours['wall'][command]):5d}  {a['p50']:10.2f} ms {a['p99']:6.2f} ms {a['rate']:6.0f} {a_cpu:5.2f} ms"
        if theirs:
            b, b_cpu = row(theirs["wall"][command]), statistics.mean(theirs["cpu"][command]) * 1000
            ratio, by_cpu = a["rate"] / b["rate"], b_cpu / a_cpu
            ratios.append((command, ratio, by_cpu))
            line += (
                f"  {len(theirs['wall'][command]):6d} {b['p50']:5.2f} ms {b['p99']:6.2f} ms {b['rate']:6.0f} {b_cpu:5.2f} ms"
                f"  {ratio:13.2f}× {by_cpu:6.2f}×"
            )
        print(line)
    return ratios


async def run(args: argparse.Namespace) -> None:
    folder = tempfile.mkdtemp(prefix="collabbot-bench-standup-")
    url = args.database_url or f"sqlite://{folder}/collabbot.db"
    found = find_peer(args.peer_path, args.peer_python)
    peer = Peer(found[1], found[0], f"{folder}/peer.db", args.participants) if found else None
    clock = ManualClock(datetime(2026, 11, 22, 16, 0, tzinfo=UTC))
    engine, standup, handles = await set_up(url, args.participants, clock)
    settle_heap()  # as `collabbot run` does after start-up
    bot = Collabbot(engine, clock, standup, handles)
    backend = "PostgreSQL" if url.startswith("postgres") else "SQLite WAL"
    print(f"stand-up benchmark — {args.rounds} days, {args.participants} participants, {args.status} status commands a day; "
          f"collabbot on {backend}, the peer on its own SQLite")
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, load average {os.getloadavg()[0]:.2f}")
    ours: Samples = {"wall": defaultdict(list), "cpu": defaultdict(list)}
    theirs: Samples = {"wall": defaultdict(list), "cpu": defaultdict(list)}
    for index in range(args.warmup + args.rounds):
        mine = await bot.round(args.status)
        other = peer.request({"op": "round", "status": args.status}) if peer else {"wall": {}, "cpu": {}}
        if index < args.warmup:
            continue
        for measure in ("wall", "cpu"):
            for command in COMMANDS:
                ours[measure][command] += mine[measure][command]
                theirs[measure][command] += other[measure].get(command, [])
    ratios = report(ours, theirs if peer else None)
    all_ours = [t for c in COMMANDS for t in ours["wall"][c]]
    print(f"{'mix':8s} {len(all_ours):5d}   {statistics.median(all_ours) * 1000:10.2f} ms {'':8s} {len(all_ours) / sum(all_ours):8.0f}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    per = await bot.count(url, args.status)
    peer_counts = peer.request({"op": "count", "status": args.status}) if peer else {}
    n = sum(v[0] for v in per.values())
    queries = sum(v[1] for v in per.values())
    control = sum(v[2] for v in per.values())
    print(f"\ncollabbot statements per event (one day, {n} events): {queries / n:.1f} queries + {control / n:.1f} transaction control")
    for command in COMMANDS:
        count, q, c = per[command]
        line = f"  {command:8s} {q / count:5.1f} queries + {c / count:.1f} control"
        if command in peer_counts:
            p = peer_counts[command]
            line += f"    peer: {p.get('queries', 0):4.1f} queries + {p.get('control', 0):4.1f} PRAGMA/COMMIT on {p.get('connections', 0):.1f} connections"
        print(line)
    if peer:
        peer.close()
        slow = [c for c, r, _cpu in ratios if r < TARGET]
        slow_cpu = [c for c, _r, by_cpu in ratios if by_cpu < TARGET]
        print(f"\ntarget: collabbot ≥ {TARGET:.0f}× the peer per command — commands per second: "
              + ("met" if not slow else f"not met for {', '.join(slow)}")
              + "; CPU per command: " + ("met" if not slow_cpu else f"not met for {', '.join(slow_cpu)}"))
    await db.close()
    shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=30, help="stand-up days measured per bot")
    parser.add_argument("--warmup", type=int, default=2, help="days run first and not measured")
    parser.add_argument("--status", type=int, default=20, help="status commands a day")
    parser.add_argument("--participants", type=int, default=20)
    parser.add_argument("--peer-path", default=None, help="a clone of protomated/zulip-standup-bot (or STANDUP_PEER_PATH)")
    parser.add_argument("--peer-python", default=None, help="the Python of the peer's virtualenv (or STANDUP_PEER_PYTHON)")
    parser.add_argument("--database-url", default=None, help="run collabbot on this database (PostgreSQL: its tables are emptied)")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
