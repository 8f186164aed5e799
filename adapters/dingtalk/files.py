"""Which files a DingTalk robot message can carry (pure).

``media/upload`` takes images (jpg, gif, png, bmp) and files of a few types (doc, docx, xls, xlsx, ppt, pptx,
zip, pdf, rar), each up to 20 MB. Anything else, a CSV export for one, travels zipped.
"""

from __future__ import annotations

import io
import zipfile

from bot.types import FileContent

FILE_TYPES = {"doc", "docx", "xls", "xlsx", "ppt", "pptx", "zip", "pdf", "rar"}
IMAGE_TYPES = {"jpg", "jpeg", "gif", "png", "bmp"}
MAX_BYTES = 20 * 1024 * 1024


def acceptable(file: FileContent) -> tuple[str, bytes, str]:
    """(file name, bytes, mime) DingTalk accepts: the file itself, or it zipped."""
    suffix = file.filename.rsplit(".", 1)[-1].lower() if "." in file.filename else ""
    if suffix in (IMAGE_TYPES if file.is_image else FILE_TYPES):
        return file.filename, file.data, file.mime
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(file.filename, file.data)
    return f"{file.filename}.zip", buffer.getvalue(), "application/zip"
