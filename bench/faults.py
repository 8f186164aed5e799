"""The fault harness: one command, bounded in time, loopback only. One line per scenario.

    python bench/faults.py                 # full sizes (about ten minutes on two cores)
    python bench/faults.py --small         # the sizes the test suite runs
    python bench/faults.py --database-url postgres://…   # the same on PostgreSQL (needed for "workers")
    python bench/faults.py --only kill,storm

Scenarios (every count is taken at the fake Slack, what people in the chat would have seen):

- ``inbound``: N probe events over Slack's HTTP events API, 5 % redelivered at once (some concurrently
  with the original), 1 % redelivered late, sixteen at a time;
- ``kill``: the same against a bot in its own process, killed with SIGKILL three times mid-burst and
  started again on the same database; everything Slack saw unanswered is redelivered, as Slack does;
- ``storm``: an outbound storm at the fake Slack (10 % 429 with Retry-After, 5 % 5xx, 2 % client
  time-outs after Slack posted);
- ``storm-dingtalk``, ``storm-wecom``: the same storm at the fake DingTalk and the fake WeCom, as each
  platform throttles (DingTalk: 130101 / QpsLimit and a 10-minute block; WeCom: 45009), in simulated time
  (``bench/fault_storms.py``); duplicates after an answer the fake lost are counted apart;
- ``workers``: three bot processes on one database behind a round-robin "load balancer", one of them
  killed and restarted mid-burst (PostgreSQL only: SQLite is one process's file);
- ``outage``: the database disappears (a TCP proxy cut on PostgreSQL; an exclusive lock held by another
  process on SQLite) for 30 s (3 s small) mid-burst, and comes back.

Targets: 0 lost, 0 duplicated, 0 reordered, 0 Retry-After violations, 0 crashes. Duplicates inside
the documented ambiguity window (a process killed after the platform accepted a message and before
the row was marked sent, where the platform offers no way to check) are counted separately.
"""

# ruff: noqa: E402 - the repository root goes on sys.path before the project is imported
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import sqlite3
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.fault_bot import config_for
from bench.fault_kit import CrashCounter, CuttableProxy, FaultySlack, Storm, Tally, pongs_by_channel, probe
from bench.fault_storms import run_storm
from bot.app import App
from bot.delivery import LEASE
from storage import db
from storage.models import OutboxMessage
from tests.slack.fake_slack import FakeSlack
from tests.slack.world import USERS

CHANNELS = [f"C{n:03d}PROBE" for n in range(100)]  # Slack paces about one message a second per channel
SENDERS = ["U1LI", "U2WANG", "U3LIU", "U4CHEN", "U6ANNA"]
FULL = {"inbound": 10_000, "kill": 1_500, "storm": 1_000, "workers": 1_500, "outage": 600, "outage_seconds": 30.0}
SMALL = {"inbound": 200, "kill": 100, "storm": 100, "workers": 100, "outage": 100, "outage_seconds": 3.0}
FULL |= {"storm-dingtalk": 1_000, "storm-wecom": 1_000}
SMALL |= {"storm-dingtalk": 100, "storm-wecom": 100}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Sender:
    """Slack's side of the events API: signed POSTs, redelivery of what was not acknowledged."""

    def __init__(self, fake: FakeSlack, urls: list[str]):
        self.fake = fake
        self.urls = urls
        self.turn = 0
        self.payloads: dict[int, dict[str, Any]] = {}
        self.channel_of: dict[int, str] = {}
        self.acked: set[int] = set()
        self.tries: dict[int, int] = defaultdict(int)
        self.statuses: dict[int, int] = defaultdict(int)

    def make(self, n: int) -> dict[str, Any]:
        channel = CHANNELS[n % len(CHANNELS)]
        payload = self.fake.mention(SENDERS[n % len(SENDERS)], channel, f"probe {n}", event_id=f"EvProbe{n:07d}")
        self.payloads[n], self.channel_of[n] = payload, channel
        return payload

    async def send(self, n: int) -> bool:
        """One delivery attempt of event ``n`` (a retry carries X-Slack-Retry-Num); True if acknowledged."""
        payload = self.payloads.get(n) or self.make(n)
        url = self.urls[self.turn % len(self.urls)]
        self.turn += 1
        retry = self.tries[n] or None
        self.tries[n] += 1
        try:
            status, _ = await asyncio.wait_for(self.fake.post(url, "event", payload, retry_num=retry), timeout=3.0)
        except (aiohttp.ClientError, TimeoutError, OSError):
            return False
        self.statuses[status] += 1
        if status == 200:
            self.acked.add(n)
            return True
        return False

    async def redeliver_unacked(self, rounds: int = 40, pause: float = 0.5) -> None:
        for _ in range(rounds):
            missing = [n for n in self.payloads if n not in self.acked]
            if not missing:
                return
            for chunk in range(0, len(missing), 16):
                await asyncio.gather(*(self.send(n) for n in missing[chunk : chunk + 16]))
            await asyncio.sleep(pause)

    def expected(self, committed: dict[str, list[int]]) -> dict[str, list[int]]:
        """Per channel, the probe numbers in commit order; events never committed last (they are lost)."""
        result: dict[str, list[int]] = {}
        for channel in CHANNELS:
            ordered = [n for n in committed.get(channel, []) if n in self.channel_of]
            rest = sorted(n for n, c in self.channel_of.items() if c == channel and n not in set(ordered))
            result[channel] = ordered + rest
        return result


