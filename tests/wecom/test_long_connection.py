"""The robot over its long connection, against the fake WeCom: answers, cards, clicks, updates, reconnects."""

from __future__ import annotations

from datetime import timedelta

from adapters.wecom.inbound import decode_key
from storage.models import InboxEntry, OutboxMessage

from .conftest import Harness, start_app, text_of, wecom_config
from .fake import INVALID_CREDENTIAL, FakeWeCom

GROUP = "wrkGroup001"


async def test_subscribes_with_bot_id_and_secret(harness: Harness) -> None:
    [subscribe] = harness.fake.frames("aibot_subscribe")
    assert subscribe.body == {"bot_id": "aibot-1", "secret": "bot-secret"} and subscribe.errcode == 0


async def test_a_group_mention_is_answered_with_the_same_req_id(harness: Harness) -> None:
    req_id = await harness.say("lilei", "帮助", chatid=GROUP)
    [answer] = harness.answers(req_id)
    assert answer.cmd == "aibot_respond_msg"
    assert answer.body["msgtype"] == "stream" and answer.body["stream"]["finish"] is True
    assert "协作" in text_of(answer.body)


async def test_a_single_chat_message_is_answered_too(harness: Harness) -> None:
    req_id = await harness.say("hanmeimei", "help")
    [answer] = harness.answers(req_id)
    assert "协作" in text_of(answer.body)  # an English command word does not change a Chinese reader's language


async def test_a_duplicated_callback_is_handled_once(harness: Harness) -> None:
    first = await harness.say("lilei", "帮助", chatid=GROUP, msgid="dup-msg-1")
    second = await harness.say("lilei", "帮助", chatid=GROUP, msgid="dup-msg-1")
    assert len(harness.answers(first)) == 1
    assert harness.answers(second) == []
    assert await InboxEntry.filter(platform="wecom", delivery_id="dup-msg-1").count() == 1
    assert len(harness.fake.messages()) == 1


async def test_a_card_click_updates_the_card_within_the_window(harness: Harness) -> None:
    posted = await harness.say("lilei", "审批演示", chatid=GROUP)
    [answer] = harness.answers(posted)
    card = answer.body["template_card"]
    assert card["card_type"] == "button_interaction"
    task_id = card["task_id"]

    click = await harness.click("hanmeimei", task_id, harness.key(card, "demo.approve"), chatid=GROUP)
    [update] = harness.answers(click)
    assert update.cmd == "aibot_respond_update_msg"  # same req_id as the click, accepted by the fake
    assert update.body["response_type"] == "update_template_card"
    assert update.body["template_card"]["task_id"] == task_id
    assert "已同意：hanmeimei" in text_of(update.body)
    assert update.body["template_card"]["button_list"][0]["key"] == "noop"
    # nothing else was posted: the card changed in place
    assert len(harness.fake.messages(GROUP)) == 1


async def test_the_flattened_click_shape_works_too(harness: Harness) -> None:
    posted = await harness.say("lilei", "审批演示", chatid=GROUP)
    card = harness.answers(posted)[0].body["template_card"]
    click = await harness.click("hanmeimei", card["task_id"], harness.key(card, "demo.reject"), chatid=GROUP, flat=True)
    [update] = harness.answers(click)
    assert update.cmd == "aibot_respond_update_msg" and "已驳回" in text_of(update.body)
    # the click's own reply cannot use the event's req_id: it is posted to the group
    [notice] = [m for m in harness.fake.messages(GROUP) if m.cmd == "aibot_send_msg"]
    assert notice.body["chatid"] == GROUP and "已驳回" in text_of(notice.body)


async def test_after_the_window_the_new_state_is_posted_as_a_new_card(harness: Harness) -> None:
    posted = await harness.say("lilei", "审批演示", chatid=GROUP)
    card = harness.answers(posted)[0].body["template_card"]
    click = await harness.click("hanmeimei", card["task_id"], harness.key(card, "demo.approve"), chatid=GROUP, settle=False)
    harness.clock.advance(seconds=6)
    await harness.app.settle()
    assert harness.answers(click) == []  # no update was attempted after the window
    [repost] = [m for m in harness.fake.messages(GROUP) if m.cmd == "aibot_send_msg"]
    new_card = repost.body["template_card"]
    assert new_card["task_id"].startswith(card["task_id"] + "-")
    assert "已同意：hanmeimei" in text_of(repost.body)


