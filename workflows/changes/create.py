"""Requesting a change: reading what changes per subtask, checking it, asking every department head to confirm."""

from __future__ import annotations

from datetime import date
from typing import Any

from bot.errors import InvalidInput, TransitionNotAllowed
from bot.i18n import _, join
from bot.router import Context
from bot.types import Outcome, ToPerson
from storage.models import Collaboration, Person, Subtask
from storage.models_workflows import ChangeRequest

from ..common import lookup
from ..common.fields import read_date
from ..common.records import announce_to, open_confirmation
from ..risks.kit import (
    add_working_days,
    department_heads,
    end_of_day,
    names_of,
    new_code,
    require_initiator,
)
from .cards import change_card
from .parse import ItemText

EXAMPLE = _("change XZB2026112301-C01")


async def _item_changes(ctx: Context, collab: Collaboration, item: ItemText, deadline_limit: date) -> tuple[Subtask, dict[str, list[Any]]]:
    ref = item.ref if "-" in item.ref else f"{collab.code}-{int(item.ref):02d}"
    task = await Subtask.filter(code=ref.upper()).first()
    if task is None or task.collaboration_id != collab.id:
        raise InvalidInput(_("{ref} is not a subtask of {code}. Send “show {code}” to see its subtasks.", ref=ref, code=collab.code), field="changes")
    values = item.values
    if not values:
        raise InvalidInput(_("Say what changes for {ref}: deadline, owner or standard, e.g. “-01 deadline: 2026-12-12 owner: anna”.", ref=task.code), field="changes")
    changes: dict[str, list[Any]] = {}
    today = lookup.local_today(ctx)
    if values.get("deadline"):
        new_date = read_date(values["deadline"], today, "changes")
        if new_date < today:
            raise InvalidInput(_("The new deadline {date} of {ref} is in the past.", date=new_date.isoformat(), ref=task.code), field="changes")
        if new_date > deadline_limit:
            raise InvalidInput(
                _("The new deadline {date} of {ref} is after the collaboration's deadline {limit}. Move that too (“deadline: …”).", date=new_date.isoformat(), ref=task.code, limit=deadline_limit.isoformat()),
                field="changes",
            )
        if new_date != task.deadline:
            changes["deadline"] = [task.deadline.isoformat(), new_date.isoformat()]
    if values.get("owner"):
        person = await lookup.person(ctx, values["owner"], field="changes")
        if person.id == task.reviewer_id:
            raise InvalidInput(_("{name} reviews {ref} and cannot own it too. Name someone else.", name=person.name, ref=task.code), field="changes")
        if person.id != task.owner_id:
            old = await Person.get(id=task.owner_id)
            changes["owner"] = [old.handle, person.handle]
            changes["owner_name"] = [old.name, person.name]
    if "standard" in values:
        if not values["standard"].strip():
            raise InvalidInput(_("The new delivery standard of {ref} is empty.", ref=task.code), field="changes")
        if values["standard"].strip() != task.delivery_standard:
            changes["standard"] = [task.delivery_standard, values["standard"].strip()]
    return task, changes


