"""Records → the documents' tables, in their column order, in the reader's language.

表1 跨部门协作任务总表, 表2 任务执行进度跟踪表, 表3 跨部门会议纪要表 (when minutes exist), 协作沟通记录表
(every decision in the audit log) and 协作改进流程表. Headers and values are localized here; what a person
typed is kept as typed. ``exports`` turns these into CSV and XLSX.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from bot.calendar import WorkCalendar
from bot.i18n import Msg, _, localize
from storage import sql
from storage.models import (
    AuditEntry,
    Collaboration,
    Department,
    Person,
    ProgressUpdate,
    RequestedDepartment,
    Subtask,
)
from storage.models_workflows import Improvement, Meeting, Minutes
from storage.subjects import about_any, in_batches

from ..common.format import PRIORITIES
from ..improvements.handlers import CATEGORIES
from ..improvements.states import ImprovementFlow
from ..meetings.cards import FORMS
from ..requests.states import CollaborationFlow
from ..tasks.cards import status_colour
from ..tasks.states import SubtaskFlow
from ..views.handlers import ACTION_LABELS

TASKS_COLUMNS: list[Msg] = [
    _("Task ID"), _("Task name"), _("Initiating department"), _("Initiator"), _("Collaborating departments"),
    _("Task goal"), _("Key dates"), _("Deliverables"), _("Priority"), _("Remarks"), _("Status"),
]
PROGRESS_COLUMNS: list[Msg] = [
    _("Subtask ID"), _("Parent task"), _("Owner"), _("Current stage"), _("Current progress"), _("Work done"),
    _("Problems and obstacles"), _("Support needed"), _("Next step"), _("Updated at"),
]
MINUTES_COLUMNS: list[Msg] = [
    _("Meeting ID"), _("Meeting topic"), _("Meeting time"), _("Meeting form"), _("Departments and attendees"),
    _("Absentees and reasons"), _("Agenda"), _("Discussion and conclusions"), _("Resolutions"), _("Follow-ups"), _("Recorder"),
]
COMMUNICATION_COLUMNS: list[Msg] = [
    _("Item ID"), _("Subject"), _("Raised by (department/person)"), _("Participants (department/person)"),
    _("Description (goal, scope, time)"), _("Channel"), _("Key conclusion / assignment"), _("Responsible"),
    _("Deadline"), _("Current status"), _("Remarks"), _("Recorded at"), _("Platform account"),
]
IMPROVEMENT_COLUMNS: list[Msg] = [
    _("Project"), _("Departments involved"), _("Problem"), _("Responsible (department/person)"), _("Collaboration goal"),
    _("Improvement measure"), _("Target date"), _("Completion status"), _("Remarks"),
]
ROOT_CAUSE = _("root cause")
OWN_LABELS: dict[str, Msg] = {
    "report.gantt": _("posted the Gantt chart"),
    "report.burndown": _("posted the burndown chart"),
    "report.export": _("exported the tables"),
}
UNKNOWN_ACTION = _("recorded a decision")
CHANNELS: dict[str, Msg] = {
    "dingtalk": _("DingTalk"), "wecom": _("WeCom"), "slack": _("Slack"), "feishu": _("Feishu"), "simulator": _("simulator"),
    "scheduler": _("the bot's clock"), "timer": _("the bot's clock"), "cli": _("command line"),
}


@dataclass(slots=True)
class Table:
    """One sheet: a localized title and headers, rows of plain text, and board colours for some cells."""

    key: str  # tasks / progress / minutes / communication / improvements
    title: str
    headers: list[str]
    rows: list[list[str]] = field(default_factory=list)
    colours: dict[tuple[int, int], str] = field(default_factory=dict)  # (row, column) → red / yellow / green / grey


TITLES: dict[str, Msg] = {
    "tasks": _("Table 1 Cross-department collaboration tasks"),
    "progress": _("Table 2 Task progress tracking"),
    "minutes": _("Table 3 Cross-department meeting minutes"),
    "communication": _("Collaboration communication record"),
    "improvements": _("Collaboration improvement log"),
}
BREATHE_EVERY = 200  # rows built between two turns of the event loop
# collaborations read a statement at a time, the event loop let through between statements: tortoise builds a
# statement's rows into model instances in one go, on the loop, and SQLite answers without the loop turning at all
# (3,000 audit entries, 300 collaborations' worth, held it up for 150–350 ms; 500 for about 16 ms)
EXPORT_BATCH = 50
T = TypeVar("T")

COLUMNS = {"tasks": TASKS_COLUMNS, "progress": PROGRESS_COLUMNS, "minutes": MINUTES_COLUMNS, "communication": COMMUNICATION_COLUMNS, "improvements": IMPROVEMENT_COLUMNS}


class _Text:
    """Localizes and formats values for one reader."""

    def __init__(self, locale: str, tz: str):
        self.locale, self.zone = locale, ZoneInfo(tz)
        self.comma = "、" if locale.startswith("zh") else ", "
        self.colon = "：" if locale.startswith("zh") else ": "

    def __call__(self, value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, datetime):
            return value.astimezone(self.zone).strftime("%Y-%m-%d %H:%M")
        if isinstance(value, date):
            return value.isoformat()
        return str(localize(value, self.locale))

    def names(self, values: list[str]) -> str:
        return self.comma.join(v for v in values if v)


def _table(key: str, text: _Text) -> Table:
    return Table(key=key, title=text(TITLES[key]), headers=[text(h) for h in COLUMNS[key]])


async def _people(ids: set[int]) -> tuple[dict[int, Person], dict[int, str]]:
    people = {p.id: p for p in await Person.filter(id__in=sql.among(ids))}
    departments = {d.id: d.name for d in await Department.filter(id__in=list({p.department_id for p in people.values() if p.department_id}))}
    return people, departments


async def _asked(collabs: Sequence[Collaboration]) -> dict[int, list[str]]:
    """The names of the departments asked of each collaboration (withdrawn requests left out), in the order asked."""
    asked: dict[int, list[str]] = defaultdict(list)
    async for batch in breathing(in_batches([c.id for c in collabs], EXPORT_BATCH), every=1):
        for row in await RequestedDepartment.filter(collaboration_id__in=sql.among(batch)).exclude(state="withdrawn").order_by("id").select_related("department"):
            asked[row.collaboration_id].append(row.department.name)
    return asked


async def breathing(items: Iterable[T], every: int = BREATHE_EVERY) -> AsyncIterator[T]:
    """``items``, with the event loop let through every ``every`` of them: a year's export builds its rows for
    seconds, and the platforms' acknowledgements must not wait for it."""
    for index, item in enumerate(items, start=1):
        yield item
        if index % every == 0:
            await asyncio.sleep(0)


