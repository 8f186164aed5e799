"""What the bot sends to Feishu when Feishu misbehaves: rate limits (429 and code 99991400) waited out, a
5xx retried, an expired tenant token fetched anew, a lost answer not turning into a second message, the
per-chat pace kept — and charts and exports uploaded, then sent as image and file messages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.clock import ManualClock
from bot.platform import Delivery
from bot.types import Conversation, Text
from storage.models import OutboxMessage
from tests.feishu import events
from tests.feishu.conftest import GROUP, Harness, lifecycle_data, open_app
from tests.feishu.fake import FakeFeishu
from tests.reports.fixture import CODE, NOW, OVERSIZE_TEXT, oversize_delivery, seed


async def rows(status: str) -> int:
    return await OutboxMessage.filter(platform="feishu", status=status).count()


async def test_a_429_is_waited_out_for_as_long_as_feishu_says(harness: Harness) -> None:
    fake = harness.fake
    fake.fail_next("/open-apis/im/v1/messages", 429, headers={"x-ogw-ratelimit-reset": "7"})
    await harness.say("lilei", "帮助", settle=False)
    await harness.app.settle()
    assert not fake.to(GROUP) and await rows("pending") == 1
    row = await OutboxMessage.get(platform="feishu")
    assert row.next_attempt_at - harness.clock.now() >= timedelta(seconds=7)
    harness.clock.advance(seconds=7)
    await harness.app.settle()
    assert len(fake.to(GROUP)) == 1 and await rows("sent") == 1
    assert [status for _, path, status in fake.requests if path == "/open-apis/im/v1/messages"] == [429, 200]


async def test_code_99991400_is_a_rate_limit_too_and_a_5xx_is_retried(harness: Harness) -> None:
    fake = harness.fake
    fake.fail_next("/open-apis/im/v1/messages", 400, code=99991400)
    fake.fail_next("/open-apis/im/v1/messages", 503, code=0)
    await harness.say("lilei", "帮助", settle=False)
    for _ in range(4):
        await harness.app.settle()
        harness.clock.advance(minutes=1)
    await harness.app.settle()
    assert len(fake.to(GROUP)) == 1
    assert [status for _, path, status in fake.requests if path == "/open-apis/im/v1/messages"] == [400, 503, 200]


async def test_the_tenant_token_is_cached_and_fetched_again_when_refused(harness: Harness) -> None:
    fake = harness.fake
    for _ in range(3):
        await harness.say("lilei", "帮助")
    assert fake.token_requests == 1  # one token for the bot info, every send and every lookup
    fake.expire_tokens()
    await harness.say("lilei", "帮助")
    assert fake.token_requests == 2 and len(fake.to(GROUP)) == 4
    harness.clock.advance(hours=2)  # past its two hours: fetched before it is refused
    before = len(fake.requests)
    await harness.say("lilei", "帮助")
    assert fake.token_requests == 3 and all(status == 200 for _, _, status in fake.requests[before:])


async def test_a_send_whose_answer_was_lost_is_not_shown_twice(harness: Harness) -> None:
    fake = harness.fake
    fake.lose_answers = 1  # Feishu posted it, but the answer never came back
    await harness.say("lilei", "帮助", settle=False)
    await harness.app.settle()
    harness.clock.advance(minutes=1)
    await harness.app.settle()
    assert await rows("sent") == 1
    assert len(fake.to(GROUP)) == 1  # the retry carried the same uuid: Feishu answered with the first message


async def test_a_burst_to_one_chat_keeps_feishus_pace(harness: Harness) -> None:
    platform, fake = harness.platform, harness.fake
    for index in range(12):
        await OutboxMessage.create(
            platform="feishu", conversation_id=GROUP, is_direct=False, kind="text", dedupe_key=f"burst-{index}",
            payload=Text(f"第 {index + 1} 条").to_json(), locale="zh_CN", status="pending",
            next_attempt_at=harness.clock.now(), created_at=harness.clock.now(),
        )
    harness.patience = timedelta(seconds=5)
    await harness.deliver()
    sent = fake.to(GROUP)
    assert [s.card_text() for s in sent] == [f"第 {i + 1} 条" for i in range(12)]  # all of them, in order
    times = [s.at for s in sent]
    assert all(later - earlier >= 1.0 for earlier, later in zip(times, times[5:], strict=False))  # ≤ 5 in any second
    delivery = Delivery(1, "k", "text", Conversation("feishu", GROUP), Text("x"), "zh_CN")
    keys = [p.key for p in platform.pace(delivery)]
    assert keys[0] == f"feishu:chat_id:{GROUP}" and any(k.startswith("feishu:app:") for k in keys)


@pytest.fixture
async def reports(database_url: str, fake: FakeFeishu, clock: ManualClock) -> AsyncIterator[Harness]:
    data = lifecycle_data(database_url, fake)
    data["people"], data["departments"], data["groups"] = [], [], []
    app, platform = await open_app(data, fake, clock)
    try:
        assert platform.ws is not None
        await fake.wait_for(platform.ws.ready.is_set)
        yield Harness(app, platform, fake, clock)
    finally:
        await app.stop()


async def test_a_gantt_chart_is_an_uploaded_image(reports: Harness) -> None:
    reports.clock.set(NOW)
    await seed(platform="feishu")
    await reports.push(events.message("liuyang", f"甘特图 {CODE}", chat_id=GROUP))
    [upload] = reports.fake.uploads
    assert upload["kind"] == "image" and upload["fields"] == {"image_type": "message"} and upload["size"] > 1000
    caption, image = reports.fake.to("liuyang")  # sent to the person who asked; the group is told so
    assert caption.msg_type == "post" and "甘特图" in caption.card_text()
    assert image.msg_type == "image" and image.content == {"image_key": upload["key"]} and image.receive_id_type == "open_id"
    assert "只有你能看到" in reports.fake.texts(GROUP)[0]


async def test_an_export_is_an_uploaded_file(reports: Harness) -> None:
    reports.clock.set(NOW)
    await seed(platform="feishu")
    await reports.push(events.message("liuyang", f"导出 {CODE} xlsx"))  # in the direct chat
    [upload] = reports.fake.uploads
    assert upload["kind"] == "file" and upload["fields"] == {"file_type": "xls", "file_name": f"{CODE}.xlsx"}
    sent = [s for s in reports.fake.to("liuyang") if s.msg_type == "file"]
    assert sent and sent[0].content == {"file_key": upload["key"]} and sent[0].receive_id_type == "open_id"


async def test_a_file_larger_than_feishu_takes_becomes_a_text_saying_where_to_get_it(reports: Harness) -> None:
    """``im/v1/files`` takes 30 MB (larger: error 234006): a larger export is not uploaded."""
    await reports.platform.deliver(oversize_delivery("feishu", GROUP, 31))
    await reports.platform.deliver(oversize_delivery("feishu", GROUP, 29))

    assert [u["size"] for u in reports.fake.uploads] == [29 * 1024 * 1024]
    too_large, caption, file = reports.fake.to(GROUP)
    assert too_large.msg_type == "post" and OVERSIZE_TEXT.format(size=31) in too_large.card_text()
    assert caption.msg_type == "post" and file.msg_type == "file"
