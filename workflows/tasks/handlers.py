"""§2 Subtasks with the five elements (五要素), owner acknowledgement and progress updates (《任务执行进度跟踪表》)."""

from __future__ import annotations

import re
from typing import Any

from bot.errors import InvalidInput, NotAllowed, TransitionNotAllowed
from bot.i18n import _, join
from bot.router import Context, Router
from bot.types import Outcome, Text, ToPerson
from storage import directory, sql
from storage.models import Collaboration, Person, ProgressUpdate, RequestedDepartment, Subtask
from storage.unique import create_coded

from ..common import lookup
from ..common.fields import FieldSet, parse_fields, read_date, require, split_list
from ..common.format import parse_priority
from ..common.forms import answer_typed, ask
from ..common.records import announce_to, person_of, related, require_actor, require_open
from ..requests.states import CollaborationFlow
from .cards import FIELD_LABELS, STAGE_WORDS, progress_form, subtask_card, task_form
from .states import SubtaskFlow

router = Router()

TASK_FIELDS = FieldSet(
    {
        "title": ("title", "标题", "任务", "任务名称", "名称"),
        "owner": ("owner", "负责人"),
        "collaborators": ("collaborators", "协作人", "协助人"),
        "resources": ("resources", "所需资源", "资源"),
        "standard": ("standard", "delivery standard", "交付标准", "验收标准"),
        "start": ("start", "开始", "开始时间"),
        "deadline": ("deadline", "due", "截止", "截止时间"),
        "priority": ("priority", "优先级"),
        "depends": ("depends", "depends on", "dependencies", "依赖", "前置任务"),
        "reviewer": ("reviewer", "验收人"),
    }
)

PROGRESS_FIELDS = FieldSet(
    {
        "progress": ("progress", "进度", "完成度"),
        "stage": ("stage", "阶段", "状态"),
        "done": ("done", "completed", "已完成", "完成内容", "进展"),
        "problems": ("problems", "issues", "遇到的问题", "问题"),
        "support": ("support", "support needed", "所需支持", "需要支持"),
        "next": ("next", "next step", "下一步", "下一步计划"),
    }
)


async def _authorize_planner(ctx: Context, collab: Collaboration) -> Person:
    """The initiator, the tracker and the heads of accepting departments may split the work."""
    actor = require_actor(ctx)
    if actor.id in (collab.initiator_id, collab.tracker_id):
        return actor
    heads = await RequestedDepartment.filter(collaboration_id=collab.id, state="accepted").values_list("department__head_id", flat=True)
    if actor.id in heads:
        return actor
    raise NotAllowed(
        _("Only the initiator, the tracker or the head of an accepting department can add subtasks to {code}.", code=collab.code)
    )


async def default_reviewer(collab: Collaboration, owner: Person) -> Person | None:
    """Whom the collaboration names, else the requesting department's head, else the initiator — never the owner."""
    if collab.reviewer_id is not None and collab.reviewer_id != owner.id:
        return await person_of(collab.reviewer_id, owner)
    initiator: Person = await related(collab, "initiator")
    if initiator.department_id is not None:
        department = await directory.department(initiator.department_id)
        if department is not None and department.head_id is not None and department.head_id != owner.id:
            return await directory.person(department.head_id)
    for candidate in (initiator.id, initiator.superior_id):
        if candidate is not None and candidate != owner.id:
            return await person_of(candidate, initiator)
    return None


