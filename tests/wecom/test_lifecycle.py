"""The core lifecycle in Chinese over the long connection, against the fake WeCom.

@-mention commands in a group, card clicks in single chats, card updates inside the
5-second window, a typed answer to a form, and the audit trail, with the frames the
fake received checked along the way.
"""

from __future__ import annotations

import re
import tomllib
from typing import Any

from adapters.wecom.inbound import decode_key
from bot.cli import DEMO_CONFIG
from bot.clock import ManualClock
from bot.config import from_dict
from bot.i18n import localize as _localize
from storage.models import OutboxMessage
from workflows.views.handlers import ACTION_LABELS

from .conftest import Harness, start_app, text_of
from .fake import FakeWeCom

GROUP = "wrkLaunchGroup"


def lifecycle_config(database_url: str, fake: FakeWeCom) -> Any:
    with DEMO_CONFIG.open("rb") as handle:
        data = tomllib.load(handle)
    for person in data["people"]:
        person["identities"] = {"wecom": person["id"]}
    data["groups"] = [{"platform": "wecom", "id": GROUP, "name": "新品发布协作群"}]
    data["simulator"] = {"enabled": False}
    data["database"] = {"url": database_url}
    data["server"] = {"host": "127.0.0.1", "port": 0}
    data["wecom"] = {
        "bot_id": fake.bot_id,
        "secret": fake.secret,
        "ws_url": fake.ws_url,
        "api_url": fake.api_url,
        "bot_name": "协作助手",
        "reconnect_max_seconds": 0.05,
    }
    return from_dict(data, environ={})


def cards_to(h: Harness, chatid: str) -> list[dict[str, Any]]:
    return [r.body["template_card"] for r in h.fake.messages(chatid) if r.body.get("msgtype") == "template_card"]


def card_for(h: Harness, userid: str, action: str) -> dict[str, Any]:
    for card in reversed(cards_to(h, userid)):
        if any((decode_key(b["key"]) or ("", "", {}))[1] == action for b in card.get("button_list", [])):
            return card
    raise AssertionError(f"{userid} has no card with {action}")


def texts_in(h: Harness, chatid: str) -> list[str]:
    """Everything the robot said in a conversation."""
    return [text_of(r.body) for r in h.fake.messages(chatid)]


async def say(h: Harness, userid: str, text: str, chatid: str | None = GROUP) -> str:
    return await h.say(userid, text, chatid=chatid, mention="协作助手")


async def later(h: Harness, minutes: float = 2) -> None:
    """People take minutes between steps; what pacing held back goes out meanwhile."""
    h.clock.advance(minutes=minutes)
    await h.app.settle()


async def click(h: Harness, userid: str, card: dict[str, Any], action: str) -> str:
    return await h.click(userid, card["task_id"], h.key(card, action))


def updated_in_place(h: Harness, click_req: str, task_id: str) -> dict[str, Any]:
    [update] = [r for r in h.fake.frames("aibot_respond_update_msg") if r.req_id == click_req]
    assert update.errcode == 0, "WeCom refused the update"
    assert update.body["template_card"]["task_id"] == task_id
    return update.body


