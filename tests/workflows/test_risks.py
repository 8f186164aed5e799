"""§4 Risk reports, issue tiers and delay notices through the simulator's HTTP API."""

from __future__ import annotations

from storage.models import AuditEntry, Subtask
from storage.models_workflows import DelayNotice, Issue, RiskReport
from tests.core.harness import running
from tests.simclient import body_text, buttons
from tests.workflows.helpers import (
    active_collaboration,
    add_subtask,
    bot_messages,
    card_with,
    keyed,
    ok,
    refused,
)


async def test_a_risk_unanswered_for_four_hours_goes_to_the_initiators_superior(database_url, clock):
    async with running(database_url, clock) as (_app, sim):
        code = await active_collaboration(sim)
        sub = await add_subtask(sim, code, "海报", "hanmei", "300DPI", "2026-12-10")
        await ok(await sim.say("hanmei", f"风险 {sub}\n描述：素材未及时提供，海报需延迟1天\n风险等级：高\n影响范围：海报初稿\n建议解决方案：申请市场部专员今日18点前补充素材", "launch"))
        risk_code = f"{code}-R01"
        group_card = await keyed(sim, f"risk:{risk_code}", conversation="launch")
        assert "风险说明" in body_text(group_card) and "高" in body_text(group_card)
        initiator_card = await keyed(sim, f"risk:{risk_code}", person="lilei")
        assert {"risk.coordinate", "risk.move", "risk.reassign", "risk.comment"} <= set(buttons(initiator_card))

        # only the initiator answers; the owner, another head, an outsider cannot
        for person, expected in (("hanmei", "只有 XZB2026112301 的发起人 李雷 可以响应风险"), ("liuyang", "只有 XZB2026112301 的发起人 李雷 可以响应风险"), ("anna", "Only 李雷, the initiator of XZB2026112301, can respond")):
            r = await sim.click(person, initiator_card["id"], "risk.comment", value={"code": risk_code, "choice": "comment"})
            await refused(sim, r, person, expected, conversation=None)

        await sim.advance(hours=3)
        assert "正在等待你的响应" in body_text((await bot_messages(sim, person="lilei"))[-1])
        assert (await RiskReport.get(code=risk_code)).state == "open"
        await sim.advance(hours=1)
        risk = await RiskReport.get(code=risk_code)
        assert risk.state == "escalated"
        escalated = await keyed(sim, f"risk:{risk_code}", person="wangfang")  # 李雷's superior
        assert "上报至" in body_text(escalated) and "risk.coordinate" in buttons(escalated)
        group_copy = await keyed(sim, f"risk:{risk_code}", conversation="launch")
        assert group_copy["version"] > 1 and "王芳" in body_text(group_copy)
        assert "4 小时" in body_text((await bot_messages(sim, conversation="launch"))[-1])
        assert await AuditEntry.filter(action="risk.escalated", subject=risk_code).count() == 1

        # the superior responds by moving the deadline: the subtask changes, the group is told
        r = await sim.submit("wangfang", escalated["id"], {"new_date": "2026-12-12", "comment": "素材明天到"}, action="risk.move")
        await ok(r)
        assert (await Subtask.get(code=sub)).deadline.isoformat() == "2026-12-12"
        assert "素材明天到" in body_text((await bot_messages(sim, conversation="launch"))[-1])
        final = await keyed(sim, f"risk:{risk_code}", conversation="launch")
        assert not buttons(final)


