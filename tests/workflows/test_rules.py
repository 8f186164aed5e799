"""Authorization and bad input for the later workflows: a specific reply in the user's language, nothing written."""

from __future__ import annotations

from storage.models import AuditEntry, Collaboration, Confirmation, Subtask, Timer
from storage.models_workflows import (
    ChangeRequest,
    DelayNotice,
    Improvement,
    Issue,
    Meeting,
    Minutes,
    PlannedSubtask,
    Retrospective,
    RiskReport,
    SopTemplate,
)
from tests.core.harness import running
from tests.simclient import SimClient
from tests.workflows.helpers import active_collaboration, add_subtask, keyed, ok, refused

CODE = "XZB2026112301"


async def snapshot() -> tuple:
    counts = [await model.all().count() for model in (RiskReport, Issue, DelayNotice, ChangeRequest, Meeting, Minutes, Improvement, Retrospective, SopTemplate, PlannedSubtask, AuditEntry)]
    rows = [
        [(r.state, r.version) for r in await model.all().order_by("id")]
        for model in (RiskReport, Issue, DelayNotice, ChangeRequest, Meeting, Minutes)
    ]
    tasks = [(t.deadline, t.owner_id, t.delivery_standard, t.stage, t.version) for t in await Subtask.all().order_by("id")]
    collab = [(c.state, c.deadline, c.goal, c.version) for c in await Collaboration.all().order_by("id")]
    return (
        counts,
        rows,
        tasks,
        collab,
        await Timer.filter(status="pending").count(),
        await Confirmation.filter(state__not="pending").count(),
        await Improvement.filter(status__not="not_started").count(),
    )


async def setup(sim: SimClient) -> None:
    """A collaboration with two subtasks and one of everything still open."""
    await active_collaboration(sim)
    await add_subtask(sim, CODE, "海报", "hanmei", "300DPI", "2026-12-10")
    await add_subtask(sim, CODE, "落地页", "anna", "Lighthouse ≥ 90", "2026-12-15")
    await ok(await sim.say("hanmei", f"风险 {CODE}-01 描述：素材晚到 风险等级：高 影响范围：海报 建议解决方案：催素材", "launch"))
    await ok(await sim.say("hanmei", f"问题 {CODE}-01 描述：素材缺失 级别：一般", "launch"))
    await ok(await sim.say("hanmei", f"延期 {CODE}-01 原因：素材未到 新日期：2026-12-12", "launch"))
    await ok(await sim.say("lilei", f"变更申请 {CODE}\n原因：加需求\n影响：顺延\n-02 截止：2026-12-18", "launch"))
    await ok(await sim.say("lilei", f"会议 {CODE} 主题：启动会 时间：2026-11-30 14:00 参会人员：刘洋，韩梅 记录人：韩梅", "launch"))
    await ok(await sim.say("lilei", f"改进 {CODE} 问题：变更未同步 类别：信息传递 改进措施：建立通知机制 负责人：liuyang 截止：2026-12-04", "launch"))


