"""The documents' tables as a file from the dashboard: one collaboration's, or every collaboration the archive
finds with its filters (all pages). The same tables and files as the chat's ``导出`` (``workflows.reports``):
``tables.xlsx`` is one workbook with a sheet per table, ``tables.zip`` the CSV files, one per table.

This is also where an export too large for a chat sends people: ``导出``'s files carry a signed link here."""

from __future__ import annotations

import asyncio
import io
import zipfile
from urllib.parse import quote

from aiohttp import web

from bot.i18n import localize
from storage.models import Collaboration
from workflows.reports.export_commands import export_files, export_stem
from workflows.reports.tables import build_tables
from workflows.retro.archive import ArchiveSearch

from .access import PRIVATE_HEADERS, Refused, Viewer
from .pages import Env

EXTENSIONS = {"xlsx": "xlsx", "zip": "csv"}  # the download's extension → the export's format
ZIP_MIME = "application/zip"


def _zip(files: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files:
            archive.writestr(name, data)
    return buffer.getvalue()


def attachment(filename: str) -> str:
    """``Content-Disposition`` for a file name in any script: an ASCII stand-in, and the name itself (RFC 6266)."""
    plain = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename)
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(filename, safe='')}"


async def tables_file(viewer: Viewer, env: Env, collabs: list[Collaboration], extension: str, stem: str) -> web.Response:
    """The response carrying ``collabs``' tables as ``stem.xlsx`` or ``stem.zip``."""
    if extension not in EXTENSIONS:
        raise Refused("not_found", viewer.locale, 404)
    tables = await build_tables(
        collabs, locale=viewer.locale, tz=env.timezone, calendar=env.calendar, today=env.today(viewer),
        due_soon=env.due_soon_working_days,
    )
    files = await export_files(tables, EXTENSIONS[extension], stem, viewer.locale)
    if extension == "xlsx":
        body, mime = files[0].data, files[0].mime
    else:
        body, mime = await asyncio.to_thread(_zip, [(f.filename, f.data) for f in files]), ZIP_MIME
    headers = {**PRIVATE_HEADERS, "Content-Disposition": attachment(f"{stem}.{extension}")}
    return web.Response(body=body, content_type=mime, headers=headers)


def archive_stem(viewer: Viewer, env: Env, search: ArchiveSearch) -> str:
    return str(localize(export_stem(env.today(viewer), search.start, search.end), viewer.locale))
