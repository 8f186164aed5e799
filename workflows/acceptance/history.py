"""The acceptance history of a subtask, round by round with the delivery standard's items — one query for
every reader (``查看``, the exports, the dashboard)."""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict

from bot.i18n import Msg, _, join
from storage.models import AcceptanceRequest, Person

from ..common.joined import joined
from .checklist import RESULT_MARK, SELF_CHECK_MARK
from .states import AcceptanceFlow


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
    return (await acceptance_histories([subtask_id]))[subtask_id]


async def acceptance_histories(subtask_ids: list[int]) -> dict[int, list[AcceptanceRound]]:
    """``acceptance_history`` of each of the subtasks, in one query for all of them (a board lists many)."""
    histories: dict[int, list[AcceptanceRound]] = {subtask_id: [] for subtask_id in subtask_ids}
    if not subtask_ids:
        return histories
    people = (("submitted_by", Person, "submitted_by", False), ("reviewer", Person, "reviewer", True))
    rows = await joined(AcceptanceRequest, people, {"subtask_id__in": subtask_ids}, order=("subtask_id", "attempt"))
    for row in rows:
        submitted_by: Person = row.submitted_by  # loaded by the join
        reviewer: Person | None = row.reviewer
        history = histories[row.subtask_id]
        items: list[ChecklistItem] = [
            {"number": number, "item": str(entry.get("item", "")), "self_check": entry.get("self_check"), "result": entry.get("result")}
            for number, entry in enumerate(row.checklist or [], start=1)
        ]
        history.append(
            {
                "attempt": row.attempt,
                "state": row.state,
                "submitted_by": submitted_by.name if submitted_by else "?",
                "submitted_at": row.submitted_at,
                "reviewer": reviewer.name if reviewer else None,
                "decided_at": row.decided_at,
                "deliverables": list(row.deliverables or []),
                "statement": row.statement,
                "self_check": row.self_check,
                "comments": row.comments,
                "items": items,
                "failed_items": [i["item"] for i in items if i["result"] == "failed"],
            }
        )
    return histories



def history_lines(history: list[AcceptanceRound]) -> list[Msg]:
    """One line per round for ``查看``: the verdict and each item with the owner's tick and the reviewer's mark."""
    lines: list[Msg] = []
    for round_ in history:
        marks = [
            _("{item} {self_check}{result}", item=i["item"], self_check=SELF_CHECK_MARK.get(i["self_check"], "—"), result=RESULT_MARK.get(i["result"], "⏳"))
            for i in round_["items"]
        ]
        lines.append(
            _(
                "  acceptance attempt {attempt}: {state} — {items}",
                attempt=round_["attempt"],
                state=AcceptanceFlow.label(round_["state"]) if round_["state"] in AcceptanceFlow.labels else _("withdrawn"),
                items=join(marks, ", ") if marks else "—",
            )
        )
    return lines