async def create_subtask(ctx: Context, collab: Collaboration, values: dict[str, Any]) -> Outcome:
    require_open(collab)
    if collab.state != "active":
        raise TransitionNotAllowed(
            _("{code} is {state}: subtasks can be added once every department has accepted.", code=collab.code, state=CollaborationFlow.label(collab.state))
        )
    await _authorize_planner(ctx, collab)
    today = lookup.local_today(ctx)
    title = require(values, "title", FIELD_LABELS["title"])[:255]
    owner = await lookup.person(ctx, require(values, "owner", FIELD_LABELS["owner"]), field="owner")
    standard = require(values, "standard", FIELD_LABELS["standard"])
    deadline = read_date(require(values, "deadline", FIELD_LABELS["deadline"]), today, "deadline")
    start = read_date(values["start"], today, "start") if values.get("start") else None
    if deadline < today:
        raise InvalidInput(_("The deadline {deadline} is in the past. Choose a later date.", deadline=deadline.isoformat()), field="deadline")
    if start and deadline < start:
        raise InvalidInput(
            _("The deadline {deadline} is before the start {start}. The deadline must be on or after the start.", deadline=deadline.isoformat(), start=start.isoformat()),
            field="deadline",
        )
    if deadline > collab.deadline:
        raise InvalidInput(
            _("The deadline {deadline} is after the collaboration's deadline {limit}. Choose an earlier date or change the collaboration first.", deadline=deadline.isoformat(), limit=collab.deadline.isoformat()),
            field="deadline",
        )
    collaborators = [await lookup.person(ctx, name, field="collaborators") for name in split_list(values.get("collaborators", ""))]
    depends: list[str] = []
    for ref in split_list(values.get("depends", "")):
        suffix = ref.rsplit("-", 1)[-1]
        code = f"{collab.code}-{int(suffix):02d}" if suffix.isdigit() else ref.upper()
        if not await Subtask.filter(code=code, collaboration_id=collab.id).exists():
            raise InvalidInput(_("{ref} is not a subtask of {code}, so it cannot be a dependency.", ref=ref, code=collab.code), field="depends")
        depends.append(code)
    reviewer = await lookup.person(ctx, values["reviewer"], field="reviewer") if values.get("reviewer") else await default_reviewer(collab, owner)
    if reviewer is not None and reviewer.id == owner.id:
        raise InvalidInput(_("The owner cannot review their own deliverable. Name another reviewer."), field="reviewer")

    task = await create_coded(
        Subtask,
        "code",
        f"{collab.code}-",
        f"subtask:{collab.code}",
        collaboration=collab,
        title=title,
        owner=owner,
        collaborators=[p.id for p in collaborators],
        resources=values.get("resources", ""),
        delivery_standard=standard,
        start_date=start,
        deadline=deadline,
        priority=parse_priority(values.get("priority")),
        depends_on=depends,
        reviewer=reviewer,
        created_at=ctx.now,
        updated_at=ctx.now,
    )
    card = await subtask_card(task, ctx)
    outcome = Outcome().record(
        "task.created",
        task.code,
        title=title,
        owner=owner.handle,
        deadline=deadline.isoformat(),
        standard=standard,
        collaborators=[p.handle for p in collaborators],
    )
    outcome.send(await announce_to(collab), card)
    outcome.send(ToPerson(owner.id), card)
    for person in collaborators:
        outcome.send(
            ToPerson(person.id),
            Text(_("You are a collaborator on {code} “{title}” (owner {owner}, due {deadline}).", code=task.code, title=title, owner=owner.name, deadline=deadline.isoformat())),
        )
    return outcome


@router.command("task", "subtask", "任务", "新建任务", "拆解", "分配任务")
async def new_subtask(ctx: Context, args: str) -> Outcome:
    head, values = parse_fields(args, TASK_FIELDS)
    collab = await lookup.collaboration(ctx, head, lock=True)
    if not values:
        return ask(task_form(collab), ctx=ctx)
    return await create_subtask(ctx, collab, values)


@router.form("task.new")
async def subtask_form(ctx: Context, event: Any) -> Outcome:
    collab = await lookup.collaboration(ctx, str(event.value.get("code", "")), lock=True)
    values = {k: v for k, v in event.form.items() if isinstance(v, str) and v.strip()}
    return await create_subtask(ctx, collab, values)


# ---------------------------------------------------------------- acknowledge


async def acknowledge(ctx: Context, code_text: str) -> Outcome:
    task, _collab = await lookup.owned_subtask(ctx, code_text, _("acknowledge it"))
    already = TransitionNotAllowed(_("{code} was already acknowledged. Nothing was changed.", code=task.code))
    if task.acknowledged_at is not None:
        raise already

    async def stale() -> None:
        raise already

    await sql.update_at_end(Subtask, {"acknowledged_at": ctx.now, "version": task.version + 1}, {"id": task.id, "version": task.version, "acknowledged_at": None}, stale)
    task.acknowledged_at, task.version = ctx.now, task.version + 1
    return Outcome().record("task.acknowledged", task.code).update(await subtask_card(task, ctx))


@router.action("task.ack")
async def ack_clicked(ctx: Context, event: Any) -> Outcome:
    return await acknowledge(ctx, str(event.value.get("code", "")))


@router.command("ack", "acknowledge", "确认任务", "收到", "领取")
async def ack_command(ctx: Context, args: str) -> Outcome:
    outcome = await acknowledge(ctx, args)
    code = outcome.audit[0].subject if outcome.audit else args
    return answer_typed(ctx, outcome, _("Recorded: you acknowledged {code}.", code=code))


# ---------------------------------------------------------------- progress

_PERCENT = re.compile(r"(\d{1,3})\s*%")


