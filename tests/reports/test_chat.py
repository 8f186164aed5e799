"""甘特图, 燃尽图 and 导出 through the simulator: the image shows inline, the file downloads, bad input gets a specific answer."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator

import aiohttp
import openpyxl
import pytest

from bot.app import App
from bot.clock import ManualClock
from bot.config import from_dict
from bot.types import Event, EventKind
from storage.models import Group, GroupBinding
from tests.simclient import SimClient, body_text

from .fixture import CODE, NOW, OTHER, World, seed


@pytest.fixture
async def chat(database_url: str) -> AsyncIterator[tuple[SimClient, World, aiohttp.ClientSession]]:
    config = from_dict(
        {"database": {"url": database_url}, "server": {"port": 0}, "simulator": {"enabled": True, "manual_clock": True}},
        environ={},
    )
    app = App(config, clock=ManualClock(NOW))
    await app.start(background=False)
    try:
        world = await seed()
        group = await Group.create(platform="simulator", conversation_id="launch", name="国庆营销协作群", created_at=NOW)
        await GroupBinding.create(collaboration=world.collab, group=group, created_at=NOW)
        english = await Group.create(platform="simulator", conversation_id="global", name="global", locale="en", created_at=NOW)
        await GroupBinding.create(collaboration=world.collab, group=english, created_at=NOW)
        async with aiohttp.ClientSession() as session:
            sim = SimClient(f"http://127.0.0.1:{app.port}", session)
            sim.app = app  # type: ignore[attr-defined]
            yield sim, world, session
    finally:
        await app.stop()


async def bot_files(sim: SimClient, **where: str) -> list[dict]:
    return [m for m in await sim.messages(**where) if m["sender"] == "bot" and m["content"]["type"] == "file"]


async def fetch(session: aiohttp.ClientSession, sim: SimClient, url: str) -> tuple[int, str, bytes]:
    async with session.get(sim.base + url) as response:
        return response.status, response.content_type, await response.read()


async def test_gantt_and_burndown_show_inline_in_the_group(chat):
    sim, _world, session = chat
    assert (await sim.say("liuyang", "甘特图", "launch"))["error"] is None
    assert (await sim.say("liuyang", f"燃尽图 {CODE}", "launch"))["error"] is None
    files = await bot_files(sim, conversation="launch")
    assert [f["content"]["filename"] for f in files] == [f"{CODE}-gantt.png", f"{CODE}-burndown.png"]
    gantt = files[0]["content"]
    assert "data" not in gantt and gantt["url"] == f"/sim/api/files/{files[0]['id']}"
    assert "任务甘特图" in gantt["caption"] and "国庆营销活动" in gantt["caption"]
    status, mime, data = await fetch(session, sim, gantt["url"])
    assert (status, mime) == (200, "image/png") and data.startswith(b"\x89PNG") and len(data) == gantt["size"]
    assert (await fetch(session, sim, "/sim/api/files/999999"))[0] == 404


async def test_export_xlsx_and_csv_download_from_the_chat(chat):
    sim, _world, session = chat
    assert (await sim.say("liuyang", "导出", "launch"))["error"] is None
    assert (await sim.say("liuyang", "导出 csv", "launch"))["error"] is None
    files = await bot_files(sim, conversation="launch")
    names = [f["content"]["filename"] for f in files]
    assert names == [
        f"{CODE}.xlsx", f"{CODE} 表1 跨部门协作任务总表.csv", f"{CODE} 表2 任务执行进度跟踪表.csv",
        f"{CODE} 表3 跨部门会议纪要表.csv", f"{CODE} 协作沟通记录表.csv", f"{CODE} 协作改进流程表.csv",
    ]
    assert "共 " in files[0]["content"]["caption"] and "行" in files[0]["content"]["caption"]
    _status, _mime, xlsx = await fetch(session, sim, files[0]["content"]["url"])
    book = openpyxl.load_workbook(io.BytesIO(xlsx))
    assert book.sheetnames[0] == "表1 跨部门协作任务总表"
    assert [c.value for c in book.worksheets[0][2]][:2] == [CODE, "国庆营销活动"]
    _status, _mime, table1 = await fetch(session, sim, files[1]["content"]["url"])
    assert table1.startswith(b"\xef\xbb\xbf")
    assert list(csv.reader(io.StringIO(table1.decode("utf-8-sig"))))[1][0] == CODE
    # the export was a decision on the record, like every command
    assert (await sim.say("lilei", f"记录 {CODE}", "launch"))["error"] is None


async def test_everything_i_may_see_goes_to_me_directly(chat):
    sim, _world, session = chat
    assert (await sim.say("liuyang", "导出 全部 xlsx", "launch"))["error"] is None
    assert not await bot_files(sim, conversation="launch")
    note = [m for m in await sim.messages(conversation="launch", person="liuyang") if m["sender"] == "bot"][-1]
    assert "已私信发给你" in body_text(note)
    (file,) = await bot_files(sim, person="liuyang")
    _status, _mime, xlsx = await fetch(session, sim, file["content"]["url"])
    codes = [row[0] for row in openpyxl.load_workbook(io.BytesIO(xlsx)).worksheets[0].iter_rows(min_row=2, values_only=True)]
    assert codes == [CODE]  # 研发部's own collaboration stays out of 设计部's export


async def test_everything_within_a_date_range(chat):
    sim, _world, session = chat
    assert (await sim.say("liuyang", "导出 全部 从：2026-09-01 到：9月30日", "launch"))["error"] is None
    (file,) = await bot_files(sim, person="liuyang")
    assert file["content"]["filename"] == "协作助手导出 2026-09-01 至 2026-09-30.xlsx"
    _status, _mime, xlsx = await fetch(session, sim, file["content"]["url"])
    codes = [row[0] for row in openpyxl.load_workbook(io.BytesIO(xlsx)).worksheets[0].iter_rows(min_row=2, values_only=True)]
    assert codes == [CODE]  # raised 09-24: within the range


@pytest.mark.parametrize(
    ("person", "text", "expected"),
    [
        ("liuyang", "导出 全部 从：2026-11-01", "2026-11-01 – — 之间没有你可以查看的协作"),
        ("liuyang", "导出 全部 从：2026-10-10 到：2026-10-01", "结束日期 2026-10-01 早于开始日期 2026-10-10"),
        ("liuyang", f"导出 {CODE} 从：2026-10-01", "日期范围只用于“导出 全部”"),
        ("liuyang", f"甘特图 {OTHER}", f"你无权查看 {OTHER}"),
        ("liuyang", f"导出 {OTHER} xlsx", f"你无权查看 {OTHER}"),
        ("liuyang", "燃尽图 XZB2099010101", "XZB2099010101"),
        ("liuyang", f"导出 {CODE} pdf", "无法导出“pdf”"),
        ("liuyang", f"甘特图 {CODE} 第9页", "共 1 页"),
        ("lilei", "export XZB2099010101 csv", "XZB2099010101"),
    ],
)
async def test_bad_requests_get_a_specific_answer_in_chinese(chat, person, text, expected):
    sim, _world, _session = chat
    response = await sim.say(person, text, "launch")
    assert response["ok"] and response["error"] and expected in response["error"], response
    assert not await bot_files(sim, conversation="launch")
    assert not await bot_files(sim, person=person)


async def test_a_collaboration_without_subtasks_has_nothing_to_draw(chat):
    sim, world, _session = chat
    await world.other.subtasks.all().delete()
    response = await sim.say("chenjie", f"甘特图 {OTHER}", "launch")
    assert "还没有子任务" in response["error"], response


async def test_in_a_group_that_does_not_show_it_the_chart_goes_to_the_person(chat):
    sim, _world, _session = chat
    assert (await sim.say("chenjie", f"甘特图 {OTHER}", "launch"))["error"] is None
    assert not await bot_files(sim, conversation="launch")
    assert [f["content"]["filename"] for f in await bot_files(sim, person="chenjie")] == [f"{OTHER}-gantt.png"]


async def test_the_weekly_report_carries_the_charts_in_each_groups_language(chat):
    sim, _world, session = chat
    app = sim.app  # type: ignore[attr-defined]
    group = await Group.get(conversation_id="launch")
    await app.dispatch(Event(kind=EventKind.TIMER, platform="timer", delivery_id="weekly-test", action="report.weekly.compile", payload={"group": group.id, "week": "2026-W41"}))
    await app.settle()
    for conversation, word in (("launch", "任务甘特图"), ("global", "Gantt chart")):
        messages = [m for m in await sim.messages(conversation=conversation) if m["sender"] == "bot"]
        assert "《周进度表》" in body_text(messages[0]) or "weekly" in body_text(messages[0]).lower()
        files = [m["content"] for m in messages if m["content"]["type"] == "file"]
        assert [f["filename"] for f in files] == [f"{CODE}-2026-W41-gantt.png", f"{CODE}-2026-W41-burndown.png"]
        assert word in files[0]["caption"]
        _status, mime, data = await fetch(session, sim, files[1]["url"])
        assert mime == "image/png" and data.startswith(b"\x89PNG")
