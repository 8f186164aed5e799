"""Rules no test guarded before: completing needs subtasks and all of them accepted; the default reviewer is
never the subtask's owner; a department is re-routed by typing 改派 and the new head decides."""

from __future__ import annotations

from storage.models import AuditEntry, Collaboration, Department, Person, RequestedDepartment, Subtask
from tests.core.harness import running
from tests.simclient import body_text
from tests.workflows.helpers import (
    NEW,
    active_collaboration,
    add_subtask,
    bot_messages,
    card_with,
    ok,
    refused,
)


async def _reviewer_of(code: str) -> str:
    task = await Subtask.get(code=code)
    return (await Person.get(id=task.reviewer_id)).handle


async def test_a_collaboration_without_subtasks_cannot_be_completed(database_url, clock):
    async with running(database_url, clock) as (_app, sim):
        code = await active_collaboration(sim)
        r = await sim.say("lilei", f"完成 {code}", "launch")
        await refused(sim, r, "lilei", "还没有子任务")
        assert (await Collaboration.get(code=code)).state == "active"
        assert not await AuditEntry.filter(action="collaboration.completed").exists()


async def test_a_collaboration_with_an_unaccepted_subtask_cannot_be_completed(database_url, clock):
    async with running(database_url, clock) as (_app, sim):
        code = await active_collaboration(sim)
        poster = await add_subtask(sim, code, "海报", "hanmei", "300DPI", "2026-12-10")
        page = await add_subtask(sim, code, "落地页", "anna", "Lighthouse ≥ 90", "2026-12-15")
        reviewer = await _reviewer_of(poster)
        await ok(await sim.say("hanmei", f"提交验收 {poster}\n交付物：海报 v1", "launch"))
        await ok(await sim.click(reviewer, (await card_with(sim, "acceptance.pass", person=reviewer))["id"], "acceptance.pass"))

        everything_passed = f"{code} 的所有子任务均已验收通过"  # told to the initiator once, after the last pass
        assert not [m for m in await bot_messages(sim, person="lilei") if everything_passed in body_text(m)]
        r = await sim.say("lilei", f"完成 {code}", "launch")
        await refused(sim, r, "lilei", "还不能结项")
        assert page in r["error"] and poster not in r["error"]  # names exactly what is missing
        assert (await Collaboration.get(code=code)).state == "active"

        await ok(await sim.say("anna", f"submit {page} deliverables: page v1", "global"))
        await ok(await sim.click(reviewer, (await card_with(sim, "acceptance.pass", person=reviewer))["id"], "acceptance.pass"))
        assert len([m for m in await bot_messages(sim, person="lilei") if everything_passed in body_text(m)]) == 1
        await ok(await sim.say("lilei", f"完成 {code}", "launch"))
        assert (await Collaboration.get(code=code)).state == "archived"


async def test_the_default_reviewer_is_never_the_subtask_owner(database_url, clock):
    async with running(database_url, clock) as (_app, sim):
        # the collaboration names 韩梅 as its reviewer, and 韩梅 owns the first subtask
        code = await active_collaboration(sim, text=NEW + "\n验收人：hanmei")
        own = await add_subtask(sim, code, "海报", "hanmei", "300DPI", "2026-12-10")
        assert await _reviewer_of(own) == "wangfang"  # the requesting department's head, not the owner
        other = await add_subtask(sim, code, "文案", "liuyang", "200字", "2026-12-10")
        assert await _reviewer_of(other) == "hanmei"  # the collaboration's reviewer, where she owns nothing
        # the requesting department's head owns one, and no reviewer is named: the initiator reviews
        plain = await active_collaboration(sim, group="global")
        head_owned = await add_subtask(sim, plain, "预算", "wangfang", "表格", "2026-12-10", group="global")
        assert await _reviewer_of(head_owned) == "lilei"


async def test_a_department_is_rerouted_by_typing_and_the_new_head_decides(database_url, clock):
    async with running(database_url, clock) as (_app, sim):
        await ok(await sim.say("lilei", NEW, "launch"))
        code = (await Collaboration.all().first()).code  # type: ignore[union-attr]
        await ok(await sim.click("liuyang", (await card_with(sim, "request.accept", person="liuyang"))["id"], "request.accept"))
        old_card = await card_with(sim, "request.accept", person="chenjie")

        await ok(await sim.say("lilei", f"改派 {code}\n原部门：研发部\n新部门：市场部", "launch"))
        rd, market = await Department.get(code="rd"), await Department.get(code="market")
        assert (await RequestedDepartment.get(department_id=rd.id)).state == "withdrawn"
        assert (await RequestedDepartment.get(department_id=market.id)).state == "pending"
        entry = await AuditEntry.get(action="request.rerouted")
        assert entry.detail["before"] == "rd" and entry.detail["after"] == "market"
        said = [body_text(m) for m in await bot_messages(sim, conversation="launch", person="lilei")]
        assert any(f"{code} 已从研发部改派给市场部" in text for text in said), said

        # the old head's card no longer decides; the new head's does
        r = await sim.click("chenjie", old_card["id"], "request.accept", value=old_card["content"]["buttons"][0]["value"])
        assert r["error"], r
        await ok(await sim.click("wangfang", (await card_with(sim, "request.accept", person="wangfang"))["id"], "request.accept"))
        assert (await Collaboration.get(code=code)).state == "active"
