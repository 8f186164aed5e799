"""Subtasks decided before they can exist: the steps of an SOP a collaboration starts from, and the action
items of confirmed minutes. They become real subtasks (five elements, owner card, tracking) as soon as the
collaboration is active — at once, or when the last department accepts."""

from __future__ import annotations

from datetime import date
from typing import Any

from bot.calendar import WorkCalendar
from bot.router import Context
from bot.types import Outcome, ToPerson
from storage import directory, sql
from storage.models import Collaboration, Subtask
from storage.models_workflows import PlannedSubtask

from ..common import lookup
from ..common.records import announce_to, next_number
from ..tasks.cards import subtask_card


async def plan(collab: Collaboration, source: str, items: list[dict[str, Any]], now: Any) -> list[PlannedSubtask]:
    """Write the planned subtasks (``title``, ``owner`` id, ``standard``, ``deadline`` or ``days_before_deadline``…)."""
    rows = []
    for position, item in enumerate(items):
        rows.append(
            await PlannedSubtask.create(
                collaboration=collab,
                source=source[:96],
                position=position,
                title=str(item["title"])[:255],
                owner_id=item["owner"],
                standard=item["standard"],
                resources=item.get("resources", ""),
                priority=item.get("priority", "medium"),
                deadline=item.get("deadline"),
                days_before_deadline=item.get("days_before_deadline"),
                created_at=now,
            )
        )
    return rows


def _deadline(row: PlannedSubtask, collab: Collaboration, today: date, calendar: WorkCalendar) -> date:
    """A date someone gave stays as given (within today and the collaboration's deadline); a derived one
    (an SOP step's working days before the deadline) lands on a working day."""
    if row.deadline is not None:
        return min(max(row.deadline, today), collab.deadline)
    last = calendar.previous_working_day(collab.deadline, include=True)
    deadline = min(max(calendar.add_working_days(last, -(row.days_before_deadline or 0)), today), collab.deadline)
    if calendar.is_working_day(deadline):
        return deadline
    earlier = calendar.previous_working_day(deadline)
    return earlier if earlier >= today else calendar.next_working_day(deadline)


async def realize(ctx: Context, collab: Collaboration, outcome: Outcome) -> list[Subtask]:
    """Create the subtasks still only planned, if the collaboration is active. Safe to call again."""
    if collab.state != "active":
        return []
    from ..tasks.handlers import default_reviewer

    today = lookup.local_today(ctx)
    created: list[Subtask] = []
    for row in await sql.select(PlannedSubtask, '"t"."collaboration_id" = ? AND "t"."subtask_code" IS NULL ORDER BY "t"."id"', (collab.id,)):
        owner = await directory.require_person(row.owner_id)
        reviewer = await default_reviewer(collab, owner)
        number = await next_number(f"subtask:{collab.code}")
        code = f"{collab.code}-{number:02d}"
        if not await PlannedSubtask.filter(id=row.id, subtask_code=None).update(subtask_code=code):
            continue
        deadline = _deadline(row, collab, today, ctx.services["calendar"])
        task = await Subtask.create(
            code=code,
            collaboration=collab,
            title=row.title,
            owner=owner,
            collaborators=[],
            resources=row.resources,
            delivery_standard=row.standard,
            deadline=deadline,
            priority=row.priority,
            depends_on=[],
            reviewer=reviewer,
            created_at=ctx.now,
            updated_at=ctx.now,
        )
        created.append(task)
        outcome.record("task.created", code, title=row.title, owner=owner.handle, deadline=deadline.isoformat(), standard=row.standard, source=row.source)
        card = await subtask_card(task, ctx)
        outcome.send(await announce_to(collab), card)
        outcome.send(ToPerson(owner.id), card)
    return created


async def on_activated(ctx: Context, collab: Collaboration) -> Outcome:
    """Called when the last department accepts: the planned subtasks (an SOP's, minutes' action items) start."""
    outcome = Outcome()
    await realize(ctx, collab, outcome)
    return outcome
