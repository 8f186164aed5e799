"""``adapters.wecom.inbound``: WeCom callback bodies → events (pure)."""

from __future__ import annotations

import pytest

from adapters.wecom.inbound import (
    KEY_LIMIT,
    KeyTooLong,
    app_callback,
    decode_key,
    encode_key,
    parse_xml,
    robot_callback,
    strip_mention,
)
from bot.types import EventKind


def group_text(content: str, **extra: object) -> dict:
    return {
        "msgid": "CAIQ16HMjQYY/NGagIOAgAMgq4KM0AI=",
        "aibotid": "AIBOTID",
        "chatid": "wrkSFfCgAAxxxx",
        "chattype": "group",
        "from": {"userid": "zhangsan"},
        "msgtype": "text",
        "text": {"content": content},
        **extra,
    }


def test_a_group_mention_becomes_a_command_in_that_group() -> None:
    item = robot_callback(group_text("@协作助手\u2005新建协作 标题：发布会"), req_id="r1", received_at=100.0, via="ws")
    event = item.event
    assert item.kind == "msg" and event is not None
    assert event.kind is EventKind.COMMAND
    assert event.delivery_id == "CAIQ16HMjQYY/NGagIOAgAMgq4KM0AI="  # msgid: the engine's inbox dedupes on it
    assert event.conversation is not None and event.conversation.id == "wrkSFfCgAAxxxx" and not event.conversation.is_direct
    assert event.actor_id == "zhangsan"
    assert event.text == "新建协作 标题：发布会"
    assert event.reply_to == {"via": "ws", "req_id": "r1", "at": 100.0, "kind": "msg"}


def test_a_single_chat_is_a_direct_conversation_with_the_member() -> None:
    body = {"msgid": "m2", "aibotid": "A", "chattype": "single", "from": {"userid": "lisi"}, "msgtype": "text", "text": {"content": "@不是机器人 列表"}}
    event = robot_callback(body, req_id="r2", received_at=0, via="ws").event
    assert event is not None and event.conversation is not None
    assert event.conversation.id == "lisi" and event.conversation.is_direct
    assert event.text == "@不是机器人 列表"  # nothing is stripped in a single chat
    assert event.reply_to["single"] is True


@pytest.mark.parametrize(
    ("text", "bot_name", "expected"),
    [
        ("@collabbot help", None, "help"),
        ("@collabbot\u2005帮助", None, "帮助"),
        ("  @协作助手\u00a0进度 XZB2026112301-01 50%", None, "进度 XZB2026112301-01 50%"),
        ("进度 XZB-01 50% @Collab Bot", "Collab Bot", "进度 XZB-01 50%"),
        ("@Collab Bot 列表", "Collab Bot", "列表"),
        ("列表", None, "列表"),
    ],
)
def test_the_robot_mention_is_removed(text: str, bot_name: str | None, expected: str) -> None:
    assert strip_mention(text, bot_name) == expected


def test_mixed_and_voice_messages_carry_their_text_and_images_are_ignored() -> None:
    mixed = group_text("", msgtype="mixed", mixed={"msg_item": [{"msgtype": "text", "text": {"content": "@bot 查看 XZB1"}}, {"msgtype": "image", "image": {"url": "u"}}]})
    assert robot_callback(mixed, req_id="r", received_at=0, via="ws").event.text == "查看 XZB1"  # type: ignore[union-attr]
    voice = {"msgid": "v", "chattype": "single", "from": {"userid": "u"}, "msgtype": "voice", "voice": {"content": "列表"}}
    assert robot_callback(voice, req_id="r", received_at=0, via="ws").event.text == "列表"  # type: ignore[union-attr]
    image = {"msgid": "i", "chattype": "single", "from": {"userid": "u"}, "msgtype": "image", "image": {"url": "u"}}
    item = robot_callback(image, req_id="r", received_at=0, via="ws")
    assert item.event is None and item.kind == "ignored"


def click(event: dict) -> dict:
    return {
        "msgid": "click-1",
        "create_time": 1700000000,
        "aibotid": "A",
        "chatid": "group-1",
        "chattype": "group",
        "from": {"userid": "wangwu", "corpid": "wwcorp"},
        "response_url": "https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=RC",
        "msgtype": "event",
        "event": event,
    }


@pytest.mark.parametrize("flat", [False, True])
def test_a_card_click_in_either_shape_becomes_the_buttons_action(flat: bool) -> None:
    key = encode_key("b", "request.accept", {"code": "XZB2026112301", "dept": "ops", "round": 1})
    data = {"card_type": "button_interaction", "event_key": key, "task_id": "cb0123"}
    event = {"eventtype": "template_card_event", **data} if flat else {"eventtype": "template_card_event", "template_card_event": data}
    item = robot_callback(click(event), req_id="r9", received_at=5.0, via="ws")
    assert item.kind == "card" and item.task_id == "cb0123" and item.actor == "wangwu"
    built = item.event
    assert built is not None and built.kind is EventKind.ACTION
    assert built.action == "request.accept"
    assert built.value == {"code": "XZB2026112301", "dept": "ops", "round": 1}  # types survive the key
    assert built.delivery_id == "click-1"
    assert built.reply_to["task_id"] == "cb0123" and built.reply_to["kind"] == "card"
    assert built.reply_to["response_url"].endswith("response_code=RC")


