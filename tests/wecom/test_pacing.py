"""Pacing: WeCom silently drops what an app sends a member beyond 30 a minute and 1000 an hour."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from adapters.wecom.transport import WeComPlatform
from bot.config import WeComSection
from bot.pacing import after_send, micros, wait_micros
from bot.platform import Delivery, Pace
from bot.types import Conversation, Text
from storage.models import OutboxMessage

from .conftest import Harness


def most_in_any_window(times: list[datetime], seconds: float) -> int:
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while (t - times[start]).total_seconds() >= seconds:
            start += 1
        best = max(best, end - start + 1)
    return best


async def test_a_burst_to_one_member_stays_under_30_a_minute_and_nothing_is_lost(harness: Harness) -> None:
    requests = [await harness.say("lilei", "帮助", settle=False) for _ in range(45)]
    await harness.app.settle()
    for _ in range(20):
        if all(harness.answers(r) for r in requests):
            break
        harness.clock.advance(seconds=30)
        await harness.app.settle()
    answered = [harness.answers(r) for r in requests]
    assert all(len(a) == 1 for a in answered), "every message is answered exactly once"
    times = [a[0].at for a in answered]
    assert most_in_any_window(times, 60) <= 30
    assert max(times) > min(times)  # the burst really was spread out
    assert await OutboxMessage.filter(status="dead").count() == 0


def delivery(conversation: Conversation, recipient: str | None, kind: str = "text") -> Delivery:
    return Delivery(1, "k", kind, conversation, Text("x"), "zh_CN", recipient=recipient)  # type: ignore[arg-type]


def simulate(paces: list[Pace], seconds: int) -> list[float]:
    """Send greedily whenever every bucket allows, checking every 0.5 s."""
    states: list[dict] = [{} for _ in paces]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    sent: list[float] = []
    step = 0.0
    while step <= seconds:
        now = micros(start + timedelta(seconds=step))
        while all(wait_micros(p, state, now) == 0 for p, state in zip(paces, states, strict=True)):
            states = [after_send(p, state, now) for p, state in zip(paces, states, strict=True)]
            sent.append(step)
        step += 0.5
    return sent


def count_max(sent: list[float], window: float) -> int:
    base = datetime(2026, 1, 1, tzinfo=UTC)
    return most_in_any_window([base + timedelta(seconds=s) for s in sent], window)


def test_the_member_buckets_never_allow_more_than_wecom_accepts() -> None:
    platform = WeComPlatform(WeComSection(bot_id="b", secret="s"))
    paces = platform.pace(delivery(Conversation("wecom", "lilei", is_direct=True), "lilei"))
    assert {p.key for p in paces} == {"wecom:member:lilei:m", "wecom:member:lilei:h"}
    sent = simulate(paces, 2 * 3600)
    assert count_max(sent, 60) <= 30
    assert count_max(sent, 3600) <= 1000
    assert len(sent) > 1000  # and it keeps sending: nothing is held back for good


def test_groups_are_paced_per_chat_and_app_chats_per_member() -> None:
    platform = WeComPlatform(WeComSection(bot_id="b", secret="s"))
    group = platform.pace(delivery(Conversation("wecom", "wrkGroup"), None))
    assert all(p.key.startswith("wecom:chat:wrkGroup:") for p in group)
    assert count_max(simulate(group, 600), 60) <= 20
    app = platform.pace(delivery(Conversation("wecom", "app:lilei", is_direct=True), None))
    assert all(p.key.startswith("wecom:member:lilei:") for p in app)
