"""§8 The improvement log (协作改进流程表): problem, category (信息传递 / 责任分工 / 流程机制 / 资源支持), root
cause, measure, owner, deadline and status (未开始 / 进行中 / 已完成) — tracked like subtasks: the owner
acknowledges progress on a card, is reminded the working day before the deadline, and an overdue item goes to
the owner and whoever logged it."""

from __future__ import annotations

from datetime import date
from typing import Any

from bot.errors import InvalidInput, NotAllowed
from bot.i18n import Msg, _, join
from bot.router import Context, Router
from bot.types import Button, Card, CardField, Choice, Color, Form, FormField, Outcome, Text, ToPerson
from storage.models import Collaboration, Person
from storage.models_workflows import Improvement

from ..common import lookup
from ..common.fields import FieldSet, parse_fields, read_date, require
from ..common.format import day, when
from ..common.forms import ask
from ..common.records import announce_to, require_actor
from ..common.visibility import readable_collaboration, sent_to
from ..risks.kit import DOC, add_working_days, end_of_day, find_document, new_code, require_participant
from .states import ImprovementFlow

router = Router()

CATEGORIES: dict[str, Msg] = {
    "information": _("information flow"),
    "responsibility": _("division of responsibility"),
    "process": _("process and mechanism"),
    "resources": _("resource support"),
}
CATEGORY_WORDS = {
    "information": "information", "info": "information", "communication": "information", "信息传递": "information", "信息": "information", "沟通": "information",
    "responsibility": "responsibility", "roles": "responsibility", "责任分工": "responsibility", "责任": "responsibility", "分工": "responsibility",
    "process": "process", "mechanism": "process", "流程机制": "process", "流程": "process", "机制": "process",
    "resources": "resources", "resource": "resources", "资源支持": "resources", "资源": "resources",
}
STATUS_WORDS = {
    "not started": "not_started", "未开始": "not_started",
    "in progress": "in_progress", "started": "in_progress", "doing": "in_progress", "进行中": "in_progress", "执行中": "in_progress",
    "done": "done", "finished": "done", "complete": "done", "已完成": "done", "完成": "done",
}
IMPROVE_FIELDS = FieldSet(
    {
        "problem": ("problem", "issue", "问题", "问题描述"),
        "category": ("category", "type", "类别", "分类", "问题类别", "问题类型"),
        "root_cause": ("root cause", "cause", "根因", "根本原因", "原因分析", "原因"),
        "measure": ("measure", "improvement", "改进措施", "措施"),
        "owner": ("owner", "负责人", "责任人"),
        "deadline": ("deadline", "due", "截止", "完成时限", "截止时间"),
        "status": ("status", "状态"),
    }
)
EXAMPLE = _("improve XZB2026112301-I01 status: done")


def _colour(item: Improvement, today: date) -> Color:
    if item.status == "done":
        return "grey"
    if item.deadline < today:
        return "red"
    if (item.deadline - today).days <= 2:
        return "yellow"
    return "green"


async def improvement_card(item: Improvement, ctx: Context) -> Card:
    owner = await Person.get(id=item.owner_id)
    creator = await Person.get(id=item.created_by_id)
    value = {"code": item.code}
    buttons: list[Button] = []
    if item.status == "not_started":
        buttons.append(Button(_("Start working"), "improvement.start", value, command=_("improve {code} status: in progress", code=item.code)))
    if item.status != "done":
        buttons.append(Button(_("Done"), "improvement.done", value, "primary", command=_("improve {code} status: done", code=item.code)))
    return Card(
        key=f"imp:{item.code}",
        title=_("Improvement {code}: {problem}", code=item.code, problem=item.problem[:80]),
        fields=[
            CardField(_("Category"), CATEGORIES[item.category]),
            CardField(_("Problem"), item.problem),
            CardField(_("Root cause"), item.root_cause or "—"),
            CardField(_("Measure"), item.measure),
            CardField(_("Owner"), owner.name),
            CardField(_("Deadline"), day(item.deadline)),
            CardField(_("Status"), ImprovementFlow.label(item.status)),
            CardField(_("Logged by"), _("{name} at {time}", name=creator.name, time=when(item.created_at, ctx.config.bot.timezone))),
        ],
        buttons=buttons,
        color=_colour(item, lookup.local_today(ctx)),
        mentions=[str(owner.id)] if item.status != "done" else [],
    )


