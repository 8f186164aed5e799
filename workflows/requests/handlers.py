"""§1 Raise a collaboration request: create, accept/decline per department, re-scope, re-route, cancel."""

from __future__ import annotations

from datetime import date
from typing import Any

from bot.errors import InvalidInput, NotAllowed, TransitionNotAllowed
from bot.i18n import _, join
from bot.router import Context, Router
from bot.types import Outcome, Text, ToPerson
from storage.models import Collaboration, Department, Group, GroupBinding, Person, RequestedDepartment

from ..common import lookup
from ..common.fields import parse_fields, read_date, require, split_list
from ..common.format import parse_priority
from ..common.forms import ask
from ..common.records import (
    announce_to,
    next_number,
    open_confirmation,
    record_confirmation,
    require_actor,
    sla_timers,
    void_confirmations,
)
from .cards import (
    FIELD_LABELS,
    REQUEST_FIELDS,
    decision_card,
    decline_form,
    overview_card,
    request_form,
)
from .states import CollaborationFlow, DepartmentAnswerFlow

router = Router()


# ---------------------------------------------------------------- create


async def _departments(text: str) -> list[Department]:
    names = split_list(text)
    if not names:
        raise InvalidInput(_("Name at least one department, e.g. “departments: 设计部, 研发部”."), field="departments")
    found: list[Department] = []
    for name in names:
        dept = await lookup.department(name, field="departments")
        if dept.head_id is None:
            raise InvalidInput(
                _("{dept} has no head to accept requests. An admin sets one with “admin head {code} @name”.", dept=dept.name, code=dept.code),
                field="departments",
            )
        if dept.id not in {d.id for d in found}:
            found.append(dept)
    return found


def _check_dates(start: date | None, deadline: date, today: date) -> None:
    if deadline < today:
        raise InvalidInput(_("The deadline {deadline} is in the past. Choose a later date.", deadline=deadline.isoformat()), field="deadline")
    if start is not None and deadline < start:
        raise InvalidInput(
            _("The deadline {deadline} is before the start {start}. The deadline must be on or after the start.", deadline=deadline.isoformat(), start=start.isoformat()),
            field="deadline",
        )


async def _optional_person(ctx: Context, values: dict[str, str], name: str) -> Person | None:
    return await lookup.person(ctx, values[name], field=name) if values.get(name) else None


