"""Charts and exports as DingTalk robot messages: the caption as markdown, then ``media/upload`` and an image
(``sampleImageMsg``) or file (``sampleFile``) message.

``media/upload`` takes images (jpg, gif, png, bmp) and files of a few types (doc, docx, xls, xlsx, ppt, pptx,
zip, pdf, rar), each up to 20 MB. Anything else, a CSV export for one, travels zipped.
"""

from __future__ import annotations

import io
import zipfile
from typing import TYPE_CHECKING

from bot.platform import Delivery, Receipt
from bot.types import FileContent, Text

from . import render

if TYPE_CHECKING:
    from .transport import DingTalkPlatform

FILE_TYPES = {"doc", "docx", "xls", "xlsx", "ppt", "pptx", "zip", "pdf", "rar"}
IMAGE_TYPES = {"jpg", "jpeg", "gif", "png", "bmp"}
MAX_BYTES = 20 * 1024 * 1024


def acceptable(file: FileContent) -> tuple[str, bytes, str]:
    """(file name, bytes, mime) DingTalk accepts: the file itself, or it zipped (pure)."""
    suffix = file.filename.rsplit(".", 1)[-1].lower() if "." in file.filename else ""
    if suffix in (IMAGE_TYPES if file.is_image else FILE_TYPES):
        return file.filename, file.data, file.mime
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(file.filename, file.data)
    return f"{file.filename}.zip", buffer.getvalue(), "application/zip"


async def send_file(platform: DingTalkPlatform, delivery: Delivery, file: FileContent) -> Receipt:
    """Upload ``file`` and post it where ``delivery`` goes, its caption first; a file larger than DingTalk takes
    becomes a text saying where to get it."""
    filename, data, mime = acceptable(file)
    instead = file.in_place_of_oversize(MAX_BYTES, len(data))
    if instead is not None:
        return Receipt(await _post_text(platform, delivery, instead))
    if file.caption:
        await _post_text(platform, delivery, Text(file.caption))
    api = platform.api
    media_id = await api.upload_media("image" if file.is_image else "file", filename, data, mime)
    if file.is_image:
        key, param = "sampleImageMsg", {"photoURL": media_id}  # a media_id stands for the URL
    else:
        key, param = "sampleFile", {"mediaId": media_id, "fileName": filename, "fileType": filename.rsplit(".", 1)[-1]}
    if delivery.conversation.is_direct:
        sent = await api.send_people(platform.robot_code, [delivery.recipient or delivery.conversation.id], "", "", msg_key=key, param=param)
    else:
        sent = await api.send_group(platform.robot_code, delivery.conversation.id, "", "", msg_key=key, param=param)
    return Receipt(str(sent.get("processQueryKey") or media_id))


async def _post_text(platform: DingTalkPlatform, delivery: Delivery, content: Text) -> str:
    title, text = render.text_markdown(content, delivery.mentions)
    return await platform._send_markdown(delivery, title, text, [])
