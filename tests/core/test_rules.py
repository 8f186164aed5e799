"""Every authorization rule and every kind of bad input: a specific reply in the user's language, and nothing written."""

from __future__ import annotations

import json

from storage.models import (
    AcceptanceRequest,
    AuditEntry,
    Collaboration,
    Confirmation,
    GroupBinding,
    RequestedDepartment,
    Subtask,
)
from tests.core.harness import running
from tests.simclient import SimClient, body_text, buttons

NEW_ZH = "新建协作\n标题：海报\n目标：完成海报\n协作部门：设计部\n截止：2026-12-20"
NEW_EN = "new\ntitle: Poster\ngoal: finish the poster\ndepartments: design\ndeadline: 2026-12-20"


async def snapshot() -> tuple[int, ...]:
    return (
        await Collaboration.all().count(),
        await RequestedDepartment.filter(state__not="pending").count(),
        await Subtask.all().count(),
        await AcceptanceRequest.all().count(),
        await AuditEntry.all().count(),
        await Confirmation.filter(state__not="pending").count(),
    )


async def reply_to(sim: SimClient, person: str, conversation: str | None = None) -> str:
    messages = [m for m in await sim.messages(conversation=conversation, person=person) if m["sender"] == "bot"]
    return body_text(messages[-1])


async def refused(sim: SimClient, response: dict, person: str, expected: str, conversation: str | None = "launch") -> None:
    assert response["ok"] and response["error"], response
    assert expected in await reply_to(sim, person, conversation), await reply_to(sim, person, conversation)


async def active_collaboration(sim: SimClient) -> str:
    await sim.say("lilei", NEW_ZH, "launch")
    card = next(m for m in reversed(await sim.messages(person="liuyang")) if "request.accept" in buttons(m))
    await sim.click("liuyang", card["id"], "request.accept")
    return "XZB2026112301"


async def test_only_the_named_head_decides_for_a_department(database_url, clock):
    async with running(database_url, clock) as (_app, sim):
        await sim.say("lilei", NEW_ZH, "launch")
        card = next(m for m in await sim.messages(person="liuyang") if "request.accept" in buttons(m))
        before = await snapshot()
        for intruder in ("chenjie", "hanmei", "lilei"):  # another head, a member of the department, the initiator
            r = await sim.click(intruder, card["id"], "request.accept", value=card["content"]["buttons"][0]["value"])
            await refused(sim, r, intruder, "只有设计部负责人 刘洋 可以代表设计部接受或拒绝", conversation=None)
        assert await snapshot() == before
        assert (await RequestedDepartment.get()).state == "pending"


async def test_a_second_click_on_a_decided_card_changes_nothing_and_says_so(database_url, clock):
    async with running(database_url, clock) as (_app, sim):
        await sim.say("lilei", NEW_ZH, "launch")
        card = next(m for m in await sim.messages(person="liuyang") if "request.accept" in buttons(m))
        value = card["content"]["buttons"][0]["value"]
        assert (await sim.click("liuyang", card["id"], "request.accept"))["error"] is None
        before = await snapshot()
        r = await sim.click("liuyang", card["id"], "request.accept", value=value)
        await refused(sim, r, "liuyang", "已无需接受或拒绝", conversation=None)
        r = await sim.click("liuyang", card["id"], "request.decline", value=value)
        await refused(sim, r, "liuyang", "已无需接受或拒绝", conversation=None)
        assert await snapshot() == before


async def test_a_click_on_a_card_of_an_earlier_round_is_refused(database_url, clock):
    async with running(database_url, clock) as (_app, sim):
        await sim.say("lilei", "新建协作\n标题：海报\n目标：完成海报\n协作部门：设计部，研发部\n截止：2026-12-20", "launch")
        old = next(m for m in await sim.messages(person="liuyang") if "request.accept" in buttons(m))
        await sim.say("lilei", "调整 XZB2026112301 截止：2026-12-22", "launch")
        before = await snapshot()
        r = await sim.click("liuyang", old["id"], "request.accept", value=old["content"]["buttons"][0]["value"])
        await refused(sim, r, "liuyang", "这张卡片已过期", conversation=None)
        assert await snapshot() == before
        superseded = next(m for m in await sim.messages(person="liuyang") if m["id"] == old["id"])
        assert not buttons(superseded) and "已作废" in body_text(superseded)


