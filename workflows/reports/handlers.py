"""《周进度表》 weekly report, Friday 17:00 by default (``[clocks] weekly_report_*``; per group with ``report set``).

At the ask (timer ``report.weekly.ask``, key ``report:{group}:{ISO week}``) every owner of an open subtask of
each collaboration shown in the group gets a form: completion rate, risks, support needed. At the compile
time (``report.weekly.compile``, ``…:compile``) the bot posts one report per collaboration to its groups,
from the answers and its own records: done this week, overdue, due next week, open risks, pending
confirmations. A collaboration shown in several groups is asked and reported once (``WeeklyReport``).
A week whose report day is a holiday moves to the week's last working day before it.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.exceptions import ConfigurationError

from bot.calendar import WorkCalendar, utc_at
from bot.errors import InvalidInput, NotFound
from bot.i18n import _, join
from bot.recurrence import local_days
from bot.router import Context, Router
from bot.scheduler import MaterializeContext, reconcile_timers
from bot.types import Card, CardField, Form, FormField, Outcome, TimerSpec, ToCollaboration, ToPerson
from storage.db import id_list
from storage.models import Collaboration, Confirmation, Department, Group, GroupBinding, Person, Subtask
from storage.models_clocks import ReportSchedule, WeeklyAnswer, WeeklyReport
from storage.unique import create_or_get

from ..common.fields import FieldSet, parse_fields
from ..common.format import PRIORITIES, purpose_label
from ..common.lookup import find_code
from .weekly_charts import weekly_charts

router = Router()

OPEN = ("pending", "active")
WEEKDAY_WORDS = {
    "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 7,
    "周一": 1, "周二": 2, "周三": 3, "周四": 4, "周五": 5, "周六": 6, "周日": 7, "周天": 7,
    "星期一": 1, "星期二": 2, "星期三": 3, "星期四": 4, "星期五": 5, "星期六": 6, "星期日": 7,
}
SET_FIELDS = FieldSet(
    {
        "day": ("day", "weekday", "星期", "日期", "周几"),
        "time": ("time", "at", "时间"),
        "compile": ("compile", "report after", "汇总", "汇总间隔"),
        "timezone": ("timezone", "tz", "时区"),
    }
)
ANSWER_FIELDS = FieldSet(
    {
        "completion": ("completion", "complete", "progress", "完成率", "完成度", "进度"),
        "risks": ("risks", "risk", "风险"),
        "support": ("support", "support needed", "help", "所需支持", "支持", "需要支持"),
    }
)


def iso_week(day: date) -> str:
    year, week, _weekday = day.isocalendar()
    return f"{year}-W{week:02d}"


def week_monday(week: str) -> date:
    year, number = week.split("-W")
    return date.fromisocalendar(int(year), int(number), 1)


# ---------------------------------------------------------------- schedule


async def _schedule(group: Group, config: Any) -> tuple[int, str, int, str, bool]:
    row = await ReportSchedule.filter(group_id=group.id).first()
    clocks = config.clocks
    if row is None:
        return clocks.weekly_report_weekday, clocks.weekly_report_time, clocks.weekly_report_compile_minutes, group.timezone or config.bot.timezone, True
    return row.weekday, row.time, row.compile_after, row.timezone, row.active


def report_day(week_start: date, weekday: int, calendar: WorkCalendar) -> date | None:
    """The configured weekday of the week, or the last working day before it in the same week."""
    day = week_start + timedelta(days=weekday - 1)
    while day >= week_start:
        if calendar.is_working_day(day):
            return day
        day -= timedelta(days=1)
    return None


async def group_specs(group: Group, config: Any, calendar: WorkCalendar, since: datetime, until: datetime) -> list[TimerSpec]:
    weekday, at, compile_after, tz, active = await _schedule(group, config)
    if not active:
        return []
    hour, minute = (int(x) for x in at.split(":"))
    specs: list[TimerSpec] = []
    local_start = since.astimezone(ZoneInfo(tz)).date()
    first = local_start - timedelta(days=local_start.weekday() + 7)
    for monday in local_days(tz, first, until.astimezone(ZoneInfo(tz)).date(), day_of_week="mon"):  # the weeks, by CronTrigger
        day = report_day(monday, weekday, calendar)
        if day is not None:
            ask = utc_at(day, time(hour, minute), tz)
            if since <= ask < until:
                week = iso_week(monday)
                payload = {"group": group.id, "week": week}
                key = f"report:{group.id}:{week}"
                specs.append(TimerSpec(key, "report.weekly.ask", ask, {**payload, "_series": f"report:{group.id}:ask"}))
                specs.append(TimerSpec(f"{key}:compile", "report.weekly.compile", ask + timedelta(minutes=compile_after), {**payload, "_series": f"report:{group.id}:compile"}))
    return specs


async def _groups_with_collaborations() -> list[Group]:
    ids = await GroupBinding.filter(collaboration__state__in=OPEN).values_list("group_id", flat=True)
    return list(await Group.filter(id__in=list(set(ids))).order_by("id"))


async def materialize(mctx: MaterializeContext) -> list[TimerSpec]:
    """Ask and compile rows for every group that shows an open collaboration."""
    specs: list[TimerSpec] = []
    for group in await _groups_with_collaborations():
        specs += await group_specs(group, mctx.config, mctx.calendar, mctx.since, mctx.until)
    return specs


# ---------------------------------------------------------------- ask


async def _open_collaborations(group_id: int) -> list[Collaboration]:
    ids = await GroupBinding.filter(group_id=group_id).values_list("collaboration_id", flat=True)
    return list(await Collaboration.filter(id__in=list(ids), state__in=OPEN).order_by("id"))


def answer_form(collab: Collaboration, week: str, answer: WeeklyAnswer | None = None) -> Form:
    return Form(
        id="report.answer",
        title=_("Weekly report {code} · {week}", code=collab.code, week=week),
        fields=[
            FormField("completion", _("Completion rate (%)"), "number", required=True, initial=str(answer.completion) if answer and answer.completion is not None else None),
            FormField("risks", _("Risks"), "textarea", initial=answer.risks if answer else None, placeholder=_("none")),
            FormField("support", _("Support needed"), "textarea", initial=answer.support if answer else None, placeholder=_("none")),
        ],
        submit_label=_("Send"),
        value={"code": collab.code, "week": week},
        template=_("weekly {code} completion: 80% risks: … support: …", code=collab.code),
    )


async def ask_card(collab: Collaboration, week: str, person_id: int) -> Card:
    tasks = await Subtask.filter(collaboration_id=collab.id, owner_id=person_id).exclude(stage="done").order_by("code")
    lines: list[Any] = [_("Weekly progress for **{title}** ({code}): your completion rate, risks and the support you need.", title=collab.title, code=collab.code)]
    lines += [_("- {code} {title} ({progress}%, due {deadline})", code=t.code, title=t.title, progress=t.progress, deadline=t.deadline.isoformat()) for t in tasks]
    return Card(
        title=_("Weekly report {code} · {week}", code=collab.code, week=week),
        key=f"weekly:{collab.code}:{week}:{person_id}",
        body=join(lines),
        form=answer_form(collab, week),
        color="blue",
    )


@router.timer("report.weekly.ask")
async def ask(ctx: Context) -> Outcome:
    group = await Group.get_or_none(id=int(ctx.event.payload.get("group", 0)))
    if group is None:
        return Outcome()
    week = str(ctx.event.payload["week"])
    outcome = Outcome()
    for collab in await _open_collaborations(group.id):
        report = await WeeklyReport.filter(collaboration_id=collab.id, week=week).first()
        if report is not None and report.asked_at is not None:
            continue  # asked through another of its groups
        owners = sorted(set(await id_list(Subtask.filter(collaboration_id=collab.id).exclude(stage="done"), "owner_id")))
        if report is None:
            report = await WeeklyReport.create(collaboration=collab, week=week, asked_at=ctx.now, asked=owners)
        else:
            report.asked_at, report.asked = ctx.now, owners
            await report.save(update_fields=["asked_at", "asked"])
        for pid in owners:
            outcome.send(ToPerson(pid), await ask_card(collab, week, pid))
        outcome.record("report.asked", collab.code, week=week, owners=owners)
    return outcome


# ---------------------------------------------------------------- answers


def _percent(text: str) -> int:
    match = re.search(r"\d{1,3}", text or "")
    if not match or not 0 <= int(match.group()) <= 100:
        raise InvalidInput(_("The completion rate is a number from 0 to 100, e.g. 80%."), field="completion")
    return int(match.group())


async def save_answer(ctx: Context, code: str, week: str | None, values: dict[str, str]) -> Outcome:
    if ctx.actor is None:
        raise InvalidInput(_("I could not tell who you are. Ask an admin to add you to the directory."))
    collab = await Collaboration.get_or_none(code=code)
    if collab is None:
        raise NotFound(_("There is no collaboration {code}.", code=code))
    if week is None:
        latest = await WeeklyReport.filter(collaboration_id=collab.id).order_by("-week").first()
        week = latest.week if latest else iso_week(ctx.now.astimezone(ZoneInfo(ctx.config.bot.timezone)).date())
    completion = _percent(values.get("completion", ""))
    risks, support = (values.get("risks") or "").strip(), (values.get("support") or "").strip()
    answer, created = await create_or_get(
        WeeklyAnswer, {"collaboration_id": collab.id, "person_id": ctx.actor.id, "week": week},
        {"completion": completion, "risks": risks, "support": support, "answered_at": ctx.now},
    )
    if not created:
        answer.completion, answer.risks, answer.support, answer.answered_at = completion, risks, support, ctx.now
        await answer.save()
    outcome = Outcome().record("report.answer", collab.code, week=week, completion=completion)
    report = await WeeklyReport.filter(collaboration_id=collab.id, week=week).first()
    if report is not None and report.posted_at is not None:
        outcome.update(await report_card(collab, week, ctx, report.posted_at))
        return outcome.reply(_("Thanks. The report was already posted; it now shows your answer."), ephemeral=True)
    return outcome.reply(_("Thanks, your weekly answer for {code} is recorded.", code=collab.code), ephemeral=True)


@router.form("report.answer")
async def answer_submitted(ctx: Context) -> Outcome:
    value = ctx.event.value
    return await save_answer(ctx, str(value.get("code", "")), value.get("week"), {k: str(v) for k, v in ctx.event.form.items()})


@router.command("weekly", "周报填写", "周进度")
async def weekly_answer(ctx: Context, args: str) -> Outcome:
    head, values = parse_fields(args, ANSWER_FIELDS)
    found = find_code(head)
    if found is None:
        raise InvalidInput(_("Which collaboration? Write “weekly XZB2026112301 completion: 80% risks: … support: …”."))
    return await save_answer(ctx, found[0], None, values)


# ---------------------------------------------------------------- the report


async def report_card(collab: Collaboration, week: str, ctx: Context, posted_at: datetime) -> Card:
    tz = ctx.config.bot.timezone
    calendar: WorkCalendar = ctx.services["calendar"]
    today = posted_at.astimezone(ZoneInfo(tz)).date()
    monday = week_monday(week)
    next_monday = monday + timedelta(days=7)
    tasks = list(await Subtask.filter(collaboration_id=collab.id).order_by("code"))
    answers = {a.person_id: a for a in await WeeklyAnswer.filter(collaboration_id=collab.id, week=week)}
    people = {p.id: p.name for p in await Person.filter(id__in=list({t.owner_id for t in tasks} | set(answers)))}
    report = await WeeklyReport.filter(collaboration_id=collab.id, week=week).first()
    asked = [int(p) for p in (report.asked if report else [])]
    done = [t for t in tasks if t.stage == "done" and monday <= t.updated_at.astimezone(ZoneInfo(tz)).date() <= today]
    overdue = [t for t in tasks if t.stage != "done" and t.deadline < today]
    due_next = [t for t in tasks if t.stage != "done" and next_monday <= t.deadline < next_monday + timedelta(days=7)]
    average = round(sum(100 if t.stage == "done" else t.progress for t in tasks) / len(tasks)) if tasks else 0
    codes = [collab.code, *(t.code for t in tasks)]
    pending = await Confirmation.filter(subject__in=codes, state="pending").prefetch_related("person").order_by("id")
    risks = [a for a in answers.values() if a.risks and a.risks.lower() not in ("none", "无", "-", "no")]
    risks_text = await _open_risks(collab)

    def task_line(t: Subtask) -> str:
        return f"- {t.code} {t.title} · {people.get(t.owner_id, '?')} · {t.progress}% · {t.deadline.isoformat()}"

    lines: list[Any] = [_("Overall: {count} subtasks, {average}% complete.", count=len(tasks), average=average)]
    lines.append(_("**Owners' answers**"))
    for pid in sorted(set(asked) | set(answers), key=lambda p: people.get(p, "")):
        answer = answers.get(pid)
        if answer is None:
            lines.append(_("- {name}: no answer", name=people.get(pid, str(pid))))
            continue
        lines.append(
            _(
                "- {name}: {completion}% · risks: {risks} · support: {support}",
                name=people.get(pid, str(pid)),
                completion=answer.completion,
                risks=answer.risks or "—",
                support=answer.support or "—",
            )
        )
    for title, items in ((_("**Done this week**"), done), (_("**Overdue**"), overdue), (_("**Due next week**"), due_next)):
        lines.append(title)
        lines += [task_line(t) for t in items] or ["- —"]
    lines.append(_("**Open risks**"))
    lines += risks_text + [f"- {people.get(a.person_id, '?')}: {a.risks}" for a in risks] or ["- —"]
    lines.append(_("**Pending confirmations**"))
    departments = {d.code: d.name for d in await Department.all()}
    lines += [_("- {purpose} · {name}", purpose=purpose_label(c.subject, c.purpose, departments), name=c.person.name) for c in pending] or ["- —"]
    fields = [
        CardField(_("Week"), f"{week} ({monday.isoformat()} – {(monday + timedelta(days=6)).isoformat()})"),
        CardField(_("Deadline"), f"{collab.deadline.isoformat()} ({calendar.working_days_between(today, collab.deadline)})"),
    ]
    return Card(
        title=_("《周进度表》 {code} {title} · {week}", code=collab.code, title=collab.title, week=week),
        key=f"weekly-report:{collab.code}:{week}",
        body=join(lines),
        fields=fields,
        color="red" if overdue else ("yellow" if risks or pending else "green"),
    )


async def _open_risks(collab: Collaboration) -> list[Any]:
    """Risk reports not yet answered, when the risk workflow's table exists (``RiskReport``)."""
    try:
        from storage.models_workflows import RiskReport  # type: ignore[import-not-found,unused-ignore]

        query = RiskReport.filter(collaboration_id=collab.id).exclude(state="responded").order_by("id")
    except (ImportError, ConfigurationError):  # the risk workflow is not installed in this build
        return []
    rows = await query
    return [_("- {code} ({level} risk) {text}", code=r.code, level=PRIORITIES.get(r.level, r.level), text=r.description) for r in rows]


