"""The initiator after a decline (or any time before the request is active): re-scope, re-route, cancel —
typed, or with the buttons of the decline notice (调整 / 改派 / 取消)."""

from __future__ import annotations

from typing import Any

from bot.errors import InvalidInput, NotAllowed
from bot.i18n import _
from bot.router import Context, Router
from bot.types import Outcome, Text
from storage.models import CardRecord, Collaboration, RequestedDepartment

from ..common import lookup
from ..common.fields import parse_fields, read_date, require
from ..common.format import parse_priority
from ..common.forms import ask
from ..common.records import announce_to, require_actor, void_confirmations
from .cards import (
    REQUEST_FIELDS,
    decision_card,
    decline_notice_card,
    notice_key,
    overview_card,
    reroute_form,
    rescope_form,
)
from .states import CollaborationFlow, DepartmentAnswerFlow
from .steps import ask_head, check_dates, departments, unasked_departments

router = Router()


def _authorize_initiator(ctx: Context, collab: Collaboration, what: Any) -> None:
    actor = require_actor(ctx)
    if actor.id != collab.initiator_id:
        raise NotAllowed(_("Only the initiator of {code} can {what}.", code=collab.code, what=what))


async def _new_round(ctx: Context, outcome: Outcome, collab: Collaboration, answers: list[RequestedDepartment]) -> None:
    """Every asked department answers again: the old cards say they were superseded."""
    old_round = collab.round
    collab.round += 1
    await Collaboration.filter(id=collab.id).update(round=collab.round)
    await void_confirmations(collab.code, f"request:r{old_round}:")
    for answer in answers:
        dept = answer.department
        outcome.update(
            await decision_card(collab, dept, answer, ctx, note=_("Superseded: {code} was changed, see the new card (round {round}).", code=collab.code, round=collab.round))
        )
        await DepartmentAnswerFlow.fire(answer, "reopen", collab.code, round=collab.round, decided_by_id=None, decided_at=None, reason="", counter_date=None)
        await ask_head(ctx, outcome, collab, dept, answer)


async def _close_notices(ctx: Context, outcome: Outcome, collab: Collaboration, note: Any, dept_code: str | None = None) -> None:
    """The decline notices of this round (of ``dept_code`` only, when given) lose their buttons: it was handled."""
    answers = await RequestedDepartment.filter(collaboration_id=collab.id, state="declined", round=collab.round).select_related("department")
    for answer in answers:
        if dept_code is not None and answer.department.code != dept_code:
            continue
        if await CardRecord.exists(key=notice_key(collab, answer.department, answer.round)):
            outcome.update(decline_notice_card(collab, answer.department, answer, [], note=note))


@router.command("rescope", "调整", "调整需求", "修改需求")
async def rescope(ctx: Context, args: str) -> Outcome:
    head, values = parse_fields(args, REQUEST_FIELDS)
    return await rescope_collaboration(ctx, head, values)


