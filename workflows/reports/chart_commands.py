"""``甘特图`` / ``gantt`` and ``燃尽图`` / ``burndown``: the charts as images in the chat.

A Gantt of many subtasks comes one page (one department-grouped image) at a time; the caption says how to
ask for the next. The image goes where ``common.visibility.readable_collaboration`` says.
"""

from __future__ import annotations

from bot.calendar import WorkCalendar
from bot.errors import InvalidInput
from bot.i18n import _
from bot.router import Context, Router
from bot.types import FileContent, Outcome
from storage.models import Subtask

from ..common import lookup
from ..common.paging import page_count, page_number
from ..common.visibility import readable_collaboration
from .access import dashboard_link, no_subtasks, send_files
from .chartdata import GANTT_PAGE_SIZE
from .charts import burndown_png, gantt_png

router = Router()
PNG = "image/png"


@router.command("gantt", "甘特图", "任务甘特图")
async def gantt(ctx: Context, args: str, calendar: WorkCalendar) -> Outcome:
    page, rest = page_number(args)
    collab, actor, audience = await readable_collaboration(ctx, rest)
    count = await Subtask.filter(collaboration_id=collab.id).count()
    if count == 0:
        raise no_subtasks(collab.code)
    pages = page_count(count, GANTT_PAGE_SIZE)
    if page > pages:
        raise InvalidInput(_("{code} has {pages} Gantt pages; ask for one of 1–{pages}, e.g. “gantt {code} page {pages}”.", code=collab.code, pages=pages))
    png = await gantt_png(
        collab.id, locale=ctx.locale, calendar=calendar, today=lookup.local_today(ctx), page=page,
        timezone=ctx.config.bot.timezone, due_soon_working_days=ctx.config.bot.due_soon_working_days,
    )
    if pages > 1:
        caption = _(
            "Gantt chart of {code} {title}: page {page} of {pages} ({count} subtasks, grouped by department). Next: “gantt {code} page {next}”.",
            code=collab.code, title=collab.title, page=page, pages=pages, count=count, next=page % pages + 1,
        )
    else:
        caption = _("Gantt chart of {code} {title}.", code=collab.code, title=collab.title)
    suffix = f"-p{page}" if pages > 1 else ""
    image = FileContent(f"{collab.code}-gantt{suffix}.png", PNG, png, caption, dashboard_link(ctx, f"collab:{collab.id}", actor.id))
    return send_files(audience, [image]).record("report.gantt", collab.code, page=page)


@router.command("burndown", "燃尽图")
async def burndown(ctx: Context, args: str, calendar: WorkCalendar) -> Outcome:
    collab, actor, audience = await readable_collaboration(ctx, args)
    if not await Subtask.filter(collaboration_id=collab.id).exists():
        raise no_subtasks(collab.code)
    png = await burndown_png(collab.id, locale=ctx.locale, calendar=calendar, today=lookup.local_today(ctx), timezone=ctx.config.bot.timezone)
    caption = _("Burndown chart of {code} {title}: open subtasks per working day against the ideal line.", code=collab.code, title=collab.title)
    image = FileContent(f"{collab.code}-burndown.png", PNG, png, caption, dashboard_link(ctx, f"collab:{collab.id}", actor.id))
    return send_files(audience, [image]).record("report.burndown", collab.code)

