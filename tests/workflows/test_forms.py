"""A form wherever a command takes more than two fields, a button wherever a user must act.

Each command typed without its fields brings its form to the one person who typed it (a direct message, a note
in the group only they see), the form submitted through the simulator lands in the same handler as the typed
command (the same record and the same audit action), and the used form is closed. The initiator told of a
decline acts on the notice's buttons; a typed decision is answered where it was typed; the owner's overdue
alert has buttons instead of "type …"."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from storage.models import AuditEntry, Collaboration, ProgressUpdate, RequestedDepartment, Subtask
from storage.models_workflows import ChangeRequest, DelayNotice, Improvement, Meeting, Minutes, RiskReport
from tests.core.harness import running
from tests.simclient import SimClient, body_text, buttons
from tests.workflows.helpers import NEW, active_collaboration, add_subtask, bot_messages, card_with, ok

# (who types, the command without fields, the form's id, what they fill in, the record it makes, the audit action)
FORMS: list[tuple[str, str, str, dict[str, Any], Any, str]] = [
    ("hanmei", "进度 {sub}", "task.progress", {"progress": "60", "done": "初稿", "problems": "", "support": "", "next": "改色"}, ProgressUpdate, "task.progress"),
    ("hanmei", "延期申请 {sub}", "delay.new", {"reason": "素材未到", "new_date": "2026-12-15"}, DelayNotice, "delay.requested"),
    ("hanmei", "风险 {code}", "risk.new", {"subtask": "01", "level": "medium", "description": "素材晚到", "impact": "海报", "solution": "催素材"}, RiskReport, "risk.raised"),
    ("lilei", "变更申请 {code}", "change.new", {"reason": "客户加需求", "goal": "", "impact": "顺延两天", "deadline": "", "changes": "-01 截止：2026-12-12"}, ChangeRequest, "change.requested"),
    ("lilei", "会议通知 {code}", "meeting.new", {"topic": "启动会", "time": "2026-11-30 14:00", "form": "online", "attendees": "刘洋、陈杰", "recorder": "lilei"}, Meeting, "meeting.noticed"),
    ("lilei", "改进 {code}", "improvement.new", {"problem": "需求口径不一", "category": "process", "root_cause": "", "measure": "统一模板", "owner": "hanmei", "deadline": "2026-12-18"}, Improvement, "improvement.logged"),
]


async def form_for(sim: SimClient, person: str, text: str, form_id: str) -> dict[str, Any]:
    """Type ``text`` in the group: the form comes to ``person`` alone, and the group sees none."""
    group_before = len(await bot_messages(sim, conversation="launch"))
    await ok(await sim.say(person, text, "launch"))
    assert not [m for m in (await bot_messages(sim, conversation="launch"))[group_before:] if m["content"].get("form")]
    note = (await bot_messages(sim, conversation="launch", person=person))[-1]
    assert note["ephemeral"] and "私信" in body_text(note), body_text(note)
    prompt = (await bot_messages(sim, person=person))[-1]
    assert prompt["content"]["form"]["id"] == form_id, body_text(prompt)
    return prompt


async def assert_closed(sim: SimClient, person: str, prompt: dict[str, Any]) -> None:
    closed = next(m for m in await sim.messages(person=person) if m["id"] == prompt["id"])
    assert closed["content"]["form"] is None and not buttons(closed) and "此表单已关闭" in body_text(closed)


@pytest.mark.parametrize("case", FORMS, ids=[f[2] for f in FORMS])
async def test_each_form_goes_to_one_person_reaches_the_typed_handler_and_closes(database_url, clock, case):
    person, command, form_id, fields, model, action = case
    async with running(database_url, clock) as (_app, sim):
        code = await active_collaboration(sim)
        sub = await add_subtask(sim, code, "海报", "hanmei", "300DPI", "2026-12-10")
        prompt = await form_for(sim, person, command.format(code=code, sub=sub), form_id)
        assert prompt["content"]["form"]["template"]  # the typed 字段：值 fallback travels with it
        await ok(await sim.submit(person, prompt["id"], fields))
        assert await model.all().count() == 1
        assert await AuditEntry.filter(action=action).count() == 1
        await assert_closed(sim, person, prompt)


async def test_minutes_form(database_url, clock):
    async with running(database_url, clock) as (_app, sim):
        code = await active_collaboration(sim)
        await ok(await sim.say("lilei", f"会议通知 {code}\n主题：启动会\n时间：2026-11-30 14:00\n参会人：刘洋、陈杰", "launch"))
        prompt = await form_for(sim, "lilei", f"会议纪要 {code}-M01", "minutes.new")
        await ok(await sim.submit("lilei", prompt["id"], {"conclusions": "按计划推进，12月10日交初稿", "resolutions": "海报先行", "actions": ""}))
        minutes = await Minutes.get()
        assert minutes.conclusions == "按计划推进，12月10日交初稿"
        assert await AuditEntry.filter(action="minutes.submitted").count() == 1
        await assert_closed(sim, "lilei", prompt)


async def test_a_refused_form_stays_open_to_be_corrected(database_url, clock):
    async with running(database_url, clock) as (_app, sim):
        code = await active_collaboration(sim)
        sub = await add_subtask(sim, code, "海报", "hanmei", "300DPI", "2026-12-10")
        prompt = await form_for(sim, "hanmei", f"进度 {sub}", "task.progress")
        r = await sim.submit("hanmei", prompt["id"], {"progress": "160"})
        assert "progress" in r["form_errors"]
        still = next(m for m in await sim.messages(person="hanmei") if m["id"] == prompt["id"])
        assert still["content"]["form"]["id"] == "task.progress"
        await ok(await sim.submit("hanmei", prompt["id"], {"progress": "60"}))
        assert (await Subtask.get(code=sub)).progress == 60
        await assert_closed(sim, "hanmei", prompt)


async def test_the_initiator_acts_on_a_decline_with_buttons(database_url, clock):
    async with running(database_url, clock) as (_app, sim):
        await ok(await sim.say("lilei", NEW, "launch"))
        code = (await Collaboration.get()).code
        # design accepts by typing it in the group: the answer is where it was typed, to him alone
        await ok(await sim.say("liuyang", f"接受 {code}", "launch"))
        answer = (await bot_messages(sim, conversation="launch", person="liuyang"))[-1]
        assert answer["ephemeral"] and "已记录" in body_text(answer) and "设计部" in body_text(answer)
        rd = await card_with(sim, "request.decline", person="chenjie")
        await ok(await sim.submit("chenjie", rd["id"], {"reason": "当前人力饱和", "counter_date": ""}, action="request.decline"))

        notice = await card_with(sim, "request.reroute", person="lilei")
        assert buttons(notice) == ["request.rescope", "request.reroute", "request.cancel"]
        assert "当前人力饱和" in body_text(notice) and "type" not in body_text(notice)
        reroute = next(b["opens_form"] for b in notice["content"]["buttons"] if b["action"] == "request.reroute")
        assert "market" in [c["value"] for c in reroute["fields"][0]["choices"]]
        await ok(await sim.submit("lilei", notice["id"], {"to": "market"}, action="request.reroute"))
        answers = await RequestedDepartment.filter(collaboration__code=code).select_related("department")
        assert {(a.department.code, a.state) for a in answers} == {("design", "accepted"), ("rd", "withdrawn"), ("market", "pending")}
        handled = next(m for m in await sim.messages(person="lilei") if m["id"] == notice["id"])
        assert buttons(handled) == [] and "已改派" in body_text(handled)
        assert await card_with(sim, "request.accept", person="wangfang")


async def test_the_cancel_button_on_a_decline_notice(database_url, clock):
    async with running(database_url, clock) as (_app, sim):
        await ok(await sim.say("lilei", NEW, "launch"))
        code = (await Collaboration.get()).code
        rd = await card_with(sim, "request.decline", person="chenjie")
        await ok(await sim.submit("chenjie", rd["id"], {"reason": "当前人力饱和"}, action="request.decline"))
        notice = await card_with(sim, "request.cancel", person="lilei")
        r = await sim.click("chenjie", notice["id"], "request.cancel", platform="simulator")
        assert r["error"] and "发起人" in r["error"]  # only the initiator
        await ok(await sim.click("lilei", notice["id"], "request.cancel"))
        assert (await Collaboration.get(code=code)).state == "cancelled"
        handled = next(m for m in await sim.messages(person="lilei") if m["id"] == notice["id"])
        assert buttons(handled) == []


async def test_the_owners_overdue_alert_has_buttons(database_url, clock):
    async with running(database_url, clock) as (_app, sim):
        code = await active_collaboration(sim)
        sub = await add_subtask(sim, code, "海报", "hanmei", "300DPI", "2026-11-25")
        await sim.advance(days=5)
        alert = next(m for m in reversed(await bot_messages(sim, person="hanmei")) if sub in body_text(m) and "task.progress" in buttons(m))
        assert buttons(alert) == ["task.progress", "deadline.will_be_late"]
        assert "进度 XZB" not in body_text(alert) and "将延期 XZB" not in body_text(alert)  # no "type …" line: the buttons act
        await ok(await sim.submit("hanmei", alert["id"], {"progress": "80", "done": "二稿"}, action="task.progress"))
        assert (await Subtask.get(code=sub)).progress == 80


async def test_reminders_carry_the_buttons_to_act(database_url, clock):
    async with running(database_url, clock) as (_app, sim):
        await ok(await sim.say("lilei", NEW, "launch"))
        code = (await Collaboration.get()).code
        await ok(await sim.say("lilei", f"会议通知 {code}\n主题：启动会\n时间：2026-11-23 14:00\n参会人：刘洋、陈杰\n紧急：是", "launch"))
        await sim.advance(days=2)
        # the head reminded of the request answers on the reminder itself
        reminder = next(m for m in reversed(await bot_messages(sim, person="liuyang")) if "提醒" in body_text(m) and "request.accept" in buttons(m))
        await ok(await sim.click("liuyang", reminder["id"], "request.accept"))
        assert await RequestedDepartment.filter(department__code="design", state="accepted").exists()
        # the recorder reminded of the minutes opens their form from the reminder
        nudge = next(m for m in reversed(await bot_messages(sim, person="lilei")) if "minutes.write" in buttons(m))
        await ok(await sim.submit("lilei", nudge["id"], {"conclusions": "按计划推进", "actions": ""}, action="minutes.write"))
        assert await Minutes.all().count() == 1


async def test_typed_decisions_are_answered_where_typed(database_url, clock):
    async with running(database_url, clock) as (_app, sim):
        code = await active_collaboration(sim)
        sub = await add_subtask(sim, code, "海报", "hanmei", "300DPI", "2026-12-10")
        await ok(await sim.say("hanmei", f"确认任务 {sub}", "launch"))
        answer = (await bot_messages(sim, conversation="launch", person="hanmei"))[-1]
        assert answer["ephemeral"] and f"已记录：你已确认接收 {sub}" in body_text(answer)
        assert not any(f"已记录：你已确认接收 {sub}" in body_text(m) for m in await bot_messages(sim, conversation="launch"))  # only she sees it


async def test_one_form_sent_twice_at_once_is_used_once(database_url, clock):
    async with running(database_url, clock) as (_app, sim):
        code = await active_collaboration(sim)
        sub = await add_subtask(sim, code, "海报", "hanmei", "300DPI", "2026-12-10")
        prompt = await form_for(sim, "hanmei", f"进度 {sub}", "task.progress")
        first, second = await asyncio.gather(
            sim.submit("hanmei", prompt["id"], {"progress": "40"}, delivery_id="twice-1"),
            sim.submit("hanmei", prompt["id"], {"progress": "50"}, delivery_id="twice-2"),
        )
        assert await ProgressUpdate.all().count() == 1
        assert sorted(r.get("error") is None for r in (first, second) if r["_status"] == 200).count(True) == 1


async def test_the_rescope_button_on_a_decline_notice(database_url, clock):
    async with running(database_url, clock) as (_app, sim):
        await ok(await sim.say("lilei", NEW, "launch"))
        collab = await Collaboration.get()
        rd = await card_with(sim, "request.decline", person="chenjie")
        await ok(await sim.submit("chenjie", rd["id"], {"reason": "当前人力饱和", "counter_date": "2026-12-01"}, action="request.decline"))
        notice = await card_with(sim, "request.rescope", person="lilei")
        rescope = next(b["opens_form"] for b in notice["content"]["buttons"] if b["action"] == "request.rescope")
        shown = {f["name"]: f.get("initial") for f in rescope["fields"]}
        assert shown["deadline"] == "2026-12-20" and shown["goal"] == collab.goal  # the form starts from what it is now
        await ok(await sim.submit("lilei", notice["id"], {**shown, "start": "2026-12-01", "deadline": "2026-12-24"}, action="request.rescope"))
        collab = await Collaboration.get()
        assert (collab.round, collab.deadline.isoformat(), collab.start_date.isoformat() if collab.start_date else None) == (2, "2026-12-24", "2026-12-01")
        rescoped = await AuditEntry.get(action="request.rescoped")
        assert set(rescoped.detail["changes"]) == {"start", "deadline"}  # the unchanged fields the form showed are not changes
        handled = next(m for m in await sim.messages(person="lilei") if m["id"] == notice["id"])
        assert buttons(handled) == [] and "已调整" in body_text(handled)
        for head in ("liuyang", "chenjie"):
            assert await card_with(sim, "request.accept", person=head)
