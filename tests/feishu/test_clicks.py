"""A click on Feishu is checked like a typed command: someone who may not decide, or a card of an earlier
round, gets a reply and the card stays as it is; a click Feishu delivers twice is handled once."""

from __future__ import annotations

from storage.models import AuditEntry
from tests.feishu import events
from tests.feishu.conftest import Harness, open_id

NEW = "新建协作\n标题：新品海报\n目标：12月18日前完成海报\n协作部门：设计部\n截止：2026-12-20"


async def test_someone_else_clicking_a_heads_card_is_refused(harness: Harness) -> None:
    fake = harness.fake
    await harness.say("lilei", NEW)
    card = fake.card_with(open_id("liuyang"), "接受")
    before = list(card.versions)
    answer = await harness.click("wangfang", card, "接受")  # 王芳 is not the head of 设计部
    assert answer.code == 200 and "card" not in (answer.data or {})
    assert card.versions == before and card.buttons()  # unchanged, still waiting for 刘洋
    [refusal] = fake.to(open_id("wangfang"))
    assert "设计部" in refusal.card_text()
    assert not await AuditEntry.filter(action="request.accepted").exists()


async def test_a_card_of_an_earlier_round_is_out_of_date(harness: Harness) -> None:
    fake = harness.fake
    await harness.say("lilei", NEW)
    first = fake.card_with(open_id("liuyang"), "接受")
    round_one = first.button("接受")["behaviors"][0]["value"]
    harness.clock.advance(minutes=2)
    await harness.say("lilei", f"调整 {round_one['v']['code']} 截止：2026-12-24")
    second = fake.card_with(open_id("liuyang"), "接受")
    assert second is not first and not first.buttons()  # the old card says it was superseded
    # a phone that has not refreshed still shows the round-1 buttons: that click is out of date
    answer = await harness.push(events.card_action(open_id("liuyang"), first.message_id, first.chat, round_one))
    assert answer.code == 200
    assert not await AuditEntry.filter(action="request.accepted").exists()
    await harness.click("liuyang", second, "接受")
    assert await AuditEntry.filter(action="request.accepted").count() == 1


async def test_a_click_delivered_twice_is_handled_once(harness: Harness) -> None:
    fake = harness.fake
    await harness.say("lilei", NEW)
    card = fake.card_with(open_id("liuyang"), "接受")
    button = card.button("接受")
    body = events.card_action(open_id("liuyang"), card.message_id, card.chat, button["behaviors"][0]["value"])
    first = await harness.push(body)
    again = await harness.push(body)  # Feishu did not see the answer in time and delivers it again
    assert first.code == again.code == 200 and first.data["card"]["type"] == "raw"
    assert await AuditEntry.filter(action="request.accepted").count() == 1
