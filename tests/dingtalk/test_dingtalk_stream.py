"""Stream mode through the real dingtalk-stream SDK against the fake DingTalk: acks, dedupe, reconnects, shutdown."""

from __future__ import annotations

from storage.models import InboxEntry
from tests.dingtalk.world import GROUP, DingTalkWorld, staff


async def test_help_in_the_group_is_acked_then_answered_with_a_card(database_url, clock, fake):
    async with DingTalkWorld.open(database_url, clock, fake) as world:
        # the SDK registered the two topics when it opened the connection
        assert {s["topic"] for s in fake.subscriptions[0]} == {
            "/v1.0/im/bot/messages/get",
            "/v1.0/card/instances/callback",
        }
        ack = await world.say("lilei", "帮助")
        assert ack["code"] == 200
        [card] = fake.cards_in(f"IM_GROUP.{GROUP}")
        assert card.params["title"] == "协作助手使用说明"
        assert "新建协作" in card.params["content"]
        assert await InboxEntry.filter(platform="dingtalk").count() == 1


async def test_a_mistake_is_answered_in_the_conversation_mentioning_the_asker(database_url, clock, fake):
    async with DingTalkWorld.open(database_url, clock, fake) as world:
        await world.say("lilei", "打卡")
        [answer] = fake.sent_to(GROUP)
        assert answer.via == "webhook"  # the message's sessionWebhook, still valid
        assert "未知命令" in answer.text and "打卡" in answer.text
        assert answer.at == [staff("lilei")]