@router.timer("report.weekly.compile")
async def compile_report(ctx: Context) -> Outcome:
    group = await Group.get_or_none(id=int(ctx.event.payload.get("group", 0)))
    if group is None:
        return Outcome()
    week = str(ctx.event.payload["week"])
    outcome = Outcome()
    for collab in await _open_collaborations(group.id):
        report = await WeeklyReport.filter(collaboration_id=collab.id, week=week).first()
        if report is None:
            report = await WeeklyReport.create(collaboration=collab, week=week)
        if report.posted_at is not None:
            continue
        if not await WeeklyReport.filter(id=report.id, posted_at=None).update(posted_at=ctx.now):
            continue
        outcome.send(ToCollaboration(collab.id), await report_card(collab, week, ctx, ctx.now))
        outcome.merge(await weekly_charts(collab, week, ctx))
        outcome.record("report.posted", collab.code, week=week)
    return outcome


# ---------------------------------------------------------------- command


@router.command("report", "周报", "周进度表", "项目周报")
async def report_command(ctx: Context, args: str, calendar: WorkCalendar) -> Outcome:
    word, _sep, rest = args.strip().partition(" ")
    if ctx.group is None:
        raise InvalidInput(_("Use “report” in a collaboration's group."))
    if word.lower() in ("set", "设置"):
        return await set_schedule(ctx, ctx.group, rest, calendar)
    if word.lower() in ("now", "现在", "生成"):
        outcome = Outcome()
        week = iso_week(ctx.now.astimezone(ZoneInfo(ctx.config.bot.timezone)).date())
        for collab in await _open_collaborations(ctx.group.id):
            outcome.reply(await report_card(collab, week, ctx, ctx.now))
        if not outcome.messages:
            outcome.reply(_("No open collaboration is shown in this group."), ephemeral=True)
        return outcome
    return await schedule_card(ctx, ctx.group)


