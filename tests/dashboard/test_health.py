"""The collaboration-health matrix on a fixture with known timings: per pair of departments, answers and
their median hours, reviews and theirs, failed acceptance rounds, risks and escalations; in the retrospective
(复盘), on the dashboard's health page, and as a heat map."""

from __future__ import annotations

import io

import aiohttp
from PIL import Image

from bot.app import App
from storage.models_workflows import RiskReport
from tests.dashboard.conftest import ADMIN_TOKEN
from tests.simclient import SimClient
from tests.workflows.helpers import add_subtask, card_with, last_text, ok
from workflows.retro.health import health_matrix, heatmap_png, table_rows

NEW = "新建协作\n标题：新品发布物料\n目标：完成海报和落地页\n协作部门：设计部，研发部\n截止：2026-12-20\n交付物：海报，落地页"


async def later(sim: SimClient, hours: float) -> None:
    assert (await sim.advance(hours=hours))["ok"]


async def timed_collaboration(sim: SimClient) -> str:
    """Mon 09:00 市场部 asks 设计部 and 研发部; 设计部 accepts after 2 h; 研发部 declines after 5 h; re-scoped
    at 14:00, both accept after 1 h; the poster (设计部) fails after 4 h and passes after 2 h; the page
    (研发部) passes after 1 h; a risk from 设计部 goes unanswered and is escalated."""
    await ok(await sim.say("lilei", NEW, "launch"))
    code = "XZB2026112301"
    await later(sim, 2)
    await ok(await sim.click("liuyang", (await card_with(sim, "request.accept", person="liuyang"))["id"], "request.accept"))
    await later(sim, 3)
    await ok(await sim.submit("chenjie", (await card_with(sim, "request.decline", person="chenjie"))["id"], {"reason": "人力饱和"}, action="request.decline"))
    await ok(await sim.say("lilei", f"调整 {code} 截止：2026-12-22", "launch"))
    await later(sim, 1)
    for head in ("liuyang", "chenjie"):
        await ok(await sim.click(head, (await card_with(sim, "request.accept", person=head))["id"], "request.accept"))
    poster = await add_subtask(sim, code, "海报", "hanmei", "300DPI", "2026-12-10")
    page = await add_subtask(sim, code, "落地页", "anna", "Lighthouse ≥ 90", "2026-12-15")
    await ok(await sim.say("hanmei", f"提交验收 {poster} 交付物：海报 v1", "launch"))
    await later(sim, 4)
    await ok(await sim.submit("wangfang", (await card_with(sim, "acceptance.fail", person="wangfang"))["id"], {"comments": "主色调不符"}, action="acceptance.fail"))
    await ok(await sim.say("hanmei", f"提交验收 {poster} 交付物：海报 v2", "launch"))
    await later(sim, 2)
    await ok(await sim.click("wangfang", (await card_with(sim, "acceptance.pass", person="wangfang"))["id"], "acceptance.pass"))
    await ok(await sim.say("anna", f"submit {page} deliverables: page v1", "global"))
    await later(sim, 1)
    await ok(await sim.click("wangfang", (await card_with(sim, "acceptance.pass", person="wangfang"))["id"], "acceptance.pass"))
    await ok(await sim.say("hanmei", f"风险 {poster} 描述：素材晚到 等级：中 影响：海报 建议：催素材", "launch"))
    await later(sim, 24)
    return code


async def test_the_matrix_counts_and_times_each_pair_of_departments(dashboard: tuple[App, SimClient]) -> None:
    app, sim = dashboard
    code = await timed_collaboration(sim)
    assert await RiskReport.filter(escalated_at__isnull=False).count() == 1

    pairs = await health_matrix()
    found = {(p.source.code, p.target.code): p for p in pairs}
    assert sorted(found) == [("market", "design"), ("market", "rd")]
    design, rd = found["market", "design"], found["market", "rd"]
    assert (design.accepted, design.declined, design.median_accept_hours) == (2, 0, 1.5)
    assert (rd.accepted, rd.declined, rd.median_accept_hours) == (1, 1, 1.0)
    assert (design.reviews, design.median_review_hours, design.failed_rounds) == (2, 3.0, 1)
    assert (rd.reviews, rd.median_review_hours, rd.failed_rounds) == (1, 1.0, 0)
    assert (design.risks, design.escalations, rd.risks, rd.escalations) == (1, 1, 0, 0)
    assert table_rows(pairs) == [
        ["市场部", "设计部", "2 / 0", "1.5", "2", "3", "1", "1", "1"],
        ["市场部", "研发部", "1 / 1", "1", "1", "1", "0", "0", "0"],
    ]

    png = await heatmap_png(pairs, locale="zh_CN")
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.width > 600 and image.height > 300

    # in the retrospective, after completion
    await ok(await sim.say("lilei", f"完成 {code}", "launch"))
    await ok(await sim.say("lilei", f"复盘 {code}", "launch"))
    prompt = await last_text(sim, person="lilei")  # the form and its facts come privately
    if "**部门间协作健康度**" not in prompt:  # a chat without private forms shows it in the group
        prompt = await last_text(sim, conversation="launch", person="lilei")
    assert "**部门间协作健康度**" in prompt
    assert "市场部 → 设计部：接受 2 次（中位 1.5 小时），拒绝 0 次；验收 2 次（中位 3 小时），验收不通过 1 次；风险 1 个，上报 1 次" in prompt
    assert "市场部 → 研发部：接受 1 次（中位 1 小时），拒绝 1 次" in prompt
    assert "[热力图](https://collab.example.com/dashboard/collab/" in prompt

    # on the dashboard's health page, read with the admin token
    async with aiohttp.ClientSession() as session:
        base = f"http://127.0.0.1:{app.port}/dashboard/health"
        async with session.get(base, params={"admin": ADMIN_TOKEN}) as response:
            assert response.status == 200
            html = await response.text()
        assert "部门间协作健康度" in html and "<td data-label=\"接受 / 拒绝\">1 / 1</td>" in html
        async with session.get(base, params={"admin": ADMIN_TOKEN, "lang": "en"}) as response:
            assert "Collaboration health between departments" in await response.text()


async def test_no_pairs_yet_is_said_plainly(dashboard: tuple[App, SimClient]) -> None:
    app, _sim = dashboard
    assert await health_matrix() == []
    async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{app.port}/dashboard/health", params={"admin": ADMIN_TOKEN}) as response:
        assert response.status == 200
        assert "部门之间还没有可统计的答复、验收或风险。" in await response.text()