async def rescope_collaboration(ctx: Context, code_text: str, values: dict[str, str]) -> Outcome:
    collab = await lookup.collaboration(ctx, code_text, lock=True)
    _authorize_initiator(ctx, collab, _("re-scope it"))
    if not CollaborationFlow.can(collab, "rescope"):
        raise CollaborationFlow.refuse(collab, "rescope", collab.code)
    values.pop("departments", None)
    if not values:
        raise InvalidInput(_("Say what changes, e.g. “rescope {code} deadline: 2026-12-30 scope: …”.", code=collab.code))
    today = lookup.local_today(ctx)
    columns = {"title": "title", "background": "background", "goal": "goal", "scope": "scope_in", "out_of_scope": "scope_out", "deliverables": "deliverables", "remarks": "remarks"}
    diff: dict[str, list[Any]] = {}
    for name, column in columns.items():
        if name in values and values[name] != getattr(collab, column):
            diff[name] = [getattr(collab, column), values[name]]
            setattr(collab, column, values[name])
    if "priority" in values:
        priority = parse_priority(values["priority"])
        diff["priority"] = [collab.priority, priority]
        collab.priority = priority
    for name, column in (("start", "start_date"), ("deadline", "deadline")):
        if values.get(name):
            new_date = read_date(values[name], today, name)
            diff[name] = [getattr(collab, column).isoformat() if getattr(collab, column) else None, new_date.isoformat()]
            setattr(collab, column, new_date)
    for name in ("reviewer", "decision_maker", "tracker"):
        if values.get(name):
            person = await lookup.person(ctx, values[name], field=name)
            diff[name] = [getattr(collab, f"{name}_id"), person.id]
            setattr(collab, f"{name}_id", person.id)
    check_dates(collab.start_date, collab.deadline, today)
    await collab.save()
    outcome = Outcome().record("request.rescoped", collab.code, changes=diff, round=collab.round + 1)
    await _close_notices(ctx, outcome, collab, _("Handled: {code} was re-scoped (round {round}).", code=collab.code, round=collab.round + 1))
    answers = await RequestedDepartment.filter(collaboration_id=collab.id).exclude(state="withdrawn").select_related("department")
    await _new_round(ctx, outcome, collab, list(answers))
    outcome.update(await overview_card(collab, ctx))
    outcome.reply(_("{code} re-scoped; every department was asked again (round {round}).", code=collab.code, round=collab.round))
    return outcome


_REROUTE_FIELDS = REQUEST_FIELDS.__class__({"from": ("from", "原部门", "从"), "to": ("to", "新部门", "改为", "到")})


@router.command("reroute", "改派", "转派")
async def reroute(ctx: Context, args: str) -> Outcome:
    head, values = parse_fields(args, _REROUTE_FIELDS)
    return await reroute_collaboration(ctx, head, values)


async def reroute_collaboration(ctx: Context, code_text: str, values: dict[str, str]) -> Outcome:
    collab = await lookup.collaboration(ctx, code_text, lock=True)
    _authorize_initiator(ctx, collab, _("re-route it"))
    if not CollaborationFlow.can(collab, "reroute"):
        raise CollaborationFlow.refuse(collab, "reroute", collab.code)
    old_dept = await lookup.department(require(values, "from", _("from")), field="from")
    new_dept = (await departments(require(values, "to", _("to"))))[0]
    old_answer = await RequestedDepartment.filter(collaboration_id=collab.id, department_id=old_dept.id).exclude(state="withdrawn").first()
    if old_answer is None:
        raise InvalidInput(_("{dept} is not one of the departments asked in {code}.", dept=old_dept.name, code=collab.code), field="from")
    if await RequestedDepartment.filter(collaboration_id=collab.id, department_id=new_dept.id).exclude(state="withdrawn").exists():
        raise InvalidInput(_("{dept} is already asked in {code}.", dept=new_dept.name, code=collab.code), field="to")
    outcome = Outcome()
    await _close_notices(ctx, outcome, collab, _("Handled: re-routed to {dept}.", dept=new_dept.name), old_dept.code)
    await old_answer.fetch_related("department")
    outcome.update(await decision_card(collab, old_dept, old_answer, ctx, note=_("Re-routed: {code} now goes to {dept} instead.", code=collab.code, dept=new_dept.name)))
    await DepartmentAnswerFlow.fire(old_answer, "withdraw", collab.code)
    await void_confirmations(collab.code, f"request:r{collab.round}:{old_dept.code}")
    outcome.cancel(f"sla:request:{collab.code}:{old_dept.code}:*")
    answer = await RequestedDepartment.filter(collaboration_id=collab.id, department_id=new_dept.id).first()
    if answer is None:
        answer = await RequestedDepartment.create(collaboration=collab, department=new_dept, round=collab.round)
    else:
        await RequestedDepartment.filter(id=answer.id).update(
            state="pending", round=collab.round, decided_by_id=None, decided_at=None, reason="", counter_date=None, version=answer.version + 1
        )
        answer = await RequestedDepartment.get(id=answer.id)
    await ask_head(ctx, outcome, collab, new_dept, answer)
    outcome.record("request.rerouted", collab.code, before=old_dept.code, after=new_dept.code, round=collab.round)
    outcome.update(await overview_card(collab, ctx))
    outcome.reply(_("{code} re-routed from {old} to {new}.", code=collab.code, old=old_dept.name, new=new_dept.name))
    return outcome