def test_a_choice_card_submission_becomes_a_form_event() -> None:
    key = encode_key("f", "standup.mood", {"team": "ops", "_m": ["blockers"]})
    data = {
        "card_type": "multiple_interaction",
        "event_key": key,
        "task_id": "cb1",
        "selected_items": {
            "selected_item": [
                {"question_key": "mood", "option_ids": {"option_id": ["good"]}},
                {"question_key": "blockers", "option_ids": {"option_id": ["design", "legal"]}},
            ]
        },
    }
    built = robot_callback(click({"eventtype": "template_card_event", "template_card_event": data}), req_id="r", received_at=0, via="ws").event
    assert built is not None and built.kind is EventKind.FORM
    assert built.action == "standup.mood"
    assert built.value == {"team": "ops"}
    assert built.form == {"mood": "good", "blockers": ["design", "legal"]}


def test_unknown_button_keys_and_the_decided_cards_button_are_ignored() -> None:
    for key in ("noop", "something else", "b|", "b|x|not json"):
        data = {"event_key": key, "task_id": "cb1"}
        item = robot_callback(click({"eventtype": "template_card_event", "template_card_event": data}), req_id="r", received_at=0, via="ws")
        assert item.event is None


def test_enter_chat_runs_the_welcome_command_and_disconnected_event_is_reported() -> None:
    body = {"msgid": "e1", "aibotid": "A", "from": {"userid": "zhaoliu"}, "msgtype": "event", "event": {"eventtype": "enter_chat"}}
    item = robot_callback(body, req_id="w1", received_at=0, via="ws", welcome_text="帮助")
    assert item.kind == "welcome" and item.event is not None
    assert item.event.text == "帮助" and item.event.conversation.is_direct  # type: ignore[union-attr]
    assert item.event.reply_to["kind"] == "welcome"
    gone = robot_callback({"msgid": "d", "from": {"userid": "x"}, "msgtype": "event", "event": {"eventtype": "disconnected_event"}}, req_id="d", received_at=0, via="ws")
    assert gone.kind == "disconnected" and gone.event is None


def test_keys_round_trip_stay_short_and_refuse_the_oversized() -> None:
    assert encode_key("b", "task.ack") == "b|task.ack"
    assert decode_key("b|task.ack") == ("b", "task.ack", {})
    key = encode_key("b", "acceptance.pass", {"code": "XZB2026112301-01", "attempt": 2})
    assert key == 'b|acceptance.pass|{"attempt":2,"code":"XZB2026112301-01"}'
    assert decode_key(key) == ("b", "acceptance.pass", {"attempt": 2, "code": "XZB2026112301-01"})
    assert decode_key(encode_key("b", "x", {"a": 1}, index=3)) == ("b", "x", {"a": 1})
    with pytest.raises(KeyTooLong):
        encode_key("b", "x", {"blob": "字" * (KEY_LIMIT // 3)})


def test_an_app_text_and_an_app_card_click() -> None:
    text = parse_xml(
        "<xml><ToUserName><![CDATA[wwcorp]]></ToUserName><FromUserName><![CDATA[lisi]]></FromUserName>"
        "<CreateTime>1409659813</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[列表]]></Content>"
        "<MsgId>4561255354251345929</MsgId><AgentID>218</AgentID></xml>"
    )
    item = app_callback(text, received_at=0)
    assert item.event is not None and item.event.text == "列表"
    assert item.event.conversation.id == "app:lisi" and item.event.conversation.is_direct  # type: ignore[union-attr]

    key = encode_key("f", "vote", {"poll": 7})
    event = parse_xml(
        "<xml><ToUserName><![CDATA[wwcorp]]></ToUserName><FromUserName><![CDATA[lisi]]></FromUserName>"
        "<CreateTime>1409659900</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[template_card_event]]></Event>"
        f"<EventKey><![CDATA[{key}]]></EventKey><TaskId><![CDATA[cbABC]]></TaskId><CardType><![CDATA[vote_interaction]]></CardType>"
        "<ResponseCode><![CDATA[RC-1]]></ResponseCode><AgentID>218</AgentID>"
        "<SelectedItems><SelectedItem><QuestionKey><![CDATA[choice]]></QuestionKey>"
        "<OptionIds><OptionId><![CDATA[b]]></OptionId></OptionIds></SelectedItem></SelectedItems></xml>"
    )
    item = app_callback(event, received_at=0)
    assert item.kind == "card" and item.extras["response_code"] == "RC-1" and item.task_id == "cbABC"
    assert item.event is not None and item.event.kind is EventKind.FORM
    assert item.event.form == {"choice": "b"} and item.event.value == {"poll": 7}
    assert item.event.delivery_id == "app:event:lisi:1409659900:cbABC"


def test_bad_xml_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="not XML"):
        parse_xml("<xml><unclosed>")
