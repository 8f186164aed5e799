"""What each dashboard page shows, read through the workflows' own query functions and localized for the
reader. Every function receives the ``Viewer`` and keeps to what it may see."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, cast
from zoneinfo import ZoneInfo

from markupsafe import escape

from bot.calendar import WorkCalendar
from bot.i18n import text
from storage import db, sql
from storage.models import Collaboration, Department, Person, Subtask
from workflows.acceptance.handlers import AcceptanceFlow
from workflows.common.format import PRIORITIES, day, when
from workflows.meetings.states import MinutesFlow
from workflows.mytasks.handlers import DECISION_LABELS
from workflows.mytasks.items import waiting_for
from workflows.reports.chartdata import GANTT_PAGE_SIZE
from workflows.requests.states import CollaborationFlow, DepartmentAnswerFlow
from workflows.retro.archive import ArchiveSearch, department_collaborations, find_page, person_collaborations
from workflows.retro.health import HEADERS, health_matrix, table_rows
from workflows.tasks.cards import status_colour
from workflows.tasks.states import SubtaskFlow
from workflows.views.handlers import ACTION_LABELS
from workflows.views.queries import (
    BoardTask,
    acceptance_rows,
    board_subtasks,
    department_answers,
    minutes_of,
    people_by_id,
    timeline_entries,
)

from .access import Viewer
from .labels import LABELS

DOT = {"red": "🔴", "yellow": "🟡", "green": "🟢", "grey": "⚪"}
TIMELINE_PAGE = 100  # newest entries on the page; "all" shows up to TIMELINE_ALL
ARCHIVE_PAGE = 100  # collaborations a page of the archive's results
LIST_PAGE = 100  # collaborations a department's or a person's page lists, the newest
TIMELINE_ALL = 5000


@dataclass(slots=True)
class Env:
    """What page builders need besides the viewer."""

    calendar: WorkCalendar
    timezone: str
    due_soon_working_days: int
    colours: dict[tuple[bool, date, date], Any] = field(default_factory=dict)

    def today(self, viewer: Viewer) -> date:
        return viewer.now.astimezone(ZoneInfo(self.timezone)).date()

    def colour(self, task: Subtask | BoardTask, today: date) -> Any:
        """The board's status rule (``status_colour`` reads only stage and deadline), once per (done, deadline)."""
        key = (task.stage == "done", task.deadline, today)
        if key not in self.colours:
            self.colours[key] = status_colour(cast(Subtask, task), today, self.calendar, self.due_soon_working_days)
        return self.colours[key]


def _t(value: Any, viewer: Viewer) -> str:
    return str(text(value, viewer.locale))


_WORDS: dict[tuple[str, str, str], str] = {}


def _word(kind: str, key: str, viewer: Viewer) -> str:
    """A stage or priority label in the reader's language, looked up once per process and locale."""
    cache_key = (kind, key, viewer.locale)
    if cache_key not in _WORDS:
        label = SubtaskFlow.label(key) if kind == "stage" else PRIORITIES.get(key, key)
        _WORDS[cache_key] = _t(label, viewer)
    return _WORDS[cache_key]


def person_ref(viewer: Viewer, person: Person | None) -> dict[str, Any]:
    if person is None:
        return {"name": _t(LABELS["the_bot"], viewer), "url": None}
    url = viewer.link(f"person:{person.id}")
    return {"name": escape(person.name), "url": escape(url) if url else None}  # escaped once for every row it appears in


def collab_ref(viewer: Viewer, collab: Collaboration) -> dict[str, Any]:
    return {"code": collab.code, "title": collab.title, "url": viewer.link(f"collab:{collab.id}"), "state": _t(CollaborationFlow.label(collab.state), viewer), "state_key": collab.state}


