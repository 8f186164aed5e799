"""Fan-out at the platforms' limits, in simulated time: a 09:30 stand-up to many groups at once.

    python bench/bench_fanout.py                    # 500 groups × 20 prompts, then 50 DingTalk groups × 20 cards
    python bench/bench_fanout.py --groups 100 --per-group 20

One process, loopback only. The fake Slack and the fake DingTalk (tests/) enforce the platforms'
documented limits on the ManualClock (tests/delivery/platform_limits.py: DingTalk 20 messages a minute per
group then a 10-minute block, about 20 calls a second per OpenAPI; Slack about one message a second
per channel with short bursts) and answer 429 beyond them. The prompts (one card per participant,
@-mentioning them, as a group-mode stand-up posts) are committed to the outbox at 09:30 and the app's
``DeliveryWorker`` delivers them; whenever nothing can go, the clock jumps to the next moment a row
can (``next_due``). Printed: the makespan (first to last accepted send, simulated) against the
optimum the limits allow (the largest lower bound over every limited key: a window of L sends per W
seconds needs ⌊(n−1)/L⌋·W for n sends, a bucket of burst B refilled at R a second (n−B)/R), the 429s
the bot caused itself, the worker's claims per delivered row, and the CPU seconds of this process
(bot, both fakes and the driver).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
for _var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
    os.environ.pop(_var, None)

from tests.dingtalk.fake_dingtalk import FakeDingTalk, ms  # noqa: E402

DINGTALK = FakeDingTalk().start()
os.environ.setdefault("DINGTALK_OPENAPI_ENDPOINT", DINGTALK.url)

from bot.app import App  # noqa: E402
from bot.clock import ManualClock  # noqa: E402
from bot.config import from_dict  # noqa: E402
from bot.types import Card  # noqa: E402
from storage import outbox_queue  # noqa: E402
from storage.models import OutboxMessage  # noqa: E402
from tests.delivery import platform_limits  # noqa: E402
from tests.fakelimits import Bucket, PlatformLimits, Window  # noqa: E402
from tests.slack.fake_slack import BOT_TOKEN, SIGNING_SECRET, FakeSlack  # noqa: E402

START = datetime(2026, 12, 2, 1, 30, tzinfo=UTC)  # 09:30 in Asia/Shanghai
TEMPLATE_ID = "c0ffee00-1111-2222-3333-collabbot.schema"


def optimum(limits: PlatformLimits, rules: dict[str, Any]) -> float:
    """The largest lower bound on the makespan over every limited key, for the sends the fakes accepted."""
    best = 0.0
    for key, times in limits.history.items():
        rule = rules[key.split(":", 1)[0]] if key.split(":", 1)[0] in rules else rules.get(key)
        n = len(times)
        if isinstance(rule, Window):
            best = max(best, ((n - 1) // rule.limit) * rule.seconds)
        elif isinstance(rule, Bucket):
            best = max(best, max(0, n - rule.burst) * rule.seconds / rule.rate)
    return best


async def scenario(name: str, folder: Path, slack_groups: int, dingtalk_groups: int, per_group: int) -> list[str]:
    clock = ManualClock(START)
    limits = PlatformLimits(now=clock.now)
    slack = await FakeSlack().start()
    slack.limits = platform_limits.slack(limits)
    DINGTALK.reset()
    DINGTALK.clock_ms = lambda: ms(clock.now())
    DINGTALK.limits = platform_limits.dingtalk(limits, DINGTALK.sessions)
    config: dict[str, Any] = {
        "database": {"url": f"sqlite://{folder / (name + '.db')}"},
        "server": {"host": "127.0.0.1", "port": 0},
        "bot": {"locale": "zh_CN", "timezone": "Asia/Shanghai"},
    }
    if slack_groups:
        config["slack"] = {"mode": "http", "bot_token": BOT_TOKEN, "signing_secret": SIGNING_SECRET, "api_url": slack.base_url}
    if dingtalk_groups:
        config["dingtalk"] = {
            "app_key": DINGTALK.app_key,
            "app_secret": DINGTALK.app_secret,
            "openapi_url": DINGTALK.url,
            "card_template_id": TEMPLATE_ID,
        }
    app = App(from_dict(config, environ={}), clock=clock)
    await app.start(serve_http=False, background=False)
    try:
        rows = []
        for platform, count in (("slack", slack_groups), ("dingtalk", dingtalk_groups)):
            for g in range(count):
                conversation = f"C{g:04d}STANDUP" if platform == "slack" else f"cidSTANDUP{g:04d}=="
                for p in range(per_group):
                    card = Card(title=f"站会 {g}-{p}", body="昨天做了什么？今天计划做什么？有什么阻碍？", mentions=[str(100000 + p)])
                    rows.append(
                        OutboxMessage(
                            dedupe_key=f"standup:{platform}:{g}:{p}",
                            platform=platform,
                            conversation_id=conversation,
                            kind="post",
                            payload=card.to_json(),
                            locale="zh_CN",
                            next_attempt_at=clock.now(),
                            created_at=clock.now(),
                        )
                    )
        await OutboxMessage.bulk_create(rows, batch_size=1000)
        worker = app.delivery
        cpu, wall = time.process_time(), time.perf_counter()
        names = sorted(app.platforms)
        while await OutboxMessage.filter(status__in=["pending", "sending"]).exists():
            await worker.flush()
            upcoming = await outbox_queue.next_due(names)
            if upcoming is None:
                break
            clock.set(max(upcoming, clock.now() + timedelta(milliseconds=1)))
            if clock.now() - START > timedelta(hours=3):
                raise RuntimeError("the fan-out did not drain in 3 simulated hours")
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        sent = [t for times in limits.history.values() for t in times]
        makespan = (max(sent) - START).total_seconds() if sent else 0.0
        rules = {
            "group": platform_limits.DINGTALK_GROUP,
            "user": platform_limits.DINGTALK_GROUP,
            "api": platform_limits.DINGTALK_API,
            "channel": platform_limits.SLACK_CHANNEL,
            "chat.postEphemeral": platform_limits.SLACK_EPHEMERAL,
            "chat.update": platform_limits.SLACK_UPDATE,
        }
        best = optimum(limits, rules)
        delivered = await OutboxMessage.filter(status="sent").count()
        dead = await OutboxMessage.filter(status="dead").count()
        slack_posts = len(slack.messages)
        dingtalk_cards = len(DINGTALK.cards)
        return [
            f"{name}: {slack_groups} Slack channels + {dingtalk_groups} DingTalk groups × {per_group} prompts = {len(rows):,} rows",
            f"  delivered {delivered:,} (Slack {slack_posts:,}, DingTalk {dingtalk_cards:,}), dead {dead}",
            f"  makespan {makespan:7.1f} s simulated   optimum the limits allow {best:7.1f} s   ratio {makespan / best if best else float('nan'):.3f}",
            f"  429s the bot caused itself: {len(limits.refused)}",
            f"  claims {worker.claims:,} ({worker.claims / max(1, delivered):.2f} per delivered row), parked {worker.parked:,}, "
            f"budget conflicts {worker.budget.conflicts}",
            f"  CPU {cpu:.1f} s (bot + fakes + driver), wall {wall:.1f} s",
        ]
    finally:
        await app.stop()
        await slack.stop()
        DINGTALK.limits = None


async def run(args: argparse.Namespace) -> list[str]:
    lines = ["collabbot fan-out benchmark — simulated time (ManualClock), the fakes enforce the platforms' limits"]
    with tempfile.TemporaryDirectory() as folder:
        slack_groups = args.groups // 2
        lines += await scenario("stand-up", Path(folder), slack_groups, args.groups - slack_groups, args.per_group)
        lines += await scenario("dingtalk-cards", Path(folder), 0, 50, 20)
        lines.append("  (50 DingTalk groups × 20 cards: the issue's reference optimum is 60 s)")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--groups", type=int, default=500)
    parser.add_argument("--per-group", type=int, default=20)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    try:
        lines = asyncio.run(run(args))
    finally:
        DINGTALK.stop()
    print("\n".join(lines))


if __name__ == "__main__":
    main()