async def test_only_the_reviewer_passes_and_nobody_reviews_their_own(database_url, clock):
    async with running(database_url, clock) as (_app, sim):
        code = await active_collaboration(sim)
        # the initiator owns this subtask: the reviewer is the head of the requesting department, 王芳
        await sim.say("lilei", f"任务 {code}\n标题：文案\n负责人：lilei\n交付标准：200字\n截止：2026-12-10", "launch")
        await sim.say("lilei", f"任务 {code}\n标题：海报\n负责人：hanmei\n交付标准：300DPI\n截止：2026-12-10\n验收人：liuyang", "launch")
        await sim.say("lilei", f"提交验收 {code}-01 交付物：文案 https://x.example/a v1", "launch")
        card = next(m for m in reversed(await sim.messages(person="wangfang")) if "acceptance.pass" in buttons(m))
        before = await snapshot()
        r = await sim.click("lilei", card["id"], "acceptance.pass", value=card["content"]["buttons"][0]["value"])
        await refused(sim, r, "lilei", "不能验收自己的交付物", conversation=None)
        r = await sim.click("chenjie", card["id"], "acceptance.pass", value=card["content"]["buttons"][0]["value"])
        await refused(sim, r, "chenjie", "只有 XZB2026112301-01 的验收人 王芳 可以给出验收结论", conversation=None)
        assert await snapshot() == before
        # naming the owner as reviewer is refused up front
        r = await sim.say("lilei", f"任务 {code}\n标题：图\n负责人：hanmei\n交付标准：x\n截止：2026-12-10\n验收人：hanmei", "launch")
        await refused(sim, r, "lilei", "负责人不能验收自己的交付物")
        assert (await sim.click("wangfang", card["id"], "acceptance.pass"))["error"] is None


async def test_initiator_only_steps_and_owner_only_steps(database_url, clock):
    async with running(database_url, clock) as (_app, sim):
        code = await active_collaboration(sim)
        await sim.say("lilei", f"任务 {code}\n标题：海报\n负责人：hanmei\n交付标准：300DPI\n截止：2026-12-10", "launch")
        before = await snapshot()
        await refused(sim, await sim.say("hanmei", f"完成 {code}", "launch"), "hanmei", "只有 XZB2026112301 的发起人可以结项")
        await refused(sim, await sim.say("hanmei", f"取消 {code}", "launch"), "hanmei", "只有 XZB2026112301 的发起人可以取消它")
        await refused(sim, await sim.say("chenjie", f"进度 {code}-01 50%", "launch"), "chenjie", "只有 XZB2026112301-01 的负责人或协作人可以更新进度")
        await refused(sim, await sim.say("lilei", f"提交验收 {code}-01 交付物：x", "launch"), "lilei", "只有 XZB2026112301-01 的负责人 韩梅 可以提交验收")
        await refused(sim, await sim.say("hanmei", f"任务 {code}\n标题：x\n负责人：hanmei\n交付标准：x\n截止：2026-12-10", "launch"), "hanmei", "只有发起人、跟踪人或已接受部门的负责人")
        card = next(m for m in await sim.messages(person="hanmei") if "task.ack" in buttons(m))
        r = await sim.click("lilei", card["id"], "task.ack", value=card["content"]["buttons"][0]["value"])
        await refused(sim, r, "lilei", "只有 XZB2026112301-01 的负责人 韩梅 可以确认接收", conversation=None)
        assert await snapshot() == before


