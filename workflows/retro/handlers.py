"""§6 Retrospective (《复盘报告》) prefilled with the collaboration's own facts, SOP templates (协作SOP), and the
archive search (项目库) by text, department, person and date."""

from __future__ import annotations

from datetime import date
from typing import Any, cast
from zoneinfo import ZoneInfo

from bot.errors import InvalidInput, NotAllowed, TransitionNotAllowed
from bot.i18n import Msg, _, join
from bot.router import Context, Router
from bot.types import Card, CardField, Form, FormField, Outcome
from storage.models import (
    AcceptanceRequest,
    AuditEntry,
    Collaboration,
    Department,
    Person,
    Subtask,
)
from storage.models_workflows import (
    ChangeRequest,
    DelayNotice,
    Issue,
    Meeting,
    Retrospective,
    RiskReport,
    SopTemplate,
)

from ..common import lookup
from ..common.fields import DATE_RANGE, FieldSet, parse_fields, read_date
from ..common.format import day, when
from ..common.forms import ask
from ..common.records import announce_to, require_actor
from ..common.visibility import audience_for, sent_to, visible_collaboration_ids
from ..requests.states import CollaborationFlow
from .archive import ArchiveSearch, find_collaborations, finished_on
from .health import retro_lines
from .sop import find_sop, save_sop

SEARCH_LINES = 30  # collaborations a search's card lists, newest first

router = Router()

RETRO_FIELDS = FieldSet(
    {
        "went_well": ("went well", "做得好的方面", "做得好", "亮点"),
        "to_improve": ("to improve", "待改进点", "待改进", "不足"),
        "measures": ("measures", "优化措施", "改进措施", "措施"),
        "sop": ("sop", "save as sop", "协作SOP", "沉淀为SOP", "SOP名称"),
    }
)
SEARCH_FIELDS = FieldSet(
    {
        "department": ("department", "dept", "部门"),
        "person": ("person", "who", "人员", "负责人", "发起人"),
        **DATE_RANGE,
    }
)
CLOSED = ("completed", "archived", "cancelled")


# ---------------------------------------------------------------- facts


async def facts(collab: Collaboration, tz: str) -> dict[str, Any]:
    """What happened, from the records: on-time rate, declines, changes, failed acceptances, risks…"""
    tasks = list(await Subtask.filter(collaboration_id=collab.id).order_by("id"))
    passed = {
        r.subtask_id: r.decided_at
        for r in await AcceptanceRequest.filter(subtask__collaboration_id=collab.id, state="passed")
        if r.decided_at is not None
    }
    on_time = sum(1 for t in tasks if t.id in passed and passed[t.id].astimezone(ZoneInfo(tz)).date() <= t.deadline)
    risks = list(await RiskReport.filter(collaboration_id=collab.id))
    changes = list(await ChangeRequest.filter(collaboration_id=collab.id))
    return {
        "subtasks": len(tasks),
        "on_time": on_time,
        "on_time_rate": round(100 * on_time / len(tasks)) if tasks else None,
        "declines": await AuditEntry.filter(subject=collab.code, action="request.declined").count(),
        "rounds": collab.round,
        "changes": len(changes),
        "changes_applied": sum(1 for c in changes if c.state == "applied"),
        "failed_acceptances": await AcceptanceRequest.filter(subtask__collaboration_id=collab.id, state="failed").count(),
        "risks": len(risks),
        "risks_high": sum(1 for r in risks if r.level == "high"),
        "risks_escalated": sum(1 for r in risks if r.escalated_at is not None),
        "issues": await Issue.filter(collaboration_id=collab.id).count(),
        "delays": await DelayNotice.filter(collaboration_id=collab.id, state="confirmed").count(),
        "meetings": await Meeting.filter(collaboration_id=collab.id).count(),
    }


def fact_lines(data: dict[str, Any]) -> list[Msg]:
    rate = f"{data['on_time_rate']}%" if data.get("on_time_rate") is not None else "—"
    return [
        _("On time: {rate} ({on_time} of {subtasks} subtasks passed acceptance by their deadline)", rate=rate, on_time=data["on_time"], subtasks=data["subtasks"]),
        _("Declines by departments: {n} (request rounds: {rounds})", n=data["declines"], rounds=data["rounds"]),
        _("Change requests: {n} ({applied} applied)", n=data["changes"], applied=data["changes_applied"]),
        _("Failed acceptances: {n}", n=data["failed_acceptances"]),
        _("Risks: {n} ({high} high, {escalated} escalated); issues: {issues}; confirmed delays: {delays}; meetings: {meetings}", n=data["risks"], high=data["risks_high"], escalated=data["risks_escalated"], issues=data["issues"], delays=data["delays"], meetings=data["meetings"]),
    ]


