"""The clocks of a change request: a reminder after one working day, escalation after two."""

from __future__ import annotations

from typing import Any, cast

from bot.i18n import _, join
from bot.router import Context, Router
from bot.types import Outcome, Text, ToPerson
from storage.models import Confirmation
from storage.models_workflows import ChangeRequest

from ..risks.kit import (
    names_of,
    superior_of,
)

router = Router()


async def _waiting(code: str) -> list[int]:
    return cast(list[int], await Confirmation.filter(subject=code, purpose="change", state="pending").order_by("id").values_list("person_id", flat=True))


@router.timer("change.remind")
async def remind(ctx: Context, event: Any) -> Outcome:
    """A working day later: the heads who have not signed are reminded."""
    change = await ChangeRequest.get_or_none(code=str(event.payload.get("code", "")))
    if change is None or change.state != "pending":
        return Outcome()
    outcome = Outcome()
    for pid in await _waiting(change.code):
        outcome.send(ToPerson(pid), Text(_("Reminder: change request {code} waits for your confirmation (会签) on its card.", code=change.code)))
    return outcome


@router.timer("change.escalate")
async def escalate(ctx: Context, event: Any) -> Outcome:
    """Two working days later: the initiator and each missing head's superior are told who is still missing."""
    change = await ChangeRequest.get_or_none(code=str(event.payload.get("code", "")))
    if change is None or change.state != "pending":
        return Outcome()
    waiting = await _waiting(change.code)
    if not waiting:
        return Outcome()
    names = join(await names_of(waiting), ", ")
    line = Text(_("⏰ Change request {code} still waits for {names} after two working days.", code=change.code, names=names))
    outcome = Outcome().record("change.overdue", change.code, waiting=waiting)
    recipients = {change.requested_by_id}
    for pid in waiting:
        boss = await superior_of(pid)
        if boss is not None:
            recipients.add(boss)
    for pid in sorted(recipients):
        outcome.send(ToPerson(pid), line)
    return outcome
