"""``导出`` / ``export`` [id | all] [csv | xlsx]: the documents' tables as files in the chat.

XLSX (the default) is one workbook with a sheet per table; CSV is one file per table. ``all`` exports every
collaboration the person may read, and always goes to them directly.
"""

from __future__ import annotations

from datetime import date

from bot.calendar import WorkCalendar
from bot.errors import InvalidInput
from bot.i18n import _, localize
from bot.router import Context, Router
from bot.types import Audience, FileContent, Outcome, ToPerson
from storage import sql
from storage.models import Collaboration, Person

from ..common import lookup
from ..common.records import require_actor
from ..common.visibility import audience_for, readable_collaboration, visible_collaboration_ids
from .access import dashboard_link, send_files
from .exports import CSV_MIME, XLSX_MIME, to_csv, to_xlsx
from .tables import Table, build_tables

router = Router()

FORMATS = {"xlsx": "xlsx", "excel": "xlsx", "xls": "xlsx", "表格": "xlsx", "csv": "csv"}
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


def export_files(tables: list[Table], fmt: str, stem: str, locale: str) -> list[FileContent]:
    rows = sum(len(t.rows) for t in tables)
    names = ("、" if locale.startswith("zh") else ", ").join(t.title for t in tables)
    caption = _("{stem}: {tables} ({rows} rows).", stem=stem, tables=names, rows=rows)
    if fmt == "xlsx":
        return [FileContent(f"{stem}.xlsx", XLSX_MIME, to_xlsx(tables), caption)]
    return [FileContent(f"{stem} {t.title}.csv", CSV_MIME, to_csv(t), caption if i == 0 else None) for i, t in enumerate(tables)]


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
        stem = str(localize(_("collabbot export {day}", day=today.isoformat()), ctx.locale))
        audience = ToPerson(actor.id) if ctx.group is not None else await audience_for(ctx, actor, [])
        link = dashboard_link(ctx, "archive", actor.id)
    else:
        collab, actor, audience = await readable_collaboration(ctx, rest)
        collabs, stem = [collab], collab.code
        link = dashboard_link(ctx, f"collab:{collab.id}", actor.id)
    tables = await build_tables(
        collabs, locale=ctx.locale, tz=ctx.config.bot.timezone, calendar=calendar, today=today,
        due_soon=ctx.config.bot.due_soon_working_days,
    )
    files = export_files(tables, fmt, stem, ctx.locale)
    for file in files:
        file.link = link
    return send_files(audience, files).record("report.export", collabs[0].code if len(collabs) == 1 else "all", format=fmt, collaborations=len(collabs))
