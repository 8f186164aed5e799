"""§4 Delay notice: an owner says a subtask will be late, with the reason and a new date. The rule is at
least one working day before the deadline (a later notice is flagged late); the new date takes effect only
when the initiator confirms it (关键决策必确认)."""

from __future__ import annotations

import re
from typing import Any, cast

from bot.errors import InvalidInput, NotAllowed, TransitionNotAllowed
from bot.i18n import _
from bot.router import Context, Router
from bot.types import Button, Card, CardField, Color, Form, FormField, Outcome, Text, ToPerson
from storage.models import Collaboration, Person, Subtask
from storage.models_workflows import DelayNotice

from ..common import lookup
from ..common.fields import FieldSet, parse_fields, read_date, require
from ..common.format import when
from ..common.forms import answer_typed, ask
from ..common.records import announce_to, require_actor, require_open
from ..tasks.cards import subtask_card
from .kit import (
    DOC,
    add_working_days,
    check_new_deadline,
    end_of_day,
    find_document,
    new_code,
    update_subtask,
    working_days_between,
)
from .states import DelayFlow

router = Router()

DELAY_FIELDS = FieldSet(
    {
        "reason": ("reason", "原因", "延期原因", "理由"),
        "new_date": ("new date", "new deadline", "新日期", "新截止", "新截止时间", "预计完成"),
        "comment": ("comment", "意见", "说明"),
    }
)
_CONFIRM_WORDS = {"confirm", "approve", "ok", "同意", "确认", "批准"}
_REJECT_WORDS = {"reject", "decline", "no", "拒绝", "驳回", "不同意"}


def reject_form(notice: DelayNotice) -> Form:
    return Form(
        id="delay.reject",
        title=_("Reject delay notice {code}", code=notice.code),
        submit_label=_("Reject"),
        value={"code": notice.code},
        template=_("delay {code} reject comment: …", code=notice.code),
        fields=[FormField("comment", _("Why not"), "textarea", required=True)],
    )


def notice_form(task: Subtask) -> Form:
    """The owner's delay notice: the reason and the new date (the initiator confirms it)."""
    return Form(
        id="delay.new",
        title=_("Delay notice for {code}", code=task.code),
        submit_label=_("Send the delay notice"),
        value={"code": task.code},
        template=_("delay {code} reason: … new date: 2026-12-20", code=task.code),
        fields=[
            FormField("reason", _("Reason"), "textarea", required=True, placeholder=_("e.g. 素材未到")),
            FormField("new_date", _("New date"), "date", required=True),
        ],
    )


async def delay_card(notice: DelayNotice, ctx: Context) -> Card:
    task = await Subtask.get(id=notice.subtask_id)
    collab = await Collaboration.get(id=notice.collaboration_id)
    owner = await Person.get(id=notice.requested_by_id)
    initiator = await Person.get(id=collab.initiator_id)
    tz = ctx.config.bot.timezone
    buttons: list[Button] = []
    status: Any
    if notice.state == "pending":
        buttons = [
            Button(_("Confirm the new date"), "delay.confirm", {"code": notice.code}, "primary", command=_("delay {code} confirm", code=notice.code)),
            Button(_("Reject"), "delay.reject", {"code": notice.code}, "danger", command=_("delay {code} reject comment: ", code=notice.code), opens_form=reject_form(notice)),
        ]
        status = _("Waiting for {initiator} to confirm. Until then the deadline stays {deadline}.", initiator=initiator.name, deadline=notice.old_deadline.isoformat())
    elif notice.state == "withdrawn":
        status = _("Superseded by a newer delay notice.")
    else:
        decider = await Person.get_or_none(id=notice.decided_by_id) if notice.decided_by_id else None
        status = _(
            "{state} by {name} at {time}{comment}",
            state=DelayFlow.label(notice.state),
            name=decider.name if decider else "?",
            time=when(notice.decided_at, tz),
            comment=f": {notice.comment}" if notice.comment else "",
        )
    timing = (
        _("⚠ Late: sent less than one working day before the deadline")
        if notice.late
        else _("On time: at least one working day before the deadline")
    )
    return Card(
        key=f"delay:{notice.code}",
        title=_("Delay notice {code}: {subtask} {title}", code=notice.code, subtask=task.code, title=task.title),
        fields=[
            CardField(_("Collaboration"), f"{collab.code} {collab.title}"),
            CardField(_("Owner"), owner.name),
            CardField(_("Current deadline"), notice.old_deadline.isoformat()),
            CardField(_("Proposed new date"), notice.new_deadline.isoformat()),
            CardField(_("Reason"), notice.reason),
            CardField(_("Notice"), timing),
        ],
        buttons=buttons,
        color=cast(Color, {"pending": "red" if notice.late else "yellow", "confirmed": "green"}.get(notice.state, "grey")),
        status=status,
        mentions=[str(collab.initiator_id)] if notice.state == "pending" else [],
    )