BAD = [
    # (person, text, expected reply)
    ("hanmei", f"风险 {CODE}-01 描述：x 风险等级：超高 影响范围：y 建议解决方案：z", "风险等级“超高”无效"),
    ("hanmei", f"风险 {CODE}-01 描述：x 风险等级：高 建议解决方案：z", "缺少字段“影响范围”"),
    ("hanmei", f"风险 {CODE} 子任务：99 描述：x 风险等级：高 影响范围：y 建议解决方案：z", "XZB2026112301-99 不是 XZB2026112301 的子任务"),
    ("hanmei", f"风险 {CODE} 子任务：abc 描述：x 风险等级：高 影响范围：y 建议解决方案：z", "“abc”不是子任务编号"),
    ("lilei", f"响应 {CODE}-R01 说明：x", "请选择一种响应方式"),
    ("lilei", f"响应 {CODE}-R01 协调资源", "请说明你的处理决定"),
    ("lilei", f"响应 {CODE}-R01 调整时间节点 新截止：2026-12-25", "2026-12-25 晚于协作截止时间 2026-12-20"),
    ("lilei", f"响应 {CODE}-R01 调整时间节点 新截止：2026-12-10", "截止时间已是 2026-12-10"),
    ("lilei", f"响应 {CODE}-R01 调整时间节点 新截止：找个时间", "看不懂日期“找个时间”"),
    ("lilei", f"响应 {CODE}-R01 改派 新负责人：nobody", "找不到“nobody”这个人"),
    ("lilei", f"响应 {CODE}-R09 协调资源 说明：x", "没有编号为 XZB2026112301-R09 的记录"),
    ("lilei", "响应 协调资源 说明：x", "是哪一个？请加上编号"),
    ("hanmei", f"问题 {CODE} 描述：x 级别：特急", "问题级别“特急”无效"),
    ("hanmei", f"问题 {CODE} 级别：一般", "缺少字段“问题”"),
    ("hanmei", f"解决 {CODE}-P01", "请说明如何解决的"),
    ("hanmei", f"延期 {CODE}-01 原因：x 新日期：2026-12-05", "新日期必须晚于当前截止时间 2026-12-10"),
    ("hanmei", f"延期 {CODE}-01 新日期：2026-12-12", "请说明 XZB2026112301-01 延期的原因"),
    ("hanmei", f"延期 {CODE}-01 原因：x 新日期：2026-12-30", "晚于协作截止时间 2026-12-20"),
    ("lilei", f"延期 {CODE}-D01 再说", "请确认或拒绝"),
    ("lilei", f"延期 {CODE}-D01 拒绝", "请说明为何不同意新日期"),
    ("lilei", f"变更申请 {CODE}-C01 拒绝", "只有 XZB2026112301 各协作部门的负责人"),
    ("liuyang", f"变更申请 {CODE}-C01 拒绝", "拒绝需要写明原因"),
    ("lilei", f"变更申请 {CODE}\n影响：x\n-01 截止：2026-12-12", "变更申请 XZB2026112301-C01 仍在等待会签"),
    ("lilei", f"会议 {CODE} 主题：x 时间：明天 参会人员：刘洋", "请写明会议的日期和时刻"),
    ("lilei", f"会议 {CODE} 主题：x 时间：2026-11-20 10:00 参会人员：刘洋", "会议时间 2026-11-20 10:00 已经过去"),
    ("lilei", f"会议 {CODE} 主题：x 时间：明天 25:00 参会人员：刘洋", "“25:00”不是有效的时刻"),
    ("lilei", f"会议 {CODE} 主题：x 时间：明天 10:00 形式：飞鸽 参会人员：刘洋", "会议形式“飞鸽”无效"),
    ("lilei", f"会议 {CODE} 主题：x 时间：明天 10:00 参会人员：nobody", "找不到“nobody”这个人"),
    ("lilei", f"会议 {CODE} 时间：明天 10:00 参会人员：刘洋", "缺少字段“会议主题”"),
    ("hanmei", f"会议纪要 {CODE}-M01 决议事项：x", "缺少字段“讨论内容及结论”"),
    ("hanmei", f"会议纪要 {CODE}-M01 结论：x 待办事项：\n- 写文案 | hanmei | 2026-12-01", "待办事项 1 缺少输出成果"),
    ("hanmei", f"会议纪要 {CODE}-M01 结论：x 待办事项：\n- 写文案 | nobody | 2026-12-01 | 文案", "找不到“nobody”这个人"),
    ("hanmei", f"会议纪要 {CODE}-M01 结论：x 待办事项：\n- 写文案 | hanmei | 2026-11-01 | 文案", "待办事项 1 的截止时间 2026-11-01 已经过去"),
    ("hanmei", "会议纪要 结论：x", "哪个会议？"),
    ("hanmei", f"会议纪要 {CODE}-M01 确认", "还没有会议纪要"),
    ("lilei", f"改进 {CODE} 问题：x 类别：流程机制 负责人：liuyang 截止：2026-12-04", "缺少字段“改进措施”"),
    ("lilei", f"改进 {CODE} 问题：x 类别：流程机制 改进措施：y 负责人：liuyang 截止：2026-11-01", "截止时间 2026-11-01 已经过去"),
    ("liuyang", f"改进 {CODE}-I01 状态：搁置", "状态“搁置”无效"),
    ("lilei", f"复盘 {CODE} 做得好的方面：x 待改进点：y 优化措施：z", "复盘应在协作完成后进行"),
    ("lilei", "搜索", "要搜索什么"),
    ("lilei", "搜索 部门：法务部", "没有“法务部”这个部门"),
    ("lilei", "协作SOP 不存在的", "没有名为“不存在的”的协作SOP"),
]

BAD_EN = [
    ("anna", f"risk {CODE}-02 description: x level: extreme impact: y solution: z", "Risk level “extreme” is not one of"),
    ("anna", f"delay {CODE}-02 reason: x new date: whenever", "I could not read the date “whenever”"),
    ("anna", f"meeting {CODE} topic: sync time: tomorrow attendees: Anna Schmidt", "Give the meeting time with a day and an hour"),
    ("anna", f"improve {CODE} problem: x category: vibes measure: y owner: anna deadline: 2026-12-04", "Category “vibes” is not one of"),
]


async def test_every_bad_input_gets_a_specific_translated_reply_and_writes_nothing(database_url, clock):
    async with running(database_url, clock) as (_app, sim):
        await setup(sim)
        before = await snapshot()
        for person, text, expected in BAD:
            await refused(sim, await sim.say(person, text, "launch"), person, expected)
        for person, text, expected in BAD_EN:
            await refused(sim, await sim.say(person, text, "global"), person, expected, conversation="global")
        assert await snapshot() == before

        # a form shows the error next to its field, and writes nothing either
        await ok(await sim.say("hanmei", f"风险 {CODE}", "launch"))
        prompt = [m for m in await sim.messages(person="hanmei") if m["sender"] == "bot"][-1]  # her form, in her DM
        assert prompt["content"]["form"]["id"] == "risk.new"
        r = await sim.submit("hanmei", prompt["id"], {"subtask": "01", "level": "超高", "description": "x", "impact": "y", "solution": "z"})
        assert r["form_errors"] == {"level": "风险等级“超高”无效，请选择 高/中/低。"}
        assert await snapshot() == before


