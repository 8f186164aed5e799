"""The whole lifecycle through the simulator's HTTP API, once in Chinese and once in English."""

from __future__ import annotations

import re

import pytest

from bot.i18n import localize
from tests.core.harness import running
from tests.simclient import SimClient, body_text, buttons
from workflows.views.handlers import ACTION_LABELS


async def bot_messages(sim: SimClient, **where: str) -> list[dict]:
    return [m for m in await sim.messages(**where) if m["sender"] == "bot"]


async def card_with(sim: SimClient, action: str, **where: str) -> dict:
    for message in reversed(await bot_messages(sim, **where)):
        if action in buttons(message):
            return message
    raise AssertionError(f"no card with {action} in {where}")


async def ok(response: dict) -> dict:
    assert response["ok"] and response["error"] is None, response
    return response


LANG = {
    "zh": {
        "group": "launch",
        "new": "新建协作\n标题：新品发布物料\n背景：12月新品发布\n目标：12月18日前完成海报和落地页\n范围：海报、落地页\n不包含：线下活动\n协作部门：设计部，研发部\n期望启动：2026-11-24\n截止：2026-12-20\n优先级：高\n交付物：海报，落地页",
        "rescope": "调整 {code} 截止：2026-12-24 范围：海报、落地页（延期四天）",
        "task": "任务 {code}\n标题：{title}\n负责人：{owner}\n协作人：{helper}\n所需资源：品牌VI手册\n交付标准：{standard}\n截止：{deadline}\n优先级：高",
        "progress": "进度 {sub} 60% 已完成：初稿 问题：主色调待定 所需支持：品牌确认 下一步：修改",
        "submit": "提交验收 {sub}\n交付物：成品 https://files.example/{sub} v{n}-修改后\n完成说明：已按标准完成\n自检：符合交付标准",
        "fail_comment": "海报色彩与品牌VI不符，需调整主色调",
        "complete": "完成 {code}",
        "log": "记录 {code}",
        "accepted_word": "接受",
        "complete_word": "已结项",
        "archived": "已归档",
    },
    "en": {
        "group": "global",
        "new": "new\ntitle: Launch materials\nbackground: December launch\ngoal: poster and landing page ready by Dec 18\nscope: poster, landing page\nout of scope: events\ndepartments: design, rd\nstart: 2026-11-24\ndeadline: 2026-12-20\npriority: high\ndeliverables: poster, landing page",
        "rescope": "rescope {code} deadline: 2026-12-24 scope: poster and landing page (four more days)",
        "task": "task {code}\ntitle: {title}\nowner: {owner}\ncollaborators: {helper}\nresources: brand guide\nstandard: {standard}\ndeadline: {deadline}\npriority: high",
        "progress": "progress {sub} 60% done: first draft problems: colour open support: brand sign-off next: revise",
        "submit": "submit {sub}\ndeliverables: final https://files.example/{sub} v{n}-revised\nstatement: done to the standard\nself-check: meets the standard",
        "fail_comment": "Colours do not match the brand guide, adjust the main colour",
        "complete": "complete {code}",
        "log": "log {code}",
        "accepted_word": "accepted",
        "complete_word": "complete",
        "archived": "archived",
    },
}


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_whole_lifecycle(database_url, clock, lang):
    t = LANG[lang]
    group = t["group"]
    people = ["lilei", "wangfang", "liuyang", "hanmei", "chenjie", "anna", "zhaomin"]
    async with running(database_url, clock) as (_app, sim):
        if lang == "en":
            for person in people:
                await ok(await sim.say(person, "lang en"))
        # 1. 李雷 raises a request to design and rd
        await ok(await sim.say("lilei", t["new"], group))
        overview = (await bot_messages(sim, conversation=group))[-1]
        code = re.search(r"XZB\d{10}", body_text(overview)).group(0)
        assert code == "XZB2026112301"
        assert ("协作需求" if lang == "zh" else "Collaboration request") in body_text(overview)

        # 2. design accepts on the card, rd declines with a counter date through the form
        design_card = await card_with(sim, "request.accept", person="liuyang")
        await ok(await sim.click("liuyang", design_card["id"], "request.accept"))
        rd_card = await card_with(sim, "request.decline", person="chenjie")
        await ok(await sim.submit("chenjie", rd_card["id"], {"reason": "人力饱和 / fully booked", "counter_date": "2026-12-01"}, action="request.decline"))
        updated = next(m for m in await sim.messages(person="chenjie") if m["id"] == rd_card["id"])
        assert updated["version"] == 2 and not buttons(updated)
        assert "2026-12-01" in body_text((await bot_messages(sim, conversation=group))[0])
        assert code in body_text((await bot_messages(sim, person="lilei"))[-1])  # the initiator is told

        # 3. the initiator re-scopes; both heads are asked again and accept
        await ok(await sim.say("lilei", t["rescope"].format(code=code), group))
        for head in ("liuyang", "chenjie"):
            card = await card_with(sim, "request.accept", person=head)
            assert card["content"]["key"].endswith(":r2")
            await ok(await sim.click(head, card["id"], "request.accept"))
        overview = next(m for m in await sim.messages(conversation=group) if m["id"] == overview["id"])
        assert overview["content"]["color"] == "green"

        # 4. three subtasks with all five elements; owners acknowledge
        subtasks = []
        plan = [("Poster", "hanmei", "liuyang", "300DPI, 750×1500px", "2026-12-10"),
                ("Landing page", "anna", "chenjie", "Lighthouse ≥ 90", "2026-12-15"),
                ("Copy", "lilei", "wangfang", "≤ 200 字", "2026-12-08")]
        for title, owner, helper, standard, deadline in plan:
            await ok(await sim.say("lilei", t["task"].format(code=code, title=title, owner=owner, helper=helper, standard=standard, deadline=deadline), group))
            card = await card_with(sim, "task.ack", person=owner)
            sub = card["content"]["key"].split(":", 1)[1]
            subtasks.append((sub, owner))
            await ok(await sim.click(owner, card["id"], "task.ack"))
        assert [s for s, _ in subtasks] == [f"{code}-01", f"{code}-02", f"{code}-03"]
        poster_card = next(m for m in await bot_messages(sim, person="hanmei") if m["content"].get("key") == f"task:{code}-01")
        fields = {f["label"]: f["value"] for f in poster_card["content"]["fields"]}
        assert "300DPI, 750×1500px" in fields.values() and "2026-12-10" in fields.values()

        # 5. progress updates
        for sub, owner in subtasks:
            await ok(await sim.say(owner, t["progress"].format(sub=sub), group))
        assert "60%" in body_text((await bot_messages(sim, conversation=group))[-1])

        # 6. acceptance: the poster fails with comments, is resubmitted and passes; the others pass
        first_sub, first_owner = subtasks[0]
        await ok(await sim.say(first_owner, t["submit"].format(sub=first_sub, n=1), group))
        reviewer_card = await card_with(sim, "acceptance.fail", person="wangfang")
        await ok(await sim.submit("wangfang", reviewer_card["id"], {"comments": t["fail_comment"]}, action="acceptance.fail"))
        assert t["fail_comment"] in body_text((await bot_messages(sim, person=first_owner))[-1])
        await ok(await sim.say(first_owner, t["submit"].format(sub=first_sub, n=2), group))
        for sub, owner in subtasks:
            if sub != first_sub:
                await ok(await sim.say(owner, t["submit"].format(sub=sub, n=1), group))
        for _ in subtasks:
            card = await card_with(sim, "acceptance.pass", person="wangfang")
            await ok(await sim.click("wangfang", card["id"], "acceptance.pass"))

        # 7. complete and archive
        await ok(await sim.say("lilei", t["complete"].format(code=code), group))
        assert code in body_text((await bot_messages(sim, conversation=group))[-1])
        response = await sim.say("lilei", t["progress"].format(sub=first_sub), group)
        assert response["error"] is not None  # archived: read-only

        # 8. the audit trail lists every decision with who and when
        await ok(await sim.say("lilei", t["log"].format(code=code), group))
        trail = body_text((await bot_messages(sim, conversation=group, person="lilei"))[-1])
        locale = "zh_CN" if lang == "zh" else "en"
        labels = {action: str(localize(ACTION_LABELS[action], locale)) for action in [
            "request.created", "request.accepted", "request.declined", "request.rescoped", "request.activated",
            "task.created", "task.acknowledged", "task.progress", "acceptance.submitted", "acceptance.failed",
            "acceptance.passed", "collaboration.completed", "collaboration.archived"]}
        for action, label in labels.items():  # every decision, in the reader's words (no internal keys)
            assert label in trail, action
        assert "request.created" not in trail and "simulator:" not in trail
        accepted_lines = [line for line in trail.splitlines() if labels["request.accepted"] in line]
        account = "模拟器" if lang == "zh" else "Simulator"
        assert any("刘洋" in line and f"{account} liuyang" in line and "2026-11-23" in line for line in accepted_lines)
        assert any("陈杰" in line and f"{account} chenjie" in line for line in accepted_lines)
