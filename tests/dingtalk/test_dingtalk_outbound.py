"""Outbound through aiohttp against the fake DingTalk: token, robot messages, cards, errors and retries."""

from __future__ import annotations

import json

from storage.models import OutboxMessage
from tests.dingtalk.fake_dingtalk import dtmd_contents
from tests.dingtalk.world import GROUP, TEMPLATE_ID, DingTalkWorld, staff

NEW_REQUEST = (
    "新建协作\n标题：新品发布物料\n目标：海报和落地页\n协作部门：设计部，研发部\n截止：2026-12-20\n优先级：高"
)


async def test_access_token_is_cached_and_fetched_again_when_it_expires_or_is_rejected(
    database_url, clock, fake
):
    async with DingTalkWorld.open(database_url, clock, fake) as world:
        await world.say("lilei", "帮助")
        await world.say("lilei", "帮助")
        assert len(fake.calls_to("/v1.0/oauth2/accessToken")) == 1
        clock.advance(hours=2)  # 7200 s, fetched again five minutes before the end
        await world.say("lilei", "帮助")
        assert len(fake.calls_to("/v1.0/oauth2/accessToken")) == 2
        fake.expire_tokens()  # revoked early: the API answers 401, the token is fetched again and the call repeated
        await world.say("lilei", "帮助")
        assert len(fake.calls_to("/v1.0/oauth2/accessToken")) == 3
        assert len(fake.cards_in(f"IM_GROUP.{GROUP}")) == 4
        tokens = [
            c.headers["x-acs-dingtalk-access-token"]
            for c in fake.calls_to("/v1.0/card/instances/createAndDeliver")
        ]
        assert tokens == ["token-1", "token-1", "token-2", "token-2", "token-3"]


async def test_after_the_session_webhook_expired_replies_go_through_the_robot_api(database_url, clock, fake):
    async with DingTalkWorld.open(database_url, clock, fake) as world:
        group_message = await fake.say(staff("lilei"), "打卡", group=GROUP, name="李雷")
        direct_message = await fake.say(staff("hanmei"), "打卡", name="韩梅")
        await fake.wait_ack(group_message)
        await fake.wait_ack(direct_message)
        clock.advance(minutes=90)  # the sessionWebhooks are no longer valid when the outbox gets to them
        await world.app.settle()
        assert not fake.calls_to("/robot/sendBySession")
        [in_group] = fake.sent_to(GROUP)
        assert in_group.via == "group" and "打卡" in in_group.text
        assert in_group.text.startswith("@李雷 ") and in_group.notified == []  # the robot API cannot @ anyone…
        [copy] = fake.sent_to(f"user:{staff('lilei')}")  # …so the person it is for gets it one-to-one
        assert copy.via == "oto" and copy.text.startswith("你在群里被提到：") and "打卡" in copy.text
        [direct] = fake.sent_to(f"user:{staff('hanmei')}")
        assert direct.via == "oto"
        [call] = [c for c in fake.calls_to("/v1.0/robot/oToMessages/batchSend") if c.body["userIds"] == [staff("hanmei")]]
        assert call.body["robotCode"] == fake.app_key
        assert json.loads(call.body["msgParam"])["title"]  # shown in the chat list and the notification


async def test_a_429_holds_the_conversation_for_retry_after_then_sends_once(database_url, clock, fake):
    fake.fail(
        "POST",
        "/v1.0/card/instances/createAndDeliver",
        429,
        {"code": "Throttling"},
        headers={"Retry-After": "30"},
    )
    async with DingTalkWorld.open(database_url, clock, fake) as world:
        await world.say("lilei", "帮助")
        assert fake.cards == {}
        [row] = await OutboxMessage.filter(platform="dingtalk")
        assert row.status == "pending" and row.attempts == 0
        clock.advance(seconds=29)
        await world.app.settle()
        assert fake.cards == {}
        clock.advance(seconds=31)  # held at least Retry-After (then the group's pace needs one more token)
        await world.app.settle()
        assert len(fake.cards) == 1
        assert len(fake.calls_to("/v1.0/card/instances/createAndDeliver")) == 2


async def test_server_errors_are_retried_and_a_lost_response_does_not_post_a_second_card(
    database_url, clock, fake
):
    fake.fail("POST", "/v1.0/card/instances/createAndDeliver", 503)
    # the next one is created at DingTalk but its answer is lost: the retry meets the same outTrackId
    fake.fail("POST", "/v1.0/card/instances/createAndDeliver", 504, after=True)
    async with DingTalkWorld.open(database_url, clock, fake) as world:
        await world.say("lilei", "帮助")
        for _ in range(10):
            clock.advance(seconds=30)
            await world.app.settle()
        [row] = await OutboxMessage.filter(platform="dingtalk")
        assert row.status == "sent" and row.attempts == 3
        assert len(fake.calls_to("/v1.0/card/instances/createAndDeliver")) == 3
        assert len(fake.cards) == 1
        assert row.message_ref == next(iter(fake.cards))


