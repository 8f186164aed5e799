"""Records → what a chart draws: Gantt rows and burndown series (loaded here, drawn in ``charts``).

Kept apart from drawing so a test or the dashboard can read the numbers a chart shows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.calendar import WorkCalendar
from storage.models import AcceptanceRequest, Collaboration, Department, Person, ProgressUpdate, Subtask
from storage.models_workflows import ChangeRequest

from ..tasks.cards import status_colour

GANTT_PAGE_SIZE = 40  # bars per image: more stops being readable on a phone


@dataclass(slots=True)
class Bar:
    """One subtask on the Gantt."""

    code: str
    title: str
    owner: str
    department: str
    start: date
    end: date  # the deadline, inclusive
    progress: int
    colour: str  # red / yellow / green / grey, the board's rule
    stage: str
    depends_on: list[str] = field(default_factory=list)
    milestone: date | None = None  # the day acceptance passed


@dataclass(slots=True)
class GanttData:
    code: str
    title: str
    today: date
    bars: list[Bar]  # this page's bars, grouped by department
    non_working: list[date]  # every day off in the drawn range (weekends and holidays; 调休 days are working)
    first_day: date
    last_day: date
    page: int = 1
    pages: int = 1
    total: int = 0  # subtasks over all pages


@dataclass(slots=True)
class BurndownData:
    code: str
    title: str
    today: date
    days: list[date]  # working days from the start to the deadline (or today, when later)
    remaining_tasks: list[int | None]  # open subtasks at the end of each day; None after today
    remaining_work: list[float | None]  # open work in subtasks (100% = 1), from the progress history
    ideal: list[float]
    deadline: date
    changes: list[tuple[date, str]] = field(default_factory=list)  # applied change requests: when the scope moved


def _local(moment: datetime | None, tz: str) -> date | None:
    return moment.astimezone(ZoneInfo(tz)).date() if moment else None


async def _owners(tasks: list[Subtask]) -> tuple[dict[int, str], dict[int, str]]:
    people = await Person.filter(id__in=list({t.owner_id for t in tasks}))
    departments = {d.id: d.name for d in await Department.filter(id__in=list({p.department_id for p in people if p.department_id}))}
    names = {p.id: p.name for p in people}
    department_of = {p.id: departments.get(p.department_id or 0, "—") for p in people}
    return names, department_of


async def _passed_on(task_ids: list[int], tz: str) -> dict[int, date]:
    rows = await AcceptanceRequest.filter(subtask_id__in=task_ids, state="passed").order_by("decided_at")
    return {r.subtask_id: d for r in rows if (d := _local(r.decided_at, tz)) is not None}


def _span(calendar: WorkCalendar, first: date, last: date) -> list[date]:
    days, day = [], first
    while day <= last:
        if not calendar.is_working_day(day):
            days.append(day)
        day += timedelta(days=1)
    return days


async def gantt_data(
    collab: Collaboration, *, calendar: WorkCalendar, today: date, tz: str, due_soon: int, page: int = 1, page_size: int = GANTT_PAGE_SIZE
) -> GanttData:
    """The Gantt rows of one page: subtasks grouped by their owner's department, then by start and deadline."""
    tasks = list(await Subtask.filter(collaboration_id=collab.id).order_by("id"))
    names, department_of = await _owners(tasks)
    passed = await _passed_on([t.id for t in tasks], tz)
    bars = []
    for task in tasks:
        start = task.start_date or _local(task.created_at, tz) or task.deadline
        bars.append(
            Bar(
                code=task.code,
                title=task.title,
                owner=names.get(task.owner_id, "—"),
                department=department_of.get(task.owner_id, "—"),
                start=min(start, task.deadline),
                end=task.deadline,
                progress=100 if task.stage == "done" else max(0, min(100, task.progress)),
                colour=status_colour(task, today, calendar, due_soon),
                stage=task.stage,
                depends_on=list(task.depends_on or []),
                milestone=passed.get(task.id) if task.stage == "done" else None,
            )
        )
    bars.sort(key=lambda b: (b.department, b.start, b.end, b.code))
    pages = max(1, math.ceil(len(bars) / page_size))
    page = max(1, min(page, pages))
    shown = bars[(page - 1) * page_size : page * page_size]
    first = min([b.start for b in shown] + [today, collab.start_date or today])
    last = max([b.end for b in shown] + [today, collab.deadline if not shown else today])
    first, last = first - timedelta(days=1), last + timedelta(days=1)
    return GanttData(
        code=collab.code, title=collab.title, today=today, bars=shown, non_working=_span(calendar, first, last),
        first_day=first, last_day=last, page=page, pages=pages, total=len(bars),
    )


async def burndown_data(collab: Collaboration, *, calendar: WorkCalendar, today: date, tz: str) -> BurndownData:
    """Per working day: subtasks still open, and the open work by the progress each one last reported that day."""
    tasks = list(await Subtask.filter(collaboration_id=collab.id).order_by("id"))
    created = {t.id: _local(t.created_at, tz) or today for t in tasks}
    passed = await _passed_on([t.id for t in tasks], tz)
    history: dict[int, list[tuple[date, int]]] = {t.id: [] for t in tasks}
    for update in await ProgressUpdate.filter(subtask_id__in=list(history)).order_by("created_at", "id"):
        history[update.subtask_id].append((_local(update.created_at, tz) or today, update.progress))
    start = min([collab.start_date or _local(collab.created_at, tz) or today, *created.values()])
    end = max(collab.deadline, today)
    days = list(calendar.working_days(start, end)) or [calendar.next_working_day(start, include=True)]

    def done_by(task: Subtask, day: date) -> bool:
        when = passed.get(task.id)
        if when is not None:
            return when <= day
        return task.stage == "done" and day >= today

    def progress_on(task: Subtask, day: date) -> int:
        value = 0
        for when, progress in history[task.id]:
            if when > day:
                break
            value = progress
        return value

    remaining_tasks: list[int | None] = []
    remaining_work: list[float | None] = []
    for day in days:
        if day > today:
            remaining_tasks.append(None)
            remaining_work.append(None)
            continue
        existing = [t for t in tasks if created[t.id] <= day]
        open_tasks = [t for t in existing if not done_by(t, day)]
        remaining_tasks.append(len(open_tasks))
        remaining_work.append(round(sum((100 - min(100, progress_on(t, day))) / 100 for t in open_tasks), 2))
    total = float(len(tasks))
    deadline_index = max((i for i, d in enumerate(days) if d <= collab.deadline), default=len(days) - 1)
    ideal = [round(total * max(0.0, 1 - i / deadline_index), 3) if deadline_index else 0.0 for i in range(len(days))]
    changes = [
        (d, c.code)
        for c in await ChangeRequest.filter(collaboration_id=collab.id, state="applied").order_by("decided_at")
        if (d := _local(c.decided_at, tz)) is not None
    ]
    return BurndownData(
        code=collab.code, title=collab.title, today=today, days=days, remaining_tasks=remaining_tasks,
        remaining_work=remaining_work, ideal=ideal, deadline=collab.deadline, changes=changes,
    )