async def committed_order(database_url: str) -> dict[str, list[int]]:
    """The probe answers' outbox rows per channel, in commit (id) order — read after the bot is gone."""
    await db.connect(database_url, run_migrations=False)
    try:
        rows = await OutboxMessage.all().order_by("id").values_list("conversation_id", "payload")
        statuses = await OutboxMessage.all().values_list("status", "last_error")
    finally:
        await db.close()
    if os.environ.get("FAULTS_DEBUG"):
        from collections import Counter

        print(Counter(s for s, _ in statuses), Counter(e for _, e in statuses).most_common(3), file=sys.stderr)
    found: dict[str, list[int]] = defaultdict(list)
    for conversation, payload in rows:
        body = str((payload or {}).get("body") or "") if isinstance(payload, dict) else ""
        if body.startswith("pong "):
            found[conversation].append(int(body.split()[1]))
    return found


async def wait_for_pongs(fake: FakeSlack, sender: Sender, within: float) -> None:
    deadline = time.monotonic() + within
    wanted = set(sender.payloads)
    while time.monotonic() < deadline:
        got = {n for ns in pongs_by_channel(fake).values() for n in ns}
        if wanted <= got:
            return
        await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def bot_in_process(database_url: str, fake: FakeSlack) -> AsyncIterator[App]:
    app = App(config_for({"database_url": database_url, "slack_api_url": fake.base_url}))
    app.engine.router.include(probe)
    await app.start(background=True)
    try:
        yield app
    finally:
        await app.stop()


class BotProcess:
    """``bench/fault_bot.py`` in its own process, killed with SIGKILL and started again."""

    def __init__(self, spec: dict[str, Any], log: Path):
        self.spec = spec
        self.log = log
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        handle = self.log.open("ab")
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.fault_bot", json.dumps(self.spec), cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=handle
        )
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), timeout=60)
        if not line.startswith(b"ready"):
            raise RuntimeError(f"the bot did not start: {line!r}; see {self.log}")

    def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), timeout=15)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()

    def crashes(self) -> int:
        return self.log.read_text(errors="replace").count("Traceback") if self.log.exists() else 0


async def burst(sender: Sender, numbers: list[int], *, concurrency: int = 16, between: Callable[[int], Awaitable[None]] | None = None) -> None:
    for start in range(0, len(numbers), concurrency):
        if between is not None:
            await between(start)
        await asyncio.gather(*(sender.send(n) for n in numbers[start : start + concurrency]))


def fresh_database(database_url: str | None, folder: Path, name: str) -> str:
    if database_url:
        return database_url
    return f"sqlite://{folder / (name + '.db')}"


async def reset_database(url: str) -> None:
    """An empty, migrated database for one scenario (PostgreSQL: the tables are emptied)."""
    await db.connect(url, run_migrations=True)
    try:
        if url.startswith("postgres"):
            from tests.conftest import _truncate_pg

            await _truncate_pg()
    finally:
        await db.close()


# ---------------------------------------------------------------- scenarios


