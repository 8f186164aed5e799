"""§1 Raise a collaboration request: create, accept/decline per department, re-scope, re-route, cancel."""

from __future__ import annotations

from typing import Any

from bot.errors import InvalidInput, NotAllowed, TransitionNotAllowed
from bot.i18n import _, join
from bot.router import Context, Router
from bot.types import Outcome, Text, ToPerson
from storage import directory, sql
from storage.models import Collaboration, Department, Group, GroupBinding, Person, RequestedDepartment
from storage.unique import create_coded

from ..common import lookup
from ..common.card_values import clicked_version
from ..common.fields import parse_fields, read_date, require
from ..common.format import parse_priority
from ..common.forms import answer_typed, ask
from ..common.records import (
    announce_to,
    related,
    require_actor,
)
from .cards import (
    FIELD_LABELS,
    REQUEST_FIELDS,
    decision_card,
    decline_form,
    decline_notice_card,
    department_answers,
    overview_card,
    request_form,
)
from .initiator import router as initiator_router
from .states import CollaborationFlow, DepartmentAnswerFlow
from .steps import ask_head, check_dates, departments, unasked_departments

router = Router()
router.include(initiator_router)


# ---------------------------------------------------------------- create


async def _optional_person(ctx: Context, values: dict[str, str], name: str) -> Person | None:
    return await lookup.person(ctx, values[name], field=name) if values.get(name) else None


async def create_request(ctx: Context, values: dict[str, Any], group: Group | None = None) -> Outcome:
    """``group``: where it was asked for, when that is not where the form came back from (a form sent by DM)."""
    initiator = require_actor(ctx)
    group = group or ctx.group
    # "sop: <name>": start from a saved SOP (协作SOP)
    from ..retro.sop import plan_from_sop, prefill

    values, sop = await prefill(values)
    today = lookup.local_today(ctx)
    title = require(values, "title", FIELD_LABELS["title"])[:255]
    goal = require(values, "goal", FIELD_LABELS["goal"])
    asked = await departments(require(values, "departments", FIELD_LABELS["departments"]))
    deadline = read_date(require(values, "deadline", FIELD_LABELS["deadline"]), today, "deadline")
    start = read_date(values["start"], today, "start") if values.get("start") else None
    check_dates(start, deadline, today)
    priority = parse_priority(values.get("priority"))
    reviewer = await _optional_person(ctx, values, "reviewer")
    decision_maker = await _optional_person(ctx, values, "decision_maker")
    tracker = await _optional_person(ctx, values, "tracker")

    prefix = ctx.config.bot.id_prefix.upper()
    stamp = today.strftime("%Y%m%d")
    collab = await create_coded(
        Collaboration,
        "code",
        f"{prefix}{stamp}",
        f"collab:{prefix}{stamp}",
        title=title,
        background=values.get("background", ""),
        goal=goal,
        scope_in=values.get("scope", ""),
        scope_out=values.get("out_of_scope", ""),
        priority=priority,
        raised_on=today,
        start_date=start,
        deadline=deadline,
        deliverables=values.get("deliverables", ""),
        remarks=values.get("remarks", ""),
        initiator=initiator,
        reviewer=reviewer,
        decision_maker=decision_maker,
        tracker=tracker,
        created_at=ctx.now,
    )
    code = collab.code
    if group is not None:
        await sql.insert_at_end(GroupBinding(collaboration=collab, group=group, created_at=ctx.now))
    directory.bound_from_creation(collab.id, (group.id,) if group is not None else ())

    outcome = Outcome().record(
        "request.created",
        code,
        title=title,
        departments=[d.code for d in asked],
        deadline=deadline.isoformat(),
        priority=priority,
    )
    answers = [RequestedDepartment(collaboration=collab, department=dept, round=1) for dept in asked]
    for answer in answers:  # no read of this event needs them back
        await sql.insert_at_end(answer)
    for dept in asked:  # what the request card shows of a department waiting: its head, from the directory cache
        await related(dept, "head")
    outcome.send(await announce_to(collab), await overview_card(collab, ctx, answers))
    for dept, answer in zip(asked, answers, strict=True):
        await ask_head(ctx, outcome, collab, dept, answer)
    if sop is not None:
        outcome.merge(await plan_from_sop(ctx, collab, sop))
    if group is None or ctx.group is None:
        outcome.reply(_("Request {code} created and sent to the department heads.", code=code))
    return outcome



