"""§4 Issue tiers (分级响应): each tier runs its own clock and escalation ladder.

- general (一般问题): its owner solves it within 24 hours, else it goes to the initiator (4 hours), then to
  the initiator's superior;
- severe (严重问题): the initiator must escalate it to their superior within 4 hours (the bot does it when
  the time is up), who has 24 hours before it goes higher;
- dispute (跨部门争议): it goes to the decision maker named for the collaboration (else the departments'
  superior), who has 24 hours before it goes higher.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, cast

from bot.errors import InvalidInput, NotAllowed, TransitionNotAllowed
from bot.i18n import Msg, _, join
from bot.router import Context, Router
from bot.types import Button, Card, CardField, Form, FormField, Outcome, Text, ToPerson
from storage.models import Collaboration, Department, Person, RequestedDepartment, Subtask
from storage.models_workflows import Issue

from ..common import lookup
from ..common.fields import FieldSet, parse_fields, require
from ..common.format import when
from ..common.forms import ask
from ..common.records import announce_to, require_actor, require_open
from .kit import find_document, names_of, new_code, require_participant, subtask_of, superior_of
from .states import IssueFlow

router = Router()

TIERS: dict[str, Msg] = {"general": _("general"), "severe": _("severe"), "dispute": _("cross-department dispute")}
TIER_WORDS = {
    "general": "general", "normal": "general", "一般": "general", "一般问题": "general", "普通": "general",
    "severe": "severe", "serious": "severe", "critical": "severe", "严重": "severe", "严重问题": "severe", "重大": "severe",
    "dispute": "dispute", "conflict": "dispute", "争议": "dispute", "跨部门争议": "dispute", "分歧": "dispute",
}
TIER_RULES: dict[str, Msg] = {
    "general": _("General issue: the owner solves it within 24 hours, else it goes to the initiator (4 hours), then to the initiator's superior."),
    "severe": _("Severe issue: the initiator must escalate it to their superior within 4 hours; the bot does it when the time is up."),
    "dispute": _("Cross-department dispute: the decision maker named for the collaboration decides within 24 hours."),
}
ROLE_LABELS: dict[str, Msg] = {
    "owner": _("owner"),
    "initiator": _("initiator"),
    "superior": _("initiator's superior"),
    "decision_maker": _("decision maker"),
    "top": _("next level up"),
}
LADDERS: dict[str, tuple[tuple[str, float | None], ...]] = {
    "general": (("owner", 24), ("initiator", 4), ("superior", None)),
    "severe": (("initiator", 4), ("superior", 24), ("top", None)),
    "dispute": (("decision_maker", 24), ("top", None)),
}

ISSUE_FIELDS = FieldSet(
    {
        "description": ("description", "issue", "problem", "描述", "问题", "问题描述"),
        "tier": ("tier", "level", "type", "级别", "分级", "问题级别", "类型"),
        "subtask": ("subtask", "关联子任务", "子任务"),
        "owner": ("owner", "负责人", "责任人"),
    }
)
RESOLVE_FIELDS = FieldSet({"resolution": ("resolution", "result", "solution", "解决方案", "处理结果", "结果", "说明")})


async def _decision_maker(collab: Collaboration) -> int | None:
    if collab.decision_maker_id:
        return collab.decision_maker_id
    dept_ids = await RequestedDepartment.filter(collaboration_id=collab.id).exclude(state="withdrawn").values_list("department_id", flat=True)
    superiors = [s for s in await Department.filter(id__in=list(dept_ids)).values_list("superior_id", flat=True) if s]
    if superiors:
        return cast(int, Counter(superiors).most_common(1)[0][0])
    return await superior_of(collab.initiator_id)


async def _person_for(role: str, issue: Issue, collab: Collaboration, owner_id: int) -> int | None:
    if role == "owner":
        return owner_id
    if role == "initiator":
        return collab.initiator_id
    if role == "superior":
        return await superior_of(collab.initiator_id)
    if role == "decision_maker":
        return await _decision_maker(collab)
    return await superior_of(issue.handler_id, skip=tuple(issue.ladder or []))


async def next_step(issue: Issue, collab: Collaboration, owner_id: int, after: int) -> tuple[int, int, float | None] | None:
    """The next rung after ``after``: (step, person, hours), skipping rungs that would land on the same person."""
    ladder = LADDERS[issue.tier]
    for step in range(after + 1, len(ladder)):
        role, hours = ladder[step]
        person = await _person_for(role, issue, collab, owner_id)
        if person is not None and person != issue.handler_id:
            return step, person, hours
    return None


async def issue_card(issue: Issue, ctx: Context) -> Card:
    collab = await Collaboration.get(id=issue.collaboration_id)
    task = await Subtask.get_or_none(id=issue.subtask_id) if issue.subtask_id else None
    handler = await Person.get(id=issue.handler_id)
    raiser = await Person.get(id=issue.raised_by_id)
    tz = ctx.config.bot.timezone
    role = LADDERS[issue.tier][issue.step][0]
    fields = [
        CardField(_("Tier"), TIERS[issue.tier]),
        CardField(_("Collaboration"), f"{collab.code} {collab.title}"),
        CardField(_("Related subtask"), f"{task.code} {task.title}" if task else "—"),
        CardField(_("Raised by"), _("{name} at {time}", name=raiser.name, time=when(issue.created_at, tz))),
        CardField(_("Now with"), _("{name} ({role})", name=handler.name, role=ROLE_LABELS[role])),
        CardField(_("Due"), when(issue.due_at, tz) if issue.due_at else "—"),
        CardField(_("Ladder so far"), " → ".join(await names_of([int(p) for p in issue.ladder or []])) or "—"),
    ]
    buttons: list[Button] = []
    if issue.state == "open":
        escalate_label = _("Escalate to my superior") if issue.tier == "severe" and issue.step == 0 else _("Escalate")
        buttons = [
            Button(_("Resolved"), "issue.resolve", {"code": issue.code}, "primary", command=_("resolve {code} resolution: ", code=issue.code), opens_form=resolve_form(issue)),
            Button(escalate_label, "issue.escalate", {"code": issue.code, "step": issue.step}, "danger", command=_("escalate {code}", code=issue.code)),
        ]
        status: Any = _("Waiting for {name} to solve it by {time}.", name=handler.name, time=when(issue.due_at, tz)) if issue.due_at else _("With {name}.", name=handler.name)
    else:
        resolver = await Person.get_or_none(id=issue.resolved_by_id) if issue.resolved_by_id else None
        status = _("Resolved by {name} at {time}: {text}", name=resolver.name if resolver else "?", time=when(issue.resolved_at, tz), text=issue.resolution)
    return Card(
        key=f"issue:{issue.code}",
        title=_("Issue {code} ({tier}): {text}", code=issue.code, tier=TIERS[issue.tier], text=issue.description[:80]),
        body=join([issue.description, TIER_RULES[issue.tier]]),
        fields=fields,
        buttons=buttons,
        color="green" if issue.state == "resolved" else ("red" if issue.tier != "general" or issue.step > 0 else "yellow"),
        status=status,
        mentions=[str(issue.handler_id)] if issue.state == "open" else [],
    )


def resolve_form(issue: Issue) -> Form:
    return Form(
        id="issue.resolve",
        title=_("Resolve {code}", code=issue.code),
        submit_label=_("Mark resolved"),
        value={"code": issue.code},
        template=_("resolve {code} resolution: …", code=issue.code),
        fields=[FormField("resolution", _("How it was solved"), "textarea", required=True)],
    )


@router.command("issue", "上报问题", "问题上报", "问题")
async def raise_issue(ctx: Context, args: str) -> Outcome:
    head, values = parse_fields(args, ISSUE_FIELDS)
    collab = await lookup.collaboration(ctx, head)
    require_open(collab)
    actor = await require_participant(ctx, collab, _("raise an issue"))
    description = require(values, "description", _("Issue"))
    tier = TIER_WORDS.get(require(values, "tier", _("Tier")).lower())
    if tier is None:
        raise InvalidInput(_("Tier “{text}” is not one of general / severe / dispute (一般 / 严重 / 跨部门争议).", text=values["tier"][:20]), field="tier")
    task: Subtask | None = None
    found = lookup.find_code(values.get("subtask") or head)
    if found and found[1]:
        task = await subtask_of(collab, f"{found[0]}-{found[1]}")
    owner_id = task.owner_id if task else actor.id
    if values.get("owner"):
        owner_id = (await lookup.person(ctx, values["owner"], field="owner")).id
    code = await new_code(collab, "P")
    issue = Issue(code=code, collaboration=collab, subtask=task, raised_by=actor, tier=tier, description=description, handler_id=0, step=-1, ladder=[], created_at=ctx.now)
    first = await next_step(issue, collab, owner_id, -1)
    assert first is not None
    step, person, hours = first
    issue.step, issue.handler_id, issue.ladder = step, person, [person]
    issue.due_at = ctx.services["calendar"].hours_later(ctx.now, hours, ctx.config.bot.timezone) if hours else None
    await issue.save()
    outcome = Outcome().record("issue.raised", code, tier=tier, handler=person, description=description, subtask=task.code if task else None)
    card = await issue_card(issue, ctx)
    outcome.send(await announce_to(collab), card)
    outcome.send(ToPerson(person), card)
    if issue.due_at is not None:
        outcome.timer(f"issue:{code}:step{step}", "issue.escalate", issue.due_at, code=code, step=step, collaboration=collab.id)
    return outcome


async def _move_up(ctx: Context, issue: Issue, collab: Collaboration, *, auto: bool) -> Outcome:
    task = await Subtask.get_or_none(id=issue.subtask_id) if issue.subtask_id else None
    owner_id = task.owner_id if task else issue.raised_by_id
    following = await next_step(issue, collab, owner_id, issue.step)
    if following is None:
        raise InvalidInput(_("{code} is already at the top of its ladder ({name}).", code=issue.code, name=(await Person.get(id=issue.handler_id)).name))
    step, person, hours = following
    previous = await Person.get(id=issue.handler_id)
    due = ctx.services["calendar"].hours_later(ctx.now, hours, ctx.config.bot.timezone) if hours else None
    await IssueFlow.fire(issue, "escalate", issue.code, step=step, handler_id=person, ladder=[*(issue.ladder or []), person], due_at=due)
    newcomer = await Person.get(id=person)
    outcome = Outcome().record("issue.escalated", issue.code, step=step, to=newcomer.handle, auto=auto)
    outcome.cancel(f"issue:{issue.code}:*")
    if due is not None:
        outcome.timer(f"issue:{issue.code}:step{step}", "issue.escalate", due, code=issue.code, step=step, collaboration=collab.id)
    card = await issue_card(issue, ctx)
    outcome.update(card)
    outcome.send(ToPerson(person), card)
    line = (
        _("⏰ Issue {code} was not solved by {name} in time: escalated to {to}.", code=issue.code, name=previous.name, to=newcomer.name)
        if auto
        else _("Issue {code} was escalated by {name} to {to}.", code=issue.code, name=previous.name if ctx.actor is None else ctx.actor.name, to=newcomer.name)
    )
    outcome.send(await announce_to(collab), Text(line))
    return outcome


async def escalate(ctx: Context, code_text: str) -> Outcome:
    issue = await find_document(ctx, Issue, code_text, "P", _("escalate XZB2026112301-P01"), lock=True)
    collab = await Collaboration.get(id=issue.collaboration_id)
    actor = require_actor(ctx)
    if actor.id not in (issue.handler_id, collab.initiator_id):
        raise NotAllowed(_("Only {name}, who has {code} now, or the initiator can escalate it.", name=(await Person.get(id=issue.handler_id)).name, code=issue.code))
    if issue.state != "open":
        raise TransitionNotAllowed(_("Issue {code} is already resolved. Nothing was changed.", code=issue.code))
    return await _move_up(ctx, issue, collab, auto=False)


async def _authorize_resolve(ctx: Context, issue: Issue, collab: Collaboration) -> Person:
    actor = require_actor(ctx)
    if actor.id not in {*(issue.ladder or []), collab.initiator_id}:
        raise NotAllowed(_("Only the people {code} went to ({names}) or the initiator can resolve it.", code=issue.code, names=join(await names_of([int(p) for p in issue.ladder or []]), ", ")))
    if issue.state != "open":
        raise TransitionNotAllowed(_("Issue {code} is already resolved. Nothing was changed.", code=issue.code))
    return actor


async def resolve(ctx: Context, code_text: str, resolution: str) -> Outcome:
    issue = await find_document(ctx, Issue, code_text, "P", _("resolve XZB2026112301-P01 resolution: …"), lock=True)
    collab = await Collaboration.get(id=issue.collaboration_id)
    actor = await _authorize_resolve(ctx, issue, collab)
    if not resolution.strip():
        raise InvalidInput(_("Say how it was solved, e.g. “resolve {code} resolution: 已补充素材”.", code=issue.code), field="resolution")
    await IssueFlow.fire(issue, "resolve", issue.code, resolution=resolution.strip(), resolved_by_id=actor.id, resolved_at=ctx.now, due_at=None)
    outcome = Outcome().record("issue.resolved", issue.code, resolution=resolution.strip(), step=issue.step)
    outcome.cancel(f"issue:{issue.code}:*")
    outcome.update(await issue_card(issue, ctx))
    outcome.send(await announce_to(collab), Text(_("✅ Issue {code} resolved by {name}: {text}", code=issue.code, name=actor.name, text=resolution.strip())))
    return outcome


@router.action("issue.escalate")
async def escalate_clicked(ctx: Context, event: Any) -> Outcome:
    return await escalate(ctx, str(event.value.get("code", "")))


@router.action("issue.resolve")
async def resolve_clicked(ctx: Context, event: Any) -> Outcome:
    issue = await find_document(ctx, Issue, str(event.value.get("code", "")), "P", _("resolve XZB2026112301-P01 resolution: …"))
    await _authorize_resolve(ctx, issue, await Collaboration.get(id=issue.collaboration_id))
    form = resolve_form(issue)
    return ask(form, ctx=ctx)


@router.form("issue.resolve")
async def resolve_submitted(ctx: Context, event: Any) -> Outcome:
    return await resolve(ctx, str(event.value.get("code", "")), str(event.form.get("resolution", "")))


@router.command("resolve", "解决", "已解决")
async def resolve_command(ctx: Context, args: str) -> Outcome:
    head, values = parse_fields(args, RESOLVE_FIELDS)
    return await resolve(ctx, head, values.get("resolution", ""))


@router.command("escalate", "升级", "上报")
async def escalate_command(ctx: Context, args: str) -> Outcome:
    return await escalate(ctx, args)


@router.timer("issue.escalate")
async def escalate_due(ctx: Context, event: Any) -> Outcome:
    issue = await Issue.filter(code=str(event.payload.get("code", ""))).select_for_update().first()
    if issue is None or issue.state != "open" or issue.step != event.payload.get("step"):
        return Outcome()
    collab = await Collaboration.get(id=issue.collaboration_id)
    try:
        return await _move_up(ctx, issue, collab, auto=True)
    except InvalidInput:
        return Outcome()