async def test_an_update_refused_by_wecom_falls_back_to_a_new_card(harness: Harness) -> None:
    harness.fake.update_window = 3.0  # WeCom's clock runs ahead of ours
    posted = await harness.say("lilei", "审批演示", chatid=GROUP)
    card = harness.answers(posted)[0].body["template_card"]
    click = await harness.click("hanmeimei", card["task_id"], harness.key(card, "demo.approve"), chatid=GROUP, settle=False)
    harness.clock.advance(seconds=4)
    await harness.app.settle()
    [refused] = harness.fake.frames("aibot_respond_update_msg")
    assert refused.req_id == click and refused.errcode != 0
    [repost] = [m for m in harness.fake.messages(GROUP) if m.cmd == "aibot_send_msg"]
    assert "已同意" in text_of(repost.body)
    assert await OutboxMessage.filter(status="dead").count() == 0


async def test_a_click_on_a_reposted_copy_updates_that_copy(harness: Harness) -> None:
    posted = await harness.say("lilei", "计数演示", chatid=GROUP)
    card = harness.answers(posted)[0].body["template_card"]
    # the first click is handled too late to update in place: the new state is posted as a copy
    await harness.click("hanmeimei", card["task_id"], harness.key(card, "demo.inc"), chatid=GROUP, settle=False)
    harness.clock.advance(seconds=10)
    await harness.app.settle()
    copy = harness.last_card(GROUP)
    assert copy["task_id"].startswith(card["task_id"] + "-") and copy["main_title"]["title"] == "计数：1"
    # a click on the copy updates the copy, in place
    click = await harness.click("lilei", copy["task_id"], harness.key(copy, "demo.inc"), chatid=GROUP)
    [update] = harness.answers(click)
    assert update.cmd == "aibot_respond_update_msg"
    assert update.body["template_card"]["task_id"] == copy["task_id"]
    assert update.body["template_card"]["main_title"]["title"] == "计数：2"


async def test_the_greyed_out_button_of_a_decided_card_does_nothing(harness: Harness) -> None:
    posted = await harness.say("lilei", "审批演示", chatid=GROUP)
    card = harness.answers(posted)[0].body["template_card"]
    await harness.click("hanmeimei", card["task_id"], harness.key(card, "demo.approve"), chatid=GROUP)
    before = len(harness.fake.received)
    await harness.click("lilei", card["task_id"], "noop", chatid=GROUP)
    assert [r for r in harness.fake.received[before:] if r.cmd != "ping"] == []


async def test_a_choice_card_submission_is_a_form(harness: Harness) -> None:
    posted = await harness.say("lilei", "投票演示", chatid=GROUP)
    card = harness.answers(posted)[0].body["template_card"]
    assert card["card_type"] == "vote_interaction"
    await harness.click("hanmeimei", card["task_id"], card["submit_button"]["key"], chatid=GROUP, selected={"dish": ["rice"]})
    [answer] = [m for m in harness.fake.messages(GROUP) if m.cmd == "aibot_send_msg"]
    assert text_of(answer.body) == "收到：rice"


async def test_a_personal_message_goes_to_the_members_single_chat(harness: Harness) -> None:
    await harness.say("lilei", "帮助")  # the bot now knows lilei's single chat
    await harness.say("lilei", "私信演示", chatid=GROUP)
    [card] = [m for m in harness.fake.frames("aibot_send_msg", ok=True)]
    assert card.body["chatid"] == "lilei" and card.body["msgtype"] == "template_card"


async def test_enter_chat_is_welcomed_with_the_help(harness: Harness) -> None:
    ws = harness.platform.ws
    assert ws is not None
    before = ws.handled
    req_id = await harness.fake.enter_chat("hanmeimei")
    await harness.fake.wait_for(lambda: ws.handled > before)
    await harness.app.settle()
    [welcome] = harness.answers(req_id)
    assert welcome.cmd == "aibot_respond_welcome_msg" and welcome.body["msgtype"] == "text"
    assert "协作" in welcome.body["text"]["content"]
    assert "**" not in welcome.body["text"]["content"]  # a welcome text shows no markdown


async def test_an_old_message_is_answered_by_a_new_message(harness: Harness) -> None:
    req_id = await harness.say("lilei", "帮助", chatid=GROUP, settle=False)
    harness.clock.advance(minutes=10)
    await harness.app.settle()
    assert harness.answers(req_id) == []
    [sent] = harness.fake.frames("aibot_send_msg", ok=True)
    assert sent.body["chatid"] == GROUP and "协作" in text_of(sent.body)


