"""A chart and an export reach Slack as uploaded files (files.getUploadURLExternal → upload → completeUploadExternal)."""

from __future__ import annotations

import io

import openpyxl

from storage.models import Group, GroupBinding
from tests.reports.fixture import CODE, NOW, seed
from tests.slack.world import SlackWorld

GROUP = "C1LAUNCH"
LIU = "U3LIU"


async def test_gantt_and_export_are_uploaded_into_the_channel(database_url, clock):
    clock.set(NOW)
    async with SlackWorld.open(database_url, clock) as world:
        fixture = await seed(platform="slack")
        group = await Group.get(platform="slack", conversation_id=GROUP)
        await GroupBinding.create(collaboration=fixture.collab, group=group, created_at=NOW)

        await world.command(LIU, GROUP, f"甘特图 {CODE}")
        await world.command(LIU, GROUP, f"导出 {CODE} xlsx")
        fake = world.fake
        gantt, export = fake.uploads(GROUP)
        assert gantt["name"] == f"{CODE}-gantt.png" and gantt["data"].startswith(b"\x89PNG")
        assert gantt["length"] == len(gantt["data"])
        assert "任务甘特图" in gantt["initial_comment"]
        book = openpyxl.load_workbook(io.BytesIO(export["data"]))
        assert book.sheetnames[0] == "表1 跨部门协作任务总表"
        assert book.worksheets[0]["A2"].value == CODE
        methods = [c.method for c in fake.calls]
        assert methods.count("files.getUploadURLExternal") == 2 and methods.count("files.completeUploadExternal") == 2
        posted = [m for m in fake.in_channel(GROUP) if m.get("files")]
        assert [m["files"][0]["name"] for m in posted] == [f"{CODE}-gantt.png", f"{CODE}.xlsx"]