def retro_form(collab: Collaboration) -> Form:
    return Form(
        id="retro.new",
        title=_("Retrospective of {code}", code=collab.code),
        submit_label=_("Save the retrospective"),
        value={"code": collab.code},
        template=_("retro {code}\nwent well: 每日站会机制有效暴露问题\nto improve: 需提前明确素材提交标准\nmeasures: 建立需求变更通知机制\nsop: 新品发布物料", code=collab.code),
        fields=[
            FormField("went_well", _("What went well"), "textarea", required=True),
            FormField("to_improve", _("What to improve"), "textarea", required=True),
            FormField("measures", _("Measures"), "textarea", required=True),
            FormField("sop", _("Save as SOP named (optional)")),
        ],
    )


def _authorize(ctx: Context, collab: Collaboration) -> Person:
    actor = require_actor(ctx)
    if actor.id not in (collab.initiator_id, collab.tracker_id):
        raise NotAllowed(_("Only the initiator of {code} writes its retrospective.", code=collab.code))
    if collab.state not in CLOSED:
        raise TransitionNotAllowed(
            _("{code} is {state}: the retrospective comes after it is completed (“complete {code}”).", code=collab.code, state=CollaborationFlow.label(collab.state))
        )
    return actor


async def retro_card(retro: Retrospective, collab: Collaboration, ctx: Context) -> Card:
    author = await Person.get(id=retro.author_id)
    return Card(
        key=f"retro:{collab.code}",
        title=_("Retrospective of {code}: {title}", code=collab.code, title=collab.title),
        body=join([_("**Facts**"), *fact_lines(retro.facts), *await retro_lines(collab, config=ctx.config, now=ctx.now, person_id=ctx.actor.id if ctx.actor else None)]),
        fields=[
            CardField(_("What went well"), retro.went_well),
            CardField(_("What to improve"), retro.to_improve),
            CardField(_("Measures"), retro.measures),
            CardField(_("Saved as SOP"), retro.sop_name or "—"),
            CardField(_("Written by"), _("{name} at {time}", name=author.name, time=when(retro.updated_at, ctx.config.bot.timezone))),
        ],
        color="green",
    )


async def save_retro(ctx: Context, collab: Collaboration, values: dict[str, str]) -> Outcome:
    actor = _authorize(ctx, collab)
    missing = [(k, label) for k, label in (("went_well", _("What went well")), ("to_improve", _("What to improve")), ("measures", _("Measures"))) if not (values.get(k) or "").strip()]
    if missing:
        name, label = missing[0]
        raise InvalidInput(_("The retrospective needs “{label}”. Add a line “{label}: …”.", label=label), field=name)
    data = await facts(collab, ctx.config.bot.timezone)
    sop_name = (values.get("sop") or "").strip() or None
    existing = await Retrospective.filter(collaboration_id=collab.id).first()
    fields = {"went_well": values["went_well"].strip(), "to_improve": values["to_improve"].strip(), "measures": values["measures"].strip()}
    if existing is None:
        retro = await Retrospective.create(collaboration=collab, author=actor, facts=data, sop_name=sop_name, created_at=ctx.now, updated_at=ctx.now, **cast(dict[str, Any], fields))
        outcome = Outcome().record("retro.saved", collab.code, facts=data, **fields)
    else:
        await Retrospective.filter(id=existing.id).update(author_id=actor.id, facts=data, updated_at=ctx.now, sop_name=sop_name or existing.sop_name, **fields)
        retro = await Retrospective.get(id=existing.id)
        outcome = Outcome().record("retro.revised", collab.code, facts=data, **fields)
    if sop_name:
        sop = await save_sop(collab, sop_name, retro.measures, actor, ctx.now, ctx.services["calendar"])
        outcome.record("sop.saved", collab.code, sop=sop.name, subtasks=len(sop.subtasks), departments=sop.departments)
    outcome.send(await announce_to(collab), await retro_card(retro, collab, ctx))
    if sop_name:
        outcome.reply(_("Saved as SOP “{name}”. Start a new collaboration from it with “new sop: {name}” plus a title and a deadline.", name=sop_name), ephemeral=True)
    return outcome


@router.command("retro", "retrospective", "复盘报告", "复盘")
async def retro_command(ctx: Context, args: str) -> Outcome:
    head, values = parse_fields(args, RETRO_FIELDS)
    collab = await lookup.collaboration(ctx, head)
    if values:
        return await save_retro(ctx, collab, values)
    _authorize(ctx, collab)
    data = await facts(collab, ctx.config.bot.timezone)
    form = retro_form(collab)
    health = await retro_lines(collab, config=ctx.config, now=ctx.now, person_id=ctx.actor.id if ctx.actor else None)
    return ask(form, _("**Facts of {code}**", code=collab.code), *fact_lines(data), *health, ctx=ctx)


@router.form("retro.new")
async def retro_submitted(ctx: Context, event: Any) -> Outcome:
    collab = await lookup.collaboration(ctx, str(event.value.get("code", "")))
    return await save_retro(ctx, collab, {k: str(v) for k, v in event.form.items() if v is not None})


# ---------------------------------------------------------------- SOP