async def test_a_dropped_connection_reconnects_and_keeps_working(harness: Harness) -> None:
    ws = harness.platform.ws
    assert ws is not None
    await harness.fake.drop()
    await harness.fake.wait_for(lambda: harness.fake.subscriptions == 2 and ws.ready.is_set())
    req_id = await harness.say("lilei", "帮助", chatid=GROUP)
    [answer] = harness.answers(req_id)
    assert answer.conn == 2


async def test_a_message_while_disconnected_waits_for_the_reconnection(harness: Harness) -> None:
    ws = harness.platform.ws
    assert ws is not None
    req_id = await harness.say("lilei", "帮助", chatid=GROUP, settle=False)
    harness.fake.refuse_connections = 10_000  # a long outage
    await harness.fake.drop()
    await harness.fake.wait_for(lambda: not ws.ready.is_set())
    for _ in range(12):  # more rounds than the outbox's attempt limit
        await harness.app.settle()
        harness.clock.advance(seconds=10)
    row = await OutboxMessage.get(platform="wecom")
    assert row.status == "pending" and row.attempts == 0 and "down" in (row.last_error or "")  # an outage costs no attempt
    harness.fake.refuse_connections = 0
    await harness.fake.wait_for(lambda: ws.ready.is_set())
    await harness.app.settle()
    assert len(harness.answers(req_id)) == 1  # answered by req_id: it is still within WeCom's reply window


async def test_unanswered_heartbeats_make_it_reconnect(database_url: str, fake: FakeWeCom, clock) -> None:
    app, platform = await start_app(wecom_config(database_url, fake, heartbeat_seconds=0.02), clock)
    try:
        ws = platform.ws
        assert ws is not None
        await fake.wait_for(lambda: ws.ready.is_set())
        fake.answer_pings = False
        await fake.wait_for(lambda: fake.subscriptions >= 2)
        fake.answer_pings = True
        assert len(fake.frames("ping")) >= 2
        await fake.wait_for(lambda: ws.ready.is_set())
    finally:
        await app.stop()


async def test_it_never_gives_up_reconnecting(database_url: str, fake: FakeWeCom, clock) -> None:
    fake.refuse_connections = 15  # more than the official SDK's ten attempts
    app, platform = await start_app(wecom_config(database_url, fake), clock)
    try:
        ws = platform.ws
        assert ws is not None
        await fake.wait_for(lambda: ws.ready.is_set())
        assert fake.handshakes == 16 and fake.subscriptions == 1
    finally:
        await app.stop()


async def test_a_refused_subscription_is_retried_too(database_url: str, fake: FakeWeCom, clock) -> None:
    app, platform = await start_app(wecom_config(database_url, fake, secret="rotated-secret"), clock)
    try:
        ws = platform.ws
        assert ws is not None
        await fake.wait_for(lambda: len(fake.frames("aibot_subscribe")) >= 12)
        assert all(f.errcode == INVALID_CREDENTIAL for f in fake.frames("aibot_subscribe"))
        fake.secret = "rotated-secret"  # the admin fixes the secret on WeCom's side
        await fake.wait_for(lambda: ws.ready.is_set())
    finally:
        await app.stop()


async def test_button_keys_carry_action_and_value(harness: Harness) -> None:
    posted = await harness.say("lilei", "审批演示", chatid=GROUP)
    card = harness.answers(posted)[0].body["template_card"]
    decoded = [decode_key(b["key"]) for b in card["button_list"]]
    assert decoded == [("b", "demo.approve", {"id": 7}), ("b", "demo.reject", {"id": 7})]
    assert all(len(b["key"].encode()) <= 1024 for b in card["button_list"])


async def test_two_answers_to_one_message(harness: Harness) -> None:
    req_id = await harness.say("lilei", "两条演示", chatid=GROUP)
    [first] = harness.answers(req_id)
    assert text_of(first.body) == "第一条"
    [second] = harness.fake.frames("aibot_send_msg", ok=True)
    assert second.body["msgtype"] == "template_card"


async def test_reply_timestamps_use_the_bots_clock(harness: Harness) -> None:
    start = harness.clock.now()
    await harness.say("lilei", "帮助", chatid=GROUP)
    assert all(r.at == start for r in harness.fake.messages())
    harness.clock.advance(timedelta(seconds=1))
