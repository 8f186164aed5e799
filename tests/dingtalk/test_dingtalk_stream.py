"""Stream mode through the real dingtalk-stream SDK against the fake DingTalk: acks, dedupe, reconnects, shutdown."""

from __future__ import annotations

import asyncio
import json

from bot.app import App
from bot.config import from_dict
from storage.models import InboxEntry
from tests.dingtalk.world import GROUP, DingTalkWorld, config_data, staff


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
        # everyone sees it: it says whom it is for, as @<userId>, which DingTalk shows as @李雷 and notifies
        assert answer.text.startswith(f"@{staff('lilei')} ")
        assert answer.at == [staff("lilei")] and answer.notified == [staff("lilei")]


async def test_a_frame_pushed_twice_with_the_same_message_id_is_handled_once(database_url, clock, fake):
    async with DingTalkWorld.open(database_url, clock, fake) as world:
        frame = fake.robot_frame(staff("lilei"), "打卡", group=GROUP, name="李雷")
        first = await fake.push(frame)
        await world.settled(first)
        again = await fake.push(frame)  # DingTalk pushes it again (an ack it did not get)
        assert again == first
        await fake.wait_for(lambda: len(fake.acks[first]) == 2, "the second ack")
        await world.app.settle()
        assert [a["code"] for a in fake.acks[first]] == [200, 200]  # acked both times, so DingTalk stops
        assert len(fake.sent_to(GROUP)) == 1  # answered once
        assert world.platform.handled == 2 and await InboxEntry.filter(platform="dingtalk").count() == 1


async def test_a_card_click_pushed_twice_changes_the_card_once(database_url, clock, fake):
    async with DingTalkWorld.open(database_url, clock, fake) as world:
        await world.say("lilei", "新建协作\n标题：物料\n目标：海报\n协作部门：设计部\n截止：2026-12-20")
        card = world.card_for("liuyang", "接受")
        frame_id = await fake.click(staff("liuyang"), card, "接受")
        await world.settled(frame_id)
        updates = len(fake.calls_to("/v1.0/card/instances", "PUT"))
        await fake.push(fake.frames[frame_id])
        await fake.wait_for(lambda: len(fake.acks[frame_id]) == 2, "the second ack")
        await world.app.settle()
        assert len(fake.calls_to("/v1.0/card/instances", "PUT")) == updates


async def test_system_ping_is_acked_with_its_opaque_data(database_url, clock, fake):
    async with DingTalkWorld.open(database_url, clock, fake):
        message_id = await fake.system("ping", {"opaque": "8a2f"})
        ack = await fake.wait_ack(message_id)
        assert ack["code"] == 200 and json.loads(ack["data"]) == {"opaque": "8a2f"}


async def test_a_dropped_connection_reconnects_and_loses_nothing(database_url, clock, fake):
    async with DingTalkWorld.open(database_url, clock, fake) as world:
        first = fake.open_connections[-1]
        first.lose_acks = True  # the bot handles this message, but its ack never reaches DingTalk
        handled = await fake.say(staff("lilei"), "打卡", group=GROUP, name="李雷")
        await fake.wait_for(lambda: len(first.acks) == 1, "the bot's ack")
        await fake.drop()
        missed = await fake.say(
            staff("wangfang"), "签到", group=GROUP, name="王芳"
        )  # sent while no connection is up
        await fake.wait_connected(2)
        for message_id in (handled, missed):  # both pushed again on the new connection
            assert (await fake.wait_ack(message_id))["code"] == 200
        after = await fake.say(staff("hanmei"), "请假", group=GROUP, name="韩梅")
        await world.settled(after)
        answers = [m.text for m in fake.sent_to(GROUP)]
        assert len(answers) == 3
        assert [sum(word in a for a in answers) for word in ("打卡", "签到", "请假")] == [1, 1, 1]


async def test_server_disconnect_opens_the_next_connection_before_closing_the_old_one(
    database_url, clock, fake
):
    async with DingTalkWorld.open(database_url, clock, fake) as world:
        old = fake.open_connections[-1]
        await fake.system("disconnect", {"reason": "server restarting"})
        late = await fake.push(
            fake.robot_frame(staff("lilei"), "打卡", group=GROUP, name="李雷"), connection=old
        )
        new = await fake.wait_connected(2)
        assert new is not old
        await fake.wait_for(lambda: not old.open, "the old connection to close")
        assert (await fake.wait_ack(late))["code"] == 200  # pushed in between: still handled and acked
        await world.app.settle()
        assert len(fake.sent_to(GROUP)) == 1
        message_id = await fake.say(staff("lilei"), "签到", group=GROUP, name="李雷")
        await world.settled(message_id)
        assert len(fake.sent_to(GROUP)) == 2


async def test_a_silently_dead_connection_is_replaced_by_the_watchdog(database_url, clock, fake):
    async with DingTalkWorld.open(database_url, clock, fake, watchdog_seconds=0.3) as world:
        await fake.wait_ack(await fake.system("ping", {"opaque": "1"}))  # the connection worked…
        fake.mute()  # …then went half-open: no frames, no pongs, no error
        await fake.wait_connected(2)
        message_id = await fake.say(staff("lilei"), "打卡", group=GROUP, name="李雷")
        await world.settled(message_id)
        assert len(fake.sent_to(GROUP)) == 1


async def test_shutdown_closes_the_connection_within_seconds(database_url, clock, fake):
    async with DingTalkWorld.open(database_url, clock, fake) as world:
        connection = fake.open_connections[-1]
        await asyncio.wait_for(world.platform.stop(), 5)
        await fake.wait_for(lambda: not connection.open, "the connection to close")
        assert world.platform.stream is None


async def test_shutdown_is_prompt_even_while_connections_open_hangs(database_url, clock, fake):
    fake.hang_open = True  # DingTalk accepts the TCP connection and never answers
    config = from_dict(config_data(database_url, fake), environ={})
    app = App(config, clock=clock)
    await asyncio.wait_for(
        app.start(serve_http=False, background=False), 5
    )  # start does not wait for the connection
    await fake.wait_for(
        lambda: bool(fake.calls_to("/v1.0/gateway/connections/open")), "the connection attempt"
    )
    await asyncio.wait_for(app.stop(), 5)
    fake.hang_open = False  # the abandoned thread gets its answer and ends; nobody waits for it


async def test_wrong_credentials_keep_retrying_without_blocking_the_bot(database_url, clock, fake):
    config = from_dict(config_data(database_url, fake, app_secret="wrong"), environ={})
    app = App(config, clock=clock)
    await app.start(serve_http=False, background=False)
    try:
        await fake.wait_for(
            lambda: bool(fake.calls_to("/v1.0/gateway/connections/open")), "the connection attempt"
        )
        assert fake.open_connections == []
    finally:
        await asyncio.wait_for(app.stop(), 5)
