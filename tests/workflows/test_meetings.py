"""§7 Meeting notice, reminders, minutes (table 3), confirmation by the attendees, action items → subtasks."""

from __future__ import annotations

from storage.models import AuditEntry, Subtask
from storage.models_workflows import Meeting, Minutes
from tests.core.harness import running
from tests.simclient import body_text, buttons
from tests.workflows.helpers import active_collaboration, bot_messages, keyed, last_text, ok, refused

NOTICE = """会议通知 {code}
主题：宣传物料制作启动会
时间：2026-11-25 14:00
形式：线上
地点：https://meeting.example/123
参会人员：刘洋，陈杰，韩梅
议程：1.需求同步 2.分工确认 3.时间节点明确
前置资料：https://docs.example/brief
记录人：韩梅"""

MINUTES = """会议纪要 {code}-M01
讨论内容及结论：1.市场部明确3款海报核心卖点；2.设计部负责主视觉，研发部负责落地页
决议事项：12月5日前完成主视觉初稿
待跟进问题：落地页域名待定
待办事项：
- 提交海报核心卖点 | lilei | {d1} | 卖点文档 | 高
- 主视觉初稿 | hanmei | 2026-12-05 | 主视觉PSD | 中
- 落地页框架 | anna | 2026-12-08 | 可访问的测试页 | 低"""


