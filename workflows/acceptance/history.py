"""The acceptance history of a subtask, round by round with the delivery standard's items — one query for
every reader (``查看``, the exports, the dashboard)."""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict

from storage.models import AcceptanceRequest, Person


class ChecklistItem(TypedDict):
    number: int
    item: str  # the item's text, exactly as typed in the delivery standard
    self_check: bool | None  # the owner ticked it (None: not stated)
    result: str | None  # "passed" / "failed" (None: not judged yet, or the round was withdrawn)


class AcceptanceRound(TypedDict):
    attempt: int
    state: str  # pending / passed / failed / withdrawn
    submitted_by: str
    submitted_at: datetime
    reviewer: str | None
    decided_at: datetime | None
    deliverables: list[dict[str, str]]
    statement: str
    self_check: str
    comments: str
    items: list[ChecklistItem]
    failed_items: list[str]


async def acceptance_history(subtask_id: int) -> list[AcceptanceRound]:
    """Every submission of the subtask, oldest first, each with its items, the owner's ticks and the verdict."""
    rows = await AcceptanceRequest.filter(subtask_id=subtask_id).order_by("attempt")
    ids = {r.submitted_by_id for r in rows} | {r.reviewer_id for r in rows if r.reviewer_id}
    names = {p.id: p.name for p in await Person.filter(id__in=list(ids))}
    history: list[AcceptanceRound] = []
    for row in rows:
        items: list[ChecklistItem] = [
            {"number": number, "item": str(entry.get("item", "")), "self_check": entry.get("self_check"), "result": entry.get("result")}
            for number, entry in enumerate(row.checklist or [], start=1)
        ]
        history.append(
            {
                "attempt": row.attempt,
                "state": row.state,
                "submitted_by": names.get(row.submitted_by_id, "?"),
                "submitted_at": row.submitted_at,
                "reviewer": names.get(row.reviewer_id) if row.reviewer_id else None,
                "decided_at": row.decided_at,
                "deliverables": list(row.deliverables or []),
                "statement": row.statement,
                "self_check": row.self_check,
                "comments": row.comments,
                "items": items,
                "failed_items": [i["item"] for i in items if i["result"] == "failed"],
            }
        )
    return history

