"""A collaboration worth looking at, made through the simulator like a user would; a year's archive written
straight into the table."""

from __future__ import annotations

from storage import sql
from storage.models import Person
from tests.simclient import SimClient
from tests.workflows.helpers import active_collaboration, add_subtask, card_with, ok


async def busy_collaboration(sim: SimClient) -> str:
    """市场部 (李雷) asks 设计部 and 研发部: three subtasks (one overdue soon), progress, a failed and a passed
    acceptance, a risk, a meeting with minutes. Returns the collaboration code."""
    code = await active_collaboration(sim)
    poster = await add_subtask(sim, code, "主视觉海报", "hanmei", "300DPI，750×1500px", "2026-11-25")
    page = await add_subtask(sim, code, "落地页开发", "anna", "Lighthouse ≥ 90", "2026-12-15")
    await add_subtask(sim, code, "发布会物料清单", "liuyang", "含报价", "2026-12-18")
    await ok(await sim.say("hanmei", f"进度 {poster} 60% 已完成：初稿 问题：素材晚到", "launch"))
    await ok(await sim.say("hanmei", f"风险 {poster} 描述：素材晚到 等级：中 影响：海报 建议：催素材", "launch"))
    await ok(await sim.say("anna", f"submit {page} deliverables: page v1", "global"))
    await ok(await sim.submit("wangfang", (await card_with(sim, "acceptance.fail", person="wangfang"))["id"], {"comments": "首屏加载慢"}, action="acceptance.fail"))
    await ok(await sim.say("anna", f"submit {page} deliverables: page v2", "global"))
    await ok(await sim.click("wangfang", (await card_with(sim, "acceptance.pass", person="wangfang"))["id"], "acceptance.pass"))
    await ok(await sim.say("liuyang", f"会议 {code} 主题：素材紧急协调 时间：今天 8:30 形式：电话 参会人员：刘洋，李雷 紧急：是", "launch"))
    await ok(await sim.say("liuyang", f"纪要 {code}-M01 结论：今天补素材", "launch"))
    return code


async def archived_collaborations(count: int, initiator_handle: str) -> None:
    """``count`` archived collaborations ``OLD1``…, raised the same day (newest first is the highest id)."""
    initiator = await Person.get(handle=initiator_handle)
    await sql.execute(
        f'WITH RECURSIVE "n" ("i") AS (SELECT 1 UNION ALL SELECT "i" + 1 FROM "n" WHERE "i" < {int(count)}) '
        'INSERT INTO "collaboration" ("code", "title", "background", "goal", "scope_in", "scope_out", "priority", '
        '"raised_on", "deadline", "deliverables", "remarks", "initiator_id", "state", "round", "subtask_seq", '
        '"version", "created_at") SELECT \'OLD\' || "i", \'往年协作\', \'\', \'x\', \'\', \'\', \'medium\', '
        "'2021-01-04', '2021-02-01', '', '', ?, 'archived', 1, 0, 1, '2021-01-04 00:00:00+00:00' FROM \"n\"",
        [initiator.id],
    )
