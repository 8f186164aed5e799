"""Reading the records: show a collaboration, list open ones, the audit trail, who still has to confirm."""

from __future__ import annotations

from bot.errors import InvalidInput
from bot.i18n import _, join
from bot.router import Context, Router
from bot.types import Card, CardField, Outcome
from storage import sql
from storage.models import Collaboration, Confirmation, Department, Person
from storage.subjects import about

from ..acceptance.history import acceptance_histories, history_lines
from ..common import lookup
from ..common.format import CONFIRMATION_STATES, account, day, purpose_label, when
from ..common.paging import page_count, page_number
from ..common.records import require_actor
from ..common.visibility import audience_for, readable_collaboration, sent_to, visible_collaboration_ids
from ..requests.cards import overview_card
from ..requests.states import CollaborationFlow
from ..tasks.cards import status_colour
from ..tasks.states import SubtaskFlow
from .queries import audit_trail, subtasks_with_owners

LIST_LINES = 30  # collaborations the list's card shows, the newest

router = Router()

BOARD_PAGE = 30  # subtasks per board card
AUDIT_LINES = 60  # the newest entries the audit trail card shows
_DOT = {"red": "🔴", "yellow": "🟡", "green": "🟢", "grey": "⚪"}

ACTION_LABELS = {
    "request.created": _("raised the request"),
    "request.accepted": _("accepted for their department"),
    "request.declined": _("declined for their department"),
    "request.rescoped": _("re-scoped the request"),
    "request.rerouted": _("re-routed the request"),
    "request.activated": _("— all departments accepted"),
    "request.cancelled": _("cancelled the request"),
    "task.created": _("created a subtask"),
    "task.acknowledged": _("acknowledged the subtask"),
    "task.progress": _("reported progress"),
    "acceptance.submitted": _("submitted for acceptance"),
    "acceptance.passed": _("passed the acceptance"),
    "acceptance.failed": _("failed the acceptance"),
    "collaboration.completed": _("completed the collaboration"),
    "collaboration.archived": _("— archived"),
    "group.bound": _("bound a group"),
    "group.locale": _("set the group's language"),
    "person.locale": _("set their language"),
    "directory.department": _("edited a department"),
    "directory.person": _("edited a person"),
    "directory.head": _("named a department head"),
    "change.requested": _("requested a change"),
    "change.confirmed": _("confirmed the change"),
    "change.rejected": _("rejected the change"),
    "change.applied": _("— the change was applied"),
    "change.withdrawn": _("withdrew the change"),
    "delay.requested": _("sent a delay notice"),
    "delay.confirmed": _("confirmed the new date"),
    "delay.rejected": _("rejected the new date"),
    "delay.withdrawn": _("withdrew the delay notice"),
    "risk.raised": _("raised a risk"),
    "risk.responded": _("responded to the risk"),
    "risk.escalated": _("— the risk was escalated"),
    "issue.raised": _("raised an issue"),
    "issue.escalated": _("escalated the issue"),
    "issue.resolved": _("resolved the issue"),
    "meeting.noticed": _("sent a meeting notice"),
    "meeting.absence": _("sent an absence"),
    "minutes.submitted": _("submitted the minutes"),
    "minutes.confirmed": _("confirmed the minutes"),
    "minutes.disputed": _("asked to correct the minutes"),
    "minutes.signed": _("— everyone confirmed the minutes"),
    "retro.saved": _("saved the retrospective"),
    "sop.saved": _("saved an SOP"),
    "sop.applied": _("started from an SOP"),
    "sla.request.reminded": _("— reminded the head"),
    "sla.request.escalated": _("— escalated the unanswered request"),
    "sla.review.reminded": _("— reminded the reviewer"),
    "sla.review.escalated": _("— escalated the missing verdict"),
    "change.overdue": _("— the change request is overdue"),
    "clock.missed": _("— reported messages missed while the bot was not running"),
    "deadline.on_track": _("said the subtask is on track"),
    "deadline.sweep": _("— checked the deadlines"),
    "deadline.will_be_late": _("said the subtask will be late"),
    "improvement.logged": _("logged an improvement"),
    "improvement.overdue": _("— the improvement is overdue"),
    "improvement.status": _("updated the improvement"),
    "minutes.overdue": _("— the minutes are overdue"),
    "minutes.superseded": _("— the minutes were replaced by a new version"),
    "mytasks.digest": _("— sent the daily list of open subtasks"),
    "mytasks.digest_off": _("turned off the daily list of open subtasks"),
    "mytasks.digest_on": _("turned on the daily list of open subtasks"),
    "report.answer": _("answered the weekly progress report"),
    "report.asked": _("— asked for the weekly progress report"),
    "report.posted": _("— posted the weekly progress report"),
    "report.schedule": _("set the weekly progress report's schedule"),
    "retro.revised": _("revised the retrospective"),
    "standup.answer": _("answered the stand-up"),
    "standup.back": _("is back for stand-ups"),
    "standup.configured": _("set up the stand-up"),
    "standup.digest": _("— posted the stand-up summary"),
    "standup.leave": _("is on leave from stand-ups"),
    "standup.on": _("turned the stand-up on"),
    "standup.prompted": _("— asked for the stand-up"),
    "standup.skip": _("skipped today's stand-up"),
}


