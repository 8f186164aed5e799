"""The heads' decisions on a change request (会签): confirm, reject with a reason; the initiator withdraws or resubmits."""

from __future__ import annotations

from typing import Any

from bot.errors import InvalidInput, NotAllowed, TransitionNotAllowed
from bot.i18n import _, join
from bot.router import Context, Router
from bot.types import Outcome, Text, ToPerson
from storage.models import Collaboration, Confirmation, Person
from storage.models_workflows import ChangeRequest

from ..common.forms import ask
from ..common.records import announce_to, require_actor, void_confirmations
from ..risks.kit import (
    find_document,
    names_of,
    require_initiator,
)
from .apply import apply_change
from .cards import change_card, reject_form
from .create import EXAMPLE, create_change
from .parse import ItemText
from .states import ChangeFlow

router = Router()


async def _approver(ctx: Context, change: ChangeRequest, collab: Collaboration) -> Person:
    actor = require_actor(ctx)
    ids = [int(a["person"]) for a in change.approvers or []]
    if actor.id not in ids:
        raise NotAllowed(
            _("Only the heads of the departments collaborating on {collab} ({names}) confirm its change requests.", collab=collab.code, names=join(await names_of(ids), ", "))
        )
    if change.state != "pending":
        raise TransitionNotAllowed(_("Change request {code} is already {state}. Nothing was changed.", code=change.code, state=ChangeFlow.label(change.state)))
    row = await Confirmation.filter(subject=change.code, purpose="change", person_id=actor.id).first()
    if row is None or row.state != "pending":
        raise TransitionNotAllowed(_("You already answered change request {code}. Nothing was changed.", code=change.code))
    return actor


async def _sign(ctx: Context, change: ChangeRequest, state: str, comment: str = "") -> None:
    assert ctx.actor is not None
    signed = await Confirmation.filter(subject=change.code, purpose="change", person_id=ctx.actor.id, state="pending").update(
        state=state, decided_at=ctx.now, platform=ctx.event.platform, platform_user_id=ctx.event.actor_id, comment=comment
    )
    if not signed:
        raise TransitionNotAllowed(_("You already answered change request {code}. Nothing was changed.", code=change.code))


async def confirm(ctx: Context, code_text: str) -> Outcome:
    change = await find_document(ctx, ChangeRequest, code_text, "C", EXAMPLE, lock=True)
    collab = await Collaboration.filter(id=change.collaboration_id).select_for_update().first()
    assert collab is not None
    actor = await _approver(ctx, change, collab)
    await _sign(ctx, change, "confirmed")
    outcome = Outcome().record("change.confirmed", change.code, departments=next((a["departments"] for a in change.approvers if int(a["person"]) == actor.id), []))
    remaining = await Confirmation.filter(subject=change.code, purpose="change", state="pending").count()
    if remaining == 0:
        await ChangeFlow.fire(change, "apply", change.code, decided_by_id=actor.id, decided_at=ctx.now)
        await apply_change(ctx, change, collab, outcome)
    outcome.update(await change_card(change, ctx))
    return outcome


async def reject(ctx: Context, code_text: str, reason: str) -> Outcome:
    change = await find_document(ctx, ChangeRequest, code_text, "C", EXAMPLE, lock=True)
    collab = await Collaboration.get(id=change.collaboration_id)
    actor = await _approver(ctx, change, collab)
    if not reason.strip():
        raise InvalidInput(_("A rejection needs its reason, e.g. “change {code} reject reason: 设计部本周无人力”.", code=change.code), field="reason")
    await _sign(ctx, change, "rejected", reason.strip())
    await ChangeFlow.fire(change, "reject", change.code, decided_by_id=actor.id, decided_at=ctx.now, rejection=reason.strip())
    await void_confirmations(change.code, "change")
    outcome = Outcome().record("change.rejected", change.code, reason=reason.strip()).cancel(f"change:{change.code}:*")
    outcome.update(await change_card(change, ctx))
    line = _("❌ {name} rejected change request {code}: {reason}. Nothing was changed.", name=actor.name, code=change.code, reason=reason.strip())
    outcome.send(await announce_to(collab), Text(line))
    outcome.send(ToPerson(change.requested_by_id), Text(join([line, _("Revise it and send a new one, or resubmit it with “change {code} resubmit”.", code=change.code)])))
    return outcome


