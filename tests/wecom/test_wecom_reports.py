"""WeCom: through the self-built app a chart arrives as an uploaded image; a robot chat, which answers with text
and cards only, gets the caption and where to find the file instead."""

from __future__ import annotations

from storage.models import Group, GroupBinding
from tests.reports.fixture import CODE, NOW, oversize_delivery, seed

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


async def test_a_file_larger_than_the_app_may_upload_becomes_a_text_saying_where_to_get_it(api: ApiHarness) -> None:  # noqa: F811
    """``media/upload`` takes a file of 20 MB: a larger export is not uploaded (every retry would be refused)."""
    await api.platform.deliver(oversize_delivery("wecom", "app:liuyang", 21, direct=True, link="https://collabbot.example/d/x"))
    await api.platform.deliver(oversize_delivery("wecom", "app:liuyang", 19, direct=True))

    assert [u.body["filename"] for u in api.http("media/upload")] == [f"{CODE}.xlsx"]  # the 19 MB one
    assert not api.http("media/upload", ok=False)
    too_large, caption, file = api.http("message/send")
    text = too_large.body["markdown"]["content"]
    assert too_large.body["touser"] == "liuyang" and text.startswith("协作导出 文件（XZB2026092401.xlsx，21.0 MB）超过了这个聊天能接收的大小")
    assert text.endswith("请在这里打开：https://collabbot.example/d/x")
    assert caption.body["markdown"]["content"] == "协作导出" and file.body["msgtype"] == "file"