async def tasks_table(collabs: list[Collaboration], text: _Text) -> Table:
    table = _table("tasks", text)
    people, departments = await _people({c.initiator_id for c in collabs})
    asked = await _asked(collabs)
    async for c in breathing(collabs):
        initiator = people.get(c.initiator_id)
        dates = [(_("raised"), c.raised_on), (_("start"), c.start_date), (_("deadline"), c.deadline)]
        key_dates = ("；" if text.locale.startswith("zh") else "; ").join(f"{text(label)}{text.colon}{text(value)}" for label, value in dates if value)
        table.rows.append([
            c.code, c.title, departments.get(initiator.department_id or 0, "") if initiator else "", initiator.name if initiator else "",
            text.names(asked[c.id]), c.goal, key_dates, c.deliverables, text(PRIORITIES.get(c.priority, c.priority)), c.remarks,
            text(CollaborationFlow.label(c.state)),
        ])
    return table


async def progress_table(collabs: list[Collaboration], text: _Text, *, calendar: WorkCalendar, today: date, due_soon: int) -> Table:
    """One row per progress update; a subtask never updated has one row with its current stage."""
    table = _table("progress", text)
    titles = {c.id: c.title for c in collabs}
    async for batch in breathing(in_batches(sorted(titles), EXPORT_BATCH), every=1):  # in the order of the collaborations
        tasks = list(await Subtask.filter(collaboration_id__in=sql.among(batch)).order_by("collaboration_id", "id"))
        updates: dict[int, list[ProgressUpdate]] = defaultdict(list)
        for update in await ProgressUpdate.filter(subtask_id__in=sql.among(t.id for t in tasks)).order_by("created_at", "id"):
            updates[update.subtask_id].append(update)
        people, _departments = await _people({t.owner_id for t in tasks})
        async for task in breathing(tasks):
            owner = people[task.owner_id].name if task.owner_id in people else ""
            history = updates[task.id]
            rows = [
                [task.code, titles[task.collaboration_id], owner, text(SubtaskFlow.label(u.stage)), f"{u.progress}%", u.done, u.problems, u.support, u.next_step, text(u.created_at)]
                for u in history
            ] or [[task.code, titles[task.collaboration_id], owner, text(SubtaskFlow.label(task.stage)), f"{task.progress}%", "", "", "", "", text(task.updated_at)]]
            table.rows += rows
            colour = status_colour(task, today, calendar, due_soon)
            table.colours[(len(table.rows) - 1, 3)] = colour  # the subtask's latest row carries its board colour
    return table