async def withdraw(ctx: Context, code_text: str) -> Outcome:
    change = await find_document(ctx, ChangeRequest, code_text, "C", EXAMPLE, lock=True)
    collab = await Collaboration.get(id=change.collaboration_id)
    require_initiator(ctx, collab, _("withdraw a change request"))
    await ChangeFlow.fire(change, "withdraw", change.code, decided_by_id=require_actor(ctx).id, decided_at=ctx.now)
    await void_confirmations(change.code, "change")
    outcome = Outcome().record("change.withdrawn", change.code).cancel(f"change:{change.code}:*")
    outcome.update(await change_card(change, ctx))
    return outcome


async def resubmit(ctx: Context, code_text: str) -> Outcome:
    """A rejected request again, as it was (e.g. after talking it over with the head who rejected it)."""
    old = await find_document(ctx, ChangeRequest, code_text, "C", EXAMPLE, lock=True)
    collab = await Collaboration.filter(id=old.collaboration_id).select_for_update().first()
    assert collab is not None
    require_initiator(ctx, collab, _("resubmit a change request"))
    if old.state != "rejected" or old.resubmitted_as:
        raise TransitionNotAllowed(_("Only a rejected change request can be resubmitted, once: {code} is {state}.", code=old.code, state=ChangeFlow.label(old.state)))
    values = {"reason": old.reason, "impact": old.impact, "goal": old.goal_after or "", "deadline": old.deadline_after.isoformat() if old.deadline_after else ""}
    items = []
    for entry in old.items or []:
        changes = entry["changes"]
        item = ItemText(entry["subtask"], "")
        item.values = {
            **({"deadline": changes["deadline"][1]} if "deadline" in changes else {}),
            **({"owner": changes["owner"][1]} if "owner" in changes else {}),
            **({"standard": changes["standard"][1]} if "standard" in changes else {}),
        }
        items.append(item)
    outcome = await create_change(ctx, collab, values, items, resubmits=old)
    new = await ChangeRequest.filter(resubmits_id=old.id).order_by("-id").first()
    assert new is not None
    await ChangeRequest.filter(id=old.id, version=old.version).update(resubmitted_as=new.code, version=old.version + 1)
    old.resubmitted_as, old.version = new.code, old.version + 1
    outcome.update(await change_card(old, ctx))
    outcome.reply(_("Resubmitted as {code}.", code=new.code), ephemeral=True)
    return outcome


@router.action("change.confirm")
async def confirm_clicked(ctx: Context, event: Any) -> Outcome:
    return await confirm(ctx, str(event.value.get("code", "")))


@router.action("change.reject")
async def reject_clicked(ctx: Context, event: Any) -> Outcome:
    change = await find_document(ctx, ChangeRequest, str(event.value.get("code", "")), "C", EXAMPLE)
    collab = await Collaboration.get(id=change.collaboration_id)
    await _approver(ctx, change, collab)
    form = reject_form(change)
    return ask(form, ctx=ctx)


@router.form("change.reject")
async def reject_submitted(ctx: Context, event: Any) -> Outcome:
    return await reject(ctx, str(event.value.get("code", "")), str(event.form.get("reason", "")))


@router.action("change.withdraw")
async def withdraw_clicked(ctx: Context, event: Any) -> Outcome:
    return await withdraw(ctx, str(event.value.get("code", "")))


@router.action("change.resubmit")
async def resubmit_clicked(ctx: Context, event: Any) -> Outcome:
    return await resubmit(ctx, str(event.value.get("code", "")))
