"""§6 Retrospective prefilled with the facts, saved as an SOP, a new collaboration started from it; archive
search; §8 the improvement log."""

from __future__ import annotations

from storage.models import AuditEntry, Collaboration, Subtask
from storage.models_workflows import Improvement, SopTemplate
from tests.core.harness import running
from tests.dashboard.seed import archived_collaborations
from tests.simclient import body_text, buttons
from tests.workflows.helpers import (
    active_collaboration,
    add_subtask,
    card_with,
    keyed,
    last_text,
    ok,
    refused,
)

NEW = "新建协作\n标题：新品发布物料\n目标：完成海报和落地页\n协作部门：设计部，研发部\n截止：2026-12-20\n交付物：海报，落地页"


async def finished_collaboration(sim) -> str:
    """Raised, declined once and re-scoped, two subtasks, one failed acceptance, one risk, completed."""
    await ok(await sim.say("lilei", NEW, "launch"))
    await ok(await sim.submit("chenjie", (await card_with(sim, "request.decline", person="chenjie"))["id"], {"reason": "人力饱和"}, action="request.decline"))
    code = "XZB2026112301"
    await ok(await sim.say("lilei", f"调整 {code} 截止：2026-12-22", "launch"))
    for head in ("liuyang", "chenjie"):
        await ok(await sim.click(head, (await card_with(sim, "request.accept", person=head))["id"], "request.accept"))
    poster = await add_subtask(sim, code, "海报", "hanmei", "300DPI", "2026-12-10")
    page = await add_subtask(sim, code, "落地页", "anna", "Lighthouse ≥ 90", "2026-12-15")
    await ok(await sim.say("hanmei", f"风险 {poster} 描述：素材晚到 等级：中 影响：海报 建议：催素材", "launch"))
    await ok(await sim.say("hanmei", f"提交验收 {poster} 交付物：海报 v1", "launch"))
    await ok(await sim.submit("wangfang", (await card_with(sim, "acceptance.fail", person="wangfang"))["id"], {"comments": "主色调不符"}, action="acceptance.fail"))
    await ok(await sim.say("hanmei", f"提交验收 {poster} 交付物：海报 v2", "launch"))
    await ok(await sim.say("anna", f"submit {page} deliverables: page v1", "global"))
    for _ in range(2):
        await ok(await sim.click("wangfang", (await card_with(sim, "acceptance.pass", person="wangfang"))["id"], "acceptance.pass"))
    await ok(await sim.say("lilei", f"完成 {code}", "launch"))
    return code


async def test_a_retrospective_saved_as_an_sop_starts_the_next_collaboration(database_url, clock):
    async with running(database_url, clock) as (_app, sim):
        code = await finished_collaboration(sim)
        r = await sim.say("hanmei", f"复盘 {code}", "launch")
        await refused(sim, r, "hanmei", "只有 XZB2026112301 的发起人可以提交复盘报告")
        await ok(await sim.say("lilei", f"复盘 {code}", "launch"))
        prompt = await last_text(sim, person="lilei")  # the form is his alone: in his direct chat with the bot
        for fact in ("按时完成率：100%（2 个子任务中 2 个", "部门拒绝：1 次", "验收不通过：1 次", "风险：1 个", "变更申请：0 次"):
            assert fact in prompt, fact
        r = await sim.say("lilei", f"复盘 {code}\n做得好的方面：每日站会机制有效暴露问题\n待改进点：需提前明确素材提交标准", "launch")
        await refused(sim, r, "lilei", "复盘报告缺少“优化措施”")
        await ok(await sim.say("lilei", f"复盘 {code}\n做得好的方面：每日站会机制有效暴露问题\n待改进点：需提前明确素材提交标准\n优化措施：建立需求变更通知机制；素材标准写入交付标准\n协作SOP：新品发布物料", "launch"))
        report = await keyed(sim, f"retro:{code}", conversation="launch")
        assert "复盘报告" in body_text(report) and "建立需求变更通知机制" in body_text(report)
        sop = await SopTemplate.get(name="新品发布物料")
        assert sop.departments == ["design", "rd"] and [s["standard"] for s in sop.subtasks] == ["300DPI", "Lighthouse ≥ 90"]
        assert await AuditEntry.filter(action="sop.saved", subject=code).count() == 1
        r = await sim.say("lilei", f"复盘 {code}\n做得好的方面：x\n待改进点：y\n优化措施：z\n协作SOP：新品发布物料", "launch")
        await refused(sim, r, "lilei", "已有名为“新品发布物料”的协作SOP")
        await ok(await sim.say("lilei", "协作SOP 新品发布物料", "launch"))
        assert "300DPI" in await last_text(sim, conversation="launch", person="lilei")

        # a new collaboration from the SOP: departments, goal and deliverables come with it; its subtasks start on activation
        await ok(await sim.say("lilei", "新建协作\n协作SOP：新品发布物料\n标题：春节物料\n截止：2027-01-20", "launch"))
        second = await Collaboration.get(title="春节物料")
        assert second.goal == "完成海报和落地页" and second.deliverables == "海报，落地页"  # as typed
        assert await Subtask.filter(collaboration_id=second.id).count() == 0
        for head in ("liuyang", "chenjie"):
            await ok(await sim.click(head, (await card_with(sim, "request.accept", person=head))["id"], "request.accept"))
        tasks = await Subtask.filter(collaboration_id=second.id).order_by("id").prefetch_related("owner")
        assert [(t.title, t.delivery_standard, t.owner.handle) for t in tasks] == [("海报", "300DPI", "hanmei"), ("落地页", "Lighthouse ≥ 90", "anna")]
        assert [t.deadline.isoformat() for t in tasks] == ["2027-01-08", "2027-01-13"]  # as far before the deadline as last time
        assert "task.ack" in buttons(await keyed(sim, f"task:{tasks[0].code}", person="hanmei"))
        r = await sim.say("lilei", "新建协作\n协作SOP：不存在的SOP\n标题：x\n截止：2027-01-20", "launch")
        await refused(sim, r, "lilei", "没有名为“不存在的SOP”的协作SOP")


