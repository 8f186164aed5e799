"""§4 Risk reports (《风险说明》): raise (by command, form, or one click from a progress problem or a stand-up
blocker), the initiator's response within 4 hours, and the escalation to their superior when it runs out."""

from __future__ import annotations

import re
from typing import Any, cast

from bot.errors import InvalidInput, NotAllowed, NotFound, TransitionNotAllowed
from bot.i18n import _, join
from bot.router import Context, Router
from bot.types import Card, Outcome, Text, ToPerson
from storage.models import Collaboration, GroupBinding, Person, ProgressUpdate, Subtask
from storage.models_workflows import RiskReport

from ..common import lookup
from ..common.fields import FieldSet, parse_fields, read_date, require
from ..common.format import parse_priority, when
from ..common.forms import ask
from ..common.records import announce_to, require_actor, require_open
from ..common.visibility import readable_collaboration, sent_to
from ..tasks.cards import subtask_card
from . import delays, issues
from .cards import (
    RESPONSE_WORDS,
    RESPONSES,
    respond_form,
    response_line,
    risk_card,
    risk_form,
    summary_lines,
)
from .kit import (
    as_int,
    check_new_deadline,
    find_document,
    new_code,
    require_participant,
    subtask_line,
    subtask_of,
    superior_of,
    update_subtask,
)
from .states import RiskFlow

router = Router()
router.include(issues.router)
router.include(delays.router)

RESPONSE_HOURS = 4
REMIND_HOURS = 3

RISK_FIELDS = FieldSet(
    {
        "subtask": ("subtask", "related subtask", "关联子任务", "子任务"),
        "description": ("description", "risk", "描述", "风险", "风险描述", "风险内容"),
        "level": ("level", "risk level", "等级", "风险等级", "级别"),
        "impact": ("impact", "impact scope", "影响", "影响范围"),
        "solution": ("solution", "suggested solution", "suggestion", "建议", "解决方案", "建议解决方案"),
    }
)
RESPOND_FIELDS = FieldSet(
    {
        "comment": ("comment", "note", "说明", "意见", "处理意见", "处理结果", "备注"),
        "new_date": ("new date", "new deadline", "date", "新截止", "新日期", "新截止时间"),
        "owner": ("owner", "new owner", "新负责人", "负责人"),
    }
)


def read_level(text: str) -> str:
    try:
        return parse_priority(text, field="level")
    except InvalidInput as error:
        raise InvalidInput(_("Risk level “{text}” is not one of 高/中/低 (high/medium/low).", text=text.strip()[:20]), field="level") from error


async def in_collaboration_group(ctx: Context, collab: Collaboration) -> bool:
    return ctx.group is not None and await GroupBinding.filter(collaboration_id=collab.id, group_id=ctx.group.id).exists()


async def create_risk(
    ctx: Context,
    collab: Collaboration,
    task: Subtask | None,
    *,
    level: str,
    description: str,
    impact: str,
    solution: str,
    source: str | None = None,
) -> Outcome:
    require_open(collab)
    actor = await require_participant(ctx, collab, _("report a risk"))
    if source is not None:
        existing = await RiskReport.filter(source=source).first()
        if existing is not None:
            raise TransitionNotAllowed(_("This was already raised as risk {code}. Nothing was changed.", code=existing.code))
    code = await new_code(collab, "R")
    risk = await RiskReport.create(
        code=code,
        collaboration=collab,
        subtask=task,
        raised_by=actor,
        level=level,
        description=description.strip(),
        impact=impact.strip(),
        solution=solution.strip(),
        source=source,
        due_at=ctx.services["calendar"].hours_later(ctx.now, RESPONSE_HOURS, ctx.config.bot.timezone),
        created_at=ctx.now,
    )
    card = await risk_card(risk, ctx)
    outcome = Outcome().record("risk.raised", code, level=level, subtask=task.code if task else None, description=risk.description, source=source)
    outcome.send(await announce_to(collab), card)
    outcome.send(ToPerson(collab.initiator_id), card)
    remind_at = ctx.services["calendar"].hours_later(ctx.now, REMIND_HOURS, ctx.config.bot.timezone)  # working hours: bot/calendar.py
    outcome.timer(f"risk:{code}:remind", "risk.remind", remind_at, code=code, collaboration=collab.id)
    outcome.timer(f"risk:{code}:escalate", "risk.escalate", risk.due_at, code=code, collaboration=collab.id)
    if not await in_collaboration_group(ctx, collab):
        initiator = await Person.get(id=collab.initiator_id)
        outcome.reply(_("Risk {code} reported. {initiator} must respond by {time}.", code=code, initiator=initiator.name, time=when(risk.due_at, ctx.config.bot.timezone)))
    return outcome