async def test_whole_lifecycle_in_chinese(database_url: str, fake: FakeWeCom, clock: ManualClock) -> None:
    app, platform = await start_app(lifecycle_config(database_url, fake), clock, with_demo=False)
    try:
        assert platform.ws is not None
        ws = platform.ws
        await fake.wait_for(lambda: ws.ready.is_set())
        h = Harness(app, platform, fake, clock)

        # 1. 李雷 @-mentions the robot in the group and raises a request to design and rd
        new = await say(
            h,
            "lilei",
            "新建协作\n标题：新品发布物料\n背景：12月新品发布\n目标：12月18日前完成海报和落地页\n范围：海报、落地页\n"
            "不包含：线下活动\n协作部门：设计部，研发部\n期望启动：2026-11-24\n截止：2026-12-20\n优先级：高\n交付物：海报，落地页",
        )
        [overview] = h.answers(new)
        assert overview.cmd == "aibot_respond_msg"  # the answer reuses the mention's req_id
        match = re.search(r"XZB\d{10}", text_of(overview.body))
        assert match is not None
        code = match.group(0)
        assert "协作需求" in text_of(overview.body)

        await later(h)
        # 2. each head gets a decision card in a single chat; design accepts: the card changes in place
        design = card_for(h, "liuyang", "request.accept")
        rd = card_for(h, "chenjie", "request.decline")
        assert design["card_type"] == "button_interaction" and "接受" in [b["text"] for b in design["button_list"]]
        accept = await click(h, "liuyang", design, "request.accept")
        decided = updated_in_place(h, accept, design["task_id"])
        assert decided["template_card"]["button_list"][0]["key"] == "noop"
        assert "刘洋" in text_of(decided)
        assert any("刘洋" in t for t in texts_in(h, GROUP)[1:])  # the group sees the new state of the request

        # 3. rd clicks decline: there are no modals, so the form's template comes back to fill in
        await click(h, "chenjie", rd, "request.decline")
        template = text_of(fake.messages("chenjie")[-1].body)
        assert f"拒绝 {code} 原因：" in template
        clock.advance(seconds=40)  # a person takes a while to type
        await say(h, "chenjie", f"拒绝 {code} 原因：人力饱和 改期：2026-12-01", chatid="chenjie")
        # the click was too long ago to change the card: its decided state answers the typed message
        # the typed decision is answered where it was typed, then the decided card follows
        answer, repost = fake.messages("chenjie")[-2:]
        assert answer.cmd == "aibot_respond_msg" and "已记录" in text_of(answer.body)
        assert "❌" in text_of(repost.body) and "人力饱和" in text_of(repost.body)
        assert not [r for r in fake.frames("aibot_respond_update_msg") if r.body["template_card"]["task_id"] == rd["task_id"]]
        assert any(code in t and "人力饱和" in t for t in texts_in(h, "lilei"))  # the initiator is told

        await later(h)
        # 4. the initiator re-scopes; both heads are asked again and accept inside the window
        await say(h, "lilei", f"调整 {code} 截止：2026-12-24 范围：海报、落地页（延期四天）")
        for head in ("liuyang", "chenjie"):
            card = card_for(h, head, "request.accept")
            req = await click(h, head, card, "request.accept")
            updated_in_place(h, req, card["task_id"])
        await later(h)
        assert any(f"所有部门已接受 {code}" in t for t in texts_in(h, GROUP))

        await later(h)
        # 5. a subtask with its five elements; the owner acknowledges on the card
        await say(h, "lilei", f"任务 {code}\n标题：海报\n负责人：hanmei\n协作人：liuyang\n所需资源：品牌VI手册\n交付标准：300DPI\n截止：2026-12-10\n优先级：高")
        task_card = card_for(h, "hanmei", "task.ack")
        sub = f"{code}-01"
        assert sub in text_of({"msgtype": "template_card", "template_card": task_card})
        ack = await click(h, "hanmei", task_card, "task.ack")
        updated_in_place(h, ack, task_card["task_id"])

        await later(h)
        # 6. progress, then acceptance: the reviewer passes it on the card
        progress = await say(h, "hanmei", f"进度 {sub} 60% 已完成：初稿 问题：主色调待定 所需支持：品牌确认 下一步：修改")
        assert "60%" in text_of(h.answers(progress)[0].body)
        await later(h)
        await say(h, "hanmei", f"提交验收 {sub}\n交付物：成品 https://files.example/{sub} v1\n完成说明：已按标准完成\n自检：符合交付标准")
        review = card_for(h, "wangfang", "acceptance.pass")
        passed = await click(h, "wangfang", review, "acceptance.pass")
        updated_in_place(h, passed, review["task_id"])

        await later(h)
        # 7. complete and archive; the audit trail names who decided, on WeCom
        done = await say(h, "lilei", f"完成 {code}")
        assert code in text_of(h.answers(done)[0].body)
        await later(h)
        log = await say(h, "lilei", f"记录 {code}")
        trail = text_of(h.answers(log)[0].body)
        for action in ("request.created", "request.accepted", "request.declined", "task.acknowledged", "acceptance.passed", "collaboration.completed"):
            assert str(_localize(ACTION_LABELS[action], "zh_CN")) in trail, action  # in the reader's words
        assert "企业微信 liuyang" in trail

        # every update went out in place, and nothing was refused or left undelivered
        await later(h, 10)
        assert all(r.errcode == 0 for r in fake.frames("aibot_respond_update_msg"))
        assert len(fake.frames("aibot_respond_update_msg")) == 5
        assert await OutboxMessage.filter(status__in=["dead", "pending", "sending"]).count() == 0
    finally:
        await app.stop()
