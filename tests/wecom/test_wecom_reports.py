"""WeCom: through the self-built app a chart arrives as an uploaded image; a robot chat, which answers with text
and cards only, gets the caption and where to find the file instead."""

from __future__ import annotations

from storage.models import Group, GroupBinding
from tests.reports.fixture import CODE, NOW, seed

from .test_api_mode import GROUP, ApiHarness, api  # noqa: F401  (api is a fixture)


async def test_an_app_chat_gets_the_gantt_as_an_uploaded_image(api: ApiHarness) -> None:  # noqa: F811
    api.clock.set(NOW)
    await seed(platform="wecom")
    assert await api.post_app(api.app_text("liuyang", f"甘特图 {CODE}")) == 200
    [upload] = api.http("media/upload")
    assert upload.body["type"] == "image" and upload.body["filename"] == f"{CODE}-gantt.png"
    assert api.fake.media[upload.body["media_id"]]["data"].startswith(b"\x89PNG")
    caption, image = api.http("message/send")
    assert caption.body["touser"] == "liuyang" and "任务甘特图" in caption.body["markdown"]["content"]
    assert image.body["msgtype"] == "image" and image.body["image"] == {"media_id": upload.body["media_id"]}


async def test_an_export_through_the_app_is_a_file_message(api: ApiHarness) -> None:  # noqa: F811
    api.clock.set(NOW)
    await seed(platform="wecom")
    assert await api.post_app(api.app_text("liuyang", f"导出 {CODE} xlsx")) == 200
    [upload] = api.http("media/upload")
    assert upload.body["type"] == "file" and upload.body["filename"] == f"{CODE}.xlsx"
    sent = api.http("message/send")[-1]
    assert sent.body["msgtype"] == "file" and sent.body["file"]["media_id"] == upload.body["media_id"]


async def test_a_robot_group_gets_the_caption_and_how_to_get_the_file(api: ApiHarness) -> None:  # noqa: F811
    api.clock.set(NOW)
    fixture = await seed(platform="wecom")
    group = await Group.create(platform="wecom", conversation_id=GROUP, name="协作群", created_at=NOW)
    await GroupBinding.create(collaboration=fixture.collab, group=group, created_at=NOW)
    status, reply = await api.say("liuyang", f"燃尽图 {CODE}")
    await api.app.settle()
    assert status == 200
    assert not api.http("media/upload")
    text = reply["stream"]["content"]  # the passive reply to the mention, in the group
    assert "燃尽图" in text and "这个聊天收不到协作助手发的文件" in text and f"{CODE}-burndown.png" in text