BAD_INPUT = [
    # (text, expected reply fragment)
    ("开会吧", "未知命令“开会吧”"),
    ("新建协作\n标题：海报\n协作部门：设计部\n截止：2026-12-20", "缺少字段“协作目标”"),
    ("新建协作\n标题：海报\n目标：x\n协作部门：设计部\n截止：下个月中旬吧", "看不懂日期“下个月中旬吧”"),
    ("新建协作\n标题：海报\n目标：x\n协作部门：法务部\n截止：2026-12-20", "没有“法务部”这个部门"),
    ("新建协作\n标题：海报\n目标：x\n协作部门：设计部\n期望启动：2026-12-20\n截止：2026-12-01", "截止时间 2026-12-01 早于开始时间 2026-12-20"),
    ("新建协作\n标题：海报\n目标：x\n协作部门：设计部\n截止：2026-12-20\n优先级：超级急", "优先级“超级急”无效"),
    ("新建协作\n标题：海报\n目标：x\n协作部门：设计部\n截止：2026-11-01", "截止时间 2026-11-01 已经过去"),
    ("新建协作\n名字：海报\n目标：x", "未知字段“名字”"),
    ("进度 XZB2026112399-01 50%", "没有编号为 XZB2026112399-01 的子任务"),
    ("接受 XZB2026112399", "没有编号为 XZB2026112399 的协作"),
    ("长" * 9000, "消息太长（9000 个字符，上限 8000）"),
]

BAD_INPUT_EN = [
    ("frobnicate", "Unknown command “frobnicate”"),
    ("new\ntitle: Poster\ndepartments: design\ndeadline: 2026-12-20", "The field “Goal” is missing"),
    ("new\ntitle: Poster\ngoal: x\ndepartments: design\ndeadline: sometime soonish", "I could not read the date “sometime soonish”"),
    ("new\ntitle: Poster\ngoal: x\ndepartments: legal\ndeadline: 2026-12-20", "There is no department “legal”"),
]


async def test_every_bad_input_gets_a_specific_reply_and_writes_nothing(database_url, clock):
    async with running(database_url, clock) as (_app, sim):
        before = await snapshot()
        for text, expected in BAD_INPUT:
            await refused(sim, await sim.say("lilei", text, "launch"), "lilei", expected)
        for text, expected in BAD_INPUT_EN:
            await refused(sim, await sim.say("anna", text, "global"), "anna", expected, conversation="global")
        code = await active_collaboration(sim)
        after_setup = await snapshot()
        subtask_cases = [
            (f"任务 {code}\n标题：海报\n负责人：nobody\n交付标准：x\n截止：2026-12-10", "找不到“nobody”这个人"),
            (f"任务 {code}\n标题：海报\n负责人：hanmei\n交付标准：x\n截止：2026-12-30", "晚于协作的截止时间 2026-12-20"),
            (f"任务 {code}\n标题：海报\n负责人：hanmei\n截止：2026-12-10", "缺少字段“交付标准”"),
        ]
        for text, expected in subtask_cases:
            await refused(sim, await sim.say("lilei", text, "launch"), "lilei", expected)
        await sim.say("lilei", f"任务 {code}\n标题：海报\n负责人：hanmei\n交付标准：x\n截止：2026-12-10", "launch")
        mid = await snapshot()
        await refused(sim, await sim.say("hanmei", f"进度 {code}-01 150%", "launch"), "hanmei", "进度必须在 0% 到 100% 之间")
        await refused(sim, await sim.say("hanmei", f"进度 {code}-01 问题：没写百分比", "launch"), "hanmei", "请写百分比")
        await refused(sim, await sim.say("hanmei", f"提交验收 {code}-01 完成说明：忘了交付物", "launch"), "hanmei", "缺少字段“交付物”")
        assert await snapshot() == mid
        assert after_setup[0] == before[0] + 1


async def test_a_form_error_is_shown_on_its_field(database_url, clock):
    async with running(database_url, clock) as (_app, sim):
        await sim.say("lilei", "新建协作", "launch")
        prompt = [m for m in await sim.messages(person="lilei") if m["sender"] == "bot"][-1]  # his form, in his DM
        assert prompt["content"]["form"]["id"] == "request.new"
        r = await sim.submit("lilei", prompt["id"], {"title": "海报", "goal": "x", "departments": "设计部", "deadline": "2026-13-45"})
        assert r["form_errors"] == {"deadline": "看不懂日期“2026-13-45”。请写成 2026-12-01、12月1日 或 下周五 这样的格式。"}
        assert await Collaboration.all().count() == 0
        r = await sim.submit("lilei", prompt["id"], {"title": "海报", "goal": "x", "departments": "设计部", "deadline": "2026-12-20"})
        assert r["error"] is None and await Collaboration.all().count() == 1
        collab = await Collaboration.get()  # sent back from his DM, the request still belongs to the group it was asked in
        assert await GroupBinding.filter(collaboration_id=collab.id, group__conversation_id="launch").exists()


