"""Ack latency in Slack HTTP mode: collabbot against a bare slack-bolt app that only acks, in the same run.

    python bench/bench_ack.py                 # 50, 200 and 500 requests/s, without and with a 10,000-row backlog
    python bench/bench_ack.py --rates 50 200 --backlog 10000 --seconds 4

Loopback only, bounded in time. Four processes: the fake Slack (tests/slack/fake_slack.py, the Web API
both bots call), collabbot (``App`` in Slack HTTP mode on a fresh SQLite file, its delivery worker and
timers running in the background on the system clock), the bare bolt app (an ``AsyncApp`` whose four
listeners only ``ack()``) and this process, which sends signed requests open-loop at a fixed rate — a
slash command, a ``block_actions`` click, a ``view_submission`` and an ``app_mention`` event in turn —
to each app one after the other and times each answer. The backlog is outbox rows that wait for their
send slot (replies only their reader sees, held to 100 a minute by Slack's chat.postEphemeral tier);
before the load, the collabbot process's CPU is measured over ``--idle`` seconds with that backlog and
no traffic.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.slack.fake_slack import BOT_TOKEN, SIGNING_SECRET, FakeSlack  # noqa: E402

KINDS = ("command", "click", "submission", "event")
CHANNEL = "C1LAUNCH"
USER = "U1LI"


# -- the three servers (each runs in its own process) -----------------------------------------


async def serve_fake(port_file: Path) -> None:
    from tests.slack.world import USERS

    fake = await FakeSlack(users=dict(USERS)).start()
    await asyncio.to_thread(port_file.write_text, str(fake.port))
    await asyncio.Event().wait()


async def serve_collabbot(port_file: Path, api_url: str, database: Path, backlog: int) -> None:
    import logging

    from bot.app import App, settle_heap
    from bot.config import from_dict
    from bot.types import Text
    from storage.models import OutboxMessage
    from tests.slack.world import ORG

    logging.basicConfig(level=logging.WARNING)
    config = from_dict(
        {
            "database": {"url": f"sqlite://{database}"},
            "server": {"host": "127.0.0.1", "port": 0},
            "slack": {"mode": "http", "bot_token": BOT_TOKEN, "signing_secret": SIGNING_SECRET, "api_url": api_url},
            **ORG,
        },
        environ={},
    )
    app = App(config)
    await app.start()
    settle_heap()  # as `collabbot run` does
    if backlog:
        now = app.clock.now()
        payload = Text("backlog", ephemeral=True).to_json()
        rows = [
            OutboxMessage(
                dedupe_key=f"backlog:{n}",
                platform="slack",
                conversation_id=f"C{n % 100:03d}BACKLOG",
                recipient=USER,
                kind="text",
                payload=payload,
                locale="zh_CN",
                next_attempt_at=now,
                created_at=now,
            )
            for n in range(backlog)
        ]
        await OutboxMessage.bulk_create(rows, batch_size=1000)
        app.delivery.kick()
    await asyncio.to_thread(port_file.write_text, str(app.port))
    await asyncio.Event().wait()


async def serve_bare(port_file: Path, api_url: str) -> None:
    import re

    from aiohttp import web
    from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
    from slack_bolt.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    bolt = AsyncApp(
        client=AsyncWebClient(token=BOT_TOKEN, base_url=api_url),
        signing_secret=SIGNING_SECRET,
        process_before_response=True,
    )

    async def only_ack(ack: Any) -> None:
        await ack()

    bolt.command("/collab")(only_ack)
    bolt.action(re.compile(".*"))(only_ack)
    bolt.view(re.compile(".*"))(only_ack)
    bolt.event("app_mention")(only_ack)

    async def handle(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    web_app = web.Application()
    web_app.router.add_post("/slack/events", handle)
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    await asyncio.to_thread(port_file.write_text, str(site._server.sockets[0].getsockname()[1]))  # type: ignore[union-attr]
    await asyncio.Event().wait()


# -- the load --------------------------------------------------------------------------------


def request_body(builder: FakeSlack, kind: str, n: int) -> tuple[str, str]:
    """(content type, body) of the ``n``-th request of ``kind``, as Slack sends it."""
    if kind == "command":
        return "application/x-www-form-urlencoded", urlencode(builder.slash(USER, CHANNEL, "help"))
    if kind == "event":
        return "application/json", json.dumps(builder.mention(USER, CHANNEL, "help", event_id=f"EvBench{n:08d}"))
    if kind == "click":
        message = {
            "channel": CHANNEL,
            "ts": f"1700000000.{n:06d}",
            "text": "card",
            "blocks": [{"type": "actions", "block_id": "b", "elements": [{"type": "button", "action_id": "request.accept", "text": {"type": "plain_text", "text": "接受"}, "value": json.dumps({"code": "XZB2099010101", "dept": "rd", "round": 1})}]}],
        }
        payload = builder.click(USER, message, "request.accept")
    else:
        view = {"id": f"V{n:08d}", "type": "modal", "callback_id": "request.new", "private_metadata": json.dumps({"channel": CHANNEL}), "blocks": []}
        payload = builder.submit(USER, view, {})
    return "application/x-www-form-urlencoded", urlencode({"payload": json.dumps(payload)})


async def load(url: str, builder: FakeSlack, rate: int, seconds: float) -> dict[str, list[float]]:
    """Send ``rate`` requests a second for ``seconds``, open loop; the latency of each answer, by kind."""
    latencies: dict[str, list[float]] = {kind: [] for kind in KINDS}
    failures: dict[str, int] = {kind: 0 for kind in KINDS}
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as session:

        async def one(n: int) -> None:
            kind = KINDS[n % len(KINDS)]
            content_type, body = request_body(builder, kind, n)
            timestamp = int(time.time())
            headers = {
                "Content-Type": content_type,
                "X-Slack-Request-Timestamp": str(timestamp),
                "X-Slack-Signature": FakeSlack.sign(body, timestamp),
            }
            started = time.perf_counter()
            try:
                async with session.post(url, data=body.encode(), headers=headers) as response:
                    await response.read()
                    if response.status != 200:
                        failures[kind] += 1
            except (aiohttp.ClientError, TimeoutError):
                failures[kind] += 1
            latencies[kind].append((time.perf_counter() - started) * 1000)

        total = int(rate * seconds)
        start = time.perf_counter()
        tasks = []
        for n in range(total):
            delay = start + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(n)))
        await asyncio.gather(*tasks)
    latencies["_failures"] = [float(sum(failures.values()))]
    return latencies


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- the driver --------------------------------------------------------------------------------


class Server:
    def __init__(self, *args: str):
        self.port_file = Path(tempfile.mktemp(prefix="bench-ack-port-"))
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve", *args, "--port-file", str(self.port_file)],
            cwd=ROOT,
            env={k: v for k, v in os.environ.items() if "PROXY" not in k.upper()},
        )

    async def port(self, within: float = 60.0) -> int:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.port_file.exists() and self.port_file.read_text().strip():
                return int(self.port_file.read_text())
            if self.process.poll() is not None:
                raise RuntimeError(f"server {self.process.args} exited with {self.process.returncode}")
            await asyncio.sleep(0.1)
        raise RuntimeError("a server did not start")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.port_file.unlink(missing_ok=True)


async def run(args: argparse.Namespace) -> list[str]:
    lines = [
        f"collabbot ack benchmark — Slack HTTP mode, loopback; {', '.join(map(str, args.rates))} requests/s; "
        f"{args.seconds:.0f} s per rate; request kinds in turn: {', '.join(KINDS)}",
        f"{'backlog':>7} {'app':<9} {'rate':>5} {'kind':<10} {'n':>5} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'>3 s':>5}",
    ]
    fake = Server("fake")
    api_url = f"http://127.0.0.1:{await fake.port()}/api/"
    builder = FakeSlack()
    builder.port = int(api_url.split(":")[2].split("/")[0])
    try:
        for backlog in args.backlog:
            with tempfile.TemporaryDirectory() as folder:
                bot = Server("collabbot", "--api-url", api_url, "--database", f"{folder}/bench.db", "--backlog", str(backlog))
                bare = Server("bare", "--api-url", api_url)
                try:
                    urls = {
                        "collabbot": f"http://127.0.0.1:{await bot.port()}/slack/events",
                        "bare-bolt": f"http://127.0.0.1:{await bare.port()}/slack/events",
                    }
                    await asyncio.sleep(args.settle)  # the backlog is looked at once and parked behind its queues' heads
                    before = cpu_seconds(bot.process.pid)
                    await asyncio.sleep(args.idle)
                    idle = (cpu_seconds(bot.process.pid) - before) / args.idle * 100
                    lines.append(f"idle collabbot with a {backlog:,}-row backlog, no traffic: {idle:.1f} % of a core over {args.idle:.0f} s")
                    for rate in args.rates:
                        for name, url in urls.items():
                            await load(url, builder, min(rate, 20), 1.0)  # warm up (first auth.test, imports)
                            measured = await load(url, builder, rate, args.seconds)
                            failures = int(measured.pop("_failures")[0])
                            everything = [v for values in measured.values() for v in values]
                            for kind in (*KINDS, "all"):
                                values = everything if kind == "all" else measured[kind]
                                late = sum(v > 3000 for v in values)
                                lines.append(
                                    f"{backlog:>7} {name:<9} {rate:>5} {kind:<10} {len(values):>5} {percentile(values, 50):>8.1f} "
                                    f"{percentile(values, 99):>8.1f} {max(values, default=float('nan')):>8.1f} {late:>5}"
                                )
                            if failures:
                                lines.append(f"        {name} at {rate}/s: {failures} answers were not HTTP 200")
                            print("\n".join(lines[-5:]), flush=True)
                            await asyncio.sleep(1.0)
                finally:
                    bot.stop()
                    bare.stop()
    finally:
        fake.stop()
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", type=int, nargs="+", default=[50, 200, 500])
    parser.add_argument("--seconds", type=float, default=4.0, help="load per rate and app")
    parser.add_argument("--backlog", type=int, nargs="+", default=[0, 10_000])
    parser.add_argument("--idle", type=float, default=10.0, help="seconds of no traffic to measure the idle CPU over")
    parser.add_argument("--settle", type=float, default=8.0, help="seconds after the start before the idle CPU is measured")
    parser.add_argument("--serve", choices=["fake", "collabbot", "bare"])
    parser.add_argument("--port-file", type=Path)
    parser.add_argument("--api-url")
    parser.add_argument("--database", type=Path)
    args = parser.parse_args()
    if args.serve == "fake":
        asyncio.run(serve_fake(args.port_file))
    elif args.serve == "collabbot":
        asyncio.run(serve_collabbot(args.port_file, args.api_url, args.database, args.backlog[0]))
    elif args.serve == "bare":
        asyncio.run(serve_bare(args.port_file, args.api_url))
    else:
        lines = asyncio.run(run(args))
        print("\n".join(lines))


if __name__ == "__main__":
    main()
