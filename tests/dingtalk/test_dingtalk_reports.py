"""A chart reaches a DingTalk group as an image message and an export as a file message, each uploaded first."""

from __future__ import annotations

import io
import zipfile

import openpyxl

from storage.models import Group, GroupBinding
from tests.dingtalk.world import GROUP, DingTalkWorld
from tests.reports.fixture import CODE, NOW, OVERSIZE_TEXT, oversize_delivery, seed


async def test_gantt_is_an_image_message_and_exports_are_file_messages(database_url, clock, fake):
    clock.set(NOW)
    async with DingTalkWorld.open(database_url, clock, fake, template=False) as world:
        fixture = await seed(platform="dingtalk")
        group = await Group.get(platform="dingtalk", conversation_id=GROUP)
        await GroupBinding.create(collaboration=fixture.collab, group=group, created_at=NOW)

        await world.say("liuyang", f"甘特图 {CODE}")
        await world.say("liuyang", f"导出 {CODE} xlsx")
        await world.say("liuyang", f"导出 {CODE} csv")

        keys = [(conversation, key) for conversation, key, _param in fake.media_messages]
        assert keys == [(GROUP, "sampleImageMsg"), (GROUP, "sampleFile")] + [(GROUP, "sampleFile")] * 5
        image = fake.media[fake.media_messages[0][2]["photoURL"]]
        assert image["type"] == "image" and image["data"].startswith(b"\x89PNG")
        xlsx = fake.media_messages[1][2]
        assert (xlsx["fileName"], xlsx["fileType"]) == (f"{CODE}.xlsx", "xlsx")
        book = openpyxl.load_workbook(io.BytesIO(fake.media[xlsx["mediaId"]]["data"]))
        assert book.sheetnames[0] == "表1 跨部门协作任务总表"
        # DingTalk takes no .csv: the CSV travels zipped, unchanged inside
        csv_file = fake.media_messages[2][2]
        assert csv_file["fileName"] == f"{CODE} 表1 跨部门协作任务总表.csv.zip" and csv_file["fileType"] == "zip"
        with zipfile.ZipFile(io.BytesIO(fake.media[csv_file["mediaId"]]["data"])) as archive:
            assert archive.read(f"{CODE} 表1 跨部门协作任务总表.csv").startswith(b"\xef\xbb\xbf")
        # each file's caption came as a message before it
        assert any("任务甘特图" in text for text in world.in_group())
        uploads = fake.calls_to("/media/upload")
        assert len(uploads) == 7 and {c.query["type"] for c in uploads} == {"image", "file"}


async def test_a_file_larger_than_dingtalk_takes_becomes_a_text_saying_where_to_get_it(database_url, clock, fake):
    """``media/upload`` takes 20 MB: a larger export is not uploaded (it would be refused on every retry)."""
    async with DingTalkWorld.open(database_url, clock, fake, template=False) as world:
        await world.platform.deliver(oversize_delivery("dingtalk", GROUP, 21))
        await world.platform.deliver(oversize_delivery("dingtalk", GROUP, 19))

        assert len(fake.calls_to("/media/upload")) == 1 and len(fake.media_messages) == 1  # the 19 MB one
        too_large, caption = world.in_group()
        assert too_large.startswith("协作导出 ") and OVERSIZE_TEXT.format(size=21) in too_large
        assert caption == "协作导出"
