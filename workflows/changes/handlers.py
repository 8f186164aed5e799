"""§4 Change requests (《变更申请》): reason, new goal, impact, and new dates / owners / delivery standards for
named subtasks. Every collaborating department head confirms (会签); one rejection with a reason stops it;
when all confirmed the bot applies every change itself, in the event's one transaction, tells the affected
owners, and a changed delivery standard sends that subtask back to work (its acceptance starts over)."""

from __future__ import annotations

from datetime import date
from typing import Any, cast

from bot.errors import InvalidInput, NotAllowed, TransitionNotAllowed
from bot.i18n import Msg, _, join
from bot.router import Context, Router
from bot.types import Card, Outcome, Text, ToPerson
from storage.models import AcceptanceRequest, Collaboration, Confirmation, Person, Subtask
from storage.models_workflows import ChangeRequest

from ..common import lookup
from ..common.fields import read_date
from ..common.forms import ask
from ..common.records import announce_to, open_confirmation, require_actor, void_confirmations
from ..requests.cards import overview_card
from ..risks.kit import (
    add_working_days,
    department_heads,
    end_of_day,
    find_document,
    names_of,
    new_code,
    require_initiator,
    superior_of,
    update_subtask,
)
from ..tasks.cards import subtask_card
from .cards import FIELD_LABELS, change_card, change_form, reject_form
from .parse import ItemText, parse_change
from .states import AcceptanceReset, ChangeFlow

router = Router()

EXAMPLE = _("change XZB2026112301-C01")


# ---------------------------------------------------------------- request


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
                _("The new deadline {date} is before the deadlines of {list}. Move those subtasks too (“-01 deadline: …”).", date=new_deadline.isoformat(), list=", ".join(late)),
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
        outcome.reply(_("Change request {code} sent to {names} for confirmation.", code=code, names=", ".join(await names_of([p for p, _d in heads]))), ephemeral=True)
    return outcome


@router.command("change", "变更申请", "变更", "申请变更")
async def change_command(ctx: Context, args: str) -> Outcome:
    from ..risks.kit import DOC

    head, values, items = parse_change(args)
    if any(m.group(2).upper() == "C" for m in DOC.finditer(head)):
        return await _change_subcommand(ctx, head, values)
    collab = await lookup.collaboration(ctx, head, lock=True)
    if not values and not items:
        require_initiator(ctx, collab, _("request a change"))
        form = change_form(collab)
        return ask(form)
    return await create_change(ctx, collab, values, items)


async def _change_subcommand(ctx: Context, head: str, values: dict[str, str]) -> Outcome:
    """``change XZB…-C01 confirm`` / ``reject reason: …`` / ``withdraw`` / ``resubmit``."""
    words = {w.lower() for w in head.split()}
    if words & {"confirm", "approve", "ok", "同意", "确认"}:
        return await confirm(ctx, head)
    if words & {"reject", "decline", "拒绝", "驳回", "不同意"}:
        return await reject(ctx, head, values.get("reason", ""))
    if words & {"withdraw", "cancel", "撤回", "撤销"}:
        return await withdraw(ctx, head)
    if words & {"resubmit", "again", "重新提交", "再次提交"}:
        return await resubmit(ctx, head)
    change = await find_document(ctx, ChangeRequest, head, "C", EXAMPLE)
    card = await change_card(change, ctx)
    card.key = None
    return Outcome().reply(card)


@router.form("change.new")
async def change_form_submitted(ctx: Context, event: Any) -> Outcome:
    collab = await lookup.collaboration(ctx, str(event.value.get("code", "")), lock=True)
    text = "\n".join(f"{name}: {value}" for name, value in event.form.items() if isinstance(value, str) and value.strip() and name != "changes")
    _head, values, items = parse_change(text)
    _h2, _v2, more = parse_change(str(event.form.get("changes", "")))
    unparsed = [line for line in str(event.form.get("changes", "")).splitlines() if line.strip()]
    if unparsed and not more:
        values["_unparsed"] = unparsed[0]
    return await create_change(ctx, collab, values, items + more)


# ---------------------------------------------------------------- decisions


async def _approver(ctx: Context, change: ChangeRequest, collab: Collaboration) -> Person:
    actor = require_actor(ctx)
    ids = [int(a["person"]) for a in change.approvers or []]
    if actor.id not in ids:
        raise NotAllowed(
            _("Only the heads of the departments collaborating on {collab} ({names}) confirm its change requests.", collab=collab.code, names=", ".join(await names_of(ids)))
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


# ---------------------------------------------------------------- apply


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


# ---------------------------------------------------------------- buttons


@router.action("change.confirm")
async def confirm_clicked(ctx: Context, event: Any) -> Outcome:
    return await confirm(ctx, str(event.value.get("code", "")))


@router.action("change.reject")
async def reject_clicked(ctx: Context, event: Any) -> Outcome:
    change = await find_document(ctx, ChangeRequest, str(event.value.get("code", "")), "C", EXAMPLE)
    collab = await Collaboration.get(id=change.collaboration_id)
    await _approver(ctx, change, collab)
    form = reject_form(change)
    return ask(form)


@router.form("change.reject")
async def reject_submitted(ctx: Context, event: Any) -> Outcome:
    return await reject(ctx, str(event.value.get("code", "")), str(event.form.get("reason", "")))


@router.action("change.withdraw")
async def withdraw_clicked(ctx: Context, event: Any) -> Outcome:
    return await withdraw(ctx, str(event.value.get("code", "")))


@router.action("change.resubmit")
async def resubmit_clicked(ctx: Context, event: Any) -> Outcome:
    return await resubmit(ctx, str(event.value.get("code", "")))


@router.command("changes", "变更记录", "变更列表")
async def list_changes(ctx: Context, args: str) -> Outcome:
    collab = await lookup.collaboration(ctx, args)
    rows = await ChangeRequest.filter(collaboration_id=collab.id).order_by("id")
    lines: list[Any] = []
    for row in rows:
        lines.append(_("**{code}** {state}: {reason}", code=row.code, state=ChangeFlow.label(row.state), reason=row.reason))
        applied = row.applied or {}
        for name, pair in (applied.get("collaboration") or {}).items():
            lines.append(_("- {code} {field}: {before} → {after}", code=collab.code, field=FIELD_LABELS.get(name, name), before=pair[0], after=pair[1]))
        for diff in applied.get("subtasks") or []:
            for name in ("deadline", "owner", "standard"):
                if name in diff:
                    lines.append(_("- {code} {field}: {before} → {after}", code=diff["subtask"], field=FIELD_LABELS[name], before=diff[name][0], after=diff[name][1]))
    return Outcome().reply(Card(title=_("Change requests of {code}", code=collab.code), body=join(lines or [_("No change requests.")]), color="blue"))


# ---------------------------------------------------------------- clocks


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
    names = ", ".join(await names_of(waiting))
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
