"""The read-side queries of one collaboration, shared by the chat views and the dashboard."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from storage import directory
from storage.models import (
    AcceptanceRequest,
    AuditEntry,
    Collaboration,
    Department,
    Person,
    RequestedDepartment,
    Subtask,
)
from storage.models_workflows import Meeting, Minutes
from storage.subjects import about

from ..common.joined import joined


async def subtasks_with_owners(collaboration_id: int) -> list[Subtask]:
    """The collaboration's subtasks in creation order, each with its ``owner`` loaded."""
    return await joined(Subtask, (("owner", Person, "owner", False),), {"collaboration_id": collaboration_id}, order=("id",))


async def audit_trail(code: str, *, limit: int | None = None) -> list[AuditEntry]:
    """Every audit entry about the collaboration and its documents (subjects ``CODE`` and ``CODE-…``), oldest
    first, each with its ``actor`` loaded; with ``limit``, the newest ``limit`` of them."""
    query = AuditEntry.filter(about(code)).select_related("actor")
    if limit is None:
        return list(await query.order_by("at", "id"))
    newest = list(await query.order_by("-at", "-id").limit(limit))
    return newest[::-1]


async def department_answers(collaboration_id: int) -> list[RequestedDepartment]:
    """The departments asked (current rounds first by id), each with ``department`` loaded."""
    return list(await RequestedDepartment.filter(collaboration_id=collaboration_id).order_by("id").select_related("department"))


@dataclass(frozen=True, slots=True)
class ReviewRow:
    """One acceptance request as the acceptance history lists it."""

    code: str
    title: str
    attempt: int
    submitted_at: datetime
    submitted_by_id: int
    reviewer_id: int | None
    state: str
    decided_at: datetime | None
    comments: str


async def acceptance_rows(collaboration_id: int) -> tuple[list[ReviewRow], dict[int, Person]]:
    """Every acceptance request of the collaboration's subtasks in submission order, and the people named in them."""
    rows = [
        ReviewRow(*row)
        for row in await AcceptanceRequest.filter(subtask__collaboration_id=collaboration_id)
        .order_by("submitted_at", "id")
        .values_list("subtask__code", "subtask__title", "attempt", "submitted_at", "submitted_by_id", "reviewer_id", "state", "decided_at", "comments")
    ]
    people = await people_by_id({r.submitted_by_id for r in rows} | {r.reviewer_id for r in rows if r.reviewer_id is not None})
    return rows, people


@dataclass(slots=True)
class MeetingMinutes:
    meeting: Meeting
    minutes: Minutes | None  # the latest version that is not superseded


async def minutes_of(collaboration_id: int) -> list[MeetingMinutes]:
    """The collaboration's meetings, newest first, each with its current minutes (if any)."""
    meetings = list(await Meeting.filter(collaboration_id=collaboration_id).order_by("-starts_at", "-id"))
    current: dict[int, Minutes] = {}
    for row in await Minutes.filter(meeting_id__in=[m.id for m in meetings]).exclude(state="superseded").order_by("number"):
        current[row.meeting_id] = row
    return [MeetingMinutes(m, current.get(m.id)) for m in meetings]


async def people_by_id(ids: set[int]) -> dict[int, Person]:
    return await directory.people(ids) if ids else {}


async def departments_by_id() -> dict[int, Department]:
    return {d.id: d for d in await directory.departments()}


async def collaboration_by_id(collaboration_id: int) -> Collaboration | None:
    return await Collaboration.get_or_none(id=collaboration_id).select_related("initiator")


BOARD_FIELDS = ("id", "code", "title", "owner_id", "stage", "progress", "deadline", "priority")


@dataclass(frozen=True, slots=True)
class BoardTask:
    """A subtask as the board shows it (a plain row: a page of 500 of them builds no ORM objects)."""

    id: int
    code: str
    title: str
    owner_id: int
    stage: str
    progress: int
    deadline: date
    priority: str


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    at: datetime
    actor_id: int | None
    action: str
    subject: str


async def board_subtasks(collaboration_id: int) -> tuple[list[BoardTask], dict[int, Person]]:
    """The board's columns of a collaboration's subtasks, in creation order, and their owners by id."""
    rows = await Subtask.filter(collaboration_id=collaboration_id).order_by("id").values_list(*BOARD_FIELDS)
    tasks = [BoardTask(*row) for row in rows]
    return tasks, await people_by_id({t.owner_id for t in tasks})


async def timeline_entries(code: str, *, limit: int) -> tuple[list[TimelineEntry], dict[int, Person]]:
    """The newest ``limit`` audit entries of the collaboration, newest first (without their detail), and the
    people who acted by id."""
    rows = await AuditEntry.filter(about(code)).order_by("-at", "-id").limit(limit).values_list("at", "actor_id", "action", "subject")
    entries = [TimelineEntry(*row) for row in rows]
    return entries, await people_by_id({e.actor_id for e in entries if e.actor_id is not None})