async def risk_from_values(ctx: Context, collab: Collaboration, head: str, values: dict[str, str]) -> Outcome:
    task: Subtask | None = None
    if values.get("subtask"):
        task = await subtask_of(collab, values["subtask"])
    elif (found := lookup.find_code(head)) and found[1]:
        task = await subtask_of(collab, head)
    description = require(values, "description", _("Risk"))
    level = read_level(require(values, "level", _("Risk level")))
    impact = require(values, "impact", _("Impact scope"))
    solution = require(values, "solution", _("Suggested solution"))
    return await create_risk(ctx, collab, task, level=level, description=description, impact=impact, solution=solution)


@router.command("risk", "风险说明", "风险", "报风险", "上报风险")
async def risk_command(ctx: Context, args: str) -> Outcome:
    head, values = parse_fields(args, RISK_FIELDS)
    collab = await lookup.collaboration(ctx, head)
    if not values:
        require_open(collab)
        await require_participant(ctx, collab, _("report a risk"))
        found = lookup.find_code(head)
        form = risk_form(collab, f"{found[0]}-{found[1]}" if found and found[1] else "")
        return ask(form, ctx=ctx)
    return await risk_from_values(ctx, collab, head, values)


@router.form("risk.new")
async def risk_form_submitted(ctx: Context, event: Any) -> Outcome:
    collab = await lookup.collaboration(ctx, str(event.value.get("code", "")))
    values = {k: v for k, v in event.form.items() if isinstance(v, str) and v.strip()}
    return await risk_from_values(ctx, collab, "", values)


# ---------------------------------------------------------------- one click


@router.action("risk.from_progress")
async def from_progress(ctx: Context, event: Any) -> Outcome:
    """The "raise as risk" button on a progress update that reported problems."""
    update_id = as_int(event.value.get("update"))
    update = await ProgressUpdate.get_or_none(id=update_id) if update_id else None
    if update is None:
        raise NotFound(_("This progress update no longer exists."))
    task = await Subtask.get(id=update.subtask_id)
    collab = await Collaboration.get(id=task.collaboration_id)
    owner = await Person.get(id=task.owner_id)
    return await create_risk(
        ctx,
        collab,
        task,
        level="medium",
        description=update.problems or update.done,
        impact=subtask_line(task, owner.name),
        solution=update.support,
        source=f"progress:{update.id}",
    )


async def raise_from_blocker(ctx: Context, answer: Any) -> Outcome:
    """A stand-up blocker → a risk on the collaboration the group follows (the one the person works on)."""
    text = (answer.blockers or "").strip()
    if not text:
        raise InvalidInput(_("This stand-up answer names no blocker."))
    group_id = ctx.group.id if ctx.group else None
    if group_id is None:
        from storage.models_clocks import Standup, StandupRun

        run = await StandupRun.get(id=answer.run_id)
        group_id = (await Standup.get(id=run.standup_id)).group_id
    bound = cast(list[int], await GroupBinding.filter(group_id=group_id).order_by("-id").values_list("collaboration_id", flat=True))
    collabs = [c for c in await Collaboration.filter(id__in=list(bound), state__in=["pending", "active"]) if c]
    if not collabs:
        raise NotFound(_("This group follows no open collaboration, so the blocker cannot be raised as a risk. Bind one with “bind XZB…”."))
    order = {cid: index for index, cid in enumerate(bound)}
    collabs.sort(key=lambda c: order.get(c.id, 0))
    tasks = await Subtask.filter(owner_id=answer.person_id, collaboration_id__in=[c.id for c in collabs]).exclude(stage="done").order_by("deadline", "code")
    collab = next((c for c in collabs if any(t.collaboration_id == c.id for t in tasks)), collabs[0])
    task = next((t for t in tasks if t.collaboration_id == collab.id), None)
    owner = await Person.get(id=answer.person_id)
    return await create_risk(
        ctx,
        collab,
        task,
        level="medium",
        description=text,
        impact=subtask_line(task, owner.name) if task else owner.name,
        solution="",
        source=f"standup:{answer.id}",
    )


# ---------------------------------------------------------------- respond


