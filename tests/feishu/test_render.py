"""``adapters.feishu.render``: snapshots of every card shape (card JSON 2.0) and of a text post, and each
button's callback value read back by ``inbound`` as the click it stands for.

Snapshots live in ``tests/feishu/snapshots``; a missing one fails the test, and
``COLLABBOT_UPDATE_SNAPSHOTS=1`` writes them all (review the diff).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from adapters.feishu import inbound, render
from bot.platform import Mention
from bot.types import Button, Card, CardField, Choice, EventKind, Form, FormField, Text
from tests.feishu import events
from tests.feishu.fake import walk
from tests.snapshot_files import assert_snapshot_file

SNAPSHOTS = Path(__file__).parent / "snapshots"


def snapshot(name: str, value: Any) -> None:
    assert_snapshot_file(SNAPSHOTS, name, value, "what Feishu gets")


VALUE = {"code": "XZB2026112301", "dept": "design", "round": 1}


def decision_card() -> Card:
    return Card(
        key="req:XZB2026112301:design:r1",
        title="李雷请设计部协作：XZB2026112301 新品发布会物料",
        body="新品12月20日发布，需要设计部准备海报。",
        fields=[CardField("发起人", "李雷"), CardField("截止", "2026-12-15"), CardField("优先级", "高")],
        buttons=[
            Button("接受", "request.accept", VALUE, "primary", command="接受 XZB2026112301 design"),
            Button("拒绝", "request.decline", VALUE, "danger", command="拒绝 XZB2026112301 design 原因："),
        ],
        status="请代表设计部接受或拒绝。",
        color="yellow",
    )


def clicked(card: dict[str, Any], label: str, *, form_value: dict[str, Any] | None = None) -> Any:
    """What ``inbound`` makes of a click on ``label`` in ``card``, as Feishu would send it."""
    button = next(b for b in walk(card, "button") if b["text"]["content"] == label)
    body = events.card_action("ou_liuyang", "om_1", "oc_group", button["behaviors"][0]["value"], form_value=form_value)
    return inbound.to_event(inbound.envelope(body))


def test_a_decision_card_with_buttons() -> None:
    card = render.card(decision_card(), [Mention("ou_liuyang", "刘洋")], "zh_CN")
    snapshot("decision_card", card)
    assert card["schema"] == "2.0" and card["config"]["update_multi"] is True
    assert card["header"]["template"] == "orange"  # yellow: waiting for someone
    event = clicked(card, "拒绝")
    assert event.kind is EventKind.ACTION and event.action == "request.decline" and event.value == VALUE
    assert event.conversation.id == "oc_group" and not event.conversation.is_direct
    assert "<at id=ou_liuyang></at>" in json.dumps(card, ensure_ascii=False)


def test_a_decided_card_has_no_buttons_and_turns_green() -> None:
    decided = decision_card()
    decided.buttons, decided.color, decided.status = [], "green", "✅ 设计部：刘洋于 11-23 10:02 接受"
    card = render.card(decided, [], "zh_CN")
    snapshot("decided_card", card)
    assert card["header"]["template"] == "green"
    assert not list(walk(card, "button")) and not list(walk(card, "column_set"))


def test_a_card_in_a_direct_chat_says_so_in_its_callback() -> None:
    card = render.card(decision_card(), [], "zh_CN", direct=True)
    snapshot("decision_card_direct", card)
    event = clicked(card, "接受")
    assert event.conversation.is_direct and event.conversation.id == "ou_liuyang"


def test_a_form_card_with_text_and_date() -> None:
    form = Form(
        id="request.decline",
        title="拒绝 XZB2026112301",
        submit_label="拒绝",
        value={"code": "XZB2026112301", "round": 1},
        template="拒绝 XZB2026112301 原因：… 改期：2026-12-20",
        fields=[FormField("reason", "原因", "textarea", required=True), FormField("counter_date", "改期", "date", initial="2026-12-20")],
    )
    card = render.card(Card(title="拒绝 XZB2026112301", body="为什么拒绝？", form=form, color="red"), [], "zh_CN", direct=True)
    snapshot("form_card", card)
    [container] = walk(card, "form")
    assert [e["tag"] for e in container["elements"]] == ["input", "markdown", "date_picker", "button"]
    assert container["elements"][-1]["form_action_type"] == "submit"
    event = clicked(card, "拒绝", form_value={"reason": "人力饱和", "counter_date": "2026-12-01 +0800"})
    assert event.kind is EventKind.FORM and event.action == "request.decline"
    assert event.form == {"reason": "人力饱和", "counter_date": "2026-12-01"} and event.value == form.value


def test_a_form_card_with_choices() -> None:
    form = Form(
        id="standup.blockers",
        title="今天有阻碍吗？",
        submit_label="提交",
        value={"team": "design"},
        fields=[
            FormField("priority", "优先级", "select", choices=[Choice("high", "高"), Choice("low", "低")], initial="high"),
            FormField("blockers", "阻碍", "checkboxes", choices=[Choice("none", "没有"), Choice("people", "人手不足")]),
            FormField("hours", "投入（小时）", "number", placeholder="例如 4"),
        ],
    )
    card = render.card(Card(title="设计部站会", body="选出今天的阻碍", form=form), [], "zh_CN")
    snapshot("form_choices", card)
    tags = [e["tag"] for e in next(walk(card, "form"))["elements"]]
    assert tags == ["markdown", "select_static", "markdown", "multi_select_static", "input", "button"]
    event = clicked(card, "提交", form_value={"priority": "low", "blockers": ["people"], "hours": "4"})
    assert event.form == {"priority": "low", "blockers": ["people"], "hours": "4"}


def test_a_notice_card_without_buttons() -> None:
    card = Card(title="XZB2026112301 已生效", body="所有部门均已接受，可以拆分子任务了。", fields=[CardField("截止", "2026-12-15")], color="green", status="进行中（第 1 轮）")
    snapshot("notice_card", render.card(card, [], "zh_CN"))


def test_an_overdue_card_is_red_and_a_closed_one_grey() -> None:
    assert render.card(Card(title="逾期", color="red"), [], "zh_CN")["header"]["template"] == "red"
    assert render.card(Card(title="已关闭", color="grey"), [], "zh_CN")["header"]["template"] == "grey"
    snapshot("grey_card", render.card(Card(title="表单已关闭", status="✅ 李雷于 10:02 提交。此表单已关闭。", color="grey"), [], "zh_CN"))


def test_an_english_card() -> None:
    card = Card(title="Collaboration request XZB2026112301", fields=[CardField("Deadline", "2026-12-15")], buttons=[Button("Accept", "request.accept", VALUE, "primary", command="accept XZB2026112301 design")])
    rendered = render.card(card, [], "en")
    snapshot("english_card", rendered)
    assert "**Deadline**: 2026-12-15" in json.dumps(rendered, ensure_ascii=False)


def test_a_text_post_with_mentions() -> None:
    post = render.text_post(Text("**提醒**：XZB2026112301-01 明天截止\n- 海报\n- 落地页"), [Mention("ou_hanmei", "韩梅"), Mention("", "无账号")], also_at="ou_lilei")
    snapshot("text_post", post)
    [[paragraph]] = post["zh_cn"]["content"]
    assert paragraph["tag"] == "md" and paragraph["text"].startswith('<at user_id="ou_lilei"></at> **提醒**')
    assert paragraph["text"].endswith('<at user_id="ou_hanmei"></at>')


def test_a_long_body_is_clipped() -> None:
    card = render.card(Card(title="长" * 100, body="字" * 20000), [], "zh_CN")
    assert len(card["body"]["elements"][0]["content"]) == render.MAX_MARKDOWN
    assert len(card["config"]["summary"]["content"]) == render.SUMMARY_LENGTH