@router.command("cancel", "取消", "撤销")
async def cancel(ctx: Context, args: str) -> Outcome:
    return await cancel_collaboration(ctx, args)


async def cancel_collaboration(ctx: Context, code_text: str) -> Outcome:
    collab = await lookup.collaboration(ctx, code_text, lock=True)
    _authorize_initiator(ctx, collab, _("cancel it"))
    outcome = Outcome()
    await _close_notices(ctx, outcome, collab, _("Handled: the request was cancelled."))
    await CollaborationFlow.fire(collab, "cancel", collab.code)
    outcome.record("request.cancelled", collab.code)
    outcome.cancel(f"sla:request:{collab.code}:*")
    answers = await RequestedDepartment.filter(collaboration_id=collab.id, state="pending").select_related("department")
    for answer in answers:
        outcome.update(await decision_card(collab, answer.department, answer, ctx, note=_("Cancelled by the initiator.")))
    await void_confirmations(collab.code, "request:")
    outcome.update(await overview_card(collab, ctx))
    outcome.send(await announce_to(collab), Text(_("{code} was cancelled by its initiator.", code=collab.code)))
    return outcome


# ---------------------------------------------------------------- the decline notice's buttons


async def _from_notice(ctx: Context, event: Any, what: Any) -> Collaboration:
    collab = await lookup.collaboration(ctx, str(event.value.get("code", "")))
    _authorize_initiator(ctx, collab, what)
    return collab


@router.action("request.rescope")
async def rescope_clicked(ctx: Context, event: Any) -> Outcome:
    """Without forms (DingTalk, WeCom): the re-scope form as a card with its one-message template."""
    collab = await _from_notice(ctx, event, _("re-scope it"))
    if not CollaborationFlow.can(collab, "rescope"):
        raise CollaborationFlow.refuse(collab, "rescope", collab.code)
    return ask(rescope_form(collab), ctx=ctx)


@router.form("request.rescope")
async def rescope_submitted(ctx: Context, event: Any) -> Outcome:
    values = {k: v for k, v in event.form.items() if isinstance(v, str) and v.strip()}
    collab = await lookup.collaboration(ctx, str(event.value.get("code", "")))
    unchanged = {
        "start": collab.start_date.isoformat() if collab.start_date else "",
        "deadline": collab.deadline.isoformat(),
        "scope": collab.scope_in,
        "goal": collab.goal,
        "deliverables": collab.deliverables,
        "remarks": collab.remarks,
    }
    values = {k: v for k, v in values.items() if v != unchanged.get(k)}  # the form shows the current values
    return await rescope_collaboration(ctx, collab.code, values)


@router.action("request.reroute")
async def reroute_clicked(ctx: Context, event: Any) -> Outcome:
    collab = await _from_notice(ctx, event, _("re-route it"))
    if not CollaborationFlow.can(collab, "reroute"):
        raise CollaborationFlow.refuse(collab, "reroute", collab.code)
    dept = await lookup.department(str(event.value.get("dept", "")))
    others = await unasked_departments(collab)
    if not others:
        raise InvalidInput(_("Every department with a head is already asked in {code}: re-scope or cancel it instead.", code=collab.code))
    return ask(reroute_form(collab, dept, others), ctx=ctx)


@router.form("request.reroute")
async def reroute_submitted(ctx: Context, event: Any) -> Outcome:
    values = {"from": str(event.value.get("from", "")), "to": str(event.form.get("to", ""))}
    return await reroute_collaboration(ctx, str(event.value.get("code", "")), values)


@router.action("request.cancel")
async def cancel_clicked(ctx: Context, event: Any) -> Outcome:
    return await cancel_collaboration(ctx, str(event.value.get("code", "")))