@router.command("new", "create", "request", "新建协作", "发起协作", "新建", "发起", "协作需求")
async def new_request(ctx: Context, args: str) -> Outcome:
    head, values = parse_fields(args, REQUEST_FIELDS)
    if not values:
        return ask(request_form(ctx.group.id if ctx.group else None), ctx=ctx)
    if head and "title" not in values:
        values["title"] = head
    return await create_request(ctx, values)


@router.form("request.new")
async def submit_request_form(ctx: Context, event: Any) -> Outcome:
    values = {k: v for k, v in event.form.items() if isinstance(v, str) and v.strip()}
    group_id = event.value.get("group")
    group = await Group.get_or_none(id=group_id) if ctx.group is None and isinstance(group_id, int) else None
    return await create_request(ctx, values, group)


# ---------------------------------------------------------------- decide


async def _answer_for(ctx: Context, collab: Collaboration, dept_code: object) -> tuple[Department, RequestedDepartment, list[RequestedDepartment]]:
    """The department answer meant, and all the current ones (with what the cards show: department, head, decider)."""
    actor = require_actor(ctx)
    dept_code = str(dept_code) if dept_code not in (None, "") else None  # a button value may carry anything
    answers = list(await department_answers(collab))
    if dept_code:
        matching = [a for a in answers if a.department.code.lower() == dept_code.lower() or a.department.name == dept_code]
        if not matching:
            raise InvalidInput(_("{dept} is not one of the departments asked in {code}.", dept=dept_code, code=collab.code))
    else:
        matching = [a for a in answers if a.department.head_id == actor.id] or answers
        if len(matching) > 1:
            names = join([a.department.name for a in matching], ", ")
            raise InvalidInput(_("Several departments are asked in {code} ({names}). Add the department, e.g. “accept {code} {first}”.", code=collab.code, names=names, first=matching[0].department.name))
    answer = matching[0]
    return answer.department, answer, answers


def _authorize_head(ctx: Context, dept: Department, head: Person | None) -> None:
    actor = require_actor(ctx)
    if dept.head_id != actor.id:
        raise NotAllowed(
            _("Only {head}, head of {dept}, can accept or decline for {dept}.", head=head.name if head else "?", dept=dept.name)
        )


async def _decidable(
    ctx: Context, code_text: str, dept_code: object, round_: int | None
) -> tuple[Collaboration, Department, RequestedDepartment, list[RequestedDepartment]]:
    """The department answer the actor may give now, or the reason they may not (wrong head, decided, stale card)."""
    collab = await lookup.collaboration(ctx, code_text, lock=True)
    dept, answer, answers = await _answer_for(ctx, collab, dept_code)
    _authorize_head(ctx, dept, dept.head)  # loaded with the answers
    if collab.state != "pending":
        raise TransitionNotAllowed(
            _("{code} is {state}: there is nothing left to accept or decline.", code=collab.code, state=CollaborationFlow.label(collab.state))
        )
    if round_ is not None and round_ != answer.round:
        raise TransitionNotAllowed(
            _("This card is out of date: {code} was changed since (now round {round}). Use the newest card.", code=collab.code, round=answer.round)
        )
    if answer.state != "pending":
        decider: Person | None = answer.decided_by  # loaded with the answers
        raise TransitionNotAllowed(
            _("{dept} already answered {code}: {state} by {name}. Nothing was changed.", dept=dept.name, code=collab.code, state=DepartmentAnswerFlow.label(answer.state), name=decider.name if decider else "?")
        )
    return collab, dept, answer, answers


