"""The archive search (项目库): one query for the chat command ``search`` and the dashboard's archive page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import cast
from zoneinfo import ZoneInfo

from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from storage import sql
from storage.models import AcceptanceRequest, Collaboration, ProgressUpdate, RequestedDepartment, Subtask
from storage.models_workflows import (
    ChangeRequest,
    DelayNotice,
    Improvement,
    Issue,
    Meeting,
    Minutes,
    Retrospective,
    RiskReport,
)


async def text_matches(text: str) -> set[int]:
    """Collaborations whose own fields or documents contain ``text``."""
    ids: set[int] = set()
    collab_fields = ("code", "title", "goal", "background", "scope_in", "deliverables", "remarks")
    for name in collab_fields:
        ids.update(cast(list[int], await Collaboration.filter(**{f"{name}__icontains": text}).values_list("id", flat=True)))
    for model, names, path in (
        (Subtask, ("title", "delivery_standard", "code"), "collaboration_id"),
        (ProgressUpdate, ("done", "problems", "support"), "subtask__collaboration_id"),
        (AcceptanceRequest, ("statement", "comments"), "subtask__collaboration_id"),
        (RiskReport, ("description", "impact", "solution", "response"), "collaboration_id"),
        (Issue, ("description", "resolution"), "collaboration_id"),
        (ChangeRequest, ("reason", "impact", "rejection"), "collaboration_id"),
        (DelayNotice, ("reason",), "collaboration_id"),
        (Meeting, ("topic", "agenda"), "collaboration_id"),
        (Minutes, ("conclusions", "resolutions", "followups"), "meeting__collaboration_id"),
        (Improvement, ("problem", "root_cause", "measure"), "collaboration_id"),
        (Retrospective, ("went_well", "to_improve", "measures"), "collaboration_id"),
    ):
        for name in names:
            ids.update(cast(list[int], await model.filter(**{f"{name}__icontains": text}).values_list(path, flat=True)))
    return ids


async def department_collaborations(department_id: int) -> set[int]:
    """Collaborations the department started or was asked to join (not withdrawn)."""
    asked = await RequestedDepartment.filter(department_id=department_id).exclude(state="withdrawn").values_list("collaboration_id", flat=True)
    started = await Collaboration.filter(initiator__department_id=department_id).values_list("id", flat=True)
    return {*cast(list[int], asked), *cast(list[int], started)}


async def person_collaborations(person_id: int) -> set[int]:
    """Collaborations the person started, owns a subtask of, or heads a department asked."""
    owned = await Subtask.filter(owner_id=person_id).values_list("collaboration_id", flat=True)
    headed = await RequestedDepartment.filter(department__head_id=person_id).values_list("collaboration_id", flat=True)
    led = await Collaboration.filter(initiator_id=person_id).values_list("id", flat=True)
    return {*cast(list[int], owned), *cast(list[int], headed), *cast(list[int], led)}


def finished_on(collab: Collaboration, tz: str) -> date:
    """The day a collaboration finished, in the organisation's timezone (else its deadline)."""
    return collab.completed_at.astimezone(ZoneInfo(tz)).date() if collab.completed_at else collab.deadline


@dataclass(frozen=True, slots=True)
class ArchiveSearch:
    """What the archive is asked; every filter optional. ``within`` limits the result to those ids (what the reader
    may see); a date range keeps the collaborations whose span (raised → completed or deadline) overlaps it."""

    text: str = ""
    department_id: int | None = None
    person_id: int | None = None
    states: tuple[str, ...] = ()
    start: date | None = None
    end: date | None = None
    within: set[int] | None = None
    tz: str = "Asia/Shanghai"

    async def _filtered(self) -> QuerySet[Collaboration]:
        """Every filter, newest first; the dates' as a wider range the database reads by the columns (a
        finished day is in the organisation's timezone: ``_overlaps`` decides it exactly)."""
        query = Collaboration.all()
        if self.end is not None:
            query = query.filter(raised_on__lte=self.end)
        if self.start is not None:
            # completed on ``start`` or later in any timezone: at the earliest the day before it began in UTC
            earliest = datetime.combine(self.start - timedelta(days=1), time.min, tzinfo=UTC)
            query = query.filter(Q(completed_at__isnull=True, deadline__gte=self.start) | Q(completed_at__gte=earliest))
        if self.within is not None:
            query = query.filter(id__in=sql.among(self.within))
        if self.text:
            query = query.filter(id__in=sql.among(await text_matches(self.text)))
        if self.department_id is not None:
            query = query.filter(id__in=sql.among(await department_collaborations(self.department_id)))
        if self.person_id is not None:
            query = query.filter(id__in=sql.among(await person_collaborations(self.person_id)))
        if self.states:
            query = query.filter(state__in=list(self.states))
        return query.order_by("-raised_on", "-id")

    def _overlaps(self, collab: Collaboration) -> bool:
        finished = finished_on(collab, self.tz)
        return (self.start is None or finished >= self.start) and (self.end is None or collab.raised_on <= self.end)


async def find_collaborations(search: ArchiveSearch) -> list[Collaboration]:
    """Every collaboration ``search`` finds, newest first, each with its initiator."""
    rows = list(await (await search._filtered()).select_related("initiator"))
    return [c for c in rows if search._overlaps(c)] if search.start or search.end else rows


async def find_page(search: ArchiveSearch, *, offset: int, limit: int) -> tuple[list[Collaboration], int]:
    """``limit`` of ``find_collaborations``' rows from ``offset`` on, and how many it finds in all. Without a date
    range the database counts and pages (a year's archive is not read to show its newest hundred); with one, the
    rows the database narrowed it to are filtered exactly, then paged."""
    if search.start or search.end:
        rows = await find_collaborations(search)
        return rows[offset : offset + limit], len(rows)
    query = await search._filtered()
    total = await query.count()
    return list(await query.offset(offset).limit(limit).select_related("initiator")), total