async def create_request(ctx: Context, values: dict[str, Any]) -> Outcome:
    initiator = require_actor(ctx)
    # "sop: <name>": start from a saved SOP (协作SOP)
    from ..retro.sop import plan_from_sop, prefill

    values, sop = await prefill(values)
    today = lookup.local_today(ctx)
    title = require(values, "title", FIELD_LABELS["title"])[:255]
    goal = require(values, "goal", FIELD_LABELS["goal"])
    departments = await _departments(require(values, "departments", FIELD_LABELS["departments"]))
    deadline = read_date(require(values, "deadline", FIELD_LABELS["deadline"]), today, "deadline")
    start = read_date(values["start"], today, "start") if values.get("start") else None
    _check_dates(start, deadline, today)
    priority = parse_priority(values.get("priority"))
    reviewer = await _optional_person(ctx, values, "reviewer")
    decision_maker = await _optional_person(ctx, values, "decision_maker")
    tracker = await _optional_person(ctx, values, "tracker")

    prefix = ctx.config.bot.id_prefix.upper()
    stamp = today.strftime("%Y%m%d")
    code = f"{prefix}{stamp}{await next_number(f'collab:{prefix}{stamp}'):02d}"
    collab = await Collaboration.create(
        code=code,
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
    if ctx.group is not None:
        await GroupBinding.create(collaboration=collab, group=ctx.group, created_at=ctx.now)
        await Group.filter(id=ctx.group.id).update(collaboration_id=collab.id)

    outcome = Outcome().record(
        "request.created",
        code,
        title=title,
        departments=[d.code for d in departments],
        deadline=deadline.isoformat(),
        priority=priority,
    )
    answers = [await RequestedDepartment.create(collaboration=collab, department=dept, round=1) for dept in departments]
    outcome.send(await announce_to(collab), await overview_card(collab, ctx))
    for dept, answer in zip(departments, answers, strict=True):
        await _ask_head(ctx, outcome, collab, dept, answer)
    if sop is not None:
        outcome.merge(await plan_from_sop(ctx, collab, sop))
    if ctx.group is None:
        outcome.reply(_("Request {code} created and sent to the department heads.", code=code))
    return outcome


async def _ask_head(ctx: Context, outcome: Outcome, collab: Collaboration, dept: Department, answer: RequestedDepartment) -> None:
    assert dept.head_id is not None
    await open_confirmation(collab.code, f"request:r{answer.round}:{dept.code}", dept.head_id, ctx.now)
    outcome.send(ToPerson(dept.head_id), await decision_card(collab, dept, answer, ctx))
    for key, kind, due, payload in sla_timers(
        ctx, f"sla:request:{collab.code}:{dept.code}", "sla.request", ctx.config.bot.request_answer_working_days,
        code=collab.code, dept=dept.code, round=answer.round,
    ):
        outcome.timer(key, kind, due, **payload)


@router.command("new", "create", "request", "新建协作", "发起协作", "新建", "发起", "协作需求")
async def new_request(ctx: Context, args: str) -> Outcome:
    head, values = parse_fields(args, REQUEST_FIELDS)
    if not values:
        return ask(request_form())
    if head and "title" not in values:
        values["title"] = head
    return await create_request(ctx, values)


@router.form("request.new")
async def submit_request_form(ctx: Context, event: Any) -> Outcome:
    values = {k: v for k, v in event.form.items() if isinstance(v, str) and v.strip()}
    return await create_request(ctx, values)


# ---------------------------------------------------------------- decide


async def _answer_for(ctx: Context, collab: Collaboration, dept_code: object) -> tuple[Department, RequestedDepartment]:
    actor = require_actor(ctx)
    dept_code = str(dept_code) if dept_code not in (None, "") else None  # a button value may carry anything
    answers = await RequestedDepartment.filter(collaboration_id=collab.id).exclude(state="withdrawn").select_related("department")
    if dept_code:
        matching = [a for a in answers if a.department.code.lower() == dept_code.lower() or a.department.name == dept_code]
        if not matching:
            raise InvalidInput(_("{dept} is not one of the departments asked in {code}.", dept=dept_code, code=collab.code))
    else:
        matching = [a for a in answers if a.department.head_id == actor.id] or answers
        if len(matching) > 1:
            names = ", ".join(a.department.code for a in matching)
            raise InvalidInput(_("Several departments are asked in {code} ({names}). Add the department, e.g. “accept {code} {first}”.", code=collab.code, names=names, first=matching[0].department.code))
    answer = matching[0]
    return answer.department, answer


def _authorize_head(ctx: Context, dept: Department, head: Person | None) -> None:
    actor = require_actor(ctx)
    if dept.head_id != actor.id:
        raise NotAllowed(
            _("Only {head}, head of {dept}, can accept or decline for {dept}.", head=head.name if head else "?", dept=dept.name)
        )


async def _decidable(ctx: Context, code_text: str, dept_code: object, round_: int | None) -> tuple[Collaboration, Department, RequestedDepartment]:
    """The department answer the actor may give now, or the reason they may not (wrong head, decided, stale card)."""
    collab = await lookup.collaboration(ctx, code_text, lock=True)
    dept, answer = await _answer_for(ctx, collab, dept_code)
    head = await Person.get_or_none(id=dept.head_id) if dept.head_id else None
    _authorize_head(ctx, dept, head)
    if collab.state != "pending":
        raise TransitionNotAllowed(
            _("{code} is {state}: there is nothing left to accept or decline.", code=collab.code, state=CollaborationFlow.label(collab.state))
        )
    if round_ is not None and round_ != answer.round:
        raise TransitionNotAllowed(
            _("This card is out of date: {code} was changed since (now round {round}). Use the newest card.", code=collab.code, round=answer.round)
        )
    if answer.state != "pending":
        decider = await Person.get_or_none(id=answer.decided_by_id) if answer.decided_by_id else None
        raise TransitionNotAllowed(
            _("{dept} already answered {code}: {state} by {name}. Nothing was changed.", dept=dept.name, code=collab.code, state=DepartmentAnswerFlow.label(answer.state), name=decider.name if decider else "?")
        )
    return collab, dept, answer


async def decide(ctx: Context, code_text: str, dept_code: object, round_: int | None, accept: bool, reason: str = "", counter: str = "") -> Outcome:
    collab, dept, answer = await _decidable(ctx, code_text, dept_code, round_)
    counter_date = None
    if not accept:
        if not reason.strip():
            raise InvalidInput(_("A decline needs a reason, e.g. “decline {code} reason: 当前人力饱和 counter date: 12月20日”.", code=collab.code), field="reason")
        if counter.strip():
            counter_date = read_date(counter, lookup.local_today(ctx), "counter_date")
    actor = require_actor(ctx)
    await DepartmentAnswerFlow.fire(
        answer,
        "accept" if accept else "decline",
        collab.code,
        decided_by_id=actor.id,
        decided_at=ctx.now,
        reason=reason.strip(),
        counter_date=counter_date,
    )
    await record_confirmation(ctx, collab.code, f"request:r{answer.round}:{dept.code}", "confirmed" if accept else "rejected", reason.strip())
    outcome = Outcome().cancel(f"sla:request:{collab.code}:{dept.code}:*")
    outcome.record(
        "request.accepted" if accept else "request.declined",
        collab.code,
        department=dept.code,
        round=answer.round,
        **({} if accept else {"reason": reason.strip(), "counter_date": counter_date.isoformat() if counter_date else None}),
    )
    outcome.update(await decision_card(collab, dept, answer, ctx))
    remaining = await RequestedDepartment.filter(collaboration_id=collab.id).exclude(state__in=["withdrawn", "accepted"]).count()
    if accept and remaining == 0:
        await CollaborationFlow.fire(collab, "activate", collab.code)
        outcome.record("request.activated", collab.code, round=collab.round)
        outcome.send(
            await announce_to(collab),
            Text(_("All departments accepted {code}. The collaboration is active: split it into subtasks with “task {code}”.", code=collab.code)),
        )
        # subtasks planned ahead (an SOP's, minutes' action items) start now
        from ..retro.planned import on_activated

        outcome.merge(await on_activated(ctx, collab))
    if not accept:
        outcome.send(
            ToPerson(collab.initiator_id),
            Text(
                join(
                    [
                        _("{dept} declined {code}: {reason}", dept=dept.name, code=collab.code, reason=reason.strip()),
                        _("They could start on {date}.", date=counter_date.isoformat()) if counter_date else None,
                        _("You can re-scope (“rescope {code} deadline: …”), re-route (“reroute {code} from: {dept_code} to: …”) or cancel (“cancel {code}”).", code=collab.code, dept_code=dept.code),
                    ]
                )
            ),
        )
    outcome.update(await overview_card(collab, ctx))
    return outcome


@router.action("request.accept")
async def accept_clicked(ctx: Context, event: Any) -> Outcome:
    value = event.value
    return await decide(ctx, str(value.get("code", "")), value.get("dept"), _int(value.get("round")), True)


@router.action("request.decline")
async def decline_clicked(ctx: Context, event: Any) -> Outcome:
    """A click without the form (platforms without modals): validate, then ask for the reason."""
    value = event.value
    collab, dept, answer = await _decidable(ctx, str(value.get("code", "")), value.get("dept"), _int(value.get("round")))
    form = decline_form(collab, dept, answer.round)
    return ask(form, _("Why do you decline?"))


@router.form("request.decline")
async def decline_submitted(ctx: Context, event: Any) -> Outcome:
    value = event.value
    return await decide(
        ctx,
        str(value.get("code", "")),
        value.get("dept"),
        _int(value.get("round")),
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


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# ---------------------------------------------------------------- initiator: re-scope, re-route, cancel


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
        await _ask_head(ctx, outcome, collab, dept, answer)


@router.command("rescope", "调整", "调整需求", "修改需求")
async def rescope(ctx: Context, args: str) -> Outcome:
    head, values = parse_fields(args, REQUEST_FIELDS)
    collab = await lookup.collaboration(ctx, head, lock=True)
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
    _check_dates(collab.start_date, collab.deadline, today)
    await collab.save()
    outcome = Outcome().record("request.rescoped", collab.code, changes=diff, round=collab.round + 1)
    answers = await RequestedDepartment.filter(collaboration_id=collab.id).exclude(state="withdrawn").select_related("department")
    await _new_round(ctx, outcome, collab, list(answers))
    outcome.update(await overview_card(collab, ctx))
    outcome.reply(_("{code} re-scoped; every department was asked again (round {round}).", code=collab.code, round=collab.round))
    return outcome


_REROUTE_FIELDS = REQUEST_FIELDS.__class__({"from": ("from", "原部门", "从"), "to": ("to", "新部门", "改为", "到")})


@router.command("reroute", "改派", "转派")
async def reroute(ctx: Context, args: str) -> Outcome:
    head, values = parse_fields(args, _REROUTE_FIELDS)
    collab = await lookup.collaboration(ctx, head, lock=True)
    _authorize_initiator(ctx, collab, _("re-route it"))
    if not CollaborationFlow.can(collab, "reroute"):
        raise CollaborationFlow.refuse(collab, "reroute", collab.code)
    old_dept = await lookup.department(require(values, "from", _("from")), field="from")
    new_dept = (await _departments(require(values, "to", _("to"))))[0]
    old_answer = await RequestedDepartment.filter(collaboration_id=collab.id, department_id=old_dept.id).exclude(state="withdrawn").first()
    if old_answer is None:
        raise InvalidInput(_("{dept} is not one of the departments asked in {code}.", dept=old_dept.name, code=collab.code), field="from")
    if await RequestedDepartment.filter(collaboration_id=collab.id, department_id=new_dept.id).exclude(state="withdrawn").exists():
        raise InvalidInput(_("{dept} is already asked in {code}.", dept=new_dept.name, code=collab.code), field="to")
    outcome = Outcome()
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
    await _ask_head(ctx, outcome, collab, new_dept, answer)
    outcome.record("request.rerouted", collab.code, before=old_dept.code, after=new_dept.code, round=collab.round)
    outcome.update(await overview_card(collab, ctx))
    outcome.reply(_("{code} re-routed from {old} to {new}.", code=collab.code, old=old_dept.name, new=new_dept.name))
    return outcome


@router.command("cancel", "取消", "撤销")
async def cancel(ctx: Context, args: str) -> Outcome:
    collab = await lookup.collaboration(ctx, args, lock=True)
    _authorize_initiator(ctx, collab, _("cancel it"))
    await CollaborationFlow.fire(collab, "cancel", collab.code)
    outcome = Outcome().record("request.cancelled", collab.code)
    outcome.cancel(f"sla:request:{collab.code}:*")
    answers = await RequestedDepartment.filter(collaboration_id=collab.id, state="pending").select_related("department")
    for answer in answers:
        outcome.update(await decision_card(collab, answer.department, answer, ctx, note=_("Cancelled by the initiator.")))
    await void_confirmations(collab.code, "request:")
    outcome.update(await overview_card(collab, ctx))
    outcome.send(await announce_to(collab), Text(_("{code} was cancelled by its initiator.", code=collab.code)))
    return outcome

