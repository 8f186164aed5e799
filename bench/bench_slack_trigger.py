"""Time from a slash command to its modal (``views.open``) for people new to the bot, with Slack's
``users.info`` slow (2.5 s) and, as the peer in the same run, fast (instant): does the trigger_id get used
within Slack's 3 s?

    python bench/bench_slack_trigger.py              # 1, 20 and 50 newcomers at once
    python bench/bench_slack_trigger.py --users 1 100

Loopback only. The real ``App`` in Socket Mode against the fake Slack (tests/slack/fake_slack.py) on a fresh
SQLite file; every newcomer types ``/collab 新建协作`` at the same moment; the fake records when each
``views.open`` arrives and refuses a trigger older than 3 s, as Slack does. Prints, per load, the spread of
the opening times, how many triggers expired, and the ratio slow / fast of the median (1.0 = the slow
lookup costs nothing) and of the slowest to the 3 s budget.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tortoise import Tortoise  # noqa: E402

from bot.clock import ManualClock  # noqa: E402
from storage import db  # noqa: E402
from tests.slack.fake_slack import FakeSlack  # noqa: E402
from tests.slack.world import SlackWorld  # noqa: E402

BUDGET = 3.0


async def run(users: int, lookup: float) -> tuple[list[float], int]:
    folder = tempfile.mkdtemp()
    url = f"sqlite://{folder}/bench.db"
    await db.upgrade(url)
    await Tortoise.close_connections()
    newcomers = {f"U9B{i:03d}": {"name": f"new{i}", "real_name": f"New {i}", "locale": "zh-CN"} for i in range(users)}

    def prepare(fake: FakeSlack) -> None:
        fake.users.update(newcomers)
        fake.delays["users.info"] = lookup
        fake.trigger_lifetime = BUDGET

    try:
        async with SlackWorld.open(url, ManualClock(datetime(2026, 11, 23, 1, 0, tzinfo=UTC)), prepare=prepare) as world:
            fake = world.fake
            opened: dict[str, float] = {}
            original = fake._m_views_open

            def record(args: dict) -> dict:
                opened[str(args.get("trigger_id"))] = time.monotonic()
                return original(args)

            fake._m_views_open = record  # type: ignore[method-assign]
            payloads = [fake.slash(user, "C1LAUNCH", "新建协作") for user in newcomers]
            before, start = world.platform.handled, time.monotonic()
            await asyncio.gather(*(world.send("command", p) for p in payloads))
            await world._handled(before + users)
            times = sorted(opened[p["trigger_id"]] - start for p in payloads if p["trigger_id"] in opened)
            expired = sum(1 for c in fake.calls_to("views.open") if c.error == "expired_trigger_id")
            return times, expired
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, nargs="+", default=[1, 20, 50])
    args = parser.parse_args()
    print("collabbot Slack trigger benchmark — users.info 2.5 s (slow) vs instant (fast), Slack's budget 3 s")
    for users in args.users:
        slow, slow_expired = asyncio.run(run(users, 2.5))
        fast, fast_expired = asyncio.run(run(users, 0.0))
        median = lambda xs: xs[len(xs) // 2]  # noqa: E731
        print(
            f"{users:4d} newcomers  slow {slow[0]:.2f}–{slow[-1]:.2f} s (median {median(slow):.2f}, expired {slow_expired})"
            f"  fast {fast[0]:.2f}–{fast[-1]:.2f} s (median {median(fast):.2f}, expired {fast_expired})"
            f"  ratio slow/fast median {median(slow) / max(median(fast), 1e-3):.2f}  slowest/budget {slow[-1] / BUDGET:.2f}"
        )


if __name__ == "__main__":
    main()
