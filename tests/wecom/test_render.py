"""``adapters.wecom.render``: snapshots of every card type and of the markdown fallback.

Snapshots live in ``tests/wecom/snapshots``; a missing one fails the test, and
``COLLABBOT_UPDATE_SNAPSHOTS=1`` writes them all (review the diff).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from adapters.wecom.inbound import decode_key
from adapters.wecom.render import (
    LIMITS,
    RenderOptions,
    card_markdown,
    clip,
    render,
    template_card,
    width,
)
from bot.platform import Mention
from bot.types import Button, Card, CardField, Choice, Form, FormField, Text
from tests.snapshot_files import assert_snapshot_file

SNAPSHOTS = Path(__file__).parent / "snapshots"
OPTIONS = RenderOptions(source="collabbot", card_url="https://work.weixin.qq.com/")


def snapshot(name: str, value: Any) -> None:
    assert_snapshot_file(SNAPSHOTS, name, value, "what WeCom gets")


def request_fields() -> list[CardField]:
    return [
        CardField("发起人", "李雷"),
        CardField("目标", "12月15日前完成新品发布会全部物料"),
        CardField("背景", "新品12月20日发布，需要设计部和研发部配合准备海报、演示视频和现场演示环境"),
        CardField("范围", "海报、视频、演示环境"),
        CardField("不包含", "媒体投放"),
        CardField("期望启动", "2026-12-01"),
        CardField("截止", "2026-12-15"),
        CardField("优先级", "高"),
        CardField("交付物", "海报源文件、视频成片"),
        CardField("备注", "-"),
    ]


def decision_card() -> Card:
    value = {"code": "XZB2026112301", "dept": "design", "round": 1}
    return Card(
        key="req:XZB2026112301:design:r1",
        title="李雷请设计部协作：XZB2026112301 新品发布会物料",
        fields=request_fields(),
        buttons=[
            Button("接受", "request.accept", value, "primary", command="接受 XZB2026112301 design"),
            Button("拒绝", "request.decline", value, "danger", command="拒绝 XZB2026112301 design 原因："),
        ],
        status="请代表设计部接受或拒绝。",
        color="blue",
    )


def test_button_interaction() -> None:
    card = template_card(decision_card(), task_id="cb0001", locale="zh_CN", options=OPTIONS)
    snapshot("button_interaction", card)
    assert card["card_type"] == "button_interaction"
    assert [decode_key(b["key"]) for b in card["button_list"]] == [
        ("b", "request.accept", {"code": "XZB2026112301", "dept": "design", "round": 1}),
        ("b", "request.decline", {"code": "XZB2026112301", "dept": "design", "round": 1}),
    ]
    assert len(card["horizontal_content_list"]) <= 6
    assert width(card["sub_title_text"]) <= LIMITS["sub_title"]
    assert card["task_id"] == "cb0001"


def test_vote_interaction_for_a_one_question_form() -> None:
    form = Form(
        id="standup.blockers",
        title="今天有阻碍吗？",
        submit_label="提交",
        value={"team": "design"},
        fields=[
            FormField(
                "blockers",
                "阻碍",
                "multiselect",
                choices=[Choice("none", "没有"), Choice("people", "人手不足"), Choice("deps", "等待其他部门")],
                initial="none",
            )
        ],
    )
    card = template_card(Card(title="设计部站会", body="选出今天的阻碍", form=form), task_id="cb0002", locale="zh_CN", options=OPTIONS)
    snapshot("vote_interaction", card)
    assert card["card_type"] == "vote_interaction" and card["checkbox"]["mode"] == 1
    assert decode_key(card["submit_button"]["key"]) == ("f", "standup.blockers", {"team": "design", "_m": ["blockers"]})


def test_multiple_interaction_for_several_choices() -> None:
    priorities = [Choice("high", "高"), Choice("medium", "中"), Choice("low", "低")]
    form = Form(
        id="task.triage",
        title="分级",
        submit_label="确定",
        value={"code": "XZB2026112301-01"},
        fields=[
            FormField("priority", "优先级", "select", choices=priorities, initial="medium"),
            FormField("stage", "阶段", "select", choices=[Choice("todo", "未开始"), Choice("doing", "进行中"), Choice("done", "已完成")]),
        ],
    )
    card = template_card(Card(title="XZB2026112301-01 分级", form=form), task_id="cb0003", locale="zh_CN", options=OPTIONS)
    snapshot("multiple_interaction", card)
    assert card["card_type"] == "multiple_interaction" and len(card["select_list"]) == 2
    assert card["select_list"][0]["selected_id"] == "medium"


def test_text_notice_for_a_plain_notice() -> None:
    card = Card(
        title="XZB2026112301 已生效",
        body="所有部门均已接受，可以拆分子任务了。",
        fields=[CardField("截止", "2026-12-15"), CardField("优先级", "高")],
        color="green",
        status="进行中（第 1 轮）",
    )
    result = template_card(card, task_id="cb0004", locale="zh_CN", options=OPTIONS)
    snapshot("text_notice", result)
    assert result["card_type"] == "text_notice" and result["card_action"] == {"type": 1, "url": "https://work.weixin.qq.com/"}


def test_a_decided_card_update_greys_out_its_button() -> None:
    decided = decision_card()
    decided.buttons = []
    decided.status = "✅ 设计部：张三于 11-23 10:02 接受"
    decided.color = "green"
    result = template_card(decided, task_id="cb0001", locale="zh_CN", update=True, options=OPTIONS)
    snapshot("button_interaction_decided", result)
    assert result["card_type"] == "button_interaction"
    assert result["replace_text"] == "已处理" and result["task_id"] == "cb0001"
    assert "张三" in result["quote_area"]["quote_text"]


def test_a_form_that_needs_typing_shows_its_template() -> None:
    form = Form(
        id="request.decline",
        title="拒绝 XZB2026112301",
        submit_label="拒绝",
        value={"code": "XZB2026112301"},
        template="拒绝 XZB2026112301 原因：… 可启动日期：2026-12-20",
        fields=[FormField("reason", "原因", "textarea", required=True), FormField("counter_date", "可启动日期", "date")],
    )
    result = template_card(Card(title="拒绝 XZB2026112301", body="为什么拒绝？", form=form), task_id="cb0005", locale="zh_CN", options=OPTIONS)
    snapshot("text_notice_form_template", result)
    assert result["card_type"] == "text_notice"
    assert "拒绝 XZB2026112301 原因：… 可启动日期：2026-12-20" in result["sub_title_text"]
    assert "请按以下格式发一条消息：" in result["sub_title_text"]


def test_markdown_fallback_for_too_many_buttons() -> None:
    buttons = [Button(f"选项{i}", "poll.pick", {"i": i}, command=f"选 {i}") for i in range(7)]
    rendered = render(Card(title="选一个", body="**七个**选项", buttons=buttons), task_id="cb0006", locale="zh_CN", options=OPTIONS)
    assert rendered.msgtype == "markdown"
    snapshot("markdown_fallback_buttons", rendered.body())
    assert "- 选项6：发送“选 6”" in rendered.payload


def test_markdown_fallback_for_a_notice_that_does_not_fit() -> None:
    card = Card(title="XZB2026112301 协作详情", body="新品发布会物料", fields=request_fields(), status="待确认")
    rendered = render(card, task_id="cb0007", locale="zh_CN", options=OPTIONS)
    assert rendered.msgtype == "markdown"
    snapshot("markdown_fallback_long_notice", rendered.body())
    for item in request_fields():
        assert f"**{item.label}**：{item.value}" in rendered.payload  # nothing is cut from the fallback


def test_text_as_markdown_with_mentions() -> None:
    rendered = render(
        Text("**提醒**：XZB2026112301-01 明天截止"),
        task_id="x",
        locale="zh_CN",
        mentions=[Mention("zhangsan", "张三"), Mention("", "无账号")],
        at="lisi",
        options=OPTIONS,
    )
    snapshot("markdown_text", rendered.body())
    assert rendered.payload.startswith("<@lisi> <@zhangsan> ")


def test_english_labels_are_clipped_by_width() -> None:
    card = Card(
        title="Collaboration request XZB2026112301: launch event materials",
        fields=[CardField("Expected start", "2026-12-01"), CardField("Deadline", "2026-12-15")],
        buttons=[Button("Accept", "request.accept", {"code": "XZB2026112301"}, "primary")],
    )
    result = template_card(card, task_id="cb0008", locale="en", options=OPTIONS)
    snapshot("button_interaction_en", result)
    assert width(result["main_title"]["title"]) <= LIMITS["title"]
    assert all(width(h["keyname"]) <= LIMITS["keyname"] for h in result["horizontal_content_list"])


@pytest.mark.parametrize(("value", "limit", "expected"), [("短", 5, "短"), ("一二三四五六", 5, "一二三四…"), ("abcdefghijkl", 5, "abcdefgh…")])
def test_clip(value: str, limit: int, expected: str) -> None:
    assert clip(value, limit) == expected
    assert width(clip(value, limit)) <= limit


def test_every_limit_holds_for_an_oversized_card() -> None:
    card = Card(
        title="标" * 60,
        body="正文" * 200,
        fields=[CardField("很长很长的标签名字", "值" * 40) for _ in range(9)],
        buttons=[Button("一个非常非常长的按钮文字", "a.b", {"n": i}) for i in range(6)],
        status="状" * 200,
    )
    result = template_card(card, task_id="cb0009", locale="zh_CN", options=OPTIONS)
    assert width(result["main_title"]["title"]) <= LIMITS["title"]
    assert width(result["sub_title_text"]) <= LIMITS["sub_title"]
    assert width(result["quote_area"]["quote_text"]) <= LIMITS["quote"]
    assert all(width(b["text"]) <= LIMITS["button"] for b in result["button_list"])
    assert len({b["key"] for b in result["button_list"]}) == 6
    markdown = card_markdown(card, locale="zh_CN", limit=2048)
    assert len(markdown.encode()) <= 2048