async def create_change(ctx: Context, collab: Collaboration, values: dict[str, str], items: list[ItemText], resubmits: ChangeRequest | None = None) -> Outcome:
    actor = require_initiator(ctx, collab, _("request a change"))
    if collab.state != "active":
        from ..requests.states import CollaborationFlow

        raise TransitionNotAllowed(
            _("{code} is {state}: change requests are for active collaborations (before that, the initiator re-scopes with “rescope”).", code=collab.code, state=CollaborationFlow.label(collab.state))
        )
    if values.get("_unparsed"):
        raise InvalidInput(_("I could not read “{text}” as a subtask change. Start each line with the subtask id, e.g. “-01 deadline: 2026-12-12”.", text=values["_unparsed"][:60]), field="changes")
    pending = await ChangeRequest.filter(collaboration_id=collab.id, state="pending").first()
    if pending is not None:
        raise TransitionNotAllowed(_("Change request {code} is still waiting for confirmations. Wait for it or withdraw it first.", code=pending.code))
    reason = (values.get("reason") or "").strip()
    if not reason:
        raise InvalidInput(_("A change request needs its reason: add a line “reason: …” (变更原因).", ), field="reason")
    impact = (values.get("impact") or "").strip()
    if not impact:
        raise InvalidInput(_("A change request needs its impact: add a line “impact: …” (影响).", ), field="impact")
    today = lookup.local_today(ctx)
    new_deadline: date | None = None
    if values.get("deadline"):
        new_deadline = read_date(values["deadline"], today, "deadline")
        if new_deadline < today:
            raise InvalidInput(_("The new deadline {date} is in the past.", date=new_deadline.isoformat()), field="deadline")
        if new_deadline == collab.deadline:
            new_deadline = None
    limit = new_deadline or collab.deadline
    goal = (values.get("goal") or "").strip() or None
    if goal == collab.goal:
        goal = None
    merged: dict[str, dict[str, Any]] = {}
    for item in items:
        task, changes = await _item_changes(ctx, collab, item, limit)
        if changes:
            entry = merged.setdefault(task.code, {"subtask": task.code, "title": task.title, "changes": {}})
            entry["changes"].update(changes)
    if new_deadline is not None:
        planned = {code: entry["changes"].get("deadline", [None, None])[1] for code, entry in merged.items()}
        late = [
            t.code
            for t in await Subtask.filter(collaboration_id=collab.id).order_by("id")
            if date.fromisoformat(planned.get(t.code) or t.deadline.isoformat()) > new_deadline
        ]
        if late:
            raise InvalidInput(
                _("The new deadline {date} is before the deadlines of {list}. Move those subtasks too (“-01 deadline: …”).", date=new_deadline.isoformat(), list=join(late, ", ")),
                field="deadline",
            )
    if goal is None and new_deadline is None and not merged:
        raise InvalidInput(
            _("Nothing would change. Name a new goal, a new deadline, or subtask changes like “-01 deadline: 2026-12-12 owner: anna standard: …”."),
            field="changes",
        )
    heads = await department_heads(collab)
    code = await new_code(collab, "C")
    change = await ChangeRequest.create(
        code=code,
        collaboration=collab,
        requested_by=actor,
        reason=reason,
        impact=impact,
        goal_before=collab.goal,
        goal_after=goal,
        deadline_before=collab.deadline,
        deadline_after=new_deadline,
        items=list(merged.values()),
        approvers=[{"person": pid, "departments": depts} for pid, depts in heads],
        resubmits=resubmits,
        created_at=ctx.now,
    )
    for pid, _depts in heads:
        await open_confirmation(code, "change", pid, ctx.now)
    outcome = Outcome().record(
        "change.requested",
        code,
        reason=reason,
        impact=impact,
        goal=[collab.goal, goal] if goal else None,
        deadline=[collab.deadline.isoformat(), new_deadline.isoformat()] if new_deadline else None,
        items=change.items,
        approvers=[p for p, _d in heads],
        resubmits=resubmits.code if resubmits else None,
    )
    card = await change_card(change, ctx)
    outcome.send(await announce_to(collab), card)
    for pid, _depts in heads:
        outcome.send(ToPerson(pid), card)
    today = lookup.local_today(ctx)
    outcome.timer(f"change:{code}:remind", "change.remind", end_of_day(ctx, add_working_days(ctx, today, 1)), code=code, collaboration=collab.id)
    outcome.timer(f"change:{code}:escalate", "change.escalate", end_of_day(ctx, add_working_days(ctx, today, 2)), code=code, collaboration=collab.id)
    if resubmits is None:
        outcome.reply(_("Change request {code} sent to {names} for confirmation.", code=code, names=join(await names_of([p for p, _d in heads]), ", ")), ephemeral=True)
    return outcome
