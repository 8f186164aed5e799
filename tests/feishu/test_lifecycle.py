"""The whole lifecycle on Feishu, in Chinese, over the long connection to the fake Feishu.

@-mentions in the group, direct messages, card buttons answered with the card's new content inside
the click's callback (everyone's copy changes at once), a card form submitted in one go, copies in
other chats brought up to date with ``PATCH``, and the audit trail naming Feishu.
"""

from __future__ import annotations

import re
from datetime import timedelta

from bot.clock import ManualClock
from bot.i18n import localize as _localize
from storage.models import Identity, OutboxMessage, Person
from tests.feishu.conftest import GROUP, Harness, lifecycle_data, open_app, open_id
from tests.feishu.fake import FakeFeishu
from workflows.views.handlers import ACTION_LABELS

NEW = (
    "新建协作\n标题：新品发布物料\n背景：12月新品发布\n目标：12月18日前完成海报和落地页\n范围：海报、落地页\n"
    "不包含：线下活动\n协作部门：设计部，研发部\n期望启动：2026-11-24\n截止：2026-12-20\n优先级：高\n交付物：海报，落地页"
)


async def later(h: Harness, minutes: float = 2) -> None:
    h.clock.advance(minutes=minutes)
    await h.deliver()


async def test_whole_lifecycle_in_chinese_on_feishu(database_url: str, fake: FakeFeishu, clock: ManualClock) -> None:
    # 李雷 is in the directory by e-mail only: the contact API's e-mail finds him
    app, platform = await open_app(lifecycle_data(database_url, fake, email_only=("lilei",)), fake, clock)
    try:
        assert platform.ws is not None
        ws = platform.ws
        await fake.wait_for(lambda: ws.ready.is_set())
        h = Harness(app, platform, fake, clock, patience=timedelta(minutes=1))

        # 1. 李雷 @-mentions the bot in the group with a request to 设计部 and 研发部
        await h.say("lilei", NEW)
        [overview] = [s for s in fake.to(GROUP) if s.msg_type == "interactive"]
        code = re.search(r"XZB\d{10}", overview.card_text()).group(0)
        assert "协作需求" in overview.card_text() and overview.content["header"]["template"] == "orange"
        lilei = await Person.get(email="lilei@example.cn")
        assert await Identity.filter(platform="feishu", platform_user_id=open_id("lilei"), person_id=lilei.id).exists()

        # 2. 刘洋 accepts on his card: the click's answer is the decided card, shown at once
        design = fake.card_with(open_id("liuyang"), "接受")
        answer = await h.click("liuyang", design, "接受")
        assert answer.code == 200 and answer.data["card"]["type"] == "raw"
        assert design.via[-1] == "callback" and not design.buttons() and "刘洋" in design.card_text()
        assert overview.via[-1] == "patch" and "刘洋" in overview.card_text()  # the group's copy, through PATCH

        # 3. 陈杰 declines: the reason comes as a card form in his chat, submitted in one go
        rd = fake.card_with(open_id("chenjie"), "拒绝")
        await h.click("chenjie", rd, "拒绝")
        form = fake.to(open_id("chenjie"))[-1]
        assert form.msg_type == "interactive" and any(e["tag"] == "form" for e in form.content["body"]["elements"])
        await later(h, 1)
        submit = form.buttons()[-1]["text"]["content"]
        await h.click("chenjie", form, submit, form_value={"reason": "人力饱和", "counter_date": "2026-12-01 +0800"})
        assert not form.buttons() and "此表单已关闭" in form.card_text()
        assert not rd.buttons() and "人力饱和" in rd.card_text()
        assert any(code in t for t in fake.texts(open_id("lilei")))  # the initiator is told
        assert "2026-12-01" in overview.card_text()

        # 4. the initiator re-scopes; both heads are asked again and accept
        await later(h)
        await h.say("lilei", f"调整 {code} 截止：2026-12-24 范围：海报、落地页（延期四天）")
        for head in ("liuyang", "chenjie"):
            card = fake.card_with(open_id(head), "接受")
            await h.click(head, card, "接受")
            assert card.via[-1] == "callback"
        await later(h)
        assert any(f"所有部门已接受 {code}" in t for t in fake.texts(GROUP))
        assert overview.content["header"]["template"] == "green"

        # 5. a subtask with its five elements; the owner acknowledges on the card
        await later(h)
        await h.say("lilei", f"任务 {code}\n标题：海报\n负责人：hanmei\n协作人：liuyang\n所需资源：品牌VI手册\n交付标准：300DPI\n截止：2026-12-10\n优先级：高")
        sub = f"{code}-01"
        task = fake.card_with(open_id("hanmei"), "确认接收")
        assert sub in task.card_text()
        await h.click("hanmei", task, "确认接收")
        assert task.via[-1] == "callback" and not task.buttons()

        # 6. progress in a direct message, then acceptance: the reviewer passes it on the card
        await later(h)
        await h.say("hanmei", f"进度 {sub} 60% 已完成：初稿 问题：主色调待定 所需支持：品牌确认 下一步：修改", group=None)
        assert any("60%" in t for t in fake.texts(open_id("hanmei")))
        await later(h)
        await h.say("hanmei", f"提交验收 {sub}\n交付物：成品 https://files.example/{sub} v1\n完成说明：已按标准完成\n自检：符合交付标准")
        review = fake.card_with(open_id("wangfang"), "通过")
        await h.click("wangfang", review, "通过")
        assert review.via[-1] == "callback" and not review.buttons()

        # 7. complete and archive; the audit trail names who decided, on Feishu
        await later(h)
        await h.say("lilei", f"完成 {code}")
        await later(h)
        await h.say("lilei", f"记录 {code}")
        trail = fake.texts(GROUP)[-1]
        for action in ("request.created", "request.accepted", "request.declined", "task.acknowledged", "acceptance.passed", "collaboration.completed"):
            assert str(_localize(ACTION_LABELS[action], "zh_CN")) in trail, action
        assert "飞书" in trail

        await later(h, 10)
        assert await OutboxMessage.filter(status__in=["dead", "pending", "sending"]).count() == 0
        assert all(status == 200 for _, _, status in fake.requests)  # nothing refused on the way
    finally:
        await app.stop()