async def test_a_progress_problem_and_a_standup_blocker_become_risks_in_one_click(database_url, clock):
    async with running(database_url, clock) as (_app, sim):
        code = await active_collaboration(sim)
        sub = await add_subtask(sim, code, "海报", "hanmei", "300DPI", "2026-12-10")
        await ok(await sim.say("hanmei", f"进度 {sub} 40% 已完成：初稿 问题：市场部文案素材未提供 所需支持：请专员今日18点前补充", "launch"))
        progress = await card_with(sim, "risk.from_progress", conversation="launch")
        assert "40%" in body_text(progress)
        await ok(await sim.click("lilei", progress["id"], "risk.from_progress"))
        risk = await RiskReport.get(code=f"{code}-R01")
        assert risk.description == "市场部文案素材未提供" and risk.subtask_id is not None and risk.source.startswith("progress:")
        assert "请专员今日18点前补充" in risk.solution
        # a second click (or a redelivery) raises nothing new; an outsider cannot raise it either
        r = await sim.click("hanmei", progress["id"], "risk.from_progress")
        await refused(sim, r, "hanmei", "这已上报为风险 XZB2026112301-R01")
        assert await RiskReport.all().count() == 1

        # the stand-up digest's blocker, raised from the digest card
        await ok(await sim.say("zhaomin", "站会 设置 时间：09:30 截止：10:00 参与人：hanmei", "launch"))
        await sim.advance(minutes=31)
        await ok(await sim.say("hanmei", "昨天：海报初稿\n今天：修改配色\n障碍：需协调市场部专员10点前反馈", None))
        await sim.advance(minutes=30)
        digest = await card_with(sim, "standup.raise_risk", conversation="launch")
        r = await sim.click("anna", digest["id"], "standup.raise_risk")  # rd's Anna takes part in no subtask or department answer
        await refused(sim, r, "anna", "Only people taking part in XZB2026112301 can report a risk")
        await ok(await sim.click("lilei", digest["id"], "standup.raise_risk"))
        blocker = await RiskReport.get(code=f"{code}-R02")
        assert blocker.description == "需协调市场部专员10点前反馈" and blocker.source.startswith("standup:")
        assert (await Subtask.get(id=blocker.subtask_id)).code == sub
        r = await sim.click("lilei", digest["id"], "standup.raise_risk")
        await refused(sim, r, "lilei", "这已上报为风险 XZB2026112301-R02")
        assert await AuditEntry.filter(action="risk.raised").count() == 2


async def test_the_initiator_coordinates_or_reassigns_and_the_group_hears_it(database_url, clock):
    async with running(database_url, clock) as (_app, sim):
        code = await active_collaboration(sim)
        sub = await add_subtask(sim, code, "海报", "hanmei", "300DPI", "2026-12-10")
        await ok(await sim.say("hanmei", f"风险 {sub} 描述：设计师请假 风险等级：中 影响范围：海报 建议解决方案：改派", "launch"))
        await ok(await sim.say("hanmei", f"风险 {sub} 描述：素材晚到 风险等级：低 影响范围：海报 建议解决方案：催素材", "launch"))
        first = await keyed(sim, f"risk:{code}-R01", person="lilei")
        r = await sim.submit("lilei", first["id"], {"owner": "wangfang", "comment": "王芳接手"}, action="risk.reassign")
        await refused(sim, r, "lilei", "王芳 是 XZB2026112301-01 的验收人", conversation=None)
        await ok(await sim.submit("lilei", first["id"], {"owner": "chenjie", "comment": "陈杰接手"}, action="risk.reassign"))
        task = await Subtask.get(code=sub).prefetch_related("owner")
        assert task.owner.handle == "chenjie" and task.acknowledged_at is None
        assert "task.ack" in buttons(await keyed(sim, f"task:{sub}", person="chenjie"))
        second = await keyed(sim, f"risk:{code}-R02", person="lilei")
        await ok(await sim.submit("lilei", second["id"], {"comment": "市场部今天补素材"}, action="risk.coordinate"))
        assert "市场部今天补素材" in body_text((await bot_messages(sim, conversation="launch"))[-1])
        assert "市场部今天补素材" in body_text((await bot_messages(sim, person="hanmei"))[-1])
        # the clocks were stopped: four hours later nothing escalates
        await sim.advance(hours=5)
        assert await AuditEntry.filter(action="risk.escalated").count() == 0
        r = await sim.click("lilei", second["id"], "risk.comment", value={"code": f"{code}-R02", "choice": "comment"})
        await refused(sim, r, "lilei", "已由 李雷", conversation=None)