async def decide(ctx: Context, code_text: str, dept_code: object, round_: int | None, accept: bool, reason: str = "", counter: str = "") -> Outcome:
    collab, dept, answer, answers = await _decidable(ctx, code_text, dept_code, round_)
    counter_date = None
    if not accept:
        if not reason.strip():
            raise InvalidInput(_("A decline needs a reason, e.g. “decline {code} reason: 当前人力饱和 counter date: 12月20日”.", code=collab.code), field="reason")
        if counter.strip():
            counter_date = read_date(counter, lookup.local_today(ctx), "counter_date")
    actor = require_actor(ctx)
    await DepartmentAnswerFlow.fire_at_end(
        answer,
        "accept" if accept else "decline",
        collab.code,
        decided_by_id=actor.id,
        decided_at=ctx.now,
        reason=reason.strip(),
        counter_date=counter_date,
    )
    answer.decided_by = actor
    outcome = Outcome().cancel(f"sla:request:{collab.code}:{dept.code}:*")
    outcome.confirmed(collab.code, f"request:r{answer.round}:{dept.code}", "confirmed" if accept else "rejected", reason.strip())
    outcome.record(
        "request.accepted" if accept else "request.declined",
        collab.code,
        department=dept.code,
        round=answer.round,
        **({} if accept else {"reason": reason.strip(), "counter_date": counter_date.isoformat() if counter_date else None}),
    )
    outcome.update(await decision_card(collab, dept, answer, ctx))
    # the answers were read under the collaboration's lock: no other head's answer can have changed since
    remaining = [a for a in answers if a.state not in ("withdrawn", "accepted")]
    if accept and not remaining:
        await CollaborationFlow.fire_at_end(collab, "activate", collab.code)
        outcome.record("request.activated", collab.code, round=collab.round)
        outcome.send(
            await announce_to(collab),
            Text(_("All departments accepted {code}. The collaboration is active: split it into subtasks with “task {code}”.", code=collab.code)),
        )
        # subtasks planned ahead (an SOP's, minutes' action items) start now
        from ..retro.planned import on_activated

        outcome.merge(await on_activated(ctx, collab))
    if not accept:
        outcome.send(ToPerson(collab.initiator_id), decline_notice_card(collab, dept, answer, await unasked_departments(collab, answers)))
    initiator: Person = await related(collab, "initiator")
    answer_typed(
        ctx,
        outcome,
        _("Recorded: you accepted {code} for {dept}.", code=collab.code, dept=dept.name)
        if accept
        else _("Recorded: you declined {code} for {dept}; {initiator} was told.", code=collab.code, dept=dept.name, initiator=initiator.name),
    )
    outcome.update(await overview_card(collab, ctx, answers))
    return outcome


@router.action("request.accept")
async def accept_clicked(ctx: Context, event: Any) -> Outcome:
    value = event.value
    code = str(value.get("code", ""))
    return await decide(ctx, code, value.get("dept"), clicked_version(value, "round", code), True)


@router.action("request.decline")
async def decline_clicked(ctx: Context, event: Any) -> Outcome:
    """A click without the form (platforms without modals): validate, then ask for the reason."""
    value = event.value
    code = str(value.get("code", ""))
    collab, dept, answer, _answers = await _decidable(ctx, code, value.get("dept"), clicked_version(value, "round", code))
    form = decline_form(collab, dept, answer.round)
    return ask(form, _("Why do you decline?"), ctx=ctx)


@router.form("request.decline")
async def decline_submitted(ctx: Context, event: Any) -> Outcome:
    value = event.value
    return await decide(
        ctx,
        str(value.get("code", "")),
        value.get("dept"),
        clicked_version(value, "round", str(value.get("code", ""))),
        False,
        str(event.form.get("reason", "")),
        str(event.form.get("counter_date", "")),
    )


_DECIDE_FIELDS = REQUEST_FIELDS.__class__(
    {"reason": ("reason", "原因", "理由"), "counter_date": ("counter date", "counter", "改期", "可启动", "建议日期", "延期至")}
)


def _head_parts(head: str) -> tuple[str, str | None]:
    parts = head.split()
    dept = next((p for p in parts[1:] if not lookup.find_code(p)), None) if parts else None
    return head, dept


@router.command("accept", "接受", "同意协作")
async def accept_command(ctx: Context, args: str) -> Outcome:
    head, _values = parse_fields(args, _DECIDE_FIELDS)
    code_text, dept = _head_parts(head)
    return await decide(ctx, code_text, dept, None, True)


@router.command("decline", "拒绝", "婉拒")
async def decline_command(ctx: Context, args: str) -> Outcome:
    head, values = parse_fields(args, _DECIDE_FIELDS)
    code_text, dept = _head_parts(head)
    return await decide(ctx, code_text, dept, None, False, values.get("reason", ""), values.get("counter_date", ""))
