"""§4 Risk reports, issue tiers and delay notices through the simulator's HTTP API."""

from __future__ import annotations

from storage.models import AuditEntry, Subtask
from storage.models_workflows import RiskReport
from tests.core.harness import running
from tests.simclient import body_text, buttons
from tests.workflows.helpers import (
    active_collaboration,
    add_subtask,
    bot_messages,
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
        assert "升级至" in body_text(escalated) and "risk.coordinate" in buttons(escalated)
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
