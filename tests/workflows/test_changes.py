"""§4 Change requests (《变更申请》): 会签 by every collaborating head, one rejection stops it, applied in one step."""

from __future__ import annotations

from storage.models import AcceptanceRequest, AuditEntry, Collaboration, Subtask
from storage.models_workflows import ChangeRequest
from tests.core.harness import running
from tests.simclient import body_text, buttons
from tests.workflows.helpers import active_collaboration, add_subtask, bot_messages, keyed, ok, refused

THREE = "新建协作\n标题：新品发布物料\n目标：完成3款海报和落地页\n协作部门：设计部，研发部，市场部\n截止：2026-12-20"
CHANGE = """变更申请 {code}
变更原因：客户临时增加1支短视频需求
新目标：完成3款海报、1支短视频和落地页
影响：设计部工作量增加，整体顺延四天
截止：2026-12-24
-01 截止：2026-12-12 交付标准：600DPI，750×1500px
-02 截止：2026-12-18 负责人：chenjie"""


async def state() -> tuple:
    tasks = [(t.code, t.deadline.isoformat(), t.owner_id, t.delivery_standard, t.stage) for t in await Subtask.all().order_by("id")]
    collab = await Collaboration.get()
    return (tasks, collab.deadline.isoformat(), collab.goal, [(a.state) for a in await AcceptanceRequest.all().order_by("id")])


async def test_three_heads_sign_one_rejects_then_all_confirm_and_the_bot_applies_it(database_url, clock):
    async with running(database_url, clock) as (_app, sim):
        code = await active_collaboration(sim, text=THREE, heads=("liuyang", "chenjie", "wangfang"))
        poster = await add_subtask(sim, code, "海报", "hanmei", "300DPI", "2026-12-10")
        page = await add_subtask(sim, code, "落地页", "anna", "Lighthouse ≥ 90", "2026-12-15")
        await ok(await sim.say("hanmei", f"提交验收 {poster} 交付物：海报 https://x.example/p v1", "launch"))
        before = await state()

        await ok(await sim.say("lilei", CHANGE.format(code=code), "launch"))
        c1 = f"{code}-C01"
        card = await keyed(sim, f"chg:{c1}", conversation="launch")
        text = body_text(card)
        assert "变更申请" in text and "2026-12-10 → 2026-12-12" in text and "300DPI → 600DPI" in text and "Anna Schmidt → 陈杰" in text
        assert "2026-12-20 → 2026-12-24" in text
        assert {"change.confirm", "change.reject"} <= set(buttons(card))

        # only the collaborating heads sign: not the initiator, not an owner, not an outsider
        for person, expected in (("lilei", "只有 XZB2026112301 各协作部门的负责人"), ("hanmei", "只有 XZB2026112301 各协作部门的负责人"), ("zhaomin", "只有 XZB2026112301 各协作部门的负责人")):
            r = await sim.click(person, card["id"], "change.confirm", value={"code": c1})
            await refused(sim, r, person, expected)

        for head in ("liuyang", "chenjie"):
            copy = await keyed(sim, f"chg:{c1}", person=head)
            await ok(await sim.click(head, copy["id"], "change.confirm"))
        r = await sim.click("liuyang", card["id"], "change.confirm", value={"code": c1})
        await refused(sim, r, "liuyang", "你已答复过变更申请")
        wang = await keyed(sim, f"chg:{c1}", person="wangfang")
        r = await sim.submit("wangfang", wang["id"], {"reason": ""}, action="change.reject")
        assert r["form_errors"] == {"reason": "拒绝需要写明原因，例如“变更申请 XZB2026112301-C01 拒绝 原因：设计部本周无人力”。"}
        await ok(await sim.submit("wangfang", wang["id"], {"reason": "市场部预算未批"}, action="change.reject"))
        assert (await ChangeRequest.get(code=c1)).state == "rejected"
        assert await state() == before  # nothing changed
        group_copy = await keyed(sim, f"chg:{c1}", conversation="launch")
        assert "市场部预算未批" in body_text(group_copy) and "change.confirm" not in buttons(group_copy)
        r = await sim.click("chenjie", group_copy["id"], "change.confirm", value={"code": c1})
        await refused(sim, r, "chenjie", "已拒绝")
        assert "市场部预算未批" in body_text((await bot_messages(sim, person="lilei"))[-1])

        # the initiator resubmits it; this time every head confirms and the bot applies it all at once
        r = await sim.click("wangfang", group_copy["id"], "change.resubmit", value={"code": c1})
        await refused(sim, r, "wangfang", "只有 XZB2026112301 的发起人可以重新提交变更申请")
        await ok(await sim.click("lilei", group_copy["id"], "change.resubmit"))
        c2 = f"{code}-C02"
        assert (await ChangeRequest.get(code=c1)).resubmitted_as == c2
        for head in ("wangfang", "liuyang"):
            await ok(await sim.click(head, (await keyed(sim, f"chg:{c2}", person=head))["id"], "change.confirm"))
            assert (await Subtask.get(code=poster)).deadline.isoformat() == "2026-12-10"  # not before the last signature
        audit_before = await AuditEntry.all().count()
        await ok(await sim.click("chenjie", (await keyed(sim, f"chg:{c2}", person="chenjie"))["id"], "change.confirm"))
        first = await Subtask.get(code=poster)
        second = await Subtask.get(code=page).prefetch_related("owner")
        collab = await Collaboration.get()
        assert (first.deadline.isoformat(), first.delivery_standard, first.stage) == ("2026-12-12", "600DPI，750×1500px", "in_progress")  # as typed
        assert (second.deadline.isoformat(), second.owner.handle, second.acknowledged_at) == ("2026-12-18", "chenjie", None)
        assert collab.deadline.isoformat() == "2026-12-24" and collab.goal == "完成3款海报、1支短视频和落地页"
        assert [a.state for a in await AcceptanceRequest.all()] == ["withdrawn"]  # judged against the old standard
        # one click, one transaction: the last signature and the application, one audit entry each
        new_entries = await AuditEntry.filter(id__gt=0).order_by("-id").limit(await AuditEntry.all().count() - audit_before)
        assert sorted(e.action for e in new_entries) == ["change.applied", "change.confirmed"]
        applied = next(e for e in new_entries if e.action == "change.applied").detail
        assert applied["collaboration"]["deadline"] == ["2026-12-20", "2026-12-24"]
        diffs = {d["subtask"]: d for d in applied["subtasks"]}
        assert diffs[poster]["deadline"] == ["2026-12-10", "2026-12-12"] and diffs[poster]["standard"] == ["300DPI", "600DPI，750×1500px"]
        assert diffs[poster]["acceptance_reset"] is True
        assert diffs[page]["owner"] == ["anna", "chenjie"] and diffs[page]["deadline"] == ["2026-12-15", "2026-12-18"]
        # the affected owners are told; the new owner gets the subtask card to acknowledge
        assert "600DPI" in body_text((await bot_messages(sim, person="hanmei"))[-1])
        assert "no longer yours" in body_text((await bot_messages(sim, person="anna"))[-1])
        assert "task.ack" in buttons(await keyed(sim, f"task:{page}", person="chenjie"))
        withdrawn = await keyed(sim, f"acc:{poster}:1", person="wangfang")
        assert not buttons(withdrawn) and "交付标准" in body_text(withdrawn)
        # the change log shows the diff
        await ok(await sim.say("lilei", f"变更记录 {code}", "launch"))
        log = body_text((await bot_messages(sim, conversation="launch", person="lilei"))[-1])
        assert f"{poster} 截止时间：2026-12-10 → 2026-12-12" in log and f"{page} 负责人：anna → chenjie" in log


