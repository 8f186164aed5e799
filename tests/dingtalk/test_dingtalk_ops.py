"""What a DingTalk admin trips over, at the fake DingTalk: a transient ``system.error`` on a card update is
retried with backoff (not a dead row), and one slow frame does not hold back the acks of other groups."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

import dingtalk_stream
from dingtalk_stream import AckMessage, CallbackMessage

from adapters.dingtalk.stream import StreamRunner
from storage.models import OutboxMessage
from tests.dingtalk.fake_dingtalk import ROBOT_TOPIC
from tests.dingtalk.world import DingTalkWorld

NEW_REQUEST = "新建协作\n标题：新品发布物料\n目标：海报和落地页\n协作部门：设计部，研发部\n截止：2026-12-20\n优先级：高"


async def test_a_system_error_on_a_card_update_is_retried_with_backoff(database_url, clock, fake):
    async with DingTalkWorld.open(database_url, clock, fake) as world:
        await world.say("lilei", NEW_REQUEST)
        card = world.card_for("liuyang", "接受")
        fake.fail("PUT", "/v1.0/card/instances", 400, {"code": "system.error", "message": "系统错误"}, times=2)
        before = clock.now()
        await world.click("liuyang", card, "接受")  # delivers, letting the clock run through short waits
        for _ in range(12):
            clock.advance(seconds=30)
            await world.app.settle()
        assert card.buttons == []  # decided: the card shows it
        assert await OutboxMessage.filter(platform="dingtalk", status="dead").count() == 0
        retried = [row for row in await OutboxMessage.filter(platform="dingtalk", kind="edit") if "system.error" in (row.last_error or "")]
        assert retried and all(row.status == "sent" and row.attempts >= 2 for row in retried)
        assert sum(row.attempts - 1 for row in retried) == 2  # each system.error cost one attempt, then it went through
        assert all(row.sent_at - before >= timedelta(seconds=1) for row in retried)  # it waited (backoff): not hammered


class Gate(dingtalk_stream.CallbackHandler):
    """A robot-message handler that holds every message containing "slow" until the test opens the gate."""

    def __init__(self) -> None:
        super().__init__()
        self.logger = logging.getLogger("tests.dingtalk.gate")
        self.open = asyncio.Event()
        self.handled: list[str] = []

    async def process(self, message: CallbackMessage) -> tuple[int, Any]:
        text = str((message.data.get("text") or {}).get("content", ""))
        if "slow" in text:
            await self.open.wait()
        self.handled.append(text.strip())
        return AckMessage.STATUS_OK, "OK"


async def test_one_slow_frame_does_not_hold_back_the_acks_of_other_groups(fake):
    client = dingtalk_stream.DingTalkStreamClient(dingtalk_stream.Credential(fake.app_key, fake.app_secret))
    gate = Gate()
    client.register_callback_handler(ROBOT_TOPIC, gate)
    runner = StreamRunner(client)
    await runner.start()
    try:
        await fake.wait_connected()
        slow = await fake.say("u1", "slow report", group="cidGROUP1")
        fast = await fake.say("u2", "fast", group="cidGROUP2")
        after = await fake.say("u1", "after the slow one", group="cidGROUP1")
        await fake.wait_ack(fast)  # another group's frame is acked while the slow one is still being handled
        assert slow not in fake.acks and after not in fake.acks  # the slow group's later frame waits its turn
        gate.open.set()
        await fake.wait_ack(slow)
        await fake.wait_ack(after)
        assert gate.handled == ["fast", "slow report", "after the slow one"]
    finally:
        await runner.stop()
