"""Applying a confirmed change: every subtask and the collaboration in the event's one transaction, then who is told."""

from __future__ import annotations

from datetime import date
from typing import Any

from bot.errors import TransitionNotAllowed
from bot.i18n import Msg, _, join
from bot.router import Context
from bot.types import Card, Outcome, Text, ToPerson
from storage.models import AcceptanceRequest, Collaboration, Person, Subtask
from storage.models_workflows import ChangeRequest

from ..common.records import announce_to, void_confirmations
from ..requests.cards import overview_card
from ..risks.kit import (
    update_subtask,
)
from ..tasks.cards import subtask_card
from .cards import FIELD_LABELS
from .states import AcceptanceReset


async def _reset_acceptance(ctx: Context, task: Subtask, change: ChangeRequest, outcome: Outcome) -> bool:
    """The new standard voids a pending acceptance and sends an accepted or submitted subtask back to work."""
    for request in await AcceptanceRequest.filter(subtask_id=task.id, state="pending"):
        await AcceptanceRequest.filter(id=request.id, version=request.version).update(state="withdrawn", version=request.version + 1)
        await void_confirmations(task.code, f"acceptance:{request.attempt}")
        outcome.cancel(f"sla:review:{task.code}:{request.attempt}:*")
        outcome.update(
            Card(
                key=f"acc:{task.code}:{request.attempt}",
                title=_("Acceptance request {code} (attempt {attempt}): {title}", code=task.code, attempt=request.attempt, title=task.title),
                status=_("Withdrawn: change request {change} changed the delivery standard. Submit again against the new standard.", change=change.code),
                color="grey",
            )
        )
    if AcceptanceReset.can(task, "reset"):
        await AcceptanceReset.fire(task, "reset", task.code, updated_at=ctx.now)
        return True
    return False


async def apply_change(ctx: Context, change: ChangeRequest, collab: Collaboration, outcome: Outcome) -> None:
    """Every change in one go (the event's transaction): subtasks, then the collaboration, then who is told."""
    applied: list[dict[str, Any]] = []
    told: dict[int, list[Msg]] = {}
    for entry in change.items or []:
        task = await Subtask.filter(code=entry["subtask"]).select_for_update().first()
        if task is None:
            continue
        changes = entry["changes"]
        values: dict[str, Any] = {}
        diff: dict[str, Any] = {"subtask": task.code}
        lines: list[Msg] = []
        if "deadline" in changes and changes["deadline"][1] != task.deadline.isoformat():
            new_date = date.fromisoformat(changes["deadline"][1])
            diff["deadline"] = [task.deadline.isoformat(), new_date.isoformat()]
            values["deadline"] = new_date
            lines.append(_("{field}: {before} → {after}", field=FIELD_LABELS["deadline"], before=diff["deadline"][0], after=diff["deadline"][1]))
        previous_owner = task.owner_id
        if "owner" in changes:
            person = await Person.get_or_none(handle=changes["owner"][1])
            if person is not None and person.id != task.owner_id:
                old = await Person.get(id=task.owner_id)
                diff["owner"] = [old.handle, person.handle]
                values["owner_id"] = person.id
                values["acknowledged_at"] = None
                lines.append(_("{field}: {before} → {after}", field=FIELD_LABELS["owner"], before=old.name, after=person.name))
        reset = False
        if "standard" in changes and changes["standard"][1] != task.delivery_standard:
            diff["standard"] = [task.delivery_standard, changes["standard"][1]]
            values["delivery_standard"] = changes["standard"][1]
            lines.append(_("{field}: {before} → {after}", field=FIELD_LABELS["standard"], before=diff["standard"][0], after=diff["standard"][1]))
        if not values:
            continue
        await update_subtask(task, task.code, updated_at=ctx.now, **values)
        if "delivery_standard" in values:
            reset = await _reset_acceptance(ctx, task, change, outcome)
            if reset:
                diff["acceptance_reset"] = True
                lines.append(_("acceptance starts over against the new standard"))
        applied.append(diff)
        card = await subtask_card(task, ctx)
        outcome.update(card)
        if task.owner_id != previous_owner:
            outcome.send(ToPerson(task.owner_id), card)
            told.setdefault(previous_owner, []).append(_("{code} {title} is no longer yours: {lines}", code=task.code, title=task.title, lines=join(lines, "; ")))
        told.setdefault(task.owner_id, []).append(_("{code} {title}: {lines}", code=task.code, title=task.title, lines=join(lines, "; ")))
    collab_values: dict[str, Any] = {}
    collab_diff: dict[str, Any] = {}
    if change.goal_after is not None and change.goal_after != collab.goal:
        collab_diff["goal"] = [collab.goal, change.goal_after]
        collab_values["goal"] = change.goal_after
    if change.deadline_after is not None and change.deadline_after != collab.deadline:
        collab_diff["deadline"] = [collab.deadline.isoformat(), change.deadline_after.isoformat()]
        collab_values["deadline"] = change.deadline_after
    if collab_values:
        if not await Collaboration.filter(id=collab.id, version=collab.version).update(version=collab.version + 1, **collab_values):
            raise TransitionNotAllowed(_("{code} was changed by someone else just now. Nothing was changed: try again.", code=collab.code))
        for name, value in {**collab_values, "version": collab.version + 1}.items():
            setattr(collab, name, value)
        outcome.update(await overview_card(collab, ctx))
    await ChangeRequest.filter(id=change.id).update(applied={"collaboration": collab_diff, "subtasks": applied})
    change.applied = {"collaboration": collab_diff, "subtasks": applied}
    outcome.record("change.applied", change.code, collaboration=collab_diff, subtasks=applied)
    outcome.cancel(f"change:{change.code}:*")
    for person_id, lines in told.items():
        outcome.send(ToPerson(person_id), Text(join([_("Change request {code} was confirmed by every head and applied:", code=change.code), *[_("- {line}", line=line) for line in lines]])))
    outcome.send(await announce_to(collab), Text(_("✅ Change request {code} was confirmed by every department head and applied: {count} subtask(s) changed.", code=change.code, count=len(applied))))
