"""The charts that go with the weekly report (《周进度表》): the Gantt's first page and the burndown.

Each group the collaboration is shown in gets them in its own language; a collaboration without subtasks
gets none (there is nothing to draw).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.calendar import WorkCalendar
from bot.i18n import _, normalize_locale
from bot.router import Context
from bot.types import Conversation, FileContent, Outcome, ToConversation
from storage.models import Collaboration, Group, GroupBinding, Subtask

from .access import with_fallback
from .charts import burndown_png, gantt_png

PNG = "image/png"


async def weekly_charts(collab: Collaboration, week: str, ctx: Context) -> Outcome:
    """Gantt and burndown images of ``collab`` for every group it is bound to."""
    outcome = Outcome()
    if not await Subtask.filter(collaboration_id=collab.id).exists():
        return outcome
    calendar: WorkCalendar = ctx.services["calendar"]
    tz = ctx.config.bot.timezone
    today = ctx.now.astimezone(ZoneInfo(tz)).date()
    group_ids = await GroupBinding.filter(collaboration_id=collab.id).order_by("id").values_list("group_id", flat=True)
    drawn: dict[str, tuple[bytes, bytes]] = {}
    for group in await Group.filter(id__in=list(group_ids)).order_by("id"):
        locale = normalize_locale(group.locale) or ctx.config.bot.locale
        if locale not in drawn:
            drawn[locale] = (
                await gantt_png(collab.id, locale=locale, calendar=calendar, today=today, timezone=tz, due_soon_working_days=ctx.config.bot.due_soon_working_days),
                await burndown_png(collab.id, locale=locale, calendar=calendar, today=today, timezone=tz),
            )
        gantt, burndown = drawn[locale]
        where = ToConversation(Conversation(group.platform, group.conversation_id))
        outcome.send(where, with_fallback(FileContent(f"{collab.code}-{week}-gantt.png", PNG, gantt, _("Gantt chart of {code} {title}.", code=collab.code, title=collab.title))))
        outcome.send(where, with_fallback(FileContent(f"{collab.code}-{week}-burndown.png", PNG, burndown, _("Burndown chart of {code} {title}: open subtasks per working day against the ideal line.", code=collab.code, title=collab.title))))
    return outcome