async def test_notice_reminders_minutes_confirmation_and_three_action_items_become_subtasks(database_url, clock):
    async with running(database_url, clock) as (_app, sim):
        code = await active_collaboration(sim)
        m1 = f"{code}-M01"
        r = await ok(await sim.say("lilei", NOTICE.format(code=code), "launch"))
        # Monday for Wednesday: only 2 working days ahead — sent, with the warning
        assert "仅 2 个工作日" in await last_text(sim, conversation="launch", person="lilei")
        notice = await keyed(sim, f"meet:{m1}", conversation="launch")
        text = body_text(notice)
        for part in ("沟通会议通知", "宣传物料制作启动会", "2026-11-25 14:00", "线上", "需求同步", "https://docs.example/brief", "记录人: 韩梅", "不足 3 个工作日"):
            assert part in text, part
        for person in ("liuyang", "chenjie", "hanmei"):
            assert "meeting.absent" in buttons(await keyed(sim, f"meet:{m1}", person=person))
        r = await sim.click("anna", notice["id"], "meeting.absent", value={"code": m1})
        await refused(sim, r, "anna", "You are not invited to")
        await ok(await sim.submit("chenjie", (await keyed(sim, f"meet:{m1}", person="chenjie"))["id"], {"reason": "客户拜访"}, action="meeting.absent"))
        assert "客户拜访" in body_text(await keyed(sim, f"meet:{m1}", conversation="launch"))

        # reminders: the day before and an hour before, to those who come
        await sim.advance(hours=29)
        assert "提醒：会议" in await last_text(sim, person="hanmei")
        await sim.advance(hours=23)
        assert "提醒：会议" in await last_text(sim, person="liuyang")
        assert not any("提醒：会议" in body_text(m) for m in await bot_messages(sim, person="chenjie"))
        # after the meeting the recorder is asked for the minutes, and reminded again when they are due
        await sim.advance(hours=2)
        assert "请于 2026-11-26 14:00 前提交" in await last_text(sim, person="hanmei")
        await sim.advance(hours=23)
        assert "仍未提交" in await last_text(sim, person="hanmei")
        assert "仍未提交" in await last_text(sim, person="lilei")  # the organizer hears it too

        # only the recorder (or organizer) submits; the minutes carry every field of table 3
        r = await sim.say("liuyang", MINUTES.format(code=code, d1="2026-12-01"), "launch")
        await refused(sim, r, "liuyang", "只有 XZB2026112301-M01 的记录人 韩梅 或会议发起人可以提交会议纪要")
        r = await sim.say("hanmei", MINUTES.format(code=code, d1="2026-12-21"), "launch")
        await refused(sim, r, "hanmei", "待办事项 1 的截止时间 2026-12-21 晚于协作的截止时间 2026-12-20")
        await ok(await sim.say("hanmei", MINUTES.format(code=code, d1="2026-12-01"), "launch"))
        card = await keyed(sim, f"minutes:{m1}:v1", conversation="launch")
        fields = {f["label"]: f["value"] for f in card["content"]["fields"]}
        assert fields["会议编号"] == m1 and fields["会议主题"] == "宣传物料制作启动会" and fields["会议形式"] == "线上"
        assert fields["参会人员"] == "刘洋、韩梅" and fields["缺席人员及原因"] == "陈杰（客户拜访）"
        assert "需求同步" in fields["会议议程"] and "核心卖点" in fields["讨论内容及结论"]
        assert fields["决议事项"] == "12月5日前完成主视觉初稿" and fields["待跟进问题"] == "落地页域名待定" and fields["记录人"] == "韩梅"
        assert "主视觉PSD" in body_text(card) and await Subtask.all().count() == 0  # not before the attendees confirm

        # an absentee cannot confirm; an attendee asks for a correction; the recorder sends version 2
        r = await sim.click("chenjie", card["id"], "minutes.confirm", value={"code": m1, "number": 1})
        await refused(sim, r, "chenjie", "只有 XZB2026112301-M01 的参会人员可以确认其会议纪要")
        liu = await keyed(sim, f"minutes:{m1}:v1", person="liuyang")
        await ok(await sim.submit("liuyang", liu["id"], {"comment": "卖点文档应由王芳提交"}, action="minutes.object"))
        assert "卖点文档应由王芳提交" in await last_text(sim, person="hanmei")
        await ok(await sim.say("hanmei", MINUTES.format(code=code, d1="2026-12-01").replace("| lilei |", "| wangfang |"), "launch"))
        old = await keyed(sim, f"minutes:{m1}:v1", conversation="launch")
        assert not buttons(old) and "新版本取代" in body_text(old)
        r = await sim.click("liuyang", old["id"], "minutes.confirm", value={"code": m1, "number": 1})
        await refused(sim, r, "liuyang", "这张卡片已过期")
        await ok(await sim.click("liuyang", (await keyed(sim, f"minutes:{m1}:v2", person="liuyang"))["id"], "minutes.confirm"))

        # confirmed by every attendee: three action items are now three tracked subtasks
        tasks = await Subtask.all().order_by("id").prefetch_related("owner")
        assert [(t.code, t.title, t.owner.handle, t.delivery_standard, t.deadline.isoformat(), t.priority) for t in tasks] == [
            (f"{code}-01", "提交海报核心卖点", "wangfang", "卖点文档", "2026-12-01", "high"),
            (f"{code}-02", "主视觉初稿", "hanmei", "主视觉PSD", "2026-12-05", "medium"),
            (f"{code}-03", "落地页框架", "anna", "可访问的测试页", "2026-12-08", "low"),
        ]
        assert "task.ack" in buttons(await keyed(sim, f"task:{code}-03", person="anna"))
        confirmed = await keyed(sim, f"minutes:{m1}:v2", conversation="launch")
        assert f"→ {code}-01" in body_text(confirmed) and not buttons(confirmed)
        assert (await Meeting.get(code=m1)).state == "confirmed"
        assert [m.state for m in await Minutes.all().order_by("number")] == ["superseded", "confirmed"]
        assert await AuditEntry.filter(action="minutes.confirmed").count() == 1
        # nothing reminds the recorder any more
        overdue = [m["id"] for m in await bot_messages(sim, person="hanmei") if "仍未提交" in body_text(m)]
        await sim.advance(hours=48)
        assert [m["id"] for m in await bot_messages(sim, person="hanmei") if "仍未提交" in body_text(m)] == overdue


async def test_an_urgent_call_wants_minutes_within_two_hours(database_url, clock):
    async with running(database_url, clock) as (_app, sim):
        code = await active_collaboration(sim)
        await ok(await sim.say("liuyang", f"会议 {code} 主题：素材紧急协调 时间：今天 8:30 形式：电话 参会人员：刘洋，李雷 紧急：是", "launch"))
        meeting = await Meeting.get()
        assert meeting.urgent and not meeting.short_notice and (await meeting.recorder).handle == "liuyang"  # the organizer, by default
        assert "2 小时" in body_text(await keyed(sim, f"meet:{meeting.code}", conversation="launch"))
        await sim.advance(minutes=120)  # 11:00: two working hours after 8:30, counted from 9:00 when work starts
        assert "仍未提交" in await last_text(sim, person="liuyang")
        await sim.advance(hours=2)
        assert "仍未提交" in await last_text(sim, person="liuyang")  # again, every two hours
        await ok(await sim.say("liuyang", f"纪要 {meeting.code} 结论：今天补素材", "launch"))
        await ok(await sim.click("lilei", (await keyed(sim, f"minutes:{meeting.code}:v1", person="lilei"))["id"], "minutes.confirm"))
        assert (await Meeting.get()).state == "confirmed"