async def declare(ctx: Context, code_text: str, reason: str, new_date_text: str) -> Outcome:
    task, collab = await lookup.owned_subtask(ctx, code_text, _("send its delay notice"))
    actor = require_actor(ctx)
    if task.stage == "done":
        raise TransitionNotAllowed(_("{code} has passed acceptance: there is nothing left to delay.", code=task.code))
    if not reason.strip():
        raise InvalidInput(_("Say why {code} will be late, e.g. “delay {code} reason: 素材未到 new date: 12月12日”.", code=task.code), field="reason")
    today = lookup.local_today(ctx)
    new_date = read_date(require({"new_date": new_date_text}, "new_date", _("New date")), today, "new_date")
    if new_date <= task.deadline:
        raise InvalidInput(_("The new date must be after the current deadline {deadline}.", deadline=task.deadline.isoformat()), field="new_date")
    check_new_deadline(ctx, collab, new_date, "new_date")
    late = working_days_between(ctx, today, task.deadline) < 1
    outcome = Outcome()
    for old in await DelayNotice.filter(subtask_id=task.id, state="pending"):
        await DelayFlow.fire(old, "withdraw", old.code)
        outcome.record("delay.withdrawn", old.code, superseded=True)
        outcome.cancel(f"delay:{old.code}:*")
        outcome.update(await delay_card(old, ctx))
    code = await new_code(collab, "D")
    notice = await DelayNotice.create(
        code=code,
        collaboration=collab,
        subtask=task,
        requested_by=actor,
        reason=reason.strip(),
        old_deadline=task.deadline,
        new_deadline=new_date,
        late=late,
        created_at=ctx.now,
    )
    outcome.record("delay.requested", code, subtask=task.code, deadline=[task.deadline.isoformat(), new_date.isoformat()], late=late, reason=notice.reason)
    card = await delay_card(notice, ctx)
    outcome.send(await announce_to(collab), card)
    outcome.send(ToPerson(collab.initiator_id), card)
    outcome.timer(f"delay:{code}:remind", "delay.remind", end_of_day(ctx, add_working_days(ctx, today, 1)), code=code, collaboration=collab.id)
    initiator = await Person.get(id=collab.initiator_id)
    if late:
        outcome.reply(
            _("Delay notice {code} sent to {initiator}. ⚠ It is late: the rule is at least one working day before the deadline ({deadline}).", code=code, initiator=initiator.name, deadline=task.deadline.isoformat()),
            ephemeral=True,
        )
    else:
        outcome.reply(_("Delay notice {code} sent to {initiator}; the new date applies once they confirm it.", code=code, initiator=initiator.name), ephemeral=True)
    return outcome


