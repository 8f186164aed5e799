"""``导出`` / ``export`` [id | all] [csv | xlsx]: the documents' tables as files in the chat.

XLSX (the default) is one workbook with a sheet per table; CSV is one file per table. ``all`` exports every
collaboration the person may read, and always goes to them directly.
"""

from __future__ import annotations

import asyncio
from datetime import date

from bot.calendar import WorkCalendar
from bot.errors import InvalidInput
from bot.i18n import Msg, _, localize
from bot.router import Context, Router
from bot.types import Audience, FileContent, Outcome, ToPerson
from storage import sql
from storage.models import Collaboration, Person

from ..common import lookup
from ..common.records import require_actor
from ..common.visibility import audience_for, readable_collaboration, visible_collaboration_ids
from .access import dashboard_link, send_files
from .exports import CSV_MIME, EXCEL_ROWS, XLSX_MIME, parts, to_csv, to_xlsx
from .tables import Table, build_tables

router = Router()

FORMATS = {"xlsx": "xlsx", "excel": "xlsx", "xls": "xlsx", "表格": "xlsx", "csv": "csv"}
DOWNLOADS = {"xlsx": "xlsx", "csv": "zip"}  # the dashboard's download of an export's files: the workbook, the CSVs zipped
ALL = ("all", "全部", "所有")


def parse_export(args: str) -> tuple[bool, str, str]:
    """(everything?, format, the words left for the collaboration id)."""
    everything, fmt, rest = False, "xlsx", []
    for word in (args or "").split():
        lowered = word.lower()
        if lowered in ALL:
            everything = True
        elif lowered in FORMATS:
            fmt = FORMATS[lowered]
        elif lookup.find_code(word) is not None:
            rest.append(word)
        else:
            raise InvalidInput(
                _("“{text}” is not something I can export. Write “export XZB2026112301 xlsx”, “export all csv” (formats: xlsx, csv).", text=word[:30])
            )
    return everything, fmt, " ".join(rest)


def export_stem(today: date) -> Msg:
    """The name of an export of every collaboration, before its extension."""
    return _("collabbot export {day}", day=today.isoformat())


async def export_files(tables: list[Table], fmt: str, stem: str, locale: str, rows_per_sheet: int = EXCEL_ROWS - 1) -> list[FileContent]:
    """The files of ``tables``, rendered in a thread: a large export keeps the event loop answering the platforms.
    A table longer than Excel opens goes on in a further sheet or file ("title (2)")."""
    rows = sum(len(t.rows) for t in tables)
    names = ("、" if locale.startswith("zh") else ", ").join(t.title for t in tables)
    caption = _("{stem}: {tables} ({rows} rows).", stem=stem, tables=names, rows=rows)
    if fmt == "xlsx":
        return [FileContent(f"{stem}.xlsx", XLSX_MIME, await asyncio.to_thread(to_xlsx, tables, rows_per_sheet), caption)]
    files: list[FileContent] = []
    for table in tables:
        pieces = parts(table, rows_per_sheet)
        for number, piece in enumerate(pieces, start=1):
            name = f"{stem} {piece.title}.csv" if number == 1 else f"{stem} {piece.title} ({number}).csv"
            files.append(FileContent(name, CSV_MIME, await asyncio.to_thread(to_csv, piece), None if files else caption))
    return files


async def collaborations_for(actor: Person) -> list[Collaboration]:
    visible = await visible_collaboration_ids(actor)
    query = Collaboration.all() if visible is None else Collaboration.filter(id__in=sql.among(visible))
    return list(await query.order_by("id"))


@router.command("export", "导出", "导出表格")
async def export(ctx: Context, args: str, calendar: WorkCalendar) -> Outcome:
    everything, fmt, rest = parse_export(args)
    actor = require_actor(ctx)
    today: date = lookup.local_today(ctx)
    audience: Audience
    if everything:
        collabs = await collaborations_for(actor)
        if not collabs:
            raise InvalidInput(_("There is nothing to export: you take part in no collaboration yet."))
        stem = str(localize(export_stem(today), ctx.locale))
        audience = ToPerson(actor.id) if ctx.group is not None else await audience_for(ctx, actor, [])
        link = dashboard_link(ctx, f"archive:tables.{DOWNLOADS[fmt]}", actor.id)  # the archive's download, unfiltered
    else:
        collab, actor, audience = await readable_collaboration(ctx, rest)
        collabs, stem = [collab], collab.code
        link = dashboard_link(ctx, f"collab:{collab.id}/tables.{DOWNLOADS[fmt]}", actor.id)
    tables = await build_tables(
        collabs, locale=ctx.locale, tz=ctx.config.bot.timezone, calendar=calendar, today=today,
        due_soon=ctx.config.bot.due_soon_working_days,
    )
    files = await export_files(tables, fmt, stem, ctx.locale)
    for file in files:
        file.link = link
    return send_files(audience, files).record("report.export", collabs[0].code if len(collabs) == 1 else "all", format=fmt, collaborations=len(collabs))