def subtask_row(
    viewer: Viewer, env: Env, task: Subtask | BoardTask, owner: Person | None, departments: dict[int, Department],
    *, today: date | None = None, refs: dict[int, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    colour = env.colour(task, today or env.today(viewer))
    dept = departments.get(owner.department_id or 0) if owner else None
    return {
        "colour": colour,
        "dot": DOT[colour],
        "code": task.code,
        "title": task.title,
        "owner": refs[owner.id] if refs is not None and owner is not None and owner.id in refs else person_ref(viewer, owner),
        "department": dept.name if dept else "—",
        "stage": _word("stage", task.stage, viewer),
        "progress": task.progress,
        "deadline": day(task.deadline),
        "priority": _word("priority", task.priority, viewer),
    }


async def board(viewer: Viewer, env: Env, collab: Collaboration, departments: dict[int, Department], *, whole_timeline: bool = False) -> dict[str, Any]:
    """The collaboration page: header, board, charts, health, timeline, minutes and acceptance history."""
    tasks, owners = await board_subtasks(collab.id)
    today, refs = env.today(viewer), {pid: person_ref(viewer, p) for pid, p in owners.items()}
    rows = [subtask_row(viewer, env, t, owners.get(t.owner_id), departments, today=today, refs=refs) for t in tasks]
    counts = {c: sum(1 for r in rows if r["colour"] == c) for c in DOT}
    answers = [
        {"name": a.department.name, "state": _t(DepartmentAnswerFlow.label(a.state), viewer), "state_key": a.state, "url": viewer.link(f"dept:{a.department.code}")}
        for a in await department_answers(collab.id)
    ]
    entries, actors = await timeline_entries(collab.code, limit=(TIMELINE_ALL if whole_timeline else TIMELINE_PAGE) + 1)
    more = None
    if len(entries) > (TIMELINE_ALL if whole_timeline else TIMELINE_PAGE):
        entries = entries[:-1]
        more = None if whole_timeline else viewer.link(f"collab:{collab.id}", timeline="all")
    labels = {action: _t(ACTION_LABELS.get(action, LABELS["recorded"]), viewer) for action in {e.action for e in entries}}
    actor_names, bot_name = {pid: p.name for pid, p in actors.items()}, _t(LABELS["the_bot"], viewer)
    timeline = [
        {"when": when(e.at, env.timezone), "who": actor_names.get(e.actor_id or 0, bot_name), "what": labels[e.action], "subject": e.subject}
        for e in entries
    ]
    meetings = []
    for item in await minutes_of(collab.id):
        minutes = item.minutes
        attendee_ids = {int(p) for p in (minutes.attendees if minutes else item.meeting.attendees) or []}
        names = [p.name for p in (await people_by_id(attendee_ids)).values()]
        meetings.append(
            {
                "code": item.meeting.code,
                "topic": item.meeting.topic,
                "when": when(item.meeting.starts_at, env.timezone),
                "attendees": "、".join(names) if viewer.locale == "zh_CN" else ", ".join(names),
                "minutes": None if minutes is None else {
                    "state": _t(MinutesFlow.label(minutes.state), viewer),
                    "conclusions": minutes.conclusions,
                    "resolutions": minutes.resolutions,
                    "actions": [str(a.get("content", "")) for a in minutes.actions or []],
                },
            }
        )
    review_rows, reviewers = await acceptance_rows(collab.id)
    reviews = [
        {
            "code": r.code,
            "title": r.title,
            "attempt": r.attempt,
            "submitted": when(r.submitted_at, env.timezone),
            "submitted_by": person_ref(viewer, reviewers.get(r.submitted_by_id)),
            "reviewer": person_ref(viewer, reviewers[r.reviewer_id]) if r.reviewer_id in reviewers else {"name": "—", "url": None},
            "state": _t(AcceptanceFlow.label(r.state), viewer),
            "state_key": r.state,
            "decided": when(r.decided_at, env.timezone),
            "comments": r.comments,
        }
        for r in review_rows
    ]
    pairs = await health_matrix([collab.id])
    gantt_pages = max(1, -(-len(tasks) // GANTT_PAGE_SIZE))
    return {
        "collab": collab_ref(viewer, collab),
        "goal": collab.goal,
        "deadline": day(collab.deadline),
        "priority": _t(PRIORITIES.get(collab.priority, collab.priority), viewer),
        "initiator": person_ref(viewer, await Person.get_or_none(id=collab.initiator_id)),
        "answers": answers,
        "rows": rows,
        "counts": counts,
        "average": round(sum(t.progress for t in tasks) / len(tasks)) if tasks else 0,
        "timeline": timeline,
        "timeline_more": (more + "#timeline") if more else None,
        "meetings": meetings,
        "reviews": reviews,
        "gantt": [viewer.link(f"collab:{collab.id}/gantt.png", page=p) for p in range(1, gantt_pages + 1)],
        "burndown": viewer.link(f"collab:{collab.id}/burndown.png"),
        "health": health_table(viewer, pairs),
        "heatmap": viewer.link(f"collab:{collab.id}/health.png") if pairs else None,
    }


def health_table(viewer: Viewer, pairs: list[Any]) -> dict[str, Any]:
    return {"headers": [_t(h, viewer) for h in HEADERS], "rows": table_rows(pairs)}


async def archive(viewer: Viewer, search: ArchiveSearch, page: int = 1) -> dict[str, Any]:
    """One page of the archive's results (``ARCHIVE_PAGE`` a page, newest first), how many there are in all, and
    which page this is (a page past the last shows the last)."""
    rows, total = await find_page(search, offset=(page - 1) * ARCHIVE_PAGE, limit=ARCHIVE_PAGE)
    pages = max(1, -(-total // ARCHIVE_PAGE))
    if page > pages:  # past the last: the last
        page = pages
        rows, total = await find_page(search, offset=(page - 1) * ARCHIVE_PAGE, limit=ARCHIVE_PAGE)
    first = (page - 1) * ARCHIVE_PAGE
    return {
        "results": [
            {**collab_ref(viewer, c), "initiator": person_ref(viewer, c.initiator), "raised": day(c.raised_on), "deadline": day(c.deadline)}
            for c in rows
        ],
        "total": total, "page": page, "pages": pages, "first": first + 1 if rows else 0, "last": first + len(rows),
    }


async def _newest(ids: list[int]) -> list[Collaboration]:
    """The newest ``LIST_PAGE`` of these collaborations: a department's or a person's page lists those, and
    links to the archive for the rest."""
    return list(await Collaboration.filter(id__in=sql.among(ids)).order_by("-raised_on", "-id").limit(LIST_PAGE)) if ids else []


async def department_page(viewer: Viewer, env: Env, dept: Department, departments: dict[int, Department]) -> dict[str, Any]:
    ids = [i for i in await department_collaborations(dept.id) if viewer.sees(i)]
    collabs = await _newest(ids)
    members = list(await Person.filter(department_id=dept.id).order_by("name"))
    open_ids = await db.id_list(Collaboration.filter(id__in=sql.among(ids), state__in=("pending", "active"))) if ids else []
    tasks = list(await Subtask.filter(collaboration_id__in=sql.among(open_ids), owner_id__in=[m.id for m in members]).exclude(stage="done").order_by("deadline", "code").select_related("owner")) if open_ids and members else []
    head = await Person.get_or_none(id=dept.head_id) if dept.head_id else None
    return {
        "name": dept.name,
        "head": person_ref(viewer, head) if head else None,
        "members": [person_ref(viewer, m) for m in members],
        "collabs": [collab_ref(viewer, c) for c in collabs],
        "collabs_total": len(ids),
        "more": viewer.link("archive", dept=dept.code) if len(ids) > LIST_PAGE else None,
        "rows": [subtask_row(viewer, env, t, t.owner, departments) for t in tasks],
    }


async def person_page(viewer: Viewer, env: Env, person: Person, departments: dict[int, Department]) -> dict[str, Any]:
    waiting = await waiting_for(person, today=env.today(viewer), calendar=env.calendar, due_soon_working_days=env.due_soon_working_days)
    ids = [i for i in await person_collaborations(person.id) if viewer.sees(i)]
    collabs = await _newest(ids)
    dept = departments.get(person.department_id or 0)
    return {
        "name": person.name,
        "department": {"name": dept.name, "url": viewer.link(f"dept:{dept.code}")} if dept else None,
        "subtasks": [subtask_row(viewer, env, s.task, person, departments) | {"collab": collab_ref(viewer, s.collaboration)} for s in waiting.subtasks if viewer.sees(s.collaboration.id)],
        "decisions": [{"subject": d.subject, "collab": collab_ref(viewer, d.collaboration), "what": _t(DECISION_LABELS[d.kind], viewer)} for d in waiting.decisions if viewer.sees(d.collaboration.id)],
        "reviews": [{"code": r.task.code, "title": r.task.title, "collab": collab_ref(viewer, r.collaboration), "submitted": when(r.request.submitted_at, env.timezone)} for r in waiting.reviews if viewer.sees(r.collaboration.id)],
        "risks": [{"code": r.risk.code, "description": r.risk.description, "collab": collab_ref(viewer, r.collaboration), "due": when(r.risk.due_at, env.timezone)} for r in waiting.risks if viewer.sees(r.collaboration.id)],
        "collabs": [collab_ref(viewer, c) for c in collabs],
        "collabs_total": len(ids),
        "more": viewer.link("archive", person=str(person.id)) if len(ids) > LIST_PAGE else None,
    }
