"""“My tasks” (我的任务) through the simulator API: what waits for each person across collaborations, privately,
with a signed link to their dashboard page; the morning digest on working days, on and off."""

from __future__ import annotations

import re

from bot.app import App
from bot.links import LinkGrant, verify_link
from storage.models import Person, Timer
from tests.simclient import SimClient, body_text
from tests.workflows.helpers import active_collaboration, add_subtask, bot_messages, card_with, last_text, ok

SECOND = "新建协作\n标题：双十二直播脚本\n目标：直播脚本定稿\n协作部门：设计部\n截止：2026-12-10"


async def dm_text(sim: SimClient, person: str) -> str:
    return body_text((await bot_messages(sim, person=person))[-1])


async def test_my_tasks_gathers_what_waits_for_each_person(dashboard: tuple[App, SimClient]) -> None:
    app, sim = dashboard
    code = await active_collaboration(sim)
    poster = await add_subtask(sim, code, "主视觉海报", "hanmei", "300DPI", "2026-11-25")
    page = await add_subtask(sim, code, "落地页开发", "anna", "Lighthouse ≥ 90", "2026-12-15")
    await ok(await sim.say("hanmei", f"风险 {poster} 描述：素材晚到 等级：中 影响：海报 建议：催素材", "launch"))
    await ok(await sim.say("anna", f"submit {page} deliverables: page v1", "global"))
    await ok(await sim.say("lilei", SECOND, "launch"))
    second = re.search(r"XZB\d{10}", await last_text(sim, conversation="launch")).group(0)  # type: ignore[union-attr]
    assert second != code

    # in a group the card goes to the person privately; the group sees only a short private note
    public = len(await bot_messages(sim, conversation="launch"))
    hers = len(await bot_messages(sim, conversation="launch", person="hanmei"))
    await ok(await sim.say("hanmei", "我的任务", "launch"))
    note = (await bot_messages(sim, conversation="launch", person="hanmei"))[hers:]
    assert [body_text(m) for m in note] == ["已通过私信把你的待办发给你。"]
    assert len(await bot_messages(sim, conversation="launch")) == public  # the others see nothing
    card = await dm_text(sim, "hanmei")
    assert "我的任务（1）" in card and "**我负责的子任务**（1）" in card
    assert f"🟡 {poster} 主视觉海报——进度 0%，截止时间 2026-11-25" in card
    assert page not in card and second not in card

    # the initiator answers the risk; the reviewer owes a verdict; the head decides the new request
    await ok(await sim.say("lilei", "我的任务"))
    lilei = await dm_text(sim, "lilei")
    assert "**待我回应的风险**（1）" in lilei and f"{code}-R01 素材晚到" in lilei
    await ok(await sim.say("wangfang", "我的任务"))
    assert f"**待我验收**（1）\n- {page} 落地页开发" in await dm_text(sim, "wangfang")
    await ok(await sim.say("liuyang", "我的任务"))
    liuyang = await dm_text(sim, "liuyang")
    assert f"- {second} 双十二直播脚本：代表你的部门接受或拒绝协作需求" in liuyang
    await ok(await sim.click("liuyang", (await card_with(sim, "request.accept", person="liuyang"))["id"], "request.accept"))
    await ok(await sim.say("liuyang", "我的任务"))
    assert second not in await dm_text(sim, "liuyang")

    # in English for an English reader, with a link to her own page that the dashboard accepts
    await ok(await sim.say("anna", "mytasks"))
    anna = await dm_text(sim, "anna")
    assert anna.startswith("My tasks (1)") and f"🟢 {page} 落地页开发 — 0%, due 2026-12-15" in anna
    url = re.search(r"\((https://collab\.example\.com/dashboard/person/\d+\?t=[^)]+)\)", anna).group(1)  # type: ignore[union-attr]
    grant = verify_link(app.config, url, now=app.clock.now())
    assert isinstance(grant, LinkGrant) and grant.person_id == (await Person.get(handle="anna")).id

    # nothing waiting: said so
    await ok(await sim.say("zhaomin", "我的任务"))
    assert "暂无待办" in await dm_text(sim, "zhaomin")


async def test_the_morning_digest_comes_on_working_days_until_turned_off(dashboard: tuple[App, SimClient]) -> None:
    _app, sim = dashboard
    code = await active_collaboration(sim)
    await add_subtask(sim, code, "主视觉海报", "hanmei", "300DPI", "2026-11-25")

    r = await sim.say("hanmei", "我的任务 订阅 25:99")
    assert r["error"] and "“25:99”不是时间" in r["error"]
    r = await sim.say("hanmei", "我的任务 明天")
    assert "“我的任务”无法识别“明天”" in r["error"]

    await ok(await sim.say("hanmei", "我的任务 订阅 8:30"))
    assert "每个工作日 08:30（Asia/Shanghai）" in await dm_text(sim, "hanmei")
    hanmei = await Person.get(handle="hanmei")
    assert await Timer.filter(key=f"mytasks:digest:{hanmei.id}:2026-11-24").exists()
    count = len(await bot_messages(sim, person="hanmei"))

    assert (await sim.advance(hours=24))["ok"]  # Tuesday 09:00: the 08:30 digest came
    digests = [body_text(m) for m in (await bot_messages(sim, person="hanmei"))[count:] if body_text(m).startswith("早上好")]
    assert len(digests) == 1, digests
    assert digests[0].startswith("早上好：今天有 1 项待办") and "🟡" in digests[0] and "/dashboard/person/" in digests[0]

    await ok(await sim.say("hanmei", "我的任务 退订"))
    assert "每日待办提醒已关闭" in await dm_text(sim, "hanmei")
    count = len(await bot_messages(sim, person="hanmei"))
    assert (await sim.advance(days=2))["ok"]
    assert not [m for m in (await bot_messages(sim, person="hanmei"))[count:] if body_text(m).startswith("早上好")]
    r = await ok(await sim.say("hanmei", "我的任务 退订"))
    assert "你没有开启每日待办提醒" in await dm_text(sim, "hanmei")