@router.command("progress", "update", "进度", "更新进度", "进展")
async def progress(ctx: Context, args: str) -> Outcome:
    head, values = parse_fields(args, PROGRESS_FIELDS)
    if not values and not _PERCENT.search(head):
        task, _collab = await _reporter_check(ctx, head)
        return ask(progress_form(task), ctx=ctx)
    return await report_progress(ctx, head, values)


@router.form("task.progress")
async def progress_submitted(ctx: Context, event: Any) -> Outcome:
    values = {k: v for k, v in event.form.items() if isinstance(v, str) and v.strip()}
    if values.get("progress") and "%" not in values["progress"]:
        values["progress"] += "%"
    return await report_progress(ctx, str(event.value.get("code", "")), values)


@router.action("task.progress")
async def progress_clicked(ctx: Context, event: Any) -> Outcome:
    """An alert's "update progress" button where the chat has no forms: the form as a card with its template."""
    task, _collab = await _reporter_check(ctx, str(event.value.get("code", "")))
    return ask(progress_form(task), ctx=ctx)


async def _reporter_check(ctx: Context, code_text: str) -> tuple[Subtask, Collaboration]:
    task = await lookup.subtask(ctx, code_text, lock=True)
    collab: Collaboration = task.collaboration  # loaded by lookup.subtask
    require_open(collab)
    actor = require_actor(ctx)
    if actor.id != task.owner_id and actor.id not in (task.collaborators or []):
        raise NotAllowed(_("Only the owner or a collaborator of {code} can report its progress.", code=task.code))
    if task.stage in ("in_review", "done"):
        raise SubtaskFlow.refuse(task, "progress", task.code)
    return task, collab


async def report_progress(ctx: Context, head: str, values: dict[str, str]) -> Outcome:
    """One row of 《任务执行进度跟踪表》, typed (``progress XZB…-01 60% done: …``) or from the form."""
    task, collab = await _reporter_check(ctx, head)
    actor = require_actor(ctx)
    source = values.get("progress") or head
    match = _PERCENT.search(source) or re.search(r"\b(\d{1,3})\b", values.get("progress", ""))
    if match is None:
        raise InvalidInput(_("How far along is it? Add a percentage, e.g. “progress {code} 60% done: …”.", code=task.code), field="progress")
    percent = int(match.group(1))
    if not 0 <= percent <= 100:
        raise InvalidInput(_("Progress must be between 0% and 100%, not {value}%.", value=percent), field="progress")
    stage = task.stage
    if values.get("stage"):
        stage = STAGE_WORDS.get(values["stage"].strip().lower(), "")
        if stage not in ("not_started", "in_progress"):
            raise InvalidInput(
                _("Stage “{text}” cannot be set by a progress update: use 未开始 or 执行中 (not started / in progress); acceptance moves it further.", text=values["stage"][:20]),
                field="stage",
            )
    if percent > 0 and stage == "not_started":
        stage = "in_progress"
    if stage != task.stage:
        await SubtaskFlow.fire_at_end(task, "start", task.code, progress=percent, updated_at=ctx.now)
    else:
        await sql.update_at_end(Subtask, {"progress": percent, "updated_at": ctx.now, "version": task.version + 1}, {"id": task.id})
        task.progress, task.updated_at, task.version = percent, ctx.now, task.version + 1
    update = ProgressUpdate(
        subtask=task,
        author=actor,
        stage=task.stage,
        progress=percent,
        done=values.get("done", ""),
        problems=values.get("problems", ""),
        support=values.get("support", ""),
        next_step=values.get("next", ""),
        created_at=ctx.now,
    )
    outcome = Outcome().record("task.progress", task.code, progress=percent, stage=task.stage, problems=values.get("problems", ""))
    outcome.update(await subtask_card(task, ctx))
    body = join(
        [
            _("📈 {code} {title}: {progress}% ({stage}) — {name}", code=task.code, title=task.title, progress=percent, stage=SubtaskFlow.label(task.stage), name=actor.name),
            _("Done: {text}", text=values["done"]) if values.get("done") else None,
            _("⚠️ Problems: {text}", text=values["problems"]) if values.get("problems") else None,
            _("Support needed: {text}", text=values["support"]) if values.get("support") else None,
            _("Next: {text}", text=values["next"]) if values.get("next") else None,
            _("At 100%, submit it for acceptance: “submit {code} deliverables: …”.", code=task.code) if percent == 100 else None,
        ]
    )
    # problems reported: one click raises them as a risk, which names the update (so it is saved at once)
    from ..risks.cards import has_problem, progress_card

    if has_problem(values.get("problems", "")):
        await update.save()
        outcome.send(await announce_to(collab), progress_card(body, update, task))
    else:
        await sql.insert_at_end(update)
        outcome.send(await announce_to(collab), Text(body))
    return outcome