async def minutes_table(collabs: list[Collaboration], text: _Text) -> Table:
    """The current minutes of every meeting that has them (a superseded version is left out)."""
    table = _table("minutes", text)
    meetings = {m.id: m for m in await Meeting.filter(collaboration_id__in=sql.among(c.id for c in collabs)).order_by("starts_at", "id")}
    latest: dict[int, Minutes] = {}
    for minutes in await Minutes.filter(meeting_id__in=sql.among(meetings)).exclude(state="superseded").order_by("number"):
        latest[minutes.meeting_id] = minutes
    wanted = {m.recorder_id for m in latest.values()}
    for minutes in latest.values():
        wanted.update(int(p) for p in minutes.attendees or [])
    people, departments = await _people(wanted)
    for meeting_id, meeting in meetings.items():
        if meeting_id not in latest:
            continue
        minutes = latest[meeting_id]
        by_department: dict[str, list[str]] = defaultdict(list)
        for pid in minutes.attendees or []:
            person = people.get(int(pid))
            if person:
                by_department[departments.get(person.department_id or 0, "")].append(person.name)
        attendees = ("；" if text.locale.startswith("zh") else "; ").join(
            f"{dept}{text.colon}{text.names(names)}" if dept else text.names(names) for dept, names in by_department.items()
        )
        absent = text.names([f"{a.get('name', '')}（{a['reason']}）" if a.get("reason") and text.locale.startswith("zh") else (f"{a.get('name', '')} ({a['reason']})" if a.get("reason") else str(a.get("name", ""))) for a in minutes.absentees or []])
        recorder = people.get(minutes.recorder_id)
        table.rows.append([
            meeting.code, meeting.topic, text(meeting.starts_at), text(FORMS.get(meeting.form, meeting.form)), attendees, absent,
            minutes.agenda or meeting.agenda, minutes.conclusions, minutes.resolutions, minutes.followups, recorder.name if recorder else "",
        ])
    return table


TYPED_KEYS = ("title", "topic", "reason", "comment", "description", "resolution", "problems", "sop")  # shown as typed
PERSON_KEYS = ("owner", "to", "handler", "person")  # a directory handle
DEPARTMENT_KEYS = ("department", "departments", "before", "after")  # department codes


def _dates(value: Any) -> str:
    return " → ".join(str(v) for v in value) if isinstance(value, list) else str(value)


