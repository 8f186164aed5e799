"""The subtask card: five elements, stage, progress and the owner's acknowledgement."""

from __future__ import annotations

from datetime import date

from bot.calendar import WorkCalendar
from bot.i18n import Msg, _, join
from bot.router import Context
from bot.types import Button, Card, CardField, Choice, Color, Form, FormField
from storage.models import Collaboration, Person, Subtask

from ..common.format import PRIORITIES, day, or_dash, when
from ..common.records import loaded
from .states import SubtaskFlow

FIELD_LABELS: dict[str, Msg] = {
    "title": _("Title"),
    "owner": _("Owner"),
    "collaborators": _("Collaborators"),
    "resources": _("Resources needed"),
    "standard": _("Delivery standard"),
    "start": _("Start"),
    "deadline": _("Deadline"),
    "priority": _("Priority"),
    "depends": _("Depends on"),
    "reviewer": _("Reviewer"),
}

STAGE_WORDS = {
    "not started": "not_started", "not_started": "not_started", "未开始": "not_started", "todo": "not_started",
    "in progress": "in_progress", "in_progress": "in_progress", "执行中": "in_progress", "进行中": "in_progress", "doing": "in_progress",
    "in review": "in_review", "待验收": "in_review",
    "done": "done", "已完成": "done", "完成": "done",
}


def task_template(code: str) -> Msg:
    return _(
        "task {code}\ntitle: …\nowner: @name\ncollaborators: @name, @name\nresources: …\nstandard: … (the acceptance basis, e.g. 300DPI, 750×1500px)\ndeadline: 2026-12-10\npriority: high / medium / low\ndepends: 01",
        code=code,
    )


def task_form(collab: Collaboration) -> Form:
    return Form(
        id="task.new",
        title=_("New subtask of {code}", code=collab.code),
        submit_label=_("Create subtask"),
        value={"code": collab.code},
        template=task_template(collab.code),
        fields=[
            FormField("title", FIELD_LABELS["title"], required=True),
            FormField("owner", FIELD_LABELS["owner"], "person", required=True),
            FormField("collaborators", FIELD_LABELS["collaborators"], "text"),
            FormField("resources", FIELD_LABELS["resources"], "textarea"),
            FormField("standard", FIELD_LABELS["standard"], "textarea", required=True),
            FormField("deadline", FIELD_LABELS["deadline"], "date", required=True),
            FormField("priority", FIELD_LABELS["priority"], "select", choices=[Choice(k, v) for k, v in PRIORITIES.items()], initial="medium"),
            FormField("depends", FIELD_LABELS["depends"]),
        ],
    )


def progress_form(task: Subtask) -> Form:
    """《任务执行进度跟踪表》 as a form: progress, stage, done, problems, support needed, next step."""
    return Form(
        id="task.progress",
        title=_("Progress of {code}", code=task.code),
        submit_label=_("Report progress"),
        value={"code": task.code},
        template=_("progress {code} 60% done: … problems: … support: … next: …", code=task.code),
        fields=[
            FormField("progress", _("Progress (%)"), "number", required=True, initial=str(task.progress)),
            FormField("stage", _("Stage"), "select", choices=[Choice(s, SubtaskFlow.label(s)) for s in ("not_started", "in_progress")], initial=task.stage if task.stage in ("not_started", "in_progress") else None),
            FormField("done", _("Done"), "textarea"),
            FormField("problems", _("Problems met"), "textarea"),
            FormField("support", _("Support needed"), "textarea"),
            FormField("next", _("Next step"), "textarea"),
        ],
    )


def status_colour(task: Subtask, today: date, calendar: WorkCalendar, due_soon_working_days: int = 2) -> Color:
    """Red when overdue, yellow when due within ``due_soon_working_days`` working days, green otherwise, grey when done."""
    if task.stage == "done":
        return "grey"
    if task.deadline < today:
        return "red"
    if calendar.working_days_between(today, task.deadline) <= due_soon_working_days:
        return "yellow"
    return "green"


async def subtask_people(task: Subtask) -> dict[int, Person]:
    """Owner, collaborators and reviewer by id: those loaded with the subtask (a join, or its create) and one
    select for the rest, if any."""
    wanted = {task.owner_id, *(task.collaborators or []), *([task.reviewer_id] if task.reviewer_id else [])}
    people = {p.id: p for p in (loaded(task, "owner"), loaded(task, "reviewer")) if p is not None}
    missing = wanted - people.keys()
    if missing:
        people.update({p.id: p for p in await Person.filter(id__in=list(missing))})
    return people


async def subtask_card(task: Subtask, ctx: Context) -> Card:
    people = await subtask_people(task)
    owner = people[task.owner_id]
    collaborators = [people[pid].name for pid in task.collaborators or [] if pid in people]
    reviewer = people.get(task.reviewer_id) if task.reviewer_id else None
    buttons = []
    if task.acknowledged_at is None and task.stage != "done":
        buttons.append(Button(_("Acknowledge"), "task.ack", {"code": task.code}, "primary", command=_("ack {code}", code=task.code)))
        status: Msg = _("Waiting for {owner} to acknowledge.", owner=owner.name)
    else:
        status = _("Acknowledged by {owner} at {time}", owner=owner.name, time=when(task.acknowledged_at, ctx.config.bot.timezone))
    from ..common.lookup import local_today

    return Card(
        key=f"task:{task.code}",
        title=_("Subtask {code}: {title}", code=task.code, title=task.title),
        fields=[
            CardField(FIELD_LABELS["owner"], owner.name),
            CardField(FIELD_LABELS["collaborators"], join(collaborators, ", ") if collaborators else "—"),
            CardField(FIELD_LABELS["resources"], or_dash(task.resources)),
            CardField(FIELD_LABELS["standard"], task.delivery_standard),
            CardField(FIELD_LABELS["deadline"], day(task.deadline)),
            CardField(_("Stage"), SubtaskFlow.label(task.stage)),
            CardField(_("Progress"), f"{task.progress}%"),
            CardField(FIELD_LABELS["priority"], PRIORITIES.get(task.priority, task.priority)),
            CardField(FIELD_LABELS["depends"], join(task.depends_on, ", ") if task.depends_on else "—"),
            CardField(FIELD_LABELS["reviewer"], reviewer.name if reviewer else "—"),
        ],
        buttons=buttons,
        color=status_colour(task, local_today(ctx), ctx.services["calendar"], ctx.config.bot.due_soon_working_days),
        status=status,
        mentions=[str(owner.id)],
    )