def improvement_form(collab: Collaboration) -> Form:
    """One row of 协作改进流程表."""
    return Form(
        id="improvement.new",
        title=_("Improvement for {code}", code=collab.code),
        submit_label=_("Log the improvement"),
        value={"code": collab.code},
        template=_("improve {code}\nproblem: …\ncategory: 信息传递 / 责任分工 / 流程机制 / 资源支持\nroot cause: …\nmeasure: …\nowner: …\ndeadline: …", code=collab.code),
        fields=[
            FormField("problem", _("Problem"), "textarea", required=True),
            FormField("category", _("Category"), "select", required=True, choices=[Choice(k, v) for k, v in CATEGORIES.items()]),
            FormField("root_cause", _("Root cause"), "textarea"),
            FormField("measure", _("Measure"), "textarea", required=True),
            FormField("owner", _("Owner"), "person", required=True),
            FormField("deadline", _("Deadline"), "date", required=True),
        ],
    )


async def log_improvement(ctx: Context, collab: Collaboration, values: dict[str, str]) -> Outcome:
    actor = await require_participant(ctx, collab, _("log an improvement"))
    problem = require(values, "problem", _("Problem"))
    category = CATEGORY_WORDS.get(require(values, "category", _("Category")).strip().lower())
    if category is None:
        raise InvalidInput(_("Category “{text}” is not one of 信息传递 / 责任分工 / 流程机制 / 资源支持 (information / responsibility / process / resources).", text=values["category"][:20]), field="category")
    measure = require(values, "measure", _("Measure"))
    owner = await lookup.person(ctx, require(values, "owner", _("Owner")), field="owner")
    today = lookup.local_today(ctx)
    deadline = read_date(require(values, "deadline", _("Deadline")), today, "deadline")
    if deadline < today:
        raise InvalidInput(_("The deadline {deadline} is in the past. Choose a later date.", deadline=deadline.isoformat()), field="deadline")
    code = await new_code(collab, "I")
    item = await Improvement.create(
        code=code,
        collaboration=collab,
        problem=problem,
        category=category,
        root_cause=values.get("root_cause", ""),
        measure=measure,
        owner=owner,
        deadline=deadline,
        created_by=actor,
        created_at=ctx.now,
        updated_at=ctx.now,
    )
    outcome = Outcome().record("improvement.logged", code, category=category, owner=owner.handle, deadline=deadline.isoformat(), problem=problem, measure=measure)
    card = await improvement_card(item, ctx)
    outcome.send(await announce_to(collab), card)
    outcome.send(ToPerson(owner.id), card)
    remind_day = add_working_days(ctx, deadline, -1)
    if remind_day > today:
        outcome.timer(f"improvement:{code}:remind", "improvement.remind", end_of_day(ctx, remind_day), code=code, collaboration=collab.id)
    outcome.timer(f"improvement:{code}:overdue", "improvement.overdue", end_of_day(ctx, deadline), code=code, collaboration=collab.id)
    return outcome


async def set_status(ctx: Context, code_text: str, status_text: str) -> Outcome:
    item = await find_document(ctx, Improvement, code_text, "I", EXAMPLE, lock=True)
    collab = await Collaboration.get(id=item.collaboration_id)
    actor = require_actor(ctx)
    if actor.id not in (item.owner_id, item.created_by_id, collab.initiator_id):
        owner = await Person.get(id=item.owner_id)
        raise NotAllowed(_("Only {owner}, the owner of improvement {code}, or whoever logged it can change its status.", owner=owner.name, code=item.code))
    status = STATUS_WORDS.get(status_text.strip().lower())
    if status is None or status == "not_started":
        raise InvalidInput(_("Status “{text}” is not one of 进行中 / 已完成 (in progress / done).", text=status_text.strip()[:20]), field="status")
    event = "start" if status == "in_progress" else "finish"
    if not ImprovementFlow.can(item, event):
        raise ImprovementFlow.refuse(item, event, item.code)
    await ImprovementFlow.fire(item, event, item.code, updated_at=ctx.now, done_at=ctx.now if status == "done" else None)
    outcome = Outcome().record("improvement.status", item.code, status=status)
    if status == "done":
        outcome.cancel(f"improvement:{item.code}:*")
        outcome.send(await announce_to(collab), Text(_("✅ Improvement {code} is done: {measure}", code=item.code, measure=item.measure)))
    outcome.update(await improvement_card(item, ctx))
    return outcome