async def test_issue_tiers_run_their_own_clocks_and_ladders(database_url, clock):
    async with running(database_url, clock) as (_app, sim):
        code = await active_collaboration(sim)
        sub = await add_subtask(sim, code, "海报", "hanmei", "300DPI", "2026-12-10")
        # general: the owner has 24 hours, then the initiator 4, then the initiator's superior
        await ok(await sim.say("hanmei", f"问题 {sub} 描述：素材缺失 级别：一般", "launch"))
        general = await keyed(sim, f"issue:{code}-P01", person="hanmei")
        assert "韩梅" in body_text(general) and "24 小时" in body_text(general)
        await sim.advance(hours=24)
        issue = await Issue.get(code=f"{code}-P01").prefetch_related("handler")
        assert issue.handler.handle == "lilei" and issue.step == 1
        await sim.advance(hours=4)
        issue = await Issue.get(code=f"{code}-P01").prefetch_related("handler")
        assert issue.handler.handle == "wangfang" and issue.step == 2
        r = await sim.click("chenjie", general["id"], "issue.resolve", value={"code": issue.code})
        await refused(sim, r, "chenjie", "或发起人可以将其标记为已解决", conversation=None)
        await ok(await sim.submit("wangfang", (await keyed(sim, f"issue:{code}-P01", person="wangfang"))["id"], {"resolution": "市场部已补充素材"}, action="issue.resolve"))
        assert (await Issue.get(code=f"{code}-P01")).state == "resolved"
        assert [e.detail["auto"] for e in await AuditEntry.filter(action="issue.escalated", subject=f"{code}-P01").order_by("id")] == [True, True]

        # severe: the initiator must take it to their superior within 4 hours — here they do, on the card
        await ok(await sim.say("hanmei", f"问题 {code} 描述：核心设计师离职 级别：严重", "launch"))
        severe = await keyed(sim, f"issue:{code}-P02", person="lilei")
        r = await sim.click("hanmei", severe["id"], "issue.escalate", value={"code": f"{code}-P02"})
        await refused(sim, r, "hanmei", "只有当前处理人 李雷 或发起人可以上报", conversation=None)
        await ok(await sim.click("lilei", severe["id"], "issue.escalate"))
        issue = await Issue.get(code=f"{code}-P02").prefetch_related("handler")
        assert issue.handler.handle == "wangfang"
        assert "issue.resolve" in buttons(await keyed(sim, f"issue:{code}-P02", person="wangfang"))

        # a cross-department dispute goes to the decision maker (none named: the departments' superior)
        await ok(await sim.say("liuyang", f"问题 {code} 描述：海报主视觉归属有分歧 级别：跨部门争议", "launch"))
        dispute = await Issue.get(code=f"{code}-P03").prefetch_related("handler")
        assert dispute.handler.handle == "zhaomin"
        assert "跨部门争议" in body_text(await keyed(sim, f"issue:{code}-P03", person="zhaomin"))


async def test_a_delay_takes_effect_only_when_the_initiator_confirms_and_a_late_one_is_flagged(database_url, clock):
    async with running(database_url, clock) as (_app, sim):
        code = await active_collaboration(sim)
        sub = await add_subtask(sim, code, "海报", "hanmei", "300DPI", "2026-12-10")
        today = await add_subtask(sim, code, "文案", "anna", "200字", "2026-11-23")
        await ok(await sim.say("hanmei", f"延期 {sub} 原因：素材未到 新日期：2026-12-14", "launch"))
        notice = await keyed(sim, f"delay:{code}-D01", person="lilei")
        assert "按时" in body_text(notice) and (await Subtask.get(code=sub)).deadline.isoformat() == "2026-12-10"
        for person in ("hanmei", "liuyang"):
            r = await sim.click(person, notice["id"], "delay.confirm", value={"code": f"{code}-D01"})
            await refused(sim, r, person, "只有 XZB2026112301 的发起人 李雷 可以确认或拒绝延期说明", conversation=None)
        assert (await Subtask.get(code=sub)).deadline.isoformat() == "2026-12-10"
        await ok(await sim.click("lilei", notice["id"], "delay.confirm"))
        assert (await Subtask.get(code=sub)).deadline.isoformat() == "2026-12-14"
        entry = await AuditEntry.get(action="delay.confirmed")
        assert entry.detail["deadline"] == ["2026-12-10", "2026-12-14"]
        assert "2026-12-14" in body_text((await bot_messages(sim, person="hanmei"))[-1])

        # due today: the notice is late, and says so; the initiator rejects it, nothing moves
        await ok(await sim.say("anna", f"delay {today} reason: copy review slipped new date: 2026-11-26", "global"))
        assert "late" in body_text((await bot_messages(sim, conversation="global", person="anna"))[-1]).lower()
        late = await keyed(sim, f"delay:{code}-D02", person="lilei")
        assert "迟报" in body_text(late)
        await ok(await sim.submit("lilei", late["id"], {"comment": "请先交初稿"}, action="delay.reject"))
        assert (await Subtask.get(code=today)).deadline.isoformat() == "2026-11-23"
        assert (await DelayNotice.get(code=f"{code}-D02")).late is True