async def _authorize(ctx: Context, risk: RiskReport, collab: Collaboration) -> Person:
    actor = require_actor(ctx)
    allowed = {collab.initiator_id}
    if risk.state == "escalated" and risk.escalated_to_id:
        allowed.add(risk.escalated_to_id)
    if actor.id not in allowed:
        initiator = await Person.get(id=collab.initiator_id)
        raise NotAllowed(_("Only {initiator}, the initiator of {collab}, can respond to risk {code}.", initiator=initiator.name, collab=collab.code, code=risk.code))
    if not RiskFlow.can(risk, "respond"):
        responder = await Person.get_or_none(id=risk.responded_by_id) if risk.responded_by_id else None
        raise TransitionNotAllowed(
            _("Risk {code} was already answered by {name} at {time}. Nothing was changed.", code=risk.code, name=responder.name if responder else "?", time=when(risk.responded_at, ctx.config.bot.timezone))
        )
    return actor


def _choice(text: str) -> str:
    choice = RESPONSE_WORDS.get((text or "").strip().lower(), "")
    if not choice:
        raise InvalidInput(_("Respond with one of: coordinate, move, reassign, comment (协调资源 / 调整时间节点 / 改派 / 意见)."), field="choice")
    return choice


async def respond(ctx: Context, code_text: str, choice_text: str, values: dict[str, str]) -> Outcome:
    risk = await find_document(ctx, RiskReport, code_text, "R", _("respond XZB2026112301-R01 coordinate comment: …"), lock=True)
    collab = await Collaboration.get(id=risk.collaboration_id)
    actor = await _authorize(ctx, risk, collab)
    choice = _choice(choice_text)
    task = await Subtask.get_or_none(id=risk.subtask_id) if risk.subtask_id else None
    comment = (values.get("comment") or "").strip()
    detail: dict[str, Any] = {}
    if choice in ("coordinate", "comment") and not comment:
        raise InvalidInput(_("Say what you decided, e.g. “respond {code} coordinate comment: 市场部专员今日18点前补充素材”.", code=risk.code), field="comment")
    if choice in ("move", "reassign") and task is None:
        raise InvalidInput(_("Risk {code} names no subtask, so there is no deadline or owner to change. Coordinate resources or comment instead.", code=risk.code))
    outcome = Outcome()
    new_owner: Person | None = None
    new_date = None
    if choice == "move" and task is not None:
        new_date = read_date(require(values, "new_date", _("New deadline")), lookup.local_today(ctx), "new_date")
        if new_date == task.deadline:
            raise InvalidInput(_("{code} is already due {date}. Choose another date.", code=task.code, date=new_date.isoformat()), field="new_date")
        check_new_deadline(ctx, collab, new_date, "new_date")
        detail["deadline"] = [task.deadline.isoformat(), new_date.isoformat()]
    if choice == "reassign" and task is not None:
        new_owner = await lookup.person(ctx, require(values, "owner", _("New owner")), field="owner")
        if new_owner.id == task.owner_id:
            raise InvalidInput(_("{name} already owns {code}. Name someone else.", name=new_owner.name, code=task.code), field="owner")
        if new_owner.id == task.reviewer_id:
            raise InvalidInput(_("{name} reviews {code} and cannot own it too. Name someone else.", name=new_owner.name, code=task.code), field="owner")
        old_owner = await Person.get(id=task.owner_id)
        detail["owner"] = [old_owner.handle, new_owner.handle]
        detail["owner_names"] = [old_owner.name, new_owner.name]
    await RiskFlow.fire(risk, "respond", risk.code, response_kind=choice, response=comment, response_detail=detail, responded_by_id=actor.id, responded_at=ctx.now)
    if task is not None and new_date is not None:
        await update_subtask(task, task.code, deadline=new_date, updated_at=ctx.now)
        outcome.update(await subtask_card(task, ctx))
        outcome.send(ToPerson(task.owner_id), Text(_("{name} moved the deadline of {code} to {date} (risk {risk}).", name=actor.name, code=task.code, date=detail["deadline"][1], risk=risk.code)))
    if task is not None and new_owner is not None:
        previous = task.owner_id
        await update_subtask(task, task.code, owner_id=new_owner.id, acknowledged_at=None, updated_at=ctx.now)
        card = await subtask_card(task, ctx)
        outcome.send(ToPerson(new_owner.id), card)
        outcome.update(card)
        outcome.send(ToPerson(previous), Text(_("{name} reassigned {code} to {owner} (risk {risk}).", name=actor.name, code=task.code, owner=new_owner.name, risk=risk.code)))
    outcome.record("risk.responded", risk.code, choice=choice, comment=comment, **{k: v for k, v in detail.items() if k != "owner_names"})
    outcome.cancel(f"risk:{risk.code}:*")
    outcome.update(await risk_card(risk, ctx))
    notice = Text(join([_("Response to risk {code} ({text}):", code=risk.code, text=risk.description[:60]), response_line(risk, actor.name, ctx.config.bot.timezone)]))
    outcome.send(await announce_to(collab), notice)
    if risk.raised_by_id != actor.id:
        outcome.send(ToPerson(risk.raised_by_id), notice)
    return outcome