def sop_card(sop: SopTemplate) -> Card:
    steps = [
        _("{n}. {title} — standard: {standard}, owner: {owner}, due {days} day(s) before the deadline", n=i + 1, title=s["title"], standard=s["standard"], owner=s.get("owner", "—"), days=s.get("days_before_deadline", 0))
        for i, s in enumerate(sop.subtasks or [])
    ]
    return Card(
        title=_("SOP “{name}” (from {source})", name=sop.name, source=sop.source or "—"),
        body=join([_("**Measures**"), sop.measures or "—", _("**Subtasks**"), *steps]),
        fields=[
            CardField(_("Departments"), join(sop.departments, ", ") if sop.departments else "—"),
            CardField(_("Goal"), sop.goal or "—"),
            CardField(_("Deliverables"), sop.deliverables or "—"),
        ],
        status=_("Start from it: “new sop: {name}” with a title and a deadline.", name=sop.name),
        color="blue",
    )


@router.command("sop", "协作SOP", "SOP列表")
async def sop_command(ctx: Context, args: str) -> Outcome:
    """``sop`` lists, ``sop <name>`` shows, ``sop save XZB… name: …`` saves a finished collaboration."""
    words = args.split(maxsplit=1)
    if words and words[0].lower() in ("save", "保存", "沉淀"):
        head, values = parse_fields(words[1] if len(words) > 1 else "", FieldSet({"name": ("name", "名称", "sop")}))
        collab = await lookup.collaboration(ctx, head)
        actor = _authorize(ctx, collab)
        retro = await Retrospective.filter(collaboration_id=collab.id).first()
        sop = await save_sop(collab, values.get("name", ""), retro.measures if retro else "", actor, ctx.now, ctx.services["calendar"])
        return Outcome().record("sop.saved", collab.code, sop=sop.name, subtasks=len(sop.subtasks), departments=sop.departments).reply(sop_card(sop))
    if args.strip():
        return Outcome().reply(sop_card(await find_sop(args, None)))
    rows = await SopTemplate.all().order_by("name")
    lines = [_("“{name}” — {count} subtask(s), from {source}", name=s.name, count=len(s.subtasks or []), source=s.source or "—") for s in rows]
    return Outcome().reply(Card(title=_("Collaboration SOPs"), body=join(lines or [_("No SOPs yet. Save one from a retrospective (“sop: <name>”).")]), color="blue"))


# ---------------------------------------------------------------- archive search


@router.command("search", "搜索", "查找", "归档搜索", "项目库")
async def search(ctx: Context, args: str) -> Outcome:
    head, values = parse_fields(args, SEARCH_FIELDS)
    text = head.strip()
    if not text and not values:
        raise InvalidInput(_("Search for what? E.g. “search 海报 dept: 设计部 person: 韩梅 from: 2026-11-01 to: 2026-12-31”."))
    where: list[Msg] = []
    filters: dict[str, Any] = {"text": text}
    if text:
        where.append(_("text “{text}”", text=text))
    if values.get("department"):
        dept = await lookup.department(values["department"], field="department")
        filters["department_id"] = dept.id
        where.append(_("department {name}", name=dept.name))
    if values.get("person"):
        person = await lookup.person(ctx, values["person"], field="person")
        filters["person_id"] = person.id
        where.append(_("person {name}", name=person.name))
    today = lookup.local_today(ctx)
    start: date | None = read_date(values["from"], today, "from", nearest=True) if values.get("from") else None
    end: date | None = read_date(values["to"], today, "to", nearest=True) if values.get("to") else None
    if start and end and end < start:
        raise InvalidInput(_("The end date {end} is before the start date {start}.", end=end.isoformat(), start=start.isoformat()), field="to")
    actor = require_actor(ctx)
    within = await visible_collaboration_ids(actor)  # what the person may read, as on the dashboard
    rows = await find_collaborations(ArchiveSearch(**filters, start=start, end=end, within=within, tz=ctx.config.bot.timezone))
    if start or end:
        where.append(_("dates {start} – {end}", start=day(start), end=day(end)))
    depts = {d.id: d.name for d in await Department.all()}
    lines = [
        _(
            "{code} {title} — {state}, {initiator} ({dept}), {start} → {end}",
            code=c.code,
            title=c.title,
            state=CollaborationFlow.label(c.state),
            initiator=c.initiator.name,
            dept=depts.get(c.initiator.department_id or 0, "—"),
            start=day(c.raised_on),
            end=day(finished_on(c, ctx.config.bot.timezone)),
        )
        for c in rows[:SEARCH_LINES]
    ]
    if len(rows) > SEARCH_LINES:
        lines.append(_("The newest {shown} of {count} are shown: narrow the search with more words, a department, a person, a state or dates.", shown=SEARCH_LINES, count=len(rows)))
    title = _("Archive search: {count} found", count=len(rows))
    card = Card(title=title, body=join([_("Searched by {what}.", what=join(where, ", ")), *(lines or [_("Nothing found. Try fewer words or a wider date range.")])]), color="blue")
    if not rows:
        return Outcome().reply(card)
    return sent_to(await audience_for(ctx, actor, [c.id for c in rows[:SEARCH_LINES]]), [card])  # a group reads only what it shows

