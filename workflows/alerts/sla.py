"""The SLA clocks' reminders and escalations for timers the core workflows set (issue 7, item 6).

- ``sla.request.remind`` / ``sla.request.escalate`` (key ``sla:request:{code}:{dept}:…``, payload ``code``,
  ``dept``, ``round``, ``due``): a department head answers a collaboration request within
  ``bot.request_answer_working_days``. Reminder → the head; escalation → the department's superior (or the
  head's own superior) and the initiator.
- ``sla.review.remind`` / ``sla.review.escalate`` (key ``sla:review:{subtask}:{attempt}:…``, payload
  ``code``, ``attempt``, ``due``): the reviewer gives a verdict within ``bot.review_working_days``.
  Reminder → the reviewer; escalation → the reviewer's superior and the initiator.

The workflows cancel these rows when the answer arrives (``Outcome.cancel("sla:request:{code}:{dept}:*")``);
each handler also checks that the answer is still awaited, so a late cancellation never nags anyone.
Risk, minutes and meeting-notice clocks belong to the risk/meeting workflow (``bot.scheduler.sla_clocks``
gives their timings); the scheduler fires whatever kinds it registers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.i18n import _, join
from bot.router import Context, Router
from bot.types import Card, Outcome, ToPerson
from storage import directory
from storage.models import AcceptanceRequest, Collaboration, Department, RequestedDepartment, Subtask

from ..acceptance.cards import verdict_buttons
from ..common.format import when
from ..requests.cards import decision_buttons

router = Router()


def _due(ctx: Context) -> str:
    raw = ctx.event.payload.get("due") or ctx.event.payload.get("deadline")
    return when(datetime.fromisoformat(raw), ctx.config.bot.timezone) if raw else "—"


def _late(ctx: Context) -> Any:
    late = ctx.event.payload.get("_late_s")
    return _("⏰ Sent late: the bot was not running at the scheduled time.") if late else None


async def _pending_request(ctx: Context) -> tuple[Collaboration, Department, RequestedDepartment] | None:
    payload = ctx.event.payload
    collab = await Collaboration.get_or_none(code=str(payload.get("code", "")))
    code = str(payload.get("dept", ""))
    dept = next((d for d in await directory.departments() if d.code == code), None)
    if collab is None or dept is None or collab.state != "pending":
        return None
    answer = await RequestedDepartment.get_or_none(collaboration_id=collab.id, department_id=dept.id)
    if answer is None or answer.state != "pending":
        return None
    if payload.get("round") is not None and int(payload["round"]) != answer.round:
        return None
    return collab, dept, answer


async def _superior_of(person_id: int | None, dept: Department | None = None) -> int | None:
    """Who a person answers to: their own superior, else their department's superior."""
    if dept is not None and dept.superior_id and dept.superior_id != person_id:
        return dept.superior_id
    person = await directory.person(person_id)
    if person is None:
        return None
    if person.superior_id:
        return person.superior_id
    if person.department_id:
        own = await directory.department(person.department_id)
        if own and own.superior_id and own.superior_id != person.id:
            return own.superior_id
    return None


def _recipients(*ids: int | None) -> list[int]:
    out: list[int] = []
    for pid in ids:
        if pid and pid not in out:
            out.append(pid)
    return out


@router.timer("sla.request.remind")
async def request_remind(ctx: Context) -> Outcome:
    found = await _pending_request(ctx)
    if found is None or found[1].head_id is None:
        return Outcome()
    collab, dept, answer = found
    head_id = dept.head_id
    assert head_id is not None
    card = Card(
        title=_("Reminder: request {code} awaits your answer", code=collab.code),
        body=join(
            [
                _late(ctx),
                _("**{title}** asks {dept} to collaborate. Please accept or decline by {due}; after that it is escalated.", title=collab.title, dept=dept.name, due=_due(ctx)),
            ]
        ),
        buttons=decision_buttons(collab, dept, answer.round),  # answer right here, checked again on the server
        color="yellow",
    )
    return Outcome().send(ToPerson(head_id), card).record("sla.request.reminded", collab.code, dept=dept.code)


@router.timer("sla.request.escalate")
async def request_escalate(ctx: Context) -> Outcome:
    found = await _pending_request(ctx)
    if found is None:
        return Outcome()
    collab, dept, _answer = found
    head = await directory.person(dept.head_id)
    card = Card(
        title=_("Escalation: request {code} not answered in time", code=collab.code),
        body=join(
            [
                _late(ctx),
                _("{head} ({dept}) has not accepted or declined **{title}** ({code}); the answer was due {due}.", head=head.name if head else "—", dept=dept.name, title=collab.title, code=collab.code, due=_due(ctx)),
                _("Please follow up with them."),
            ]
        ),
        color="red",
    )
    outcome = Outcome().record("sla.request.escalated", collab.code, dept=dept.code)
    for pid in _recipients(await _superior_of(dept.head_id, dept), collab.initiator_id):
        if pid != dept.head_id:
            outcome.send(ToPerson(pid), card)
    return outcome


async def _pending_review(ctx: Context) -> tuple[Subtask, AcceptanceRequest, Collaboration] | None:
    payload = ctx.event.payload
    task = await Subtask.get_or_none(code=str(payload.get("code", "")))
    if task is None:
        return None
    query = AcceptanceRequest.filter(subtask_id=task.id)
    if payload.get("attempt") is not None:
        query = query.filter(attempt=int(payload["attempt"]))
    request = await query.order_by("-attempt").first()
    if request is None or request.state != "pending":
        return None
    latest = await AcceptanceRequest.filter(subtask_id=task.id).order_by("-attempt").first()
    if latest is not None and latest.id != request.id:
        return None
    collab = await Collaboration.get(id=task.collaboration_id)
    return task, request, collab


@router.timer("sla.review.remind")
async def review_remind(ctx: Context) -> Outcome:
    found = await _pending_review(ctx)
    if found is None or found[0].reviewer_id is None:
        return Outcome()
    task, request, _collab = found
    reviewer_id = task.reviewer_id
    assert reviewer_id is not None
    card = Card(
        title=_("Reminder: {code} awaits your verdict", code=task.code),
        body=join(
            [
                _late(ctx),
                _("**{title}** was submitted for acceptance. Please pass or fail it by {due}; after that it is escalated.", title=task.title, due=_due(ctx)),
            ]
        ),
        buttons=verdict_buttons(request, task),  # judge right here, checked again on the server
        color="yellow",
    )
    return Outcome().send(ToPerson(reviewer_id), card).record("sla.review.reminded", task.code, attempt=request.attempt)


@router.timer("sla.review.escalate")
async def review_escalate(ctx: Context) -> Outcome:
    found = await _pending_review(ctx)
    if found is None:
        return Outcome()
    task, request, collab = found
    reviewer = await directory.person(task.reviewer_id)
    card = Card(
        title=_("Escalation: no verdict on {code} in time", code=task.code),
        body=join(
            [
                _late(ctx),
                _("{reviewer} has not passed or failed **{title}** ({code}); the verdict was due {due}.", reviewer=reviewer.name if reviewer else "—", title=task.title, code=task.code, due=_due(ctx)),
                _("Please follow up with them."),
            ]
        ),
        color="red",
    )
    outcome = Outcome().record("sla.review.escalated", task.code, attempt=request.attempt)
    for pid in _recipients(await _superior_of(task.reviewer_id), collab.initiator_id):
        if pid != task.reviewer_id:
            outcome.send(ToPerson(pid), card)
    return outcome