async def test_archive_search_by_text_department_person_and_date(database_url, clock):
    async with running(database_url, clock) as (_app, sim):
        code = await finished_collaboration(sim)
        await ok(await sim.say("lilei", "新建协作\n标题：年度预算\n目标：汇总预算\n协作部门：市场部\n截止：2026-12-30", "launch"))
        for query, found, missing in (
            ("搜索 主色调", [code], ["XZB2026112302"]),  # in a failed acceptance's comments
            ("搜索 部门：研发部", [code], ["XZB2026112302"]),
            ("搜索 人员：韩梅", [code], ["XZB2026112302"]),
            ("搜索 人员：李雷", [code, "XZB2026112302"], []),
            ("搜索 预算 从：2026-11-01 至：2026-11-30", ["XZB2026112302"], [code]),
            ("搜索 海报 从：2027-01-01", [], [code]),
        ):
            await ok(await sim.say("wangfang", query, "launch"))
            text = await last_text(sim, conversation="launch", person="wangfang")
            assert all(c in text for c in found) and not any(c in text for c in missing), (query, text)
        r = await sim.say("wangfang", "搜索 从：2026-12-31 至：2026-12-01", "launch")
        await refused(sim, r, "wangfang", "结束日期 2026-12-01 早于开始日期 2026-12-31")


async def test_a_search_or_a_list_longer_than_its_card_says_how_many_it_left_out(database_url, clock):
    async with running(database_url, clock) as (_app, sim):
        await archived_collaborations(45, "lilei")
        await ok(await sim.say("wangfang", "搜索 往年", "launch"))  # the group shows none of them: by direct message
        text = await last_text(sim, person="wangfang")
        assert "找到 45" in text and "OLD45" in text and "OLD16 " in text and "OLD15 " not in text  # the newest 30
        assert "共 45 条，只列出最新的 30 条：可加关键词、部门、人员、状态或日期缩小范围。" in text
        await ok(await sim.say("wangfang", "列表 全部"))  # in the direct chat
        text = await last_text(sim, person="wangfang")
        assert "OLD45" in text and "OLD15 " not in text and "共 45 个，只列出最新的 30 个：其他的请用“搜索”查找，如“搜索 海报”。" in text
        await ok(await sim.say("wangfang", "列表"))  # the open ones: none of the archived, nothing left out
        assert "只列出" not in await last_text(sim, person="wangfang")


async def test_the_improvement_log_is_tracked_like_subtasks(database_url, clock):
    async with running(database_url, clock) as (_app, sim):
        code = await active_collaboration(sim)
        r = await sim.say("lilei", f"改进 {code}\n问题：需求变更未及时同步\n类别：沟通不畅\n改进措施：x\n负责人：lilei\n截止：2026-12-04", "launch")
        await refused(sim, r, "lilei", "问题类别“沟通不畅”无效")
        await ok(await sim.say("lilei", f"改进 {code}\n问题：需求变更未及时同步\n类别：信息传递\n根本原因：没有变更通知机制\n改进措施：建立需求变更通知机制\n负责人：liuyang\n截止：2026-11-26", "launch"))
        card = await keyed(sim, f"imp:{code}-I01", person="liuyang")
        assert "信息传递" in body_text(card) and "未开始" in body_text(card)
        r = await sim.click("hanmei", card["id"], "improvement.done", value={"code": f"{code}-I01"})
        await refused(sim, r, "hanmei", "只有改进项 XZB2026112301-I01 的负责人 刘洋 或登记人可以更改其状态", conversation=None)
        await ok(await sim.click("liuyang", card["id"], "improvement.start"))
        assert (await Improvement.get()).status == "in_progress"
        assert "进行中" in body_text(await keyed(sim, f"imp:{code}-I01", conversation="launch"))
        await sim.advance(hours=57)  # Wed 18:00, the working day before the deadline
        assert "将于 2026-11-26 到期" in await last_text(sim, person="liuyang")
        await sim.advance(hours=24)  # Thu 18:00: overdue
        assert "已逾期" in await last_text(sim, person="liuyang") and "已逾期" in await last_text(sim, person="lilei")
        await ok(await sim.say("liuyang", f"改进 {code}-I01 状态：已完成", "launch"))
        assert (await Improvement.get()).status == "done"
        await ok(await sim.say("lilei", f"改进列表 {code}", "launch"))
        assert "已完成" in await last_text(sim, conversation="launch", person="lilei")


async def test_the_guide_lists_the_later_workflows_in_the_users_language(database_url, clock):
    async with running(database_url, clock) as (_app, sim):
        await ok(await sim.say("lilei", "更多帮助", "launch"))
        assert "风险说明" in await last_text(sim, conversation="launch", person="lilei")
        await ok(await sim.say("anna", "guide", "global"))
        assert "change request every collaborating head confirms" in await last_text(sim, conversation="global", person="anna")
