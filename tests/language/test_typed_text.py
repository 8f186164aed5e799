"""User text is sacred: full-width punctuation, inner spaces and line breaks typed into any free-text field come
back exactly as typed, stored and shown (commands are recognised on a normalized copy only)."""

from __future__ import annotations

import re

from storage.models import AcceptanceRequest, Collaboration, Confirmation, ProgressUpdate, Subtask
from storage.models_clocks import StandupAnswer, WeeklyAnswer
from storage.models_workflows import (
    ChangeRequest,
    DelayNotice,
    Improvement,
    Issue,
    Meeting,
    Minutes,
    RiskReport,
)
from tests.core.harness import running
from tests.language.lifecycle import RecordingSim
from tests.simclient import body_text


def typed(n: int) -> str:
    """A value as a Chinese user types it: full-width ：，；（）“”！, an inner double space, Latin letters."""
    return f"第{n}项：“终稿”（含 A4、A3），请查收；  谢谢！"


async def test_full_width_text_round_trips_through_every_free_text_field(database_url, clock):
    v = {n: typed(n) for n in range(1, 50)}
    async with running(database_url, clock) as (_app, sim):
        r = RecordingSim(sim)
        await r.say("lilei", f"新建协作\n标题：{v[1]}\n背景：{v[2]}\n目标：{v[3]}\n范围：{v[4]}\n不包含：{v[5]}\n协作部门：设计部，研发部\n截止：2026-12-20\n交付物：{v[6]}\n备注：{v[7]}")
        code = re.search(r"XZB\d{10}", body_text((await r.bot(conversation="launch"))[-1])).group(0)  # type: ignore[union-attr]
        await r.click("liuyang", await r.card_with("request.accept", person="liuyang"), "request.accept")
        await r.say("chenjie", f"拒绝 {code} 研发部 原因：{v[8]}")
        await r.say("lilei", f"调整 {code} 截止：2026-12-24")
        for head in ("liuyang", "chenjie"):
            await r.click(head, await r.card_with("request.accept", person=head), "request.accept")
        await r.say("lilei", f"任务 {code}\n标题：{v[9]}\n负责人：韩梅\n所需资源：{v[10]}\n交付标准：{v[11]}\n截止：2026-12-10")
        sub = f"{code}-01"
        await r.say("hanmei", f"进度 {sub} 40% 已完成：{v[12]} 问题：{v[13]} 所需支持：{v[14]} 下一步：{v[15]}")
        await r.say("hanmei", f"风险 {sub}\n描述：{v[16]}\n风险等级：高\n影响范围：{v[17]}\n建议解决方案：{v[18]}")
        await r.say("lilei", f"响应 {code}-R01 协调 意见：{v[19]}")
        await r.say("hanmei", f"问题 {sub} 描述：{v[20]} 级别：一般")
        await r.say("hanmei", f"解决 {code}-P01 处理结果：{v[21]}")
        await r.say("hanmei", f"延期 {sub} 原因：{v[22]} 新日期：2026-12-14")
        await r.say("lilei", f"变更申请 {code}\n变更原因：{v[23]}\n影响：{v[24]}\n-01 交付标准：{v[25]}")
        await r.say("lilei", f"会议通知 {code}\n主题：{v[26]}\n时间：2026-11-27 14:00\n形式：线上\n地点：{v[27]}\n参会人员：刘洋，韩梅\n议程：{v[28]}\n前置资料：{v[29]}\n记录人：韩梅")
        await r.say("hanmei", f"会议纪要 {code}-M01\n讨论内容及结论：{v[30]}\n决议事项：{v[31]}\n待跟进问题：{v[32]}")
        await r.say("lilei", f"改进 {code}\n问题：{v[33]}\n类别：信息传递\n根本原因：{v[34]}\n改进措施：{v[35]}\n负责人：刘洋\n截止：2026-12-11")
        await r.say("lilei", f"周进度 {code} 完成度：40% 风险：{v[36]} 所需支持：{v[37]}")
        await r.say("zhaomin", "站会 设置 时间：09:30 截止：10:00 参与人：韩梅")
        await r.sim.call("POST", "/sim/api/clock", json={"to": "2026-11-24T01:35:00+00:00"})
        await r.say("hanmei", f"昨天：{v[38]}\n今天：{v[39]}\n障碍：{v[40]}", None)
        await r.say("hanmei", f"提交验收 {sub}\n交付物：海报 https://files.example/p.pdf v1\n完成说明：{v[41]}\n自检：{v[42]}")
        lines = f"{v[43]}\n第二行：（附图）  见群文件。"
        await r.submit("wangfang", await r.card_with("acceptance.fail", person="wangfang"), {"comments": lines}, action="acceptance.fail")
        assert not r.refusals, r.refusals
        shown = "\n".join(str(m["content"]) for m in await r.sim.messages(conversation="launch") + await r.sim.messages(person="hanmei") + await r.sim.messages(person="lilei"))

    from storage import db

    await db.connect(database_url, run_migrations=False)
    try:
        collab = await Collaboration.get(code=code)
        stored = {
            1: collab.title, 2: collab.background, 3: collab.goal, 4: collab.scope_in, 5: collab.scope_out, 6: collab.deliverables, 7: collab.remarks,
            8: (await Confirmation.filter(state="rejected", purpose__startswith="request").first()).comment,  # type: ignore[union-attr]
        }
        task = await Subtask.get(code=sub)
        stored |= {9: task.title, 10: task.resources}
        update = await ProgressUpdate.filter(subtask_id=task.id).first()
        stored |= {12: update.done, 13: update.problems, 14: update.support, 15: update.next_step}  # type: ignore[union-attr]
        risk = await RiskReport.get()
        stored |= {16: risk.description, 17: risk.impact, 18: risk.solution, 19: risk.response}
        issue = await Issue.get()
        stored |= {20: issue.description, 21: issue.resolution, 22: (await DelayNotice.get()).reason}
        change = await ChangeRequest.get()
        stored |= {23: change.reason, 24: change.impact, 25: change.items[0]["changes"]["standard"][1]}  # applied once every head signs
        meeting = await Meeting.get()
        stored |= {26: meeting.topic, 27: meeting.location, 28: meeting.agenda, 29: meeting.prereading}
        minutes = await Minutes.get()
        stored |= {30: minutes.conclusions, 31: minutes.resolutions, 32: minutes.followups}
        item = await Improvement.get()
        stored |= {33: item.problem, 34: item.root_cause, 35: item.measure}
        weekly = await WeeklyAnswer.get()
        stored |= {36: weekly.risks, 37: weekly.support}
        answer = await StandupAnswer.get()
        stored |= {38: answer.yesterday, 39: answer.today, 40: answer.blockers}
        acceptance = await AcceptanceRequest.filter(subtask_id=task.id).first()
        stored |= {41: acceptance.statement, 42: acceptance.self_check, 43: acceptance.comments}  # type: ignore[union-attr]
    finally:
        await db.close()
    expected = {n: v[n] for n in stored} | {43: lines}
    assert stored == expected
    for n in (1, 3, 9, 12, 16, 20, 22, 26, 30, 43):  # and they are shown as typed
        assert expected[n] in shown or expected[n].replace("\n", "\\n") in shown, n
