"""§4 Deadline colours and alerts.

- **Colours** (``deadline_colour``): red when overdue, yellow when due within ``bot.due_soon_working_days``
  working days, green otherwise, grey when done.
- **The daily check** (timer ``deadline.sweep``, key ``deadline:sweep:{local date}``, at ``clocks.alert_time``
  on the organisation's working days) alerts on a ladder: a due-soon subtask → its owner; an overdue one →
  the owner from ``alert_ladder[0]`` working days overdue, the collaboration's group(s) from
  ``alert_ladder[1]``, the initiator and the owner's head from ``alert_ladder[2]``. The same alert reaches the
  same recipient at most once per ``clocks.alert_repeat_working_days`` working days (``AlertLog``).
- **The delay question**: on the working day before a deadline, an owner whose progress is under 100% is
  asked "on track, or will it be late?"; "late" asks for the reason and a new date, which go to the
  initiator and the group (the dates themselves change through a change request).
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from bot.calendar import WorkCalendar
from bot.dates import parse_date
from bot.errors import InvalidInput, NotAllowed, NotFound
from bot.i18n import _, join
from bot.recurrence import recurring
from bot.router import Context, Router
from bot.scheduler import MaterializeContext
from bot.types import Audience, Button, Card, Form, FormField, Outcome, TimerSpec, ToCollaboration, ToPerson
from storage.models import Collaboration, Department, GroupBinding, Person, Subtask
from storage.models_clocks import AlertLog, DeadlineCheck
from storage.unique import create_or_get

from ..common.fields import FieldSet, parse_fields
from ..common.format import when
from ..common.forms import ask
from ..common.lookup import find_code
from ..risks import delays
from ..tasks.cards import progress_form
from ..tasks.cards import status_colour as deadline_colour

router = Router()

OPEN_COLLABORATION = ("pending", "active")


def _hhmm(value: str) -> tuple[int, int]:
    hour, minute = value.split(":")
    return int(hour), int(minute)


async def materialize(mctx: MaterializeContext) -> list[TimerSpec]:
    """One deadline check per organisation working day, at ``clocks.alert_time`` in ``bot.timezone``."""
    hour, minute = _hhmm(mctx.config.clocks.alert_time)
    return [
        TimerSpec(f"deadline:sweep:{day.isoformat()}", "deadline.sweep", due, {"day": day.isoformat(), "_series": "deadline:sweep"})
        for day, due in recurring(time(hour, minute), mctx.config.bot.timezone, mctx.since, mctx.until, calendar=mctx.calendar)
    ]


async def _head_of(person: Person) -> int | None:
    """The owner's head: their department's head (if that is someone else), else their superior."""
    if person.department_id:
        dept = await Department.get_or_none(id=person.department_id)
        if dept and dept.head_id and dept.head_id != person.id:
            return dept.head_id
    return person.superior_id


async def _once(key: str, subject: str, level: str, recipient: str, now: datetime) -> bool:
    """Log an alert; False if this exact alert (same slot) was already logged."""
    if await AlertLog.exists(key=key):
        return False
    try:
        async with in_transaction("default"):
            await AlertLog.create(key=key[:191], subject=subject, level=level, recipient=recipient, sent_at=now)
    except IntegrityError:
        return False
    return True


async def _recent(subject: str, level: str, recipient: str, today: date, calendar: WorkCalendar, repeat: int, tz: str) -> bool:
    """Whether ``recipient`` got this alert less than ``repeat`` working days ago."""
    last = await AlertLog.filter(subject=subject, level=level, recipient=recipient).order_by("-sent_at").first()
    if last is None:
        return False
    sent = last.sent_at.astimezone(ZoneInfo(tz)).date()
    return calendar.working_days_between(sent, today) < repeat


def _alert_card(task: Subtask, collab: Collaboration, owner: Person, level: str, overdue: int, today: date, for_owner: bool) -> Card:
    if level == "red":
        title = _("Overdue: {code} {title}", code=task.code, title=task.title)
        line = _("Due {deadline}, now {days} working day(s) overdue, at {progress}%. Owner: {owner}.", deadline=task.deadline.isoformat(), days=overdue, progress=task.progress, owner=owner.name)
    else:
        title = _("Due soon: {code} {title}", code=task.code, title=task.title)
        line = _("Due {deadline}, at {progress}%. Owner: {owner}.", deadline=task.deadline.isoformat(), progress=task.progress, owner=owner.name)
    lines: list[Any] = [line, _("Collaboration: {code} {title}", code=collab.code, title=collab.title)]
    buttons: list[Button] = []
    if for_owner:  # the owner acts on the alert itself: a form each, the typed command where a chat has no buttons
        buttons = [
            Button(_("Update progress"), "task.progress", {"code": task.code}, "primary", command=_("progress {code} 80% done: …", code=task.code), opens_form=progress_form(task)),
            Button(
                _("Will be late"),
                "deadline.will_be_late",
                {"code": task.code, "deadline": task.deadline.isoformat()},
                "danger",
                command=_("late {code} reason: … new date: …", code=task.code),
                opens_form=_delay_form(task),
            ),
        ]
    return Card(title=title, body=join(lines), buttons=buttons, color="red" if level == "red" else "yellow", key=None)


def _delay_form(task: Subtask) -> Form:
    return Form(
        id="deadline.late",
        title=_("{code} will be late", code=task.code),
        fields=[
            FormField("reason", _("Reason"), "textarea", required=True),
            FormField("new_date", _("New date"), "date", required=True),
        ],
        submit_label=_("Send"),
        value={"code": task.code, "deadline": task.deadline.isoformat()},
        template=_("late {code} reason: … new date: 2026-12-20", code=task.code),
    )


def _ask_card(task: Subtask) -> Card:
    return Card(
        title=_("{code} is due tomorrow: on track?", code=task.code),
        key=f"deadline-ask:{task.code}:{task.deadline.isoformat()}",
        body=join(
            [
                _("**{title}** is due {deadline} and is at {progress}%.", title=task.title, deadline=task.deadline.isoformat(), progress=task.progress),
                _("Will it be done in time? If not, say so now, with the reason and a new date."),
            ]
        ),
        buttons=[
            Button(_("On track"), "deadline.on_track", {"code": task.code, "deadline": task.deadline.isoformat()}, "primary", command=_("ontrack {code}", code=task.code)),
            Button(_("Will be late"), "deadline.will_be_late", {"code": task.code, "deadline": task.deadline.isoformat()}, "danger", opens_form=_delay_form(task)),
        ],
        color="yellow",
    )


@router.timer("deadline.sweep")
async def sweep(ctx: Context, calendar: WorkCalendar) -> Outcome:
    """The daily deadline check: colours, the alert ladder and the working-day-before question."""
    config = ctx.config
    tz = config.bot.timezone
    today = date.fromisoformat(ctx.event.payload["day"])
    repeat = config.clocks.alert_repeat_working_days
    owner_from, group_from, boss_from = config.clocks.alert_ladder
    outcome = Outcome()
    collabs = {c.id: c for c in await Collaboration.filter(state__in=OPEN_COLLABORATION)}
    tasks = await Subtask.filter(collaboration_id__in=list(collabs)).exclude(stage="done").order_by("deadline", "code")
    people = {p.id: p for p in await Person.filter(id__in=list({t.owner_id for t in tasks}))}
    bound = set(await GroupBinding.filter(collaboration_id__in=list(collabs)).values_list("collaboration_id", flat=True))
    next_day = calendar.next_working_day(today)
    for task in tasks:
        collab, owner = collabs[task.collaboration_id], people[task.owner_id]
        level = deadline_colour(task, today, calendar, config.bot.due_soon_working_days)
        if level in ("red", "yellow"):
            overdue = calendar.working_days_between(task.deadline, today) if level == "red" else 0
            rungs: list[tuple[str, Audience, bool]] = []
            if level == "yellow" or overdue >= owner_from:
                rungs.append((f"person:{owner.id}", ToPerson(owner.id), True))
            if level == "red" and overdue >= group_from and collab.id in bound:
                rungs.append((f"collaboration:{collab.id}", ToCollaboration(collab.id), False))
            if level == "red" and overdue >= boss_from:
                for pid in (collab.initiator_id, await _head_of(owner)):
                    if pid and pid != owner.id and f"person:{pid}" not in [r[0] for r in rungs]:
                        rungs.append((f"person:{pid}", ToPerson(pid), False))
            for recipient, audience, for_owner in rungs:
                if await _recent(task.code, level, recipient, today, calendar, repeat, tz):
                    continue
                if await _once(f"{level}:{task.code}:{task.deadline}:{recipient}:{today}", task.code, level, recipient, ctx.now):
                    outcome.send(audience, _alert_card(task, collab, owner, level, overdue, today, for_owner))
        if task.deadline == next_day and task.progress < 100 and not await DeadlineCheck.exists(subtask_id=task.id, deadline=task.deadline):
            await DeadlineCheck.create(subtask=task, deadline=task.deadline, asked_at=ctx.now)
            outcome.send(ToPerson(owner.id), _ask_card(task))
    return outcome.record("deadline.sweep", today.isoformat(), messages=len(outcome.messages))


async def _check(ctx: Context, code: str, deadline: str | None) -> tuple[Subtask, DeadlineCheck]:
    task = await Subtask.get_or_none(code=code)
    if task is None:
        raise NotFound(_("There is no subtask {code}.", code=code))
    if ctx.actor is None or ctx.actor.id != task.owner_id:
        raise NotAllowed(_("Only the owner of {code} can answer this.", code=code))
    day = date.fromisoformat(deadline) if deadline else task.deadline
    check, _created = await create_or_get(DeadlineCheck, {"subtask_id": task.id, "deadline": day}, {"asked_at": ctx.now})
    return task, check


@router.action("deadline.on_track")
async def on_track(ctx: Context) -> Outcome:
    task, check = await _check(ctx, str(ctx.event.value.get("code", "")), ctx.event.value.get("deadline"))
    check.answer, check.answered_at = "on_track", ctx.now
    await check.save(update_fields=["answer", "answered_at"])
    card = _ask_card(task)
    card.buttons, card.status = [], _("On track ({time})", time=when(ctx.now, ctx.config.bot.timezone))
    return Outcome().update(card).record("deadline.on_track", task.code, deadline=check.deadline.isoformat()).reply(_("Noted: {code} is on track.", code=task.code), ephemeral=True)


@router.action("deadline.will_be_late")
async def will_be_late(ctx: Context) -> Outcome:
    task = await Subtask.get_or_none(code=str(ctx.event.value.get("code", "")))
    if task is None:
        raise NotFound(_("There is no subtask {code}.", code=str(ctx.event.value.get("code", ""))))
    form = _delay_form(task)
    return ask(form, _("Give the reason and the new date."), ctx=ctx)


async def delay(ctx: Context, code: str, deadline: str | None, reason: str, new_date_text: str) -> Outcome:
    """"Will be late": answers the day-before question and sends the delay notice
    (``workflows.risks.delays.declare``: the initiator confirms the new date)."""
    task, check = await _check(ctx, code, deadline)
    if not reason.strip():
        raise InvalidInput(_("Say why {code} will be late (reason: …).", code=code), field="reason")
    if not new_date_text.strip():
        raise InvalidInput(_("Give the new date for {code} (new date: …).", code=code), field="new_date")
    today = ctx.now.astimezone(ZoneInfo(ctx.config.bot.timezone)).date()
    new_date = parse_date(new_date_text, today)
    if new_date <= task.deadline:
        raise InvalidInput(_("The new date must be after the current deadline {deadline}.", deadline=task.deadline.isoformat()), field="new_date")
    check.answer, check.answered_at, check.reason, check.new_date = "late", ctx.now, reason.strip(), new_date
    await check.save(update_fields=["answer", "answered_at", "reason", "new_date"])
    card = _ask_card(task)
    card.buttons, card.status = [], _("Will be late: new date {date}", date=new_date.isoformat())
    return (await delays.declare(ctx, task.code, reason, new_date.isoformat())).update(card)


@router.form("deadline.late")
async def late_form(ctx: Context) -> Outcome:
    value, form = ctx.event.value, ctx.event.form
    return await delay(ctx, str(value.get("code", "")), value.get("deadline"), str(form.get("reason", "")), str(form.get("new_date", "")))


_LATE_FIELDS = FieldSet({"reason": ("reason", "原因", "理由"), "new_date": ("new date", "new deadline", "新日期", "新截止", "延期至")})


@router.command("late", "will-be-late", "将延期", "会延期")
async def late_command(ctx: Context, args: str) -> Outcome:
    head, values = parse_fields(args, _LATE_FIELDS)
    found = find_code(head)
    if found is None or found[1] is None:
        raise InvalidInput(_("Which subtask? Write “late XZB2026112301-01 reason: … new date: …”."))
    return await delay(ctx, f"{found[0]}-{found[1]}", None, values.get("reason", ""), values.get("new_date", ""))


@router.command("ontrack", "on-track", "按期", "按时完成")
async def on_track_command(ctx: Context, args: str) -> Outcome:
    found = find_code(args)
    if found is None or found[1] is None:
        raise InvalidInput(_("Which subtask? Write “ontrack XZB2026112301-01”."))
    task, check = await _check(ctx, f"{found[0]}-{found[1]}", None)
    check.answer, check.answered_at = "on_track", ctx.now
    await check.save(update_fields=["answer", "answered_at"])
    return Outcome().record("deadline.on_track", task.code).reply(_("Noted: {code} is on track.", code=task.code), ephemeral=True)
