"""What is waiting for one person, gathered from the records every workflow keeps (one query set, shared by
the chat card, the morning digest and the dashboard's person page)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from tortoise.expressions import Q

from bot.calendar import WorkCalendar
from bot.types import Color
from storage.models import AcceptanceRequest, Collaboration, Confirmation, Person, Subtask
from storage.models_workflows import DelayNotice, RiskReport

from ..tasks.cards import status_colour

OPEN = ("pending", "active")
# Confirmation purposes that ask a person to decide, by their prefix.
DECISION_KINDS = {"request": "request", "change": "change", "minutes": "minutes"}


@dataclass(slots=True)
class OwnedSubtask:
    task: Subtask
    collaboration: Collaboration
    colour: Color


@dataclass(slots=True)
class Decision:
    """A card waiting for the person's decision: ``kind`` is request / change / minutes / delay."""

    kind: str
    subject: str
    collaboration: Collaboration
    detail: str = ""


@dataclass(slots=True)
class Review:
    request: AcceptanceRequest
    task: Subtask
    collaboration: Collaboration


@dataclass(slots=True)
class RiskToAnswer:
    risk: RiskReport
    collaboration: Collaboration


@dataclass(slots=True)
class Waiting:
    """Everything waiting for one person, each list in the order it is due."""

    subtasks: list[OwnedSubtask] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    reviews: list[Review] = field(default_factory=list)
    risks: list[RiskToAnswer] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.subtasks) + len(self.decisions) + len(self.reviews) + len(self.risks)


def collaboration_code(subject: str) -> str:
    """``XZB2026112301-C01`` → ``XZB2026112301`` (every document code starts with its collaboration's)."""
    return subject.split("-", 1)[0]


async def waiting_for(person: Person, *, today: date, calendar: WorkCalendar, due_soon_working_days: int = 2) -> Waiting:
    """Subtasks the person owns (not done), decisions and reviews they owe, risks they must answer —
    only in open collaborations."""
    waiting = Waiting()
    open_collabs: dict[int, Collaboration] = {c.id: c for c in await Collaboration.filter(state__in=OPEN)}
    by_code = {c.code: c for c in open_collabs.values()}
    tasks = await Subtask.filter(owner_id=person.id, collaboration_id__in=list(open_collabs)).exclude(stage="done").order_by("deadline", "code")
    waiting.subtasks = [OwnedSubtask(t, open_collabs[t.collaboration_id], status_colour(t, today, calendar, due_soon_working_days)) for t in tasks]

    confirmations = await Confirmation.filter(person_id=person.id, state="pending").order_by("created_at", "id")
    reviewed_subjects: set[str] = set()
    for row in confirmations:
        collab = by_code.get(collaboration_code(row.subject))
        if collab is None:
            continue
        kind = row.purpose.split(":", 1)[0]
        if kind == "acceptance":
            reviewed_subjects.add(row.subject)
        elif kind in DECISION_KINDS:
            waiting.decisions.append(Decision(DECISION_KINDS[kind], row.subject, collab, row.purpose))
    initiated = [c.id for c in open_collabs.values() if c.initiator_id == person.id]
    for notice in await DelayNotice.filter(collaboration_id__in=initiated, state="pending").order_by("created_at"):
        waiting.decisions.append(Decision("delay", notice.code, open_collabs[notice.collaboration_id], notice.new_deadline.isoformat()))

    reviews = await AcceptanceRequest.filter(
        Q(reviewer_id=person.id) | Q(subtask__code__in=sorted(reviewed_subjects)), state="pending", subtask__collaboration_id__in=list(open_collabs)
    ).order_by("submitted_at").select_related("subtask")
    seen: set[int] = set()
    for review in reviews:
        if review.id not in seen:
            seen.add(review.id)
            waiting.reviews.append(Review(review, review.subtask, open_collabs[review.subtask.collaboration_id]))

    risks = await RiskReport.filter(
        Q(collaboration_id__in=initiated, state__in=("open", "escalated")) | Q(escalated_to_id=person.id, state="escalated"),
        collaboration_id__in=list(open_collabs),
    ).order_by("due_at")
    waiting.risks = [RiskToAnswer(r, open_collabs[r.collaboration_id]) for r in risks]
    return waiting