async def test_only_the_right_people_decide_and_outsiders_do_nothing(database_url, clock):
    async with running(database_url, clock) as (_app, sim):
        await setup(sim)
        # 赵敏 (an admin, but in no role on it) and a stranger the directory does not know take no part in it
        outsiders = ("zhaomin", "stranger")
        before = await snapshot()
        for person in outsiders:
            for text, expected in (
                (f"风险 {CODE}-01 描述：x 风险等级：高 影响范围：y 建议解决方案：z", "只有参与 XZB2026112301 的人员可以上报风险"),
                (f"问题 {CODE} 描述：x 级别：一般", "只有参与 XZB2026112301 的人员可以上报问题"),
                (f"会议 {CODE} 主题：x 时间：2026-11-30 10:00 参会人员：刘洋", "只有参与 XZB2026112301 的人员可以发起会议"),
                (f"改进 {CODE} 问题：x 类别：流程机制 改进措施：y 负责人：liuyang 截止：2026-12-04", "只有参与 XZB2026112301 的人员可以登记改进项"),
                (f"变更申请 {CODE}\n原因：x\n影响：y\n-01 截止：2026-12-12", "只有 XZB2026112301 的发起人可以提交变更申请"),
                (f"延期 {CODE}-02 原因：x 新日期：2026-12-18", "只有 XZB2026112301-02 的负责人 Anna Schmidt 可以提交延期说明"),
            ):
                await refused(sim, await sim.say(person, text, "launch"), person, expected)
        cards = {
            "risk": await keyed(sim, f"risk:{CODE}-R01", conversation="launch"),
            "issue": await keyed(sim, f"issue:{CODE}-P01", conversation="launch"),
            "delay": await keyed(sim, f"delay:{CODE}-D01", conversation="launch"),
            "change": await keyed(sim, f"chg:{CODE}-C01", conversation="launch"),
            "meeting": await keyed(sim, f"meet:{CODE}-M01", conversation="launch"),
            "improvement": await keyed(sim, f"imp:{CODE}-I01", conversation="launch"),
        }
        clicks = [
            ("risk", "risk.coordinate", {"code": f"{CODE}-R01", "choice": "coordinate"}, "只有 XZB2026112301 的发起人 李雷 可以响应风险"),
            ("issue", "issue.resolve", {"code": f"{CODE}-P01"}, "或发起人可以将其标记为已解决"),
            ("issue", "issue.escalate", {"code": f"{CODE}-P01"}, "只有当前处理人 韩梅 或发起人可以上报"),
            ("delay", "delay.confirm", {"code": f"{CODE}-D01"}, "只有 XZB2026112301 的发起人 李雷 可以确认或拒绝延期说明"),
            ("change", "change.confirm", {"code": f"{CODE}-C01"}, "只有 XZB2026112301 各协作部门的负责人"),
            ("change", "change.reject", {"code": f"{CODE}-C01"}, "只有 XZB2026112301 各协作部门的负责人"),
            ("change", "change.withdraw", {"code": f"{CODE}-C01"}, "只有 XZB2026112301 的发起人可以撤回变更申请"),
            ("meeting", "meeting.absent", {"code": f"{CODE}-M01"}, "你不在 XZB2026112301-M01 的参会名单中"),
            ("improvement", "improvement.done", {"code": f"{CODE}-I01"}, "只有改进项 XZB2026112301-I01 的负责人 刘洋 或登记人可以更改其状态"),
        ]
        for person in outsiders:
            for card, action, value, expected in clicks:
                r = await sim.click(person, cards[card]["id"], action, value=value)
                await refused(sim, r, person, expected)
        # inside the collaboration, the wrong role is refused just as specifically
        for person, card, action, value, expected in (
            ("hanmei", "risk", "risk.comment", {"code": f"{CODE}-R01", "choice": "comment"}, "只有 XZB2026112301 的发起人 李雷 可以响应风险"),
            ("liuyang", "delay", "delay.confirm", {"code": f"{CODE}-D01"}, "只有 XZB2026112301 的发起人 李雷 可以确认或拒绝延期说明"),
            ("hanmei", "change", "change.confirm", {"code": f"{CODE}-C01"}, "只有 XZB2026112301 各协作部门的负责人"),
            ("lilei", "change", "change.confirm", {"code": f"{CODE}-C01"}, "只有 XZB2026112301 各协作部门的负责人"),
        ):
            await refused(sim, await sim.click(person, cards[card]["id"], action, value=value), person, expected)
        assert await snapshot() == before
