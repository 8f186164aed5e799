"""The whole lifecycle on DingTalk, in Chinese: @-mentions in the group, card buttons, one-to-one replies.

Every step goes over the real dingtalk-stream connection to the fake
DingTalk; the assertions read what DingTalk received: the cards created
(``createAndDeliver``) and updated (``PUT /v1.0/card/instances``), and the
messages sent.
"""

from __future__ import annotations

import re
from datetime import timedelta

from bot.i18n import localize as _localize
from tests.dingtalk.world import GROUP, DingTalkWorld, staff
from workflows.views.handlers import ACTION_LABELS

NEW = (
    "新建协作\n标题：新品发布物料\n背景：12月新品发布\n目标：12月18日前完成海报和落地页\n范围：海报、落地页\n"
    "不包含：线下活动\n协作部门：设计部，研发部\n期望启动：2026-11-24\n截止：2026-12-20\n优先级：高\n交付物：海报，落地页"
)
TASK = "任务 {code}\n标题：{title}\n负责人：{owner}\n协作人：{helper}\n所需资源：品牌VI手册\n交付标准：{standard}\n截止：{deadline}\n优先级：高"
PROGRESS = "进度 {sub} 60% 已完成：初稿 问题：主色调待定 所需支持：品牌确认 下一步：修改"
SUBMIT = "提交验收 {sub}\n交付物：成品 https://files.example/{sub} v{n}-修改后\n完成说明：已按标准完成\n自检：符合交付标准"


async def test_whole_lifecycle_in_chinese_on_dingtalk(database_url, clock, fake):
    async with DingTalkWorld.open(database_url, clock, fake) as world:
        world.patience = timedelta(
            minutes=1
        )  # people take turns: the group's 20-a-minute limit holds answers a little
        # 1. 李雷 @-mentions the robot in the group with a request to 设计部 and 研发部
        await world.say("lilei", NEW)
        [overview] = fake.cards_in(f"IM_GROUP.{GROUP}")
        code = re.search(r"XZB\d{10}", overview.params["title"]).group(0)
        assert code == "XZB2026112301" and "协作需求" in overview.params["title"]
        assert overview.params["title"].startswith("🟡")  # pending

        # 2. 刘洋 accepts on his card; 陈杰 presses 拒绝, is asked why, and answers one-to-one
        design = world.card_for("liuyang", "接受")
        await world.click("liuyang", design, "接受")
        assert design.buttons == [] and "刘洋" in design.text()
        rd = world.card_for("chenjie", "拒绝")
        await world.click("chenjie", rd, "拒绝")
        prompt = fake.cards_in(f"IM_ROBOT.{staff('chenjie')}")[-1]
        assert f"拒绝 {code} 原因：… 改期：2026-12-20" in prompt.params["content"]
        await world.say("chenjie", f"拒绝 {code} 原因：人力饱和 改期：2026-12-01", group=None)
        assert rd.buttons == []
        assert "2026-12-01" in overview.params["content"]
        assert any(code in text for text in world.said_to("lilei"))  # the initiator is told

        # 3. the initiator re-scopes; both heads are asked again and accept on the new cards
        await world.say("lilei", f"调整 {code} 截止：2026-12-24 范围：海报、落地页（延期四天）")
        assert "已作废" in rd.params["content"]  # the round-1 card says it was superseded, in place
        for head in ("liuyang", "chenjie"):
            card = world.card_for(head, "接受")
            assert card is not design and card is not rd
            await world.click(head, card, "接受")
        assert overview.params["title"].startswith("🟢")  # active

        # 4. three subtasks; each owner acknowledges on the card in their one-to-one chat
        plan = [
            ("海报", "hanmei", "韩梅", "刘洋", "300DPI, 750×1500px", "2026-12-10"),
            ("落地页", "chenjie", "陈杰", "刘洋", "Lighthouse ≥ 90", "2026-12-15"),
            ("文案", "lilei", "李雷", "王芳", "≤ 200 字", "2026-12-08"),
        ]
        subtasks = []
        for title, owner, owner_name, helper, standard, deadline in plan:
            await world.say(
                "lilei",
                TASK.format(
                    code=code,
                    title=title,
                    owner=owner_name,
                    helper=helper,
                    standard=standard,
                    deadline=deadline,
                ),
            )
            card = world.card_for(owner, "确认接收")
            sub = re.search(rf"{code}-\d\d", card.params["title"] + card.params["content"]).group(0)
            subtasks.append((sub, owner))
            await world.click(owner, card, "确认接收")
            assert card.buttons == []
        assert [s for s, _ in subtasks] == [f"{code}-01", f"{code}-02", f"{code}-03"]
        poster = fake.cards_in(f"IM_ROBOT.{staff('hanmei')}")[0]
        assert "300DPI, 750×1500px" in poster.params["content"] and "2026-12-10" in poster.params["content"]

        # 5. progress, reported in the group
        for sub, owner in subtasks:
            await world.say(owner, PROGRESS.format(sub=sub))
        assert any(
            "60%" in text
            for text in world.in_group() + [c.text() for c in fake.cards_in(f"IM_GROUP.{GROUP}")]
        )

        # 6. acceptance: the poster fails with comments (button, then a one-to-one reply), is resubmitted and passes
        first_sub, first_owner = subtasks[0]
        await world.say(first_owner, SUBMIT.format(sub=first_sub, n=1))
        review = world.card_for("wangfang", "不通过")
        await world.click("wangfang", review, "不通过")
        await world.say(
            "wangfang", f"不通过 {first_sub} 意见：海报色彩与品牌VI不符，需调整主色调", group=None
        )
        assert review.buttons == []
        assert any("海报色彩与品牌VI不符" in text for text in world.said_to(first_owner))
        await world.say(first_owner, SUBMIT.format(sub=first_sub, n=2))
        for sub, owner in subtasks[1:]:
            await world.say(owner, SUBMIT.format(sub=sub, n=1))
        for _ in subtasks:
            card = world.card_for("wangfang", "通过")
            await world.click("wangfang", card, "通过")
            assert card.buttons == []

        # 7. complete and archive; an archived collaboration is read-only
        await world.say("lilei", f"完成 {code}")
        assert "已结项" in world.in_group()[-1] and "已归档" in world.in_group()[-1]
        assert overview.params["title"].startswith("⚪")  # archived
        await world.say("lilei", PROGRESS.format(sub=first_sub))
        assert "只读" in world.in_group()[-1]

        # 8. the audit trail names each decision's person, their DingTalk id and the time
        await world.say("lilei", f"记录 {code}")
        trail = fake.cards_in(f"IM_GROUP.{GROUP}")[-1].text()
        assert "操作留痕" in trail
        for action in [
            "request.created",
            "request.accepted",
            "request.declined",
            "request.rescoped",
            "request.activated",
            "task.created",
            "task.acknowledged",
            "task.progress",
            "acceptance.submitted",
            "acceptance.failed",
            "acceptance.passed",
            "collaboration.completed",
            "collaboration.archived",
        ]:
            assert str(_localize(ACTION_LABELS[action], "zh_CN")) in trail, action  # in the reader's words
        accepted = [line for line in trail.splitlines() if str(_localize(ACTION_LABELS["request.accepted"], "zh_CN")) in line]
        assert any(
            "刘洋" in line and f"钉钉 {staff('liuyang')}" in line and "2026-11-23" in line
            for line in accepted
        )
