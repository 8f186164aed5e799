"""``导出`` / ``export`` [id | all] [csv | xlsx] [from: … to: …]: the documents' tables as files in the chat.

XLSX (the default) is one workbook with a sheet per table; CSV is one file per table. ``all`` exports every
collaboration the person may read (with a date range, those whose span overlaps it, as the archive finds them),
and always goes to them directly.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlencode

from bot.calendar import WorkCalendar
from bot.errors import InvalidInput
from bot.i18n import Msg, _, localize
from bot.router import Context, Router
from bot.types import Audience, FileContent, Outcome, ToPerson
from storage import sql
from storage.models import Collaboration, Person

from ..common import lookup
from ..common.fields import DATE_RANGE, FieldSet, parse_fields, read_date
from ..common.format import day
from ..common.records import require_actor
from ..common.visibility import audience_for, readable_collaboration, visible_collaboration_ids
from ..retro.archive import ArchiveSearch, find_collaborations
from .access import dashboard_link, send_files
from .exports import CSV_MIME, EXCEL_ROWS, XLSX_MIME, parts, to_csv, to_xlsx
from .tables import Table, build_tables

router = Router()

FORMATS = {"xlsx": "xlsx", "excel": "xlsx", "xls": "xlsx", "表格": "xlsx", "csv": "csv"}
DOWNLOADS = {"xlsx": "xlsx", "csv": "zip"}  # the dashboard's download of an export's files: the workbook, the CSVs zipped
ALL = ("all", "全部", "所有")


RANGE_FIELDS = FieldSet(DATE_RANGE)


@dataclass(frozen=True, slots=True)
class ExportAsk:
    """What ``导出`` was asked: one collaboration (``code_words``) or every one the person may read, maybe only
    those whose span (raised → finished or due) overlaps a date range."""

    everything: bool
    fmt: str
    code_words: str
    start: date | None = None
    end: date | None = None


def parse_export(args: str, today: date) -> ExportAsk:
    head, values = parse_fields(args or "", RANGE_FIELDS)
    everything, fmt, rest = False, "xlsx", []
    for word in head.split():
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
    start = read_date(values["from"], today, "from", nearest=True) if values.get("from") else None
    end = read_date(values["to"], today, "to", nearest=True) if values.get("to") else None
    if start and end and end < start:
        raise InvalidInput(_("The end date {end} is before the start date {start}.", end=end.isoformat(), start=start.isoformat()), field="to")
    if (start or end) and rest:
        raise InvalidInput(_("A date range goes with “export all”: write “export all from: 2026-10-01 to: 2026-12-31”, or just “export {code}”.", code=rest[0]))
    return ExportAsk(everything or bool(start or end), fmt, " ".join(rest), start, end)


def export_stem(today: date, start: date | None = None, end: date | None = None) -> Msg:
    """The name of an export of every collaboration (within a date range, when given), before its extension."""
    if start or end:
        return _("collabbot export {start} to {end}", start=day(start), end=day(end))
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


async def collaborations_for(actor: Person, start: date | None = None, end: date | None = None, tz: str = "Asia/Shanghai") -> list[Collaboration]:
    """Every collaboration ``actor`` may read, in the order they were raised; only those overlapping the range."""
    visible = await visible_collaboration_ids(actor)
    if start or end:
        found = await find_collaborations(ArchiveSearch(start=start, end=end, within=visible, tz=tz))
        return sorted(found, key=lambda c: c.id)
    query = Collaboration.all() if visible is None else Collaboration.filter(id__in=sql.among(visible))
    return list(await query.order_by("id"))


@router.command("export", "导出", "导出表格")
async def export(ctx: Context, args: str, calendar: WorkCalendar) -> Outcome:
    today: date = lookup.local_today(ctx)
    ask = parse_export(args, today)
    fmt = ask.fmt
    actor = require_actor(ctx)
    audience: Audience
    if ask.everything:
        collabs = await collaborations_for(actor, ask.start, ask.end, ctx.config.bot.timezone)
        if not collabs and (ask.start or ask.end):
            raise InvalidInput(_("No collaboration you may read falls within {start} – {end}.", start=day(ask.start), end=day(ask.end)))
        if not collabs:
            raise InvalidInput(_("There is nothing to export: you take part in no collaboration yet."))
        stem = str(localize(export_stem(today, ask.start, ask.end), ctx.locale))
        audience = ToPerson(actor.id) if ctx.group is not None else await audience_for(ctx, actor, [])
        link = dashboard_link(ctx, f"archive:tables.{DOWNLOADS[fmt]}", actor.id)  # the archive's download, the same range
        if link and (ask.start or ask.end):
            link += "&" + urlencode({k: v.isoformat() for k, v in (("from", ask.start), ("to", ask.end)) if v})
    else:
        collab, actor, audience = await readable_collaboration(ctx, ask.code_words)
        collabs, stem = [collab], collab.code
        link = dashboard_link(ctx, f"collab:{collab.id}/tables.{DOWNLOADS[fmt]}", actor.id)
    tables = await build_tables(
        collabs, locale=ctx.locale, tz=ctx.config.bot.timezone, calendar=calendar, today=today,
        due_soon=ctx.config.bot.due_soon_working_days,
    )
    files = await export_files(tables, fmt, stem, ctx.locale)
    for file in files:
        file.link = link
    recorded = {"from": ask.start.isoformat() if ask.start else None, "to": ask.end.isoformat() if ask.end else None}
    return send_files(audience, files).record(
        "report.export", collabs[0].code if len(collabs) == 1 and not ask.everything else "all", format=fmt, collaborations=len(collabs),
        **{k: v for k, v in recorded.items() if v},
    )