async def test_a_rejected_payload_is_not_retried(database_url, clock, fake):
    fake.fail("POST", "/robot/sendBySession", 400, {"errcode": 400, "errmsg": "bad"})
    fake.fail(
        "POST",
        "/v1.0/robot/groupMessages/send",
        400,
        {"code": "invalidParameter", "message": "robot not in group"},
    )
    async with DingTalkWorld.open(database_url, clock, fake) as world:
        await world.say("lilei", "打卡")
        [row] = await OutboxMessage.filter(platform="dingtalk")
        assert row.status == "dead" and "robot not in group" in row.last_error
        assert (
            len(fake.calls_to("/robot/sendBySession")) == 1
        )  # the webhook failed, the robot API was tried next


async def test_send_too_fast_blocks_the_group_for_ten_minutes(database_url, clock, fake):
    fake.fail(
        "POST",
        "/robot/sendBySession",
        200,
        {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"},
    )
    async with DingTalkWorld.open(database_url, clock, fake) as world:
        await world.say("lilei", "打卡")
        assert fake.sent_to(GROUP) == []
        clock.advance(seconds=599)
        await world.app.settle()
        assert fake.sent_to(GROUP) == []
        clock.advance(seconds=61)
        await world.app.settle()
        assert len(fake.sent_to(GROUP)) == 1


async def test_cards_go_to_the_group_and_to_each_head_with_the_template(database_url, clock, fake):
    async with DingTalkWorld.open(database_url, clock, fake) as world:
        await world.say("lilei", NEW_REQUEST)
        [overview] = fake.cards_in(f"IM_GROUP.{GROUP}")
        assert overview.template == TEMPLATE_ID
        assert overview.body["imGroupOpenDeliverModel"]["robotCode"] == fake.app_key
        assert overview.body["callbackType"] == "STREAM"
        assert "XZB2026112301" in overview.params["title"] and overview.buttons == []
        for head in ("liuyang", "chenjie"):
            card = world.card_for(head, "接受")
            assert card.body["imRobotOpenDeliverModel"]["spaceType"] == "IM_ROBOT"
            accept = next(b for b in card.buttons if b["text"] == "接受")
            assert accept["action"]["type"] == "sendCardRequest"
            params = accept["action"]["params"]["params"]
            assert params["action"] == "request.accept"
            assert json.loads(params["value"])["code"] == "XZB2026112301"
        rows = await OutboxMessage.filter(platform="dingtalk", kind="post").order_by("id")
        assert {row.message_ref for row in rows} >= {overview.out_track_id}


async def test_a_click_updates_the_card_in_place(database_url, clock, fake):
    async with DingTalkWorld.open(database_url, clock, fake) as world:
        await world.say("lilei", NEW_REQUEST)
        card = world.card_for("liuyang", "接受")
        ack = await world.click("liuyang", card, "接受")
        assert ack["code"] == 200
        assert card.buttons == []  # PUT /v1.0/card/instances: decided, no buttons any more
        assert "刘洋" in card.params["content"] or "刘洋" in card.params["title"]
        [update, *_] = [
            c
            for c in fake.calls_to("/v1.0/card/instances", "PUT")
            if c.body["outTrackId"] == card.out_track_id
        ]
        assert update.body["cardUpdateOptions"] == {"updateCardDataByKey": True}
        [overview] = fake.cards_in(f"IM_GROUP.{GROUP}")
        assert len(overview.history) == 2 and "设计部" in overview.params["content"]


async def test_without_a_template_cards_are_markdown_and_a_link_sends_the_command(database_url, clock, fake):
    async with DingTalkWorld.open(database_url, clock, fake, template=False) as world:
        await world.say("lilei", NEW_REQUEST)
        assert fake.cards == {}
        [overview] = fake.sent_to(GROUP)
        assert overview.text.startswith("### ") and "XZB2026112301" in overview.text
        [decision] = fake.sent_to(f"user:{staff('liuyang')}")
        assert decision.via == "oto"
        accept, decline = dtmd_contents(decision.text)
        assert accept == "接受 XZB2026112301 设计部"  # the command in the reader's language, department by name
        assert decline.startswith("拒绝 XZB2026112301 设计部")
        await world.say(
            "liuyang", accept, group=None
        )  # the head taps the link: DingTalk sends its text as him
        updates = fake.sent_to(GROUP)[1:]
        assert len(updates) == 1 and updates[0].text.startswith("### 🔄")  # a markdown message cannot change
        assert "设计部" in updates[0].text
