"""The whole collaboration lifecycle driven as Slack users over Socket Mode: slash commands, @-mentions,
modals (with field errors) and button clicks; the fake Slack received the right posts, edits and modals."""

from __future__ import annotations

import re

from adapters.slack.inbound import FORM_ACTION
from bot.i18n import localize as _localize
from storage.models import AuditEntry, Collaboration
from tests.slack.world import SlackWorld, buttons_of, capture_card, card_with, text_of
from workflows.views.handlers import ACTION_LABELS

GROUP = "C1LAUNCH"
LI, WANG, LIU, CHEN, HAN = "U1LI", "U2WANG", "U3LIU", "U4CHEN", "U5HAN"


async def test_whole_lifecycle_over_socket_mode(database_url, clock):
    async with SlackWorld.open(database_url, clock) as world:
        fake = world.fake

        # 1. 李雷 types /collab 新建协作 without fields: a modal opens at once, and a prompt card with a form button
        await world.command(LI, GROUP, "新建协作")
        modal = world.last_view
        assert modal["callback_id"] == "request.new"
        assert [b["block_id"] for b in modal["blocks"]][:3] == ["title", "background", "goal"]
        # the form is his alone: a card in his DM with the bot, and in the channel a note only he sees
        prompt = card_with(fake.dms(LI), FORM_ACTION)  # the card's own form
        assert fake.in_channel(GROUP) == []
        assert "私信" in text_of(fake.ephemerals_for(LI, GROUP)[-1])
        await capture_card("card_form_prompt", prompt)

        request = {
            "title": "新品发布物料",
            "background": "12月新品发布",
            "goal": "12月18日前完成海报和落地页",
            "scope": "海报、落地页",
            "departments": "设计部，研发部",
            "start": "2026-11-24",
            "deadline": "2026-11-20",  # in the past: the modal stays open with the error on the field
            "priority": "high",
            "deliverables": "海报，落地页",
        }
        ack = await world.submit(LI, modal, request)
        assert ack["response_action"] == "errors" and set(ack["errors"]) == {"deadline"}
        assert "2026-11-20" in ack["errors"]["deadline"]
        assert await Collaboration.all().count() == 0

        # he closes it and uses the button on the prompt card instead: the same form opens from the card
        await world.click(LI, prompt, FORM_ACTION)
        assert world.last_view["callback_id"] == "request.new"
        ack = await world.submit(LI, world.last_view, {**request, "deadline": "2026-12-20"})
        assert ack == {}  # closes the modal
        overview = fake.in_channel(GROUP)[-1]
        code = re.search(r"XZB\d{10}", text_of(overview)).group(0)
        assert code == "XZB2026112301"
        assert overview["blocks"][0]["text"]["text"].startswith("🟡")
        await capture_card("card_request_overview_pending", overview)

        # 2. each head got a decision card by DM (conversations.open), with Accept and a Decline that opens a form
        liu_card = card_with(fake.dms(LIU), "request.accept")
        assert buttons_of(liu_card) == ["request.accept", "collabbot.form:request.decline"]
        await capture_card("card_decision_pending", liu_card)
        opened = {c.args["users"] for c in fake.calls_to("conversations.open")}
        assert {LIU, CHEN} <= opened

        await world.click(LIU, liu_card, "request.accept")
        assert liu_card["edits"] == 1 and buttons_of(liu_card) == []  # chat.update removed the buttons
        assert "刘洋" in text_of(liu_card)
        await capture_card("card_decision_accepted", liu_card)
        assert overview["edits"] >= 1 and "刘洋" in text_of(overview)

        # 3. 陈杰 declines through the modal: a missing reason is shown on the field, then a counter date
        chen_card = card_with(fake.dms(CHEN), "request.decline")
        await world.click(CHEN, chen_card, "request.decline")
        decline = world.last_view
        assert decline["callback_id"] == "request.decline"
        ack = await world.submit(CHEN, decline, {"reason": "", "counter_date": "2026-12-01"})
        assert ack["response_action"] == "errors" and "reason" in ack["errors"]
        ack = await world.submit(CHEN, decline, {"reason": "当前人力饱和", "counter_date": "2026-12-01"})
        assert ack == {}
        assert buttons_of(chen_card) == [] and "当前人力饱和" in text_of(chen_card)
        await capture_card("card_decision_declined", chen_card)
        assert "2026-12-01" in text_of(overview)
        assert code in text_of(fake.dms(LI)[-1])  # the initiator is told

        # 4. the initiator re-scopes with a slash command; both heads are asked again (round 2) and accept
        await world.command(LI, GROUP, f"调整 {code} 截止：2026-12-24 范围：海报、落地页（延期四天）")
        for head in (LIU, CHEN):
            card = card_with(fake.dms(head), "request.accept")
            assert '"round":2' in card["blocks"][-1]["elements"][0]["value"]
            await world.click(head, card, "request.accept")
        assert overview["blocks"][0]["text"]["text"].startswith("🟢")
        await capture_card("card_request_overview_active", overview)
        assert any(code in text_of(m) for m in fake.in_channel(GROUP) if m is not overview)

        # 5. a subtask with the five elements; the owner is named with a Slack mention and acknowledges the card
        task_text = (
            f"任务 {code}\n标题：海报\n负责人：<@{HAN}|han.mei>\n协作人：<@{LIU}|liu.yang>\n所需资源：品牌VI手册\n"
            "交付标准：300DPI, 750×1500px\n截止：2026-12-10\n优先级：高"
        )
        await world.command(LI, GROUP, task_text)
        task_card = card_with(fake.dms(HAN), "task.ack")
        assert "300DPI, 750×1500px" in text_of(task_card)
        await capture_card("card_task_pending", task_card)
        await world.click(HAN, task_card, "task.ack")
        assert buttons_of(task_card) == []
        await capture_card("card_task_acknowledged", task_card)
        sub = f"{code}-01"

        # 6. progress by @-mention in the channel
        await world.mention(HAN, GROUP, f"进度 {sub} 60% 已完成：初稿 问题：主色调待定 所需支持：品牌确认 下一步：修改")
        assert "60%" in text_of(fake.in_channel(GROUP)[-1])

        # 7. acceptance: the link arrives escaped the way Slack sends it; the reviewer fails it in a modal
        submit = f"提交验收 {sub}\n交付物：成品 <https://files.example/poster> v1\n完成说明：已按标准完成\n自检：符合交付标准"
        await world.command(HAN, GROUP, submit)
        review = card_with(fake.dms(WANG), "acceptance.fail")
        assert "https://files.example/poster" in text_of(review)
        await capture_card("card_acceptance_pending", review)
        await world.click(WANG, review, "acceptance.fail")
        assert world.last_view["callback_id"] == "acceptance.fail"
        await world.submit(WANG, world.last_view, {"comments": "海报色彩与品牌VI不符，需调整主色调"})
        assert buttons_of(review) == []
        await capture_card("card_acceptance_failed", review)
        assert "海报色彩与品牌VI不符" in text_of(fake.dms(HAN)[-1])

        await world.command(HAN, GROUP, submit.replace("v1", "v2-修改后"))
        review = card_with(fake.dms(WANG), "acceptance.pass")
        await world.click(WANG, review, "acceptance.pass")
        assert buttons_of(review) == []

        # 8. complete and archive; the audit trail names the Slack users
        await world.command(LI, GROUP, f"完成 {code}")
        assert code in text_of(fake.in_channel(GROUP)[-1])
        assert (await Collaboration.get(code=code)).state in ("archived", "completed")
        await world.command(LI, GROUP, f"记录 {code}")
        trail = "\n".join(text_of(m) for m in fake.in_channel(GROUP)[-3:]) + "\n".join(
            text_of(e) for e in fake.ephemerals_for(LI, GROUP)
        )
        for action in ("request.created", "request.accepted", "request.declined", "request.rescoped", "task.created",
                       "acceptance.failed", "acceptance.passed", "collaboration.completed"):
            assert str(_localize(ACTION_LABELS[action], "zh_CN")) in trail, action  # in the reader's words
        accepted = await AuditEntry.filter(action="request.accepted").values_list("platform", "platform_user_id")
        assert ("slack", LIU) in accepted and ("slack", CHEN) in accepted

        # nothing the bot sent was refused, every ack arrived, and no envelope waits
        assert not fake.unacked