@router.command("show", "view", "查看", "详情", "看板", "board")
async def show(ctx: Context, args: str) -> Outcome:
    page, args = page_number(args)
    collab, _actor, audience = await readable_collaboration(ctx, args)
    card = await overview_card(collab, ctx)
    card.key = None  # a snapshot, not a live copy
    today = lookup.local_today(ctx)
    tasks = await subtasks_with_owners(collab.id)
    pages = page_count(len(tasks), BOARD_PAGE)
    if page > pages:
        raise InvalidInput(_("{code} has {pages} pages of subtasks; ask for one of 1–{pages}, e.g. “show {code} page {pages}”.", code=collab.code, pages=pages))
    shown = tasks[(page - 1) * BOARD_PAGE : page * BOARD_PAGE]  # a long plan in pages: every chat limits a message
    histories = await acceptance_histories([t.id for t in shown])
    lines = []
    for t in shown:
        lines.append(
            _(
                "{dot} {code} {title} — {owner}, {stage}, {progress}%, due {deadline}",
                dot=_DOT[status_colour(t, today, ctx.services["calendar"], ctx.config.bot.due_soon_working_days)],
                code=t.code,
                title=t.title,
                owner=t.owner.name,
                stage=SubtaskFlow.label(t.stage),
                progress=t.progress,
                deadline=day(t.deadline),
            )
        )
        lines += history_lines(histories[t.id])  # each round, the delivery standard item by item
    if pages > 1:
        lines.append(
            _(
                "Subtasks {first}–{last} of {total} (page {page} of {pages}). Next: “show {code} page {next}”; the whole plan: “gantt {code}” or “export {code}”.",
                first=(page - 1) * BOARD_PAGE + 1, last=(page - 1) * BOARD_PAGE + len(shown), total=len(tasks),
                page=page, pages=pages, code=collab.code, next=page % pages + 1,
            )
        )
    card.body = join([card.body, _("**Subtasks**") if lines else _("No subtasks yet."), *lines])
    return sent_to(audience, [card])


@router.command("list", "ls", "列表", "协作列表", "我的协作")
async def list_open(ctx: Context, args: str) -> Outcome:
    show_all = args.strip().lower() in ("all", "全部", "archived", "已归档")
    actor = require_actor(ctx)
    query = Collaboration.all() if show_all else Collaboration.filter(state__in=["pending", "active"])
    visible = await visible_collaboration_ids(actor)
    if visible is not None:  # only what this person may read
        query = query.filter(id__in=sql.among(visible))
    rows = await query.order_by("-id").limit(LIST_LINES).select_related("initiator")
    if not rows:
        return Outcome().reply(_("No open collaborations. Start one with “new”."))
    lines = [
        _("{code} {title} — {state}, {initiator}, due {deadline}", code=c.code, title=c.title, state=CollaborationFlow.label(c.state), initiator=c.initiator.name, deadline=day(c.deadline))
        for c in rows
    ]
    if len(rows) == LIST_LINES and (total := await query.count()) > LIST_LINES:
        lines.append(_("The newest {shown} of {count} are listed: find the others with “search”, e.g. “search poster”.", shown=LIST_LINES, count=total))
    card = Card(title=_("Collaborations"), body=join(lines), color="blue")
    return sent_to(await audience_for(ctx, actor, [c.id for c in rows]), [card])


@router.command("log", "audit", "history", "记录", "日志", "审计")
async def audit_log(ctx: Context, args: str) -> Outcome:
    collab, _actor, audience = await readable_collaboration(ctx, args)
    entries = await audit_trail(collab.code, limit=AUDIT_LINES)
    tz = ctx.config.bot.timezone
    lines = [
        _(
            "{time} {name} ({account}) {label} {subject}",
            time=when(e.at, tz),
            name=e.actor.name,
            account=account(e.platform, e.platform_user_id),
            label=ACTION_LABELS.get(e.action) or _("other record"),
            subject=e.subject,
        )
        if e.actor
        else _("{time} {label} {subject}", time=when(e.at, tz), label=ACTION_LABELS.get(e.action) or _("other record"), subject=e.subject)
        for e in entries
    ]
    card = Card(title=_("Audit trail of {code}", code=collab.code), body=join(lines), color="grey")
    return sent_to(audience, [card])


@router.command("pending", "confirmations", "待确认", "确认情况")
async def pending(ctx: Context, args: str) -> Outcome:
    collab, _actor, audience = await readable_collaboration(ctx, args)
    rows = await Confirmation.filter(about(collab.code)).exclude(state="void").order_by("id").select_related("person")
    tz = ctx.config.bot.timezone
    waiting = [r for r in rows if r.state == "pending"]
    done = [r for r in rows if r.state != "pending"]
    departments = {d.code: d.name for d in await Department.all()}
    fields = [CardField(_("Still to confirm"), join([_("{name} ({purpose})", name=r.person.name, purpose=purpose_label(r.subject, r.purpose, departments)) for r in waiting], ", ") if waiting else "—")]
    lines = [
        _(
            "{name} {state}: {purpose}, {time} ({account})",
            name=r.person.name,
            state=CONFIRMATION_STATES.get(r.state, r.state),
            purpose=purpose_label(r.subject, r.purpose, departments),
            time=when(r.decided_at, tz),
            account=account(r.platform, r.platform_user_id),
        )
        for r in done
    ]
    card = Card(title=_("Confirmations of {code}", code=collab.code), body=join(lines), fields=fields, color="yellow" if waiting else "green")
    return sent_to(audience, [card])


async def person_name(person_id: int | None) -> str:
    person = await Person.get_or_none(id=person_id) if person_id else None
    return person.name if person else "—"
