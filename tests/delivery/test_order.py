"""Order in a conversation: a failed send is not overtaken, across batches and workers; an edit never precedes its post."""

from __future__ import annotations

from datetime import timedelta

from bot.delivery import DeliveryWorker
from bot.types import Card
from storage.models import CardPost, CardRecord, OutboxMessage
from tests.delivery.helpers import drive, queue
from tests.slack.world import SlackWorld

CHANNEL = "C1LAUNCH"


def texts(fake) -> list[str]:
    return [m["text"] for m in fake.in_channel(CHANNEL)]


async def test_a_503_on_the_first_of_four_replies_does_not_let_the_others_overtake_it(database_url, clock):
    async with SlackWorld.open(database_url, clock, mode="http") as world:
        world.fake.fail("chat.postMessage", status=503, times=1)
        await queue(clock, "slack", CHANNEL, ["第一条", "第二条", "第三条", "第四条"])
        worker = world.app.delivery
        await worker.flush()
        assert texts(world.fake) == []  # the first one is waiting for its retry: nobody goes before it
        assert await OutboxMessage.filter(status="pending").count() == 4
        await drive([worker], clock)
        assert texts(world.fake) == ["第一条", "第二条", "第三条", "第四条"]


async def test_order_holds_across_batches_and_workers_whatever_fails(database_url, clock):
    async with SlackWorld.open(database_url, clock, mode="http") as world:
        # three workers of one batch each, as three processes would be; failures on the way
        workers = [DeliveryWorker(world.app.platforms, clock, batch=1) for _ in range(3)]
        world.fake.fail("chat.postMessage", status=503, times=2)
        await queue(clock, "slack", CHANNEL, [f"消息{i}" for i in range(12)])
        await queue(clock, "slack", "C2GLOBAL", [f"message {i}" for i in range(6)])
        await workers[0].flush()
        world.fake.fail("chat.postMessage", status=429, retry_after=5)
        await queue(clock, "slack", CHANNEL, [f"消息{i}" for i in range(12, 16)])
        await drive(workers, clock)
        assert texts(world.fake) == [f"消息{i}" for i in range(16)]
        assert [m["text"] for m in world.fake.in_channel("C2GLOBAL")] == [f"message {i}" for i in range(6)]
        assert set(await OutboxMessage.all().values_list("status", flat=True)) == {"sent"}


async def test_a_permanently_failed_message_lets_the_conversation_go_on(database_url, clock):
    async with SlackWorld.open(database_url, clock, mode="http") as world:
        world.fake.fail("chat.postMessage", status=200, error="msg_too_long")
        await queue(clock, "slack", CHANNEL, ["坏的", "好的一", "好的二"])
        await drive([world.app.delivery], clock)
        assert texts(world.fake) == ["好的一", "好的二"]
        assert await OutboxMessage.filter(status="dead").count() == 1


async def test_an_edit_waits_for_its_card_post_even_when_the_post_fails(database_url, clock):
    async with SlackWorld.open(database_url, clock, mode="http") as world:
        record = await CardRecord.create(key="c1", content=Card(title="v1", key="c1").to_json(), version=1, updated_at=clock.now())
        post = await CardPost.create(card=record, platform="slack", conversation_id=CHANNEL, locale="zh_CN")
        common = {"platform": "slack", "conversation_id": CHANNEL, "locale": "zh_CN", "payload": {}, "post": post}
        await OutboxMessage.create(dedupe_key="post:c1", kind="post", next_attempt_at=clock.now(), created_at=clock.now(), **common)
        # a second process that saw a message_ref (or a bug) queues an edit before the post went out
        await CardRecord.filter(id=record.id).update(content=Card(title="v2", key="c1").to_json(), version=2)
        await OutboxMessage.create(dedupe_key="edit:c1:2", kind="edit", next_attempt_at=clock.now(), created_at=clock.now(), **common)
        world.fake.fail("chat.postMessage", status=503, times=1)
        await world.app.delivery.flush()
        assert world.fake.calls_to("chat.update") == []
        assert await OutboxMessage.filter(kind="edit", status="pending").count() == 1
        clock.advance(timedelta(minutes=2))
        await drive([world.app.delivery], clock)
        methods = [c.method for c in world.fake.calls if c.method in ("chat.postMessage", "chat.update") and c.status == 200]
        assert methods[0] == "chat.postMessage"
        [message] = world.fake.in_channel(CHANNEL)
        assert "v2" in str(message["blocks"]) or "v2" in (message["text"] or "")