async def _clicked(ctx: Context, event: Any) -> Outcome:
    """A response button without the form (platforms without modals): check, then ask for the details."""
    risk = await find_document(ctx, RiskReport, str(event.value.get("code", "")), "R", _("respond XZB2026112301-R01 coordinate comment: …"))
    collab = await Collaboration.get(id=risk.collaboration_id)
    await _authorize(ctx, risk, collab)
    form = respond_form(risk, _choice(str(event.value.get("choice", ""))))
    return ask(form, ctx=ctx)


for _choice_id in RESPONSES:
    router.action(f"risk.{_choice_id}")(_clicked)


@router.form("risk.respond")
async def respond_submitted(ctx: Context, event: Any) -> Outcome:
    values = {k: str(v) for k, v in event.form.items() if v is not None}
    return await respond(ctx, str(event.value.get("code", "")), str(event.value.get("choice", "")), values)


@router.command("respond", "响应", "回应", "处理风险")
async def respond_command(ctx: Context, args: str) -> Outcome:
    head, values = parse_fields(args, RESPOND_FIELDS)
    words = [w for w in head.split() if not re.search(r"\d{2}", w)]
    return await respond(ctx, head, " ".join(words), values)


# ---------------------------------------------------------------- clocks


@router.timer("risk.remind")
async def remind(ctx: Context, event: Any) -> Outcome:
    risk = await RiskReport.get_or_none(code=str(event.payload.get("code", "")))
    if risk is None or risk.state != "open":
        return Outcome()
    collab = await Collaboration.get(id=risk.collaboration_id)
    boss = await superior_of(collab.initiator_id)
    card = await risk_card(risk, ctx)
    card.key = None
    card.buttons = []
    card.status = _(
        "Reminder: risk {code} waits for your response. Without one by {time} it goes to {boss}.",
        code=risk.code,
        time=when(risk.due_at, ctx.config.bot.timezone),
        boss=await _name(boss),
    )
    return Outcome().send(ToPerson(collab.initiator_id), card)


async def _name(person_id: int | None) -> str:
    person = await Person.get_or_none(id=person_id) if person_id else None
    return person.name if person else "—"


@router.timer("risk.escalate")
async def escalate(ctx: Context, event: Any) -> Outcome:
    risk = await RiskReport.filter(code=str(event.payload.get("code", ""))).select_for_update().first()
    if risk is None or risk.state != "open":
        return Outcome()
    collab = await Collaboration.get(id=risk.collaboration_id)
    boss = await superior_of(collab.initiator_id)
    await RiskFlow.fire(risk, "escalate", risk.code, escalated_to_id=boss, escalated_at=ctx.now)
    boss_person = await Person.get_or_none(id=boss) if boss else None
    outcome = Outcome().record("risk.escalated", risk.code, to=boss_person.handle if boss_person else None, hours=RESPONSE_HOURS)
    card = await risk_card(risk, ctx)
    outcome.update(card)
    initiator = await Person.get(id=collab.initiator_id)
    notice = Text(
        _("⏰ Risk {code} was not answered by {initiator} within {hours} hours: escalated to {boss}.", code=risk.code, initiator=initiator.name, hours=RESPONSE_HOURS, boss=boss_person.name if boss_person else "—")
    )
    if boss_person is not None:
        outcome.send(ToPerson(boss_person.id), card)
    outcome.send(await announce_to(collab), notice)
    outcome.send(ToPerson(initiator.id), notice)
    return outcome


@router.command("risks", "风险列表", "风险清单")
async def list_risks(ctx: Context, args: str) -> Outcome:
    collab, _actor, audience = await readable_collaboration(ctx, args)
    rows = list(await RiskReport.filter(collaboration_id=collab.id).order_by("id"))
    lines = summary_lines(rows) or [_("No risks reported.")]
    return sent_to(audience, [Card(title=_("Risks of {code}", code=collab.code), body=join(lines), color="yellow" if any(r.state != "responded" for r in rows) else "green")])


__all__ = ["raise_from_blocker", "router"]