async def schedule_card(ctx: Context, group: Group) -> Outcome:
    weekday, at, compile_after, tz, active = await _schedule(group, ctx.config)
    names = ("", _("Monday"), _("Tuesday"), _("Wednesday"), _("Thursday"), _("Friday"), _("Saturday"), _("Sunday"))
    return Outcome().reply(
        Card(
            title=_("Weekly report schedule"),
            fields=[
                CardField(_("When"), _("{day} {time} ({timezone}); the report {minutes} minutes later", day=names[weekday], time=at, timezone=tz, minutes=compile_after)),
                CardField(_("Change"), _("report set day: fri time: 17:00 compile: 60")),
            ],
            status=None if active else _("Paused"),
            color="blue",
        )
    )


async def set_schedule(ctx: Context, group: Group, text: str, calendar: WorkCalendar) -> Outcome:
    _head, values = parse_fields(text, SET_FIELDS)
    row = await ReportSchedule.filter(group_id=group.id).first()
    if row is None:
        clocks = ctx.config.clocks
        row = ReportSchedule(
            group_id=group.id, weekday=clocks.weekly_report_weekday, time=clocks.weekly_report_time,
            compile_after=clocks.weekly_report_compile_minutes, timezone=group.timezone or ctx.config.bot.timezone,
            created_at=ctx.now, updated_at=ctx.now,
        )
    if "day" in values:
        key = values["day"].strip().lower()
        day = WEEKDAY_WORDS.get(key[:3] if key.isascii() else key) or (int(key) if key.isdigit() and 1 <= int(key) <= 7 else None)
        if day is None:
            raise InvalidInput(_("“{text}” is not a weekday (mon … sun, 周一 … 周日).", text=values["day"][:20]), field="day")
        row.weekday = day
    if "time" in values:
        if not re.fullmatch(r"\d{1,2}:\d{2}", values["time"].strip()):
            raise InvalidInput(_("“{text}” is not a time of day. Write it like 17:00.", text=values["time"][:20]), field="time")
        row.time = values["time"].strip().zfill(5)
    if "compile" in values:
        row.compile_after = max(0, min(1440, _percent_like(values["compile"])))
    if "timezone" in values:
        try:
            ZoneInfo(values["timezone"].strip())
        except Exception as exc:
            raise InvalidInput(_("“{text}” is not a timezone. Use an IANA name such as Asia/Shanghai.", text=values["timezone"][:40]), field="timezone") from exc
        row.timezone = values["timezone"].strip()
    row.active = True
    row.updated_at = ctx.now
    await row.save()
    specs = await group_specs(group, ctx.config, calendar, ctx.now, ctx.now + timedelta(days=8))
    await reconcile_timers(f"report:{group.id}:", specs, ctx.now)
    return (await schedule_card(ctx, group)).record("report.schedule", f"group:{group.id}", weekday=row.weekday, time=row.time)


def _percent_like(text: str) -> int:
    match = re.search(r"\d+", text or "")
    if not match:
        raise InvalidInput(_("“{text}” is not a number of minutes.", text=text[:20]), field="compile")
    return int(match.group())


__all__ = ["materialize", "router"]