def _detail(detail: dict[str, Any], text: _Text, names: dict[str, str], departments: dict[str, str]) -> str:
    """What the decision said, in words: typed text as typed, people and departments by name, states in the
    reader's language. Code words and internal structures are left out."""
    parts: list[str] = []
    for key, value in (detail or {}).items():
        if value in (None, "", [], {}):
            continue
        if key in TYPED_KEYS:
            parts.append(str(value))
        elif key in PERSON_KEYS and isinstance(value, str):
            parts.append(names.get(value, value))
        elif key in DEPARTMENT_KEYS:
            codes = value if isinstance(value, list) else [value]
            if all(isinstance(c, str) and c in departments for c in codes):
                parts.append(text.names([departments[c] for c in codes]))
        elif key == "progress" and isinstance(value, int):
            parts.append(f"{value}%")
        elif key in ("deadline", "time"):
            parts.append(_dates(value))
        elif key == "stage":
            parts.append(text(SubtaskFlow.label(str(value))))
        elif key == "level":
            parts.append(text(PRIORITIES.get(str(value), str(value))))
        elif key == "category":
            parts.append(text(CATEGORIES.get(str(value), str(value))))
        elif key == "status":
            parts.append(text(ImprovementFlow.label(str(value))))
    return ("；" if text.locale.startswith("zh") else "; ").join(parts)


async def communication_table(collabs: list[Collaboration], text: _Text) -> Table:
    """Every decision recorded for these collaborations and their subtasks, oldest first."""
    table = _table("communication", text)
    codes = [c.code for c in collabs]
    entries: list[AuditEntry] = []
    async for batch in breathing(in_batches(codes, EXPORT_BATCH), every=1):
        entries += await AuditEntry.filter(about_any(batch))
    entries.sort(key=lambda e: (e.at, e.id))
    people, departments = await _people({e.actor_id for e in entries if e.actor_id})
    handles = dict(await Person.all().values_list("handle", "name"))
    department_names = {d.code: d.name for d in await Department.all().only("code", "name")}
    async for entry in breathing(entries):
        actor = people.get(entry.actor_id or 0)
        raised = f"{departments.get(actor.department_id or 0, '')}/{actor.name}".lstrip("/") if actor else text(_("the bot"))
        label = ACTION_LABELS.get(entry.action) or OWN_LABELS.get(entry.action) or UNKNOWN_ACTION  # never the code word
        detail = entry.detail or {}
        table.rows.append([
            entry.subject, text(label), raised, "", "", text(CHANNELS.get(entry.platform, entry.platform)),
            _detail(detail, text, handles, department_names), actor.name if actor else "", _dates(detail["deadline"]) if detail.get("deadline") else "",
            "", "", text(entry.at), f"{entry.platform}:{entry.platform_user_id}" if entry.platform_user_id else "",
        ])
    return table


async def improvements_table(collabs: list[Collaboration], text: _Text) -> Table:
    table = _table("improvements", text)
    by_id = {c.id: c for c in collabs}
    items = list(await Improvement.filter(collaboration_id__in=sql.among(by_id)).order_by("collaboration_id", "id"))
    people, departments = await _people({i.owner_id for i in items})
    asked = await _asked([by_id[i] for i in sorted({item.collaboration_id for item in items})])
    async for item in breathing(items):
        collab = by_id[item.collaboration_id]
        owner = people.get(item.owner_id)
        responsible = f"{departments.get(owner.department_id or 0, '')}/{owner.name}".lstrip("/") if owner else ""
        remarks = f"{item.code}；{text(CATEGORIES.get(item.category, item.category))}" if text.locale.startswith("zh") else f"{item.code}; {text(CATEGORIES.get(item.category, item.category))}"
        if item.root_cause:
            remarks += ("；" if text.locale.startswith("zh") else "; ") + text(ROOT_CAUSE) + text.colon + item.root_cause
        table.rows.append([
            f"{collab.code} {collab.title}", text.names(asked[collab.id]), item.problem, responsible, collab.goal, item.measure,
            text(item.deadline), text(ImprovementFlow.label(item.status)), remarks,
        ])
    return table


async def build_tables(
    collabs: list[Collaboration], *, locale: str, tz: str, calendar: WorkCalendar, today: date, due_soon: int = 2
) -> list[Table]:
    """Every table for these collaborations; 表3 only when minutes exist, the improvement log only when it has rows."""
    text = _Text(locale, tz)
    tables = [
        await tasks_table(collabs, text),
        await progress_table(collabs, text, calendar=calendar, today=today, due_soon=due_soon),
        await minutes_table(collabs, text),
        await communication_table(collabs, text),
        await improvements_table(collabs, text),
    ]
    return [t for t in tables if t.rows or t.key in ("tasks", "progress", "communication")]