async def test_malformed_and_oversized_api_payloads_are_refused_cleanly(database_url, clock):
    async with running(database_url, clock) as (_app, sim):
        cases = [
            ("POST", "/sim/api/messages", {"data": b"{not json"}),
            ("POST", "/sim/api/messages", {"data": json.dumps([1, 2]).encode()}),
            ("POST", "/sim/api/messages", {"json": {"person": "lilei"}}),
            ("POST", "/sim/api/messages", {"json": {"person": 7, "text": "help"}}),
            ("POST", "/sim/api/messages", {"data": b"{" + b" " * 300_000 + b"}"}),
            ("POST", "/sim/api/actions", {"json": {"person": "lilei", "message_id": "x", "action": "request.accept"}}),
            ("POST", "/sim/api/actions", {"json": {"person": "lilei", "message_id": 99999, "action": "request.accept"}}),
            ("POST", "/sim/api/forms", {"json": {"person": "lilei", "message_id": 1, "fields": "nope"}}),
            ("POST", "/sim/api/clock", {"json": {"hours": -3}}),
            ("GET", "/sim/api/messages?after=abc&conversation=launch", {}),
        ]
        for method, path, kwargs in cases:
            r = await sim.call(method, path, **kwargs)
            assert r["_status"] == 400 and r["ok"] is False and r["error"], (path, r)
        assert (await sim.call("GET", "/healthz"))["ok"]


async def test_stranger_clicks_and_forged_values_cannot_crash_the_bot(database_url, clock):
    async with running(database_url, clock) as (_app, sim):
        await sim.say("lilei", NEW_ZH, "launch")
        card = next(m for m in await sim.messages(person="liuyang") if "request.accept" in buttons(m))
        forged = [{}, {"code": "XZB9"}, {"code": 12, "dept": None, "round": "x"}, {"code": "XZB2026112301", "dept": "nope", "round": 1}]
        before = await snapshot()
        for value in forged:
            r = await sim.click("liuyang", card["id"], "request.accept", value=value)
            assert r["ok"], r
        r = await sim.click("someone-new", card["id"], "request.accept", value=card["content"]["buttons"][0]["value"])
        assert r["ok"] and r["error"]
        assert await snapshot() == before


async def test_decline_without_a_form_asks_for_the_reason_and_the_group_language_holds_whatever_is_typed(database_url, clock):
    async with running(database_url, clock) as (_app, sim):
        await sim.say("lilei", NEW_ZH, "launch")
        card = next(m for m in await sim.messages(person="liuyang") if "request.decline" in buttons(m))
        r = await sim.click("liuyang", card["id"], "request.decline")
        assert r["error"] is None
        prompt = [m for m in await sim.messages(person="liuyang") if m["sender"] == "bot"][-1]
        assert prompt["content"]["form"]["id"] == "request.decline" and "拒绝 XZB2026112301 原因：" in body_text(prompt)
        assert (await sim.say("liuyang", "拒绝 XZB2026112301 原因：人手不够 改期：12月28日", "launch"))["error"] is None
        assert (await RequestedDepartment.get()).state == "declined"
        await sim.say("wangfang", "lang group en", "launch")
        await sim.say("wangfang", "查看 XZB2026112301", "launch")
        shown = [m for m in await sim.messages("launch", person="wangfang") if m["sender"] == "bot"][-1]
        assert "Collaboration request" in body_text(shown)  # the group's language; what she typed does not change it
        await sim.say("lilei", NEW_ZH, "launch")
        group_card = next(m for m in await sim.messages("launch") if m["sender"] == "bot" and m["content"].get("key") == "req:XZB2026112302")
        assert "Collaboration request XZB2026112302" in body_text(group_card)  # new posts to the group are in English