async def decide(ctx: Context, code_text: str, confirm: bool, comment: str) -> Outcome:
    notice = await find_document(ctx, DelayNotice, code_text, "D", _("delay XZB2026112301-D01 confirm"), lock=True)
    collab = await Collaboration.get(id=notice.collaboration_id)
    actor = require_actor(ctx)
    if actor.id != collab.initiator_id:
        initiator = await Person.get(id=collab.initiator_id)
        raise NotAllowed(_("Only {initiator}, the initiator of {collab}, can confirm or reject delay notice {code}.", initiator=initiator.name, collab=collab.code, code=notice.code))
    if notice.state != "pending":
        raise TransitionNotAllowed(_("Delay notice {code} is already {state}. Nothing was changed.", code=notice.code, state=DelayFlow.label(notice.state)))
    task = await Subtask.filter(id=notice.subtask_id).select_for_update().first()
    assert task is not None
    outcome = Outcome()
    if confirm:
        require_open(collab)
        check_new_deadline(ctx, collab, notice.new_deadline, "new_date")
        await DelayFlow.fire(notice, "confirm", notice.code, decided_by_id=actor.id, decided_at=ctx.now, comment=comment.strip())
        before = task.deadline
        await update_subtask(task, task.code, deadline=notice.new_deadline, updated_at=ctx.now)
        outcome.record("delay.confirmed", notice.code, subtask=task.code, deadline=[before.isoformat(), notice.new_deadline.isoformat()], late=notice.late)
        outcome.update(await subtask_card(task, ctx))
        line = _("📅 {name} confirmed delay notice {code}: {subtask} is now due {date} (was {before}).", name=actor.name, code=notice.code, subtask=task.code, date=notice.new_deadline.isoformat(), before=before.isoformat())
    else:
        if not comment.strip():
            raise InvalidInput(_("Say why the new date does not work, e.g. “delay {code} reject comment: 请先协调素材”.", code=notice.code), field="comment")
        await DelayFlow.fire(notice, "reject", notice.code, decided_by_id=actor.id, decided_at=ctx.now, comment=comment.strip())
        outcome.record("delay.rejected", notice.code, subtask=task.code, comment=comment.strip())
        line = _("{name} rejected delay notice {code}: {comment}. {subtask} stays due {date}.", name=actor.name, code=notice.code, comment=comment.strip(), subtask=task.code, date=task.deadline.isoformat())
    outcome.confirmed(notice.code, "delay", "confirmed" if confirm else "rejected", comment.strip())
    outcome.cancel(f"delay:{notice.code}:*")
    outcome.update(await delay_card(notice, ctx))
    outcome.send(await announce_to(collab), Text(line))
    if notice.requested_by_id != actor.id:
        outcome.send(ToPerson(notice.requested_by_id), Text(line))
    return outcome


@router.command("delay", "延期申请", "延期说明", "延期通知", "延期")
async def delay_command(ctx: Context, args: str) -> Outcome:
    head, values = parse_fields(args, DELAY_FIELDS)
    if any(m.group(2).upper() == "D" for m in DOC.finditer(head)) or re.search(r"(?:^|\s)-?D\d{2}\b", head, re.I):
        words = {w.lower() for w in head.split()}
        if words & _CONFIRM_WORDS:  # a typed decision is answered where it was typed
            return answer_typed(ctx, await decide(ctx, head, True, values.get("comment", "")), _("Recorded: you confirmed {code}.", code=head.split()[0]))
        if words & _REJECT_WORDS:
            return answer_typed(ctx, await decide(ctx, head, False, values.get("comment", "")), _("Recorded: you rejected {code}.", code=head.split()[0]))
        raise InvalidInput(_("Confirm or reject it: “delay {code} confirm” or “delay {code} reject comment: …”.", code=head.split()[0]))
    if not values:
        task, _collab = await lookup.owned_subtask(ctx, head, _("send its delay notice"))
        return ask(notice_form(task), ctx=ctx)
    return await declare(ctx, head, values.get("reason", ""), values.get("new_date", ""))


@router.form("delay.new")
async def notice_submitted(ctx: Context, event: Any) -> Outcome:
    return await declare(ctx, str(event.value.get("code", "")), str(event.form.get("reason", "")), str(event.form.get("new_date", "")))


@router.action("delay.confirm")
async def confirm_clicked(ctx: Context, event: Any) -> Outcome:
    return await decide(ctx, str(event.value.get("code", "")), True, "")


@router.action("delay.reject")
async def reject_clicked(ctx: Context, event: Any) -> Outcome:
    notice = await find_document(ctx, DelayNotice, str(event.value.get("code", "")), "D", _("delay XZB2026112301-D01 confirm"))
    collab = await Collaboration.get(id=notice.collaboration_id)
    if notice.state != "pending" or ctx.actor is None or ctx.actor.id != collab.initiator_id:
        return await decide(ctx, notice.code, False, "?")
    form = reject_form(notice)
    return ask(form, ctx=ctx)


@router.form("delay.reject")
async def reject_submitted(ctx: Context, event: Any) -> Outcome:
    return await decide(ctx, str(event.value.get("code", "")), False, str(event.form.get("comment", "")))


@router.timer("delay.remind")
async def remind(ctx: Context, event: Any) -> Outcome:
    notice = await DelayNotice.get_or_none(code=str(event.payload.get("code", "")))
    if notice is None or notice.state != "pending":
        return Outcome()
    collab = await Collaboration.get(id=notice.collaboration_id)
    task = await Subtask.get(id=notice.subtask_id)
    return Outcome().send(
        ToPerson(collab.initiator_id),
        Text(_("Reminder: delay notice {code} for {subtask} (new date {date}) still waits for your confirmation.", code=notice.code, subtask=task.code, date=notice.new_deadline.isoformat())),
    )
