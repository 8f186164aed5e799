"""Checklist acceptance on Slack: the owner ticks the delivery standard's items in a modal with checkboxes, the
reviewer fails naming the failed items in a checkbox modal, the owner resubmits and it passes — against the fake
Slack, which receives real Block Kit and sends real ``view_submission`` payloads."""

from __future__ import annotations

import re

from adapters.slack.inbound import FORM_ACTION
from storage.models import AcceptanceRequest, Subtask
from tests.slack.world import SlackWorld, buttons_of, card_with, text_of
from workflows.acceptance.history import acceptance_history

GROUP = "C1LAUNCH"
LI, WANG, LIU, CHEN, HAN = "U1LI", "U2WANG", "U3LIU", "U4CHEN", "U5HAN"
NEW = "新建协作\n标题：新品发布物料\n目标：12月18日前完成海报\n协作部门：设计部，研发部\n截止：2026-12-20"


def checkboxes(view: dict, block_id: str) -> list[str]:
    block = next(b for b in view["blocks"] if b["block_id"] == block_id)
    assert block["element"]["type"] == "checkboxes"
    return [o["text"]["text"] for o in block["element"]["options"]]


async def test_checklist_acceptance_in_slack_modals(database_url, clock):
    async with SlackWorld.open(database_url, clock) as world:
        fake = world.fake
        await world.command(LI, GROUP, NEW)
        code = re.search(r"XZB\d{10}", text_of(fake.in_channel(GROUP)[-1])).group(0)
        for head in (LIU, CHEN):
            await world.click(head, card_with(fake.dms(head), "request.accept"), "request.accept")
        await world.command(LI, GROUP, f"任务 {code}\n标题：海报\n负责人：<@{HAN}|han.mei>\n交付标准：300DPI、750×1500px，品牌VI色\n截止：2026-12-10")
        sub = f"{code}-01"

        # the owner asks for the acceptance form: a modal opens at once, its card waits in her DM
        await world.command(HAN, GROUP, f"提交验收 {sub}")
        modal = world.last_view
        assert modal["callback_id"] == "acceptance.submit"
        assert checkboxes(modal, "self_check_items") == ["1. 300DPI", "2. 750×1500px", "3. 品牌VI色"]
        prompt = card_with(fake.dms(HAN), FORM_ACTION)
        assert not [m for m in fake.in_channel(GROUP) if FORM_ACTION in " ".join(buttons_of(m))]
        ack = await world.submit(HAN, modal, {"deliverables": "海报 https://files.example/p v1", "self_check_items": ["1", "2"]})
        assert ack == {}
        assert buttons_of(prompt) == [] and "此表单已关闭" in text_of(prompt)  # chat.update closed the used form
        # the same form sent again (a second modal from the same card) changes nothing, and says so
        await world.submit(HAN, modal, {"deliverables": "海报 v1-again", "self_check_items": ["1"]})
        assert await AcceptanceRequest.all().count() == 1
        assert "已提交过" in text_of(fake.dms(HAN)[-1]) + "".join(text_of(e) for e in fake.ephemerals_for(HAN))

        # the reviewer fails item 3 in a checkbox modal
        review = card_with(fake.dms(WANG), "acceptance.fail")
        assert "3. 品牌VI色 — 自检 ✗，验收 ⏳" in text_of(review)
        await world.click(WANG, review, "acceptance.fail")
        fail = world.last_view
        assert fail["callback_id"] == "acceptance.fail"
        assert checkboxes(fail, "failed_items") == ["1. 300DPI", "2. 750×1500px", "3. 品牌VI色"]
        assert await world.submit(WANG, fail, {"failed_items": ["3"], "comments": "海报色彩与品牌VI不符，需调整主色调"}) == {}
        assert buttons_of(review) == [] and "3. 品牌VI色 — 自检 ✗，验收 ❌" in text_of(review)
        assert "不通过项：品牌VI色" in text_of(fake.dms(HAN)[-1])

        # she resubmits with the typed self-check; it passes
        await world.command(HAN, GROUP, f"提交验收 {sub}\n交付物：海报 https://files.example/p v2-修改后\n自检：全部通过")
        review = card_with(fake.dms(WANG), "acceptance.pass")
        assert "1. 300DPI — 自检 ✓，验收 ⏳" in text_of(review)
        await world.click(WANG, review, "acceptance.pass")
        assert "3. 品牌VI色 — 自检 ✓，验收 ✅" in text_of(review)

        task = await Subtask.get(code=sub)
        assert [r.state for r in await AcceptanceRequest.filter(subtask_id=task.id).order_by("attempt")] == ["failed", "passed"]
        history = await acceptance_history(task.id)
        assert [r["failed_items"] for r in history] == [["品牌VI色"], []]
