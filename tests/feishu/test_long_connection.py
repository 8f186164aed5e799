"""The long connection against the fake Feishu: endpoint handshake, frames, pings, answers, redelivery,
split payloads, dropped connections, and the bot's own @-mention removed from what people typed."""

from __future__ import annotations

import json

from storage.models import InboxEntry
from tests.feishu import events
from tests.feishu.conftest import GROUP, Harness, open_id


async def test_a_group_mention_is_answered_in_the_group(harness: Harness) -> None:
    fake = harness.fake
    assert fake.ws.endpoint_calls == 1 and fake.ws.pings >= 1  # the handshake, then a ping frame
    answer = await harness.say("lilei", "帮助")
    assert answer.code == 200 and answer.data is None  # a message event is acked with nothing to show
    [reply] = fake.to(GROUP)
    assert reply.receive_id_type == "chat_id" and reply.msg_type in ("post", "interactive")
    assert "新建协作" in reply.card_text()  # the help, in Chinese
    assert fake.calls("GET", "/open-apis/bot/v3/info")  # the bot's own open id, to drop its mention


async def test_a_direct_message_is_answered_to_the_person(harness: Harness) -> None:
    await harness.say("lilei", "列表", group=None)
    [reply] = harness.fake.to(open_id("lilei"))
    assert reply.receive_id_type == "open_id"


async def test_a_redelivered_event_is_handled_once(harness: Harness) -> None:
    body = events.message(open_id("lilei"), "帮助", chat_id=GROUP)
    first = await harness.push(body)
    again = await harness.push(body)  # Feishu delivers the same event (same event_id) again
    assert first.code == again.code == 200
    assert len(harness.fake.to(GROUP)) == 1
    assert await InboxEntry.filter(platform="feishu").count() == 1


async def test_a_payload_in_parts_is_put_together(harness: Harness) -> None:
    body = events.message(open_id("lilei"), "帮助", chat_id=GROUP)
    message_id = await harness.fake.ws.push(body, parts=3)
    assert (await harness.fake.ws.answer(message_id)).code == 200
    await harness.deliver()
    assert len(harness.fake.to(GROUP)) == 1


async def test_a_dropped_connection_is_opened_again(harness: Harness) -> None:
    fake = harness.fake
    ws = harness.platform.ws
    assert ws is not None
    await fake.ws.drop()
    await fake.wait_for(lambda: fake.ws.endpoint_calls == 2 and fake.ws.connected and ws.ready.is_set())
    await harness.say("lilei", "帮助")
    assert len(fake.to(GROUP)) == 1


async def test_a_malformed_event_is_acked_and_refused(harness: Harness, caplog) -> None:
    body = events.message(open_id("lilei"), "帮助", chat_id=GROUP)
    body["event"]["message"]["content"] = "{not json"
    answer = await harness.push(body)
    assert answer.code == 200  # acked, so Feishu does not push it again
    assert not harness.fake.to(GROUP)
    assert "malformed" in caplog.text


async def test_other_mentions_are_kept_by_name(harness: Harness) -> None:
    await harness.say("lilei", "新建协作\n标题：海报\n目标：@刘洋 负责海报\n协作部门：设计部\n截止：2026-12-20", mentions={open_id("liuyang"): "刘洋"})
    [overview] = [s for s in harness.fake.to(GROUP) if s.msg_type == "interactive"]
    assert "@刘洋 负责海报" in overview.card_text()
    assert "_user_" not in json.dumps(overview.content, ensure_ascii=False)


async def test_commands_in_english_work_too(harness: Harness) -> None:
    await harness.say("lilei", "new\ntitle: Launch poster\ngoal: a poster by Dec 18\ndepartments: design\ndeadline: 2026-12-20")
    [overview] = [s for s in harness.fake.to(GROUP) if s.msg_type == "interactive"]
    assert "Launch poster" in overview.card_text() and "协作需求" in overview.card_text()  # the group reads Chinese
    assert harness.fake.card_with(open_id("liuyang"), "接受")