@router.command("improve", "improvement", "改进", "改进项", "协作改进")
async def improve_command(ctx: Context, args: str) -> Outcome:
    head, values = parse_fields(args, IMPROVE_FIELDS)
    if any(m.group(2).upper() == "I" for m in DOC.finditer(head)):
        return await set_status(ctx, head, require(values, "status", _("Status")))
    collab = await lookup.collaboration(ctx, head)
    if not values:
        await require_participant(ctx, collab, _("log an improvement"))
        return ask(improvement_form(collab), ctx=ctx)
    return await log_improvement(ctx, collab, values)


@router.action("improvement.start")
async def start_clicked(ctx: Context, event: Any) -> Outcome:
    return await set_status(ctx, str(event.value.get("code", "")), "in progress")


@router.action("improvement.done")
async def done_clicked(ctx: Context, event: Any) -> Outcome:
    return await set_status(ctx, str(event.value.get("code", "")), "done")


@router.command("improvements", "改进列表", "改进记录")
async def list_improvements(ctx: Context, args: str) -> Outcome:
    collab, _actor, audience = await readable_collaboration(ctx, args)
    today = lookup.local_today(ctx)
    dots = {"red": "🔴", "yellow": "🟡", "green": "🟢", "grey": "⚪", "blue": "🔵"}
    rows = await Improvement.filter(collaboration_id=collab.id).order_by("id").select_related("owner")
    lines = [
        _("{dot} {code} [{category}] {problem} — {owner}, due {deadline}, {status}", dot=dots[_colour(i, today)], code=i.code, category=CATEGORIES[i.category], problem=i.problem[:50], owner=i.owner.name, deadline=day(i.deadline), status=ImprovementFlow.label(i.status))
        for i in rows
    ]
    return sent_to(audience, [Card(title=_("Improvement log of {code}", code=collab.code), body=join(lines or [_("Nothing logged yet.")]), color="blue")])


@router.timer("improvement.remind")
async def remind(ctx: Context, event: Any) -> Outcome:
    item = await Improvement.get_or_none(code=str(event.payload.get("code", "")))
    if item is None or item.status == "done":
        return Outcome()
    card = await improvement_card(item, ctx)
    card.key = None  # a reminder to act on, beside the live card
    card.title = _("⏰ Improvement {code} is due {deadline}: {measure}", code=item.code, deadline=day(item.deadline), measure=item.measure)
    return Outcome().send(ToPerson(item.owner_id), card)


@router.timer("improvement.overdue")
async def overdue(ctx: Context, event: Any) -> Outcome:
    item = await Improvement.get_or_none(code=str(event.payload.get("code", "")))
    if item is None or item.status == "done":
        return Outcome()
    line = Text(_("🔴 Improvement {code} is overdue (due {deadline}): {measure}", code=item.code, deadline=day(item.deadline), measure=item.measure))
    outcome = Outcome().record("improvement.overdue", item.code)
    for pid in {item.owner_id, item.created_by_id}:
        outcome.send(ToPerson(pid), line)
    outcome.update(await improvement_card(item, ctx))
    return outcome


@router.form("improvement.new")
async def improvement_submitted(ctx: Context, event: Any) -> Outcome:
    collab = await lookup.collaboration(ctx, str(event.value.get("code", "")))
    values = {k: v for k, v in event.form.items() if isinstance(v, str) and v.strip()}
    return await log_improvement(ctx, collab, values)
