"""A plan of 500 subtasks on Slack: the board comes in pages, the Gantt in department-grouped images, the export
as one workbook; no message breaks Slack's limits (the fake refuses any that would)."""

from __future__ import annotations

import io

import openpyxl

from storage.models import Group, GroupBinding
from tests.reports.fixture import CODE, NOW, grow, seed
from tests.slack.world import SlackWorld, text_of

GROUP = "C1LAUNCH"
LIU = "U3LIU"


async def test_500_subtasks_stay_within_slacks_limits_and_readable(database_url, clock):
    clock.set(NOW)
    async with SlackWorld.open(database_url, clock) as world:
        fixture = await seed(platform="slack")
        await grow(fixture, 500)
        group = await Group.get(platform="slack", conversation_id=GROUP)
        await GroupBinding.create(collaboration=fixture.collab, group=group, created_at=NOW)
        fake = world.fake

        await world.command(LIU, GROUP, f"看板 {CODE}")
        await world.command(LIU, GROUP, f"看板 {CODE} 第17页")
        first, last = (text_of(m) for m in fake.in_channel(GROUP)[-2:])
        assert f"{CODE}-030" in first and f"{CODE}-031" not in first
        assert "第 1/17 页" in first and f"“查看 {CODE} 第2页”" in first
        assert f"{CODE}-500" in last and "第 17/17 页" in last

        await world.command(LIU, GROUP, f"甘特图 {CODE} 第13页")
        await world.command(LIU, GROUP, f"导出 {CODE}")
        gantt, export = fake.uploads(GROUP)
        assert "第 13/13 页" in gantt["initial_comment"] and gantt["data"].startswith(b"\x89PNG")
        book = openpyxl.load_workbook(io.BytesIO(export["data"]), read_only=True)
        tasks = book["表2 任务执行进度跟踪表"]
        codes = {row[0] for row in tasks.iter_rows(min_row=2, values_only=True)}
        assert len(codes) == 500
        assert not fake.rejected  # (checked again when the world closes)