async def test_one_request_at_a_time_and_withdrawal(database_url, clock):
    async with running(database_url, clock) as (_app, sim):
        code = await active_collaboration(sim)
        await add_subtask(sim, code, "海报", "hanmei", "300DPI", "2026-12-10")
        await ok(await sim.say("lilei", f"变更申请 {code}\n原因：预算调整\n影响：无\n-01 截止：2026-12-11", "launch"))
        r = await sim.say("lilei", f"变更申请 {code}\n原因：再改\n影响：无\n-01 截止：2026-12-12", "launch")
        await refused(sim, r, "lilei", "变更申请 XZB2026112301-C01 仍在等待会签")
        card = await keyed(sim, f"chg:{code}-C01", conversation="launch")
        r = await sim.click("liuyang", card["id"], "change.withdraw", value={"code": f"{code}-C01"})
        await refused(sim, r, "liuyang", "只有 XZB2026112301 的发起人可以撤回变更申请")
        await ok(await sim.click("lilei", card["id"], "change.withdraw"))
        assert (await ChangeRequest.get(code=f"{code}-C01")).state == "withdrawn"
        await ok(await sim.say("lilei", f"变更申请 {code}\n原因：再改\n影响：无\n-01 截止：2026-12-12", "launch"))
        assert (await ChangeRequest.get(code=f"{code}-C02")).state == "pending"


async def test_heads_who_do_not_sign_are_reminded_then_their_superiors_told(database_url, clock):
    async with running(database_url, clock) as (_app, sim):
        code = await active_collaboration(sim)
        await add_subtask(sim, code, "海报", "hanmei", "300DPI", "2026-12-10")
        await ok(await sim.say("lilei", f"变更申请 {code}\n原因：预算调整\n影响：无\n-01 截止：2026-12-11", "launch"))
        await ok(await sim.click("liuyang", (await keyed(sim, f"chg:{code}-C01", person="liuyang"))["id"], "change.confirm"))
        await sim.advance(hours=33)  # Tuesday 18:00
        assert "正在等待你在卡片上会签确认" in body_text((await bot_messages(sim, person="chenjie"))[-1])
        assert not any("会签" in body_text(m) and "提醒" in body_text(m) for m in await bot_messages(sim, person="liuyang"))
        await sim.advance(hours=24)  # Wednesday 18:00
        for person in ("lilei", "zhaomin"):  # the initiator, and 陈杰's superior
            assert any("仍在等待 陈杰 会签" in body_text(m) for m in await bot_messages(sim, person=person))
        assert await AuditEntry.filter(action="change.overdue").count() == 1