async def scenario_inbound(size: int, database_url: str) -> Tally:
    tally = Tally("inbound (5 % redelivered)", events=size)
    fake = await FakeSlack(users=dict(USERS)).start()
    try:
        with CrashCounter() as crashes:
            async with bot_in_process(database_url, fake) as app:
                sender = Sender(fake, [f"http://127.0.0.1:{app.port}/slack/events"])
                numbers = list(range(size))
                again = numbers[:: 20]  # 5 %: redelivered at once, in the same concurrent batch
                late = numbers[7::100]  # 1 %: redelivered after everything else

                async def one(n: int) -> None:
                    await sender.send(n)
                    if n in again_set:
                        await sender.send(n)

                again_set = set(again)
                for start in range(0, size, 16):
                    await asyncio.gather(*(one(n) for n in numbers[start : start + 16]))
                await asyncio.gather(*(sender.send(n) for n in late))
                await sender.redeliver_unacked()  # Slack retries what got no 200 within 3 s
                await wait_for_pongs(fake, sender, within=60 + size / 20)
                await app.platforms["slack"].idle(within=10)  # type: ignore[attr-defined]
            tally.crashes = crashes.count
        tally.count_deliveries(sender.expected(await committed_order(database_url)), pongs_by_channel(fake))
        tally.notes.append(f"{sum(sender.tries.values()) - size - len(again) - len(late)} redeliveries after no ack within 3 s")
    finally:
        await fake.stop()
    return tally


async def scenario_kill(size: int, database_url: str, folder: Path, *, processes: int = 1, name: str = "kill") -> Tally:
    label = "kill -9 ×3, restart" if processes == 1 else f"{processes} processes, one killed"
    tally = Tally(label, events=size)
    fake = await FakeSlack(users=dict(USERS)).start()
    bots = [
        BotProcess({"database_url": database_url, "slack_api_url": fake.base_url, "port": free_port()}, folder / f"{name}-{i}.log")
        for i in range(processes)
    ]
    try:
        for bot in bots:
            await bot.start()
        sender = Sender(fake, [f"http://127.0.0.1:{b.spec['port']}/slack/events" for b in bots])
        thresholds = [size * k // 4 for k in (1, 2, 3)] if processes == 1 else [size // 2]

        async def killer() -> None:
            """Kill a bot the moment the burst passes each threshold, with requests in flight, and start it again."""
            for number, threshold in enumerate(thresholds):
                while len(sender.tries) < threshold:  # noqa: ASYNC110 - polls the burst's progress
                    await asyncio.sleep(0.005)
                victim = bots[number % len(bots)]
                victim.kill()
                await victim.start()

        killing = asyncio.create_task(killer())
        await burst(sender, list(range(size)), concurrency=8)
        await killing
        await sender.redeliver_unacked()
        # a row the killed process had claimed is sent again once its lease (60 s) runs out: wait past it
        await wait_for_pongs(fake, sender, within=LEASE.total_seconds() + 90 + size / 20)
        for bot in bots:
            await bot.stop()
        tally.crashes = sum(b.crashes() for b in bots)
        tally.count_deliveries(sender.expected(await committed_order(database_url)), pongs_by_channel(fake))
        tally.notes.append(f"{sum(sender.tries.values()) - size} redeliveries")
    finally:
        for bot in bots:
            bot.kill()
        await fake.stop()
    return tally


async def scenario_storm(size: int, database_url: str) -> Tally:
    tally = Tally("outbound storm (Slack)", events=size)
    fake = await FaultySlack(users=dict(USERS), storm=Storm()).start()
    try:
        with CrashCounter() as crashes:
            async with bot_in_process(database_url, fake) as app:
                sender = Sender(fake, [f"http://127.0.0.1:{app.port}/slack/events"])
                await burst(sender, list(range(size)))
                await sender.redeliver_unacked()  # Slack retries what got no 200 within 3 s
                await wait_for_pongs(fake, sender, within=120 + size / 5)
            tally.crashes = crashes.count
        tally.retry_after_violations = fake.violations
        tally.count_deliveries(sender.expected(await committed_order(database_url)), pongs_by_channel(fake))
        tally.notes.append(", ".join(f"{count} {kind}" for kind, count in sorted(fake.injected.items())) + " injected")
    finally:
        await fake.stop()
    return tally


def hold_sqlite_lock(path: str, seconds: float) -> None:
    """What another process does to the SQLite file: an exclusive lock, held for ``seconds`` (in a thread,
    since the bot's loop waits on the lock too)."""
    connection = sqlite3.connect(path, timeout=30)
    try:
        connection.execute("BEGIN EXCLUSIVE")
        time.sleep(seconds)
        connection.rollback()
    finally:
        connection.close()


def _via_proxy(url: str, port: int) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    host = f"127.0.0.1:{port}"
    return urlunsplit(parts._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host))


