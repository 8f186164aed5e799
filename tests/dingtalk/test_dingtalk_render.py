"""Pure tests of the DingTalk renderer and frame parser: snapshots of every card shape, template and markdown fallback."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.dingtalk import inbound, render
from bot.platform import Mention
from bot.types import Button, Card, CardField, EventKind, Form, FormField, Text
from tests.dingtalk.fake_dingtalk import dtmd_contents
from tests.dingtalk.snapshots import SNAPSHOTS, assert_snapshot, readable

SECRET = "app-secret-1"

DECLINE_FORM = Form(
    "request.decline",
    "拒绝 XZB2026112301",
    [FormField("reason", "原因", "textarea", required=True), FormField("counter_date", "可启动日期", "date")],
    "提交",
    value={"code": "XZB2026112301", "dept": "rd", "round": 1},
    template="拒绝 XZB2026112301 原因：… 改期：2026-12-20",
)

SHAPES: dict[str, Card] = {
    "plain": Card(
        "协作助手使用说明",
        body="**协作助手** 在本群推进跨部门协作。\n- `新建协作` — 发起需求\n- `帮助` — 本说明",
    ),
    "fields_and_status": Card(
        "协作需求 XZB2026112301：新品发布物料",
        key="req:XZB2026112301",
        body="⏳ 设计部：等待刘洋确认\n✅ 研发部：陈杰 于 2026-11-23 09:00 接受",
        fields=[
            CardField("发起人", "李雷"),
            CardField("截止时间", "2026-12-20"),
            CardField("协作目标", "海报\n落地页"),
        ],
        color="yellow",
        status="状态：待确认（第 1 轮）",
    ),
    "decision_buttons": Card(
        "李雷 请研发部协作：XZB2026112301 新品发布物料",
        key="req:XZB2026112301:rd:r1",
        fields=[CardField("截止时间", "2026-12-20")],
        buttons=[
            Button(
                "接受",
                "request.accept",
                {"code": "XZB2026112301", "dept": "rd", "round": 1},
                "primary",
                command="accept XZB2026112301 rd",
            ),
            Button(
                "拒绝",
                "request.decline",
                {"code": "XZB2026112301", "dept": "rd", "round": 1},
                "danger",
                command="decline XZB2026112301 rd reason: ",
                opens_form=DECLINE_FORM,
            ),
            Button("稍后", "request.later"),  # no command: the fallback link sends a signed #btn line
        ],
        status="请为研发部接受或拒绝。",
        mentions=["6"],
    ),
    "decided_grey": Card(
        "李雷 请研发部协作：XZB2026112301",
        key="req:XZB2026112301:rd:r1",
        color="grey",
        status="❌ 研发部：陈杰 于 09:00 拒绝：人力饱和",
    ),
    "form_prompt": Card(DECLINE_FORM.title, body="为什么拒绝？请填写：", form=DECLINE_FORM),
    "form_without_template": Card(
        "新建任务",
        form=Form("task.new", "新建任务", [FormField("title", "标题"), FormField("owner", "负责人")], "提交"),
    ),
    "accepted_green": Card(
        "验收通过：XZB2026112301-01 海报", color="green", status="王芳 于 2026-11-25 10:00 验收通过"
    ),
    "overdue_red": Card("⚠️ 已逾期：XZB2026112301-02 落地页", color="red", body="截止 2026-12-15，进度 60%"),
}
MENTIONS = {"decision_buttons": [Mention("0106chenjie", "陈杰")]}


def test_every_card_shape_with_the_template_snapshot():
    for name, card in SHAPES.items():
        params = render.card_params(card, MENTIONS.get(name, []), "zh_CN")
        assert all(isinstance(v, str) for v in params.values()), name  # DingTalk's rule for cardParamMap
        assert_snapshot(f"template_{name}", readable(params))


def test_every_card_shape_as_markdown_fallback_snapshot():
    for name, card in SHAPES.items():
        for where, direct in (("group", False), ("direct", True)):
            title, text = render.card_markdown(
                card, MENTIONS.get(name, []), "zh_CN", secret=SECRET, direct=direct
            )
            assert_snapshot(f"markdown_{name}_{where}", {"title": title, "text": text})


def test_every_captured_workflow_card_snapshot():
    """Cards the workflows really produced (``test_dingtalk_cards`` captures them): template variables and markdown."""
    inputs = sorted((SNAPSHOTS / "cards").glob("*.card.json"))
    assert len(inputs) >= 10, "capture the cards: COLLABBOT_UPDATE_SNAPSHOTS=1 pytest tests/dingtalk"
    for path in inputs:
        name = path.name.removesuffix(".card.json")
        data = json.loads(path.read_text(encoding="utf-8"))
        card = Card.from_json(data["card"])
        mentions = [Mention(m["platform_user_id"], m["name"]) for m in data["mentions"]]
        params = render.card_params(card, mentions, data["locale"])
        assert all(isinstance(v, str) for v in params.values()), name
        title, text = render.card_markdown(
            card, mentions, data["locale"], secret=SECRET, direct=data["direct"]
        )
        assert_snapshot(
            f"workflow_{name}", {"template": readable(params), "markdown": {"title": title, "text": text}}
        )


def test_buttons_carry_action_and_value_in_the_callback_params():
    params = render.card_params(SHAPES["decision_buttons"], [], "zh_CN")
    buttons = json.loads(params["btns"])
    assert [b["text"] for b in buttons] == ["接受", "拒绝", "稍后"]
    assert [b["color"] for b in buttons] == ["blue", "red", "gray"]
    accept = buttons[0]["action"]
    assert accept["type"] == "sendCardRequest" and accept["params"]["actionId"] == "request.accept"
    assert json.loads(accept["params"]["params"]["value"]) == {
        "code": "XZB2026112301",
        "dept": "rd",
        "round": 1,
    }


def test_a_card_form_is_shown_as_the_template_to_fill_in():
    content = render.card_params(SHAPES["form_without_template"], [], "zh_CN")["content"]
    assert "复制以下内容" in content and "> title: " in content and "> owner: " in content
    prompt = render.card_params(SHAPES["form_prompt"], [], "zh_CN")["content"]
    assert prompt.count("拒绝 XZB2026112301 原因") == 1  # not repeated when the body already shows it


def test_markdown_fallback_links_send_the_command_or_a_signed_click():
    _, text = render.card_markdown(SHAPES["decision_buttons"], [], "zh_CN", secret=SECRET, direct=True)
    accept, decline, later = dtmd_contents(text)
    assert accept == "accept XZB2026112301 rd"
    assert decline == "decline XZB2026112301 rd reason: "
    assert later.startswith("#btn request.later {} ~")
    assert inbound.parse_action_text(later, SECRET) == ("request.later", {})
    assert inbound.parse_action_text(later, "another-secret") is None  # forged or from another app
    assert inbound.parse_action_text(later.replace("{}", '{"x":1}'), SECRET) is None  # tampered value
    assert "@-mention" not in text and "先 @我" not in text  # one-to-one: no need to @ the robot
    _, in_group = render.card_markdown(SHAPES["decision_buttons"], [], "zh_CN", secret=SECRET, direct=False)
    assert "在群里发送命令前，请先 @我" in in_group


def test_markdown_conversion_for_dingtalk():
    assert render.markdown("a\nb") == "a  \nb"  # DingTalk joins lines without two trailing spaces
    assert render.markdown("发送 `帮助` 查看") == "发送 **帮助** 查看"
    assert render.markdown("x\n```\nnew\ntitle: …\n```") == "x  \n> new  \n> title: …"
    title, text = render.text_markdown(
        Text("**已接受** XZB2026112301\n- 设计部"), [Mention("0104liuyang", "刘洋")]
    )
    assert title == "已接受 XZB2026112301"
    assert text == "**已接受** XZB2026112301  \n- 设计部  \n  \n@刘洋"
    assert_snapshot("text_with_mention", {"title": title, "text": text})


def test_folded_messages_snapshot():
    assert_snapshot(
        "folded",
        dict(zip(("title", "text"), render.fold_markdown(["第一条", "@李雷 第二条"], "zh_CN"), strict=True)),
    )
    title, _ = render.fold_markdown(["a", "b", "c"], "en")
    assert title == "3 messages, combined into one to stay within DingTalk's rate limit:"


texts = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=3000)


@settings(max_examples=40, deadline=None)
@given(
    title=texts,
    body=texts,
    fields=st.lists(st.tuples(st.text(max_size=100), texts), max_size=20),
    labels=st.lists(texts, max_size=8),
)
def test_any_card_renders_within_limits_and_links_round_trip(title, body, fields, labels):
    card = Card(
        title,
        body=body,
        fields=[CardField(k, v) for k, v in fields],
        buttons=[Button(label, "a.b", {"i": i}, command=f"cmd {label}") for i, label in enumerate(labels)],
    )
    params = render.card_params(card, [], "zh_CN")
    assert all(isinstance(v, str) for v in params.values())
    assert len(params["content"]) <= render.MAX_MARKDOWN and len(params["lastMessage"]) <= render.TITLE_LENGTH
    title_md, text = render.card_markdown(card, [], "zh_CN", secret=SECRET, direct=True)
    assert len(text) <= render.MAX_MARKDOWN and "\n" not in title_md
    if len(text) < render.MAX_MARKDOWN:  # not cut short: every button is a link that sends its command
        assert dtmd_contents(text) == [f"cmd {label}" for label in labels]


# ---------------------------------------------------------------- inbound (pure)

GROUP_MESSAGE = {
    "conversationId": "cidLAUNCH==",
    "atUsers": [{"dingtalkId": "$:LWCP_v1:$robot"}],
    "chatbotCorpId": "dingcorp",
    "chatbotUserId": "$:LWCP_v1:$robot",
    "msgId": "msgABC",
    "senderNick": "李雷",
    "isAdmin": False,
    "senderStaffId": "0103lilei",
    "sessionWebhookExpiredTime": 1795000000000,
    "createAt": 1794990000000,
    "senderCorpId": "dingcorp",
    "conversationType": "2",
    "senderId": "$:LWCP_v1:$lilei",
    "conversationTitle": "新品发布协作群",
    "isInAtList": True,
    "sessionWebhook": "https://oapi.dingtalk.com/robot/sendBySession?session=s1",
    "text": {"content": " 进度 XZB2026112301-01 60%"},
    "robotCode": "dingappkey",
    "msgtype": "text",
}


def test_a_group_mention_becomes_a_command_event():
    event = inbound.robot_message(GROUP_MESSAGE, message_id="frame-1", secret=SECRET)
    assert event is not None
    assert (event.kind, event.text, event.delivery_id) == (
        EventKind.COMMAND,
        "进度 XZB2026112301-01 60%",
        "msgABC",
    )
    assert (event.conversation.id, event.conversation.is_direct, event.conversation.name) == (
        "cidLAUNCH==",
        False,
        "新品发布协作群",
    )
    assert (event.actor_id, event.actor_name) == ("0103lilei", "李雷")
    assert event.reply_to == {"session_webhook": GROUP_MESSAGE["sessionWebhook"], "expires_ms": 1795000000000}


def test_a_one_to_one_message_is_named_by_the_person_and_rich_text_and_voice_are_read():
    direct = {**GROUP_MESSAGE, "conversationType": "1", "conversationId": "cidDM=="}
    event = inbound.robot_message(direct, message_id="frame-2", secret=SECRET)
    assert event is not None and event.conversation.id == "0103lilei" and event.conversation.is_direct
    rich = {
        **GROUP_MESSAGE,
        "msgtype": "richText",
        "content": {"richText": [{"text": "帮助"}, {"downloadCode": "x"}, {"text": " 一下"}]},
    }
    assert inbound.robot_message(rich, message_id="f", secret=SECRET).text == "帮助 一下"
    voice = {**GROUP_MESSAGE, "msgtype": "audio", "content": {"recognition": "列表", "duration": 2000}}
    assert inbound.robot_message(voice, message_id="f", secret=SECRET).text == "列表"
    picture = {**GROUP_MESSAGE, "msgtype": "picture", "content": {"downloadCode": "x"}}
    assert inbound.robot_message(picture, message_id="f", secret=SECRET).text == ""
    assert (
        inbound.robot_message(
            {**GROUP_MESSAGE, "msgId": None}, message_id="frame-3", secret=SECRET
        ).delivery_id
        == "frame-3"
    )
    assert (
        inbound.robot_message(
            {**GROUP_MESSAGE, "senderStaffId": None, "senderId": None}, message_id="f", secret=SECRET
        )
        is None
    )


def test_a_signed_link_click_becomes_an_action_event():
    text = render.action_text(SECRET, Button("稍后", "request.later", {"code": "XZB2026112301"}))
    event = inbound.robot_message(
        {**GROUP_MESSAGE, "text": {"content": " " + text}}, message_id="f", secret=SECRET
    )
    assert (event.kind, event.action, event.value) == (
        EventKind.ACTION,
        "request.later",
        {"code": "XZB2026112301"},
    )


def test_a_card_callback_becomes_an_action_event():
    data = {
        "outTrackId": "collab-1",
        "corpId": "dingcorp",
        "userId": "0104liuyang",
        "type": "actionCallback",
        "spaceType": "IM_GROUP",
        "spaceId": "cidLAUNCH==",
        "extension": "{}",
        "content": json.dumps(
            {
                "cardPrivateData": {
                    "actionIds": ["request.accept"],
                    "params": {"action": "request.accept", "value": '{"code":"XZB2026112301","round":1}'},
                }
            }
        ),
    }
    event = inbound.card_callback(data, message_id="frame-9", names={"0104liuyang": "刘洋"})
    assert event is not None
    assert (event.kind, event.action, event.value, event.delivery_id) == (
        EventKind.ACTION,
        "request.accept",
        {"code": "XZB2026112301", "round": 1},
        "frame-9",
    )
    assert (event.conversation.id, event.conversation.is_direct, event.actor_name) == (
        "cidLAUNCH==",
        False,
        "刘洋",
    )
    assert event.reply_to == {"out_track_id": "collab-1"}
    one_to_one = inbound.card_callback(
        {**data, "spaceType": "IM_ROBOT", "spaceId": "x"}, message_id="frame-10"
    )
    assert one_to_one.conversation.id == "0104liuyang" and one_to_one.conversation.is_direct
    bare = {
        **data,
        "content": json.dumps({"cardPrivateData": {"actionIds": ["task.ack"]}}),
    }  # a template without params
    assert (
        inbound.card_callback(bare, message_id="f").action,
        inbound.card_callback(bare, message_id="f").value,
    ) == ("task.ack", {})
    assert inbound.card_callback({**data, "content": "{}"}, message_id="f") is None


def test_the_shipped_card_template_declares_exactly_what_the_renderer_fills_in():
    template = json.loads(
        (Path(render.__file__).parent / "cards" / "collabbot_card.json").read_text(encoding="utf-8")
    )
    editor = json.loads(template["editorData"])
    declared = {v["name"]: v for v in editor["variableList"]}
    params = render.card_params(SHAPES["decision_buttons"], [], "zh_CN")
    assert set(declared) == set(params)
    button_fields = {f["name"] for f in declared["btns"]["schema"]}
    assert button_fields == set(json.loads(params["btns"])[0])
    bound: set[str] = set()

    def walk(node: dict) -> None:
        text = json.dumps(node["props"], ensure_ascii=False)
        bound.update(name for name in declared if f'"{name}' in text or "${" + name in text)
        for child in node.get("children") or []:
            walk(child)

    walk(editor["schema"]["componentsTree"][0])
    assert bound == set(declared)  # every variable is shown somewhere on the card