async def scenario_outage(size: int, seconds: float, database_url: str) -> Tally:
    tally = Tally(f"database gone {seconds:.0f} s", events=size)
    fake = await FakeSlack(users=dict(USERS)).start()
    proxy: CuttableProxy | None = None
    bot_url = database_url
    if database_url.startswith("postgres"):
        parts = urlsplit(database_url)
        proxy = await CuttableProxy(parts.hostname or "127.0.0.1", parts.port or 5432).start()
        bot_url = _via_proxy(database_url, proxy.port)
    holder: threading.Thread | None = None
    try:
        with CrashCounter():  # tracebacks logged while the database is gone are expected, not crashes
            async with bot_in_process(bot_url, fake) as app:
                sender = Sender(fake, [f"http://127.0.0.1:{app.port}/slack/events"])
                numbers = list(range(size))
                half = size // 2
                await burst(sender, numbers[:half])
                if proxy is not None:
                    proxy.cut()
                else:  # another process holds the file: SQLite answers "database is locked" after its busy timeout
                    holder = threading.Thread(target=hold_sqlite_lock, args=(database_url.removeprefix("sqlite://"), seconds))
                    holder.start()
                    await asyncio.sleep(0.2)
                gone_until = time.monotonic() + seconds
                await burst(sender, numbers[half:])
                while time.monotonic() < gone_until:  # Slack keeps redelivering what it saw unanswered
                    await sender.redeliver_unacked(rounds=1)
                    await asyncio.sleep(0.5)
                if proxy is not None:
                    proxy.restore()
                await sender.redeliver_unacked()
                await wait_for_pongs(fake, sender, within=60 + size / 20)
        refused = sum(count for status, count in sender.statuses.items() if status != 200)
        tally.notes.append(f"{refused} requests refused while it was gone")
        tally.count_deliveries(sender.expected(await committed_order(database_url)), pongs_by_channel(fake))
    finally:
        if holder is not None:
            await asyncio.to_thread(holder.join)
        if proxy is not None:
            await proxy.stop()
        await fake.stop()
    return tally


async def run(names: list[str], *, small: bool, database_url: str | None, folder: Path) -> list[Tally]:
    sizes = SMALL if small else FULL
    results: list[Tally] = []
    for name in names:
        url = fresh_database(database_url, folder, name)
        await reset_database(url)
        started = time.monotonic()
        if name == "inbound":
            tally = await scenario_inbound(sizes["inbound"], url)
        elif name == "kill":
            tally = await scenario_kill(sizes["kill"], url, folder)
        elif name == "storm":
            tally = await scenario_storm(sizes["storm"], url)
        elif name in ("storm-dingtalk", "storm-wecom"):
            tally = await run_storm(name, int(sizes[name]), url)
        elif name == "workers":
            if not url.startswith("postgres"):
                tally = Tally("3 processes, one killed", notes=["needs --database-url postgres://… (SQLite is one process's file)"])
            else:
                tally = await scenario_kill(sizes["workers"], url, folder, processes=3, name="workers")
        elif name == "outage":
            tally = await scenario_outage(sizes["outage"], sizes["outage_seconds"], url)
        else:
            raise SystemExit(f"unknown scenario {name}")
        tally.seconds = time.monotonic() - started
        print(tally.line(), flush=True)
        results.append(tally)
    return results


SCENARIOS = ["inbound", "kill", "storm", "storm-dingtalk", "storm-wecom", "workers", "outage"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", action="store_true", help="the small sizes the test suite runs")
    parser.add_argument("--database-url", default=os.environ.get("COLLABBOT_TEST_DATABASE_URL"))
    parser.add_argument("--only", default=",".join(SCENARIOS))
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    with tempfile.TemporaryDirectory(prefix="collabbot-faults-") as tmp:
        results = asyncio.run(run(args.only.split(","), small=args.small, database_url=args.database_url, folder=Path(tmp)))
    return 0 if all(t.clean for t in results) else 1


if __name__ == "__main__":
    sys.exit(main())
