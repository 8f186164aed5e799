"""§3 Daily stand-up (每日站会): ``standup`` / ``站会`` configures it per group; the clock prompts every
participant on each local working day, reminds those who have not answered, and posts one digest at the
cut-off. Answers come as a card form or as free text (``昨天: … 今天: … 障碍: …``).
"""

from __future__ import annotations

import contextlib
import re
import zoneinfo
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from bot.calendar import WorkCalendar
from bot.dates import parse_date
from bot.errors import InvalidInput, NotFound
from bot.i18n import _, join
from bot.router import Context, Router
from bot.scheduler import MaterializeContext
from bot.types import (
    Card,
    CardField,
    Choice,
    Conversation,
    Form,
    FormField,
    Outcome,
    TimerSpec,
    ToConversation,
    ToPerson,
)
from storage.models import CardPost, CardRecord, Group, Person
from storage.models_clocks import Standup, StandupAbsence, StandupAnswer, StandupRun

from ..common import lookup
from ..common.fields import FieldSet, parse_fields, split_list
from ..common.forms import form_card
from .cards import day_label, digest_card, local_time, prompt_card, reminder_card
from .schedule import hhmm, parse_hhmm
from .store import (
    absences,
    current_runs,
    desired_timers,
    open_subtasks,
    participants,
    previous_plan,
    reconcile,
    run_state,
)

router = Router()

SETUP_FIELDS = FieldSet(
    {
        "time": ("time", "at", "时间", "站会时间", "提醒时间点"),
        "cutoff": ("cutoff", "cut-off", "cut off", "digest", "截止", "截止时间", "汇总时间"),
        "remind": ("remind", "reminder", "催办", "提醒"),
        "days": ("days", "weekdays", "日期", "周期", "星期"),
        "timezone": ("timezone", "tz", "time zone", "时区"),
        "participants": ("participants", "people", "members", "who", "参与人", "成员", "参会人"),
        "mode": ("mode", "where", "方式", "提问方式"),
        "calendar": ("calendar", "holidays", "日历", "节假日"),
    }
)
ANSWER_FIELDS = FieldSet(
    {
        "yesterday": ("yesterday", "昨天", "昨日", "昨日完成", "昨天完成"),
        "today": ("today", "今天", "今日", "今日计划", "今天计划"),
        "blockers": ("blockers", "blocker", "blocked", "障碍", "遇到障碍", "阻碍", "卡点"),
    }
)

_SUB = {
    "set": "set", "setup": "set", "config": "set", "configure": "set", "设置": "set", "配置": "set",
    "show": "show", "status": "show", "查看": "show", "状态": "show",
    "off": "off", "stop": "off", "disable": "off", "关闭": "off", "停止": "off", "停用": "off",
    "on": "on", "start": "on", "enable": "on", "开启": "on", "启用": "on",
    "skip": "skip", "跳过": "skip",
    "leave": "leave", "away": "leave", "vacation": "leave", "请假": "leave", "休假": "leave",
    "back": "back", "return": "back", "销假": "back",
    "stats": "stats", "participation": "stats", "统计": "stats", "参与": "stats", "参与度": "stats",
}
_DAY_WORDS = {
    "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 7,
    "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "日": 7, "天": 7,
}
_EVERY_WORKING_DAY = ("", "workdays", "working days", "weekdays", "every working day", "工作日", "每个工作日", "每天")


# ---------------------------------------------------------------- configuration parsing


def parse_days(text: str) -> list[int]:
    """``mon-fri`` / ``周一至周五`` / ``1,3,5`` / ``一三五`` / ``工作日`` → ISO weekdays (empty: every working day)."""
    raw = (text or "").strip().lower()
    if raw in _EVERY_WORKING_DAY:
        return []
    raw = re.sub(r"(周|星期|礼拜)", "", raw)
    tokens = re.findall(r"[a-z]{3}[a-z]*|[一二三四五六日天]|[1-7]|[-~–至到]", raw)
    days: set[int] = set()
    previous: int | None = None
    ranging = False
    for token in tokens:
        if token in "-~–至到":
            ranging = previous is not None
            continue
        value = _DAY_WORDS.get(token[:3]) if token.isalpha() and token.isascii() else _DAY_WORDS.get(token, int(token) if token.isdigit() else None)
        if value is None:
            raise InvalidInput(_("I could not read the days “{text}”. Write e.g. “mon-fri”, “mon, wed, fri” or “周一至周五”.", text=text[:40]), field="days")
        if ranging and previous is not None:
            days.update(range(previous, value + 1) if previous <= value else [*range(previous, 8), *range(1, value + 1)])
        days.add(value)
        previous, ranging = value, False
    if not days:
        raise InvalidInput(_("I could not read the days “{text}”. Write e.g. “mon-fri”, “mon, wed, fri” or “周一至周五”.", text=text[:40]), field="days")
    return [] if days >= {1, 2, 3, 4, 5} and not days & {6, 7} else sorted(days)


def _time(value: str, name: str) -> str:
    try:
        return hhmm(parse_hhmm(value))
    except ValueError as exc:
        raise InvalidInput(_("“{text}” is not a time of day. Write it like 09:30.", text=value[:20]), field=name) from exc


def _timezone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value.strip())
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(_("“{text}” is not a timezone. Use an IANA name such as Asia/Shanghai or America/Los_Angeles.", text=value[:40]), field="timezone") from exc
    return value.strip()


def _mode(value: str) -> str:
    low = value.strip().lower()
    if low in ("dm", "direct", "private", "私聊", "单聊", "私信"):
        return "dm"
    if low in ("group", "channel", "群", "群聊", "群里"):
        return "group"
    raise InvalidInput(_("Mode “{text}” is not “dm” (私聊) or “group” (群聊).", text=value[:20]), field="mode")


def _calendar(value: str) -> str | None:
    code = value.strip().upper()
    if code in ("", "DEFAULT", "默认"):
        return None
    try:
        WorkCalendar(code).is_working_day(date(2026, 1, 5))
    except ValueError as exc:
        raise InvalidInput(_("“{text}” is not a holiday calendar. Use a country code such as CN or US.", text=value[:20]), field="calendar") from exc
    return code


def days_text(days: list[int]) -> Any:
    if not days:
        return _("every working day")
    names = ("", _("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun"))
    return join([names[d] for d in days], ", ")


# ---------------------------------------------------------------- the materializer source


async def materialize(mctx: MaterializeContext) -> list[TimerSpec]:
    """Prompt, reminder and digest rows for every active stand-up, for the materializer's window."""
    specs: list[TimerSpec] = []
    for standup in await Standup.filter(active=True):
        since = max(mctx.since, standup.updated_at)
        if since < mctx.until:
            specs += desired_timers(standup, mctx.calendar, since, mctx.until)
    return specs


# ---------------------------------------------------------------- command


@router.command("standup", "stand-up", "站会", "每日站会", "晨会")
async def standup_command(ctx: Context, args: str, calendar: WorkCalendar) -> Outcome:
    word, _sep, rest = args.strip().partition(" ")
    sub = _SUB.get(word.lower().rstrip(":"))
    if sub is None:
        _head, answer = _answer_fields(args)
        if answer:
            return await answer_now(ctx, answer)
        if args.strip() and ":" in args:
            sub, rest = "set", args
        else:
            sub = "show"
    if sub == "set":
        _head, values = parse_fields(rest, SETUP_FIELDS)
        if not values:
            return Outcome().reply(setup_card(await _existing(ctx), ctx))
        return await configure(ctx, values, calendar)
    if sub in ("on", "off"):
        return await switch(ctx, sub == "on", calendar)
    if sub == "skip":
        return await skip(ctx, rest)
    if sub == "leave":
        return await leave(ctx, rest)
    if sub == "back":
        return await back(ctx)
    if sub == "stats":
        return await stats(ctx, rest)
    return await show(ctx)


def _answer_fields(text: str) -> tuple[str, dict[str, str]]:
    try:
        head, values = parse_fields(text, ANSWER_FIELDS)
    except InvalidInput:
        return text, {}
    return head, {k: v for k, v in values.items() if k in ("yesterday", "today", "blockers")}


async def _existing(ctx: Context) -> Standup | None:
    return await Standup.filter(group_id=ctx.group.id).first() if ctx.group else None


def _need_group(ctx: Context) -> Group:
    if ctx.group is None:
        raise InvalidInput(_("Set up a stand-up in the group it is for: send “standup set …” there."))
    return ctx.group


def setup_card(standup: Standup | None, ctx: Context) -> Card:
    tz = standup.timezone if standup else ((ctx.group.timezone if ctx.group else None) or ctx.config.bot.timezone)
    form = Form(
        id="standup.setup",
        title=_("Daily stand-up"),
        fields=[
            FormField("time", _("Prompt at (HH:MM)"), required=True, initial=standup.time if standup else "09:30"),
            FormField("cutoff", _("Digest at (HH:MM)"), required=True, initial=standup.cutoff if standup else "11:00"),
            FormField("remind", _("Remind at (HH:MM, empty: 30 minutes before the digest)"), initial=standup.remind if standup else None),
            FormField("days", _("Days (empty: every working day)"), placeholder=_("mon-fri")),
            FormField("timezone", _("Timezone"), initial=tz),
            FormField("participants", _("Participants (empty: owners of open subtasks)"), "textarea"),
            FormField(
                "mode",
                _("Ask"),
                "select",
                choices=[Choice("dm", _("by direct message")), Choice("group", _("in the group"))],
                initial=standup.mode if standup else "dm",
            ),
        ],
        submit_label=_("Save"),
        template=_("standup set\ntime: 09:30\ncutoff: 11:00\ndays: mon-fri\ntimezone: Asia/Shanghai\nparticipants: 李雷, 韩梅\nmode: dm"),
    )
    return form_card(form)


@router.form("standup.setup")
async def setup_form(ctx: Context, calendar: WorkCalendar) -> Outcome:
    values = {k: v for k, v in ctx.event.form.items() if isinstance(v, str) and v.strip()}
    return await configure(ctx, values, calendar)


async def configure(ctx: Context, values: dict[str, str], calendar: WorkCalendar) -> Outcome:
    group = _need_group(ctx)
    standup = await Standup.filter(group_id=group.id).first()
    changes: dict[str, Any] = {}
    if "time" in values:
        changes["time"] = _time(values["time"], "time")
    if "cutoff" in values:
        changes["cutoff"] = _time(values["cutoff"], "cutoff")
    if "remind" in values:
        low = values["remind"].strip().lower()
        changes["remind"] = None if low in ("", "default", "默认", "none", "无") else _time(values["remind"], "remind")
    if "days" in values:
        changes["days"] = parse_days(values["days"])
    if "timezone" in values:
        changes["timezone"] = _timezone(values["timezone"])
    if "mode" in values:
        changes["mode"] = _mode(values["mode"])
    if "calendar" in values:
        changes["calendar"] = _calendar(values["calendar"])
    if "participants" in values:
        people = []
        for name in split_list(values["participants"]):
            if name.lower() in ("owners", "auto", "负责人", "自动"):
                continue
            person = await lookup.person(ctx, name, field="participants")
            if person.id not in people:
                people.append(person.id)
        changes["participants"] = people
    if standup is None:
        standup = Standup(
            group_id=group.id,
            timezone=group.timezone or ctx.config.bot.timezone,
            created_at=ctx.now,
            updated_at=ctx.now,
        )
    for name, value in changes.items():
        setattr(standup, name, value)
    start, cutoff = parse_hhmm(standup.time), parse_hhmm(standup.cutoff)
    if cutoff <= start:
        raise InvalidInput(_("The digest time ({cutoff}) must be after the prompt time ({time}).", cutoff=standup.cutoff, time=standup.time), field="cutoff")
    if standup.remind and not start < parse_hhmm(standup.remind) < cutoff:
        raise InvalidInput(_("The reminder ({remind}) must be between the prompt ({time}) and the digest ({cutoff}).", remind=standup.remind, time=standup.time, cutoff=standup.cutoff), field="remind")
    standup.active = True
    standup.version = (standup.version or 0) + 1 if standup.id else 1
    standup.updated_at = ctx.now
    await standup.save()
    await reconcile(standup, calendar, ctx.now)
    outcome = Outcome().record("standup.configured", f"group:{group.id}", **{k: v for k, v in changes.items()})
    outcome.reply(await summary_card(standup, group, calendar, ctx.now))
    return outcome


async def summary_card(standup: Standup, group: Group, calendar: WorkCalendar, now: datetime) -> Card:
    who: Any
    if standup.participants:
        names = [p.name for p in await Person.filter(id__in=standup.participants).order_by("id")]
        who = ", ".join(names)
    else:
        who = _("the owners of open subtasks in this group's collaborations")
    upcoming = desired_timers(standup, calendar, now, now + timedelta(days=14))
    first = next((s for s in upcoming if s.kind == "standup.prompt"), None)
    fields = [
        CardField(_("When"), _("{days} at {time} ({timezone})", days=days_text(standup.days), time=standup.time, timezone=standup.timezone)),
        CardField(_("Digest"), standup.cutoff),
        CardField(_("Reminder"), standup.remind or _("30 minutes before the digest")),
        CardField(_("Participants"), who),
        CardField(_("Ask"), _("by direct message") if standup.mode == "dm" else _("in the group")),
        CardField(_("Holidays"), standup.calendar or calendar.country),
    ]
    if first is not None:
        fields.append(CardField(_("Next"), first.payload["day"] + " " + local_time(first.due_at, standup.timezone)))
    status = None if standup.active else _("Paused")
    return Card(title=_("Daily stand-up · {group}", group=group.name or group.conversation_id), fields=fields, status=status, color="blue" if standup.active else "grey")


async def show(ctx: Context) -> Outcome:
    standup = await _existing(ctx)
    if standup is None:
        if ctx.group is None:
            return Outcome().reply(_("Stand-ups are set per group: send “standup set time: 09:30 cutoff: 11:00” in the group."), ephemeral=True)
        return Outcome().reply(setup_card(None, ctx))
    calendar = ctx.services["calendar"]
    return Outcome().reply(await summary_card(standup, _need_group(ctx), calendar, ctx.now))


async def switch(ctx: Context, on: bool, calendar: WorkCalendar) -> Outcome:
    group = _need_group(ctx)
    standup = await Standup.filter(group_id=group.id).first()
    if standup is None:
        raise NotFound(_("This group has no stand-up yet. Send “standup set time: 09:30 cutoff: 11:00”."))
    standup.active = on
    standup.version += 1
    standup.updated_at = ctx.now
    await standup.save(update_fields=["active", "version", "updated_at"])
    await reconcile(standup, calendar, ctx.now)
    outcome = Outcome().record("standup.on" if on else "standup.off", f"group:{group.id}")
    return outcome.reply(_("Stand-up resumed.") if on else _("Stand-up paused. Send “standup on” to resume."))


# ---------------------------------------------------------------- skip, leave


def _person(ctx: Context) -> Person:
    if ctx.actor is None:
        raise InvalidInput(_("I could not tell who you are. Ask an admin to add you to the directory."))
    return ctx.actor


async def _mark_away(ctx: Context, person: Person, kind: str, runs: list[StandupRun], outcome: Outcome) -> None:
    """Record ``kind`` (skipped / leave) on runs already prompted, and refresh their cards."""
    for run in runs:
        answer = await StandupAnswer.filter(run_id=run.id, person_id=person.id).first()
        if answer is not None and answer.status == "answered":
            continue
        if answer is None:
            answer = await StandupAnswer.create(run=run, person=person, status=kind, answered_at=ctx.now, updated_at=ctx.now)
        else:
            answer.status, answer.updated_at = kind, ctx.now
            await answer.save(update_fields=["status", "updated_at"])
        await _refresh(run, person, answer, outcome)


async def _refresh(run: StandupRun, person: Person, answer: StandupAnswer | None, outcome: Outcome) -> None:
    standup = await Standup.get(id=run.standup_id)
    group = await Group.get(id=standup.group_id)
    if await CardRecord.exists(key=f"standup:{run.id}:{person.id}"):
        tasks = await open_subtasks(person.id)
        outcome.update(prompt_card(standup, group, run, person, tasks, await previous_plan(person.id, run.day), answer))
    if run.state == "closed":
        outcome.update(digest_card(standup, group, await run_state(run)))


@router.action("standup.skip")
async def skip_button(ctx: Context) -> Outcome:
    person = _person(ctx)
    run = await StandupRun.get_or_none(id=int(ctx.event.value.get("run", 0)))
    if run is None or person.id not in [int(p) for p in run.participants or []]:
        raise NotFound(_("This stand-up is not yours or no longer exists."))
    outcome = Outcome().record("standup.skip", f"run:{run.id}", person=person.id)
    await _mark_away(ctx, person, "skipped", [run], outcome)
    return outcome.reply(_("OK, you skip the stand-up of {day}.", day=day_label(run.day)), ephemeral=True)


async def skip(ctx: Context, rest: str) -> Outcome:
    person = _person(ctx)
    today = lookup.local_today(ctx)
    day = parse_date(rest, today) if rest.strip() else today
    await StandupAbsence.create(person=person, start=day, end=day, kind="skip", created_at=ctx.now)
    outcome = Outcome().record("standup.skip", f"person:{person.id}", day=day.isoformat())
    runs = [r for r in await current_runs(person.id, ctx.now) if r.day == day]
    await _mark_away(ctx, person, "skipped", runs, outcome)
    return outcome.reply(_("OK, you skip the stand-up of {day}.", day=day_label(day)), ephemeral=True)


_RANGE_SPLIT = re.compile(r"\s*(?:\.\.|~|～|到|至|—|–|\bto\b|\s-\s)\s*")


async def leave(ctx: Context, rest: str) -> Outcome:
    person = _person(ctx)
    today = lookup.local_today(ctx)
    text = rest.strip()
    if not text:
        raise InvalidInput(_("Give the dates of your leave, e.g. “standup leave 2026-12-01 to 2026-12-05”."))
    tokens = _RANGE_SPLIT.sub(" ", text).split()
    start = parse_date(tokens[0], today)
    end, words = start, tokens[1:]
    if words:
        with contextlib.suppress(InvalidInput):
            end, words = parse_date(words[0], today), words[1:]
    reason = " ".join(words)
    if end < start:
        raise InvalidInput(_("The leave ends ({end}) before it starts ({start}).", end=end.isoformat(), start=start.isoformat()))
    if (end - start).days > 366:
        raise InvalidInput(_("A leave can be at most a year long."))
    await StandupAbsence.create(person=person, start=start, end=end, kind="leave", reason=reason.strip(), created_at=ctx.now)
    outcome = Outcome().record("standup.leave", f"person:{person.id}", start=start.isoformat(), end=end.isoformat())
    runs = [r for r in await current_runs(person.id, ctx.now) if start <= r.day <= end]
    await _mark_away(ctx, person, "leave", runs, outcome)
    return outcome.reply(
        _("On leave from {start} to {end}: no stand-up prompts for you until then.", start=start.isoformat(), end=end.isoformat()),
        ephemeral=True,
    )


async def back(ctx: Context) -> Outcome:
    person = _person(ctx)
    today = lookup.local_today(ctx)
    rows = await StandupAbsence.filter(person_id=person.id, end__gte=today)
    for row in rows:
        if row.start >= today:
            await row.delete()
        else:
            row.end = today - timedelta(days=1)
            await row.save(update_fields=["end"])
    return Outcome().record("standup.back", f"person:{person.id}").reply(_("Welcome back: you get stand-up prompts again."), ephemeral=True)


# ---------------------------------------------------------------- the clock


def _late(ctx: Context) -> int | None:
    value = ctx.event.payload.get("_late_s")
    return int(value) if value else None


async def _timer_run(ctx: Context) -> tuple[Standup, Group, date] | None:
    standup = await Standup.get_or_none(id=int(ctx.event.payload.get("standup", 0)))
    if standup is None or not standup.active:
        return None
    group = await Group.get(id=standup.group_id)
    return standup, group, date.fromisoformat(ctx.event.payload["day"])


def _audience(standup: Standup, group: Group, person_id: int) -> ToPerson | ToConversation:
    if standup.mode == "group":
        return ToConversation(Conversation(group.platform, group.conversation_id))
    return ToPerson(person_id)


@router.timer("standup.prompt")
async def prompt(ctx: Context) -> Outcome:
    """One prompt per participant who is not away; the run row makes a second firing a no-op."""
    found = await _timer_run(ctx)
    if found is None:
        return Outcome()
    standup, group, day = found
    if await StandupRun.exists(standup_id=standup.id, day=day):
        return Outcome()
    people_ids = await participants(standup)
    away = await absences(people_ids, day)
    from .schedule import Plan, occurrence

    occ = occurrence(Plan.of(standup), day)
    run = await StandupRun.create(
        standup=standup,
        day=day,
        participants=people_ids,
        absent={str(k): ("skipped" if v == "skip" else "leave") for k, v in away.items()},
        prompted_at=ctx.now,
        cutoff_at=occ.cutoff_at,
        late_by=_late(ctx) or 0,
    )
    outcome = Outcome().record("standup.prompted", f"group:{group.id}", day=day.isoformat(), people=people_ids)
    people = {p.id: p for p in await Person.filter(id__in=people_ids)}
    for pid in people_ids:
        if pid in away or pid not in people:
            continue
        tasks = await open_subtasks(pid)
        outcome.send(
            _audience(standup, group, pid),
            prompt_card(standup, group, run, people[pid], tasks, await previous_plan(pid, day), late_seconds=_late(ctx)),
        )
    return outcome


@router.timer("standup.remind")
async def remind(ctx: Context) -> Outcome:
    """Only to participants with no answer, skip or leave."""
    found = await _timer_run(ctx)
    if found is None:
        return Outcome()
    standup, group, day = found
    run = await StandupRun.filter(standup_id=standup.id, day=day).first()
    if run is None or run.state != "open":
        return Outcome()
    state = await run_state(run)
    outcome = Outcome()
    for pid in [int(p) for p in run.participants or []]:
        if state.status(pid) != "missing" or pid not in state.people:
            continue
        tasks = await open_subtasks(pid)
        outcome.send(_audience(standup, group, pid), reminder_card(standup, run, state.people[pid], await previous_plan(pid, day), tasks))
    return outcome


@router.timer("standup.digest")
async def digest(ctx: Context) -> Outcome:
    found = await _timer_run(ctx)
    if found is None:
        return Outcome()
    standup, group, day = found
    run = await StandupRun.filter(standup_id=standup.id, day=day, state="open").first()
    if run is None:
        return Outcome()
    updated = await StandupRun.filter(id=run.id, state="open").update(state="closed", closed_at=ctx.now)
    if not updated:
        return Outcome()
    run.state, run.closed_at = "closed", ctx.now
    state = await run_state(run)
    outcome = Outcome().record("standup.digest", f"group:{group.id}", day=day.isoformat())
    outcome.send(ToConversation(Conversation(group.platform, group.conversation_id)), digest_card(standup, group, state, _late(ctx)))
    return outcome


# ---------------------------------------------------------------- answers


async def record_answer(ctx: Context, run: StandupRun, person: Person, values: dict[str, str], *, reply: bool = True) -> Outcome:
    """Save (or edit) an answer. After the cut-off it counts as late and is appended to the digest."""
    values = {k: (values.get(k) or "").strip() for k in ("yesterday", "today", "blockers")}
    if not any(values.values()):
        raise InvalidInput(_("Your answer is empty. Write at least what you plan today."), field="today")
    closed = run.state == "closed"
    answer = await StandupAnswer.filter(run_id=run.id, person_id=person.id).first()
    if answer is None:
        answer = await StandupAnswer.create(
            run=run, person=person, status="answered", late=closed, answered_at=ctx.now, updated_at=ctx.now,
            yesterday=values["yesterday"], today=values["today"], blockers=values["blockers"],
        )
        edited = False
    else:
        edited = answer.status == "answered"
        if answer.status != "answered":
            answer.late = closed
            answer.answered_at = ctx.now
        answer.status = "answered"
        answer.yesterday, answer.today, answer.blockers = values["yesterday"], values["today"], values["blockers"]
        answer.edits += 1
        answer.updated_at = ctx.now
        await answer.save()
    outcome = Outcome().record("standup.answer", f"run:{run.id}", person=person.id, late=closed, edited=edited)
    await _refresh(run, person, answer, outcome)
    standup = await Standup.get(id=run.standup_id)
    if closed:
        post = await CardPost.filter(card__key=f"standup-digest:{run.id}").first()
        if post is not None and post.message_ref:
            group = await Group.get(id=standup.group_id)
            outcome.send(
                ToConversation(Conversation(group.platform, group.conversation_id, thread=post.message_ref)),
                _late_note(person, answer),
            )
        if reply:
            outcome.reply(_("Thanks. The digest already went out, so your answer was added to it as late."), ephemeral=True)
        return outcome
    if not reply:
        return outcome
    return outcome.reply(
        _("Thanks, your stand-up for {day} is recorded. You can change it until {cutoff}.", day=day_label(run.day), cutoff=local_time(run.cutoff_at, standup.timezone, person.timezone)),
        ephemeral=True,
    )


def _late_note(person: Person, answer: StandupAnswer) -> Any:
    from bot.types import Text

    from .cards import has_blocker

    lines: list[Any] = [_("Late stand-up answer from {name} (added to the digest).", name=person.name)]
    if has_blocker(answer):
        lines.append(_("⚠ Blocker: {text}", text=answer.blockers))
    return Text(join(lines))


@router.form("standup.answer")
async def answer_form(ctx: Context) -> Outcome:
    person = _person(ctx)
    run = await StandupRun.get_or_none(id=int(ctx.event.value.get("run", 0)))
    if run is None or person.id not in [int(p) for p in run.participants or []]:
        raise NotFound(_("This stand-up is not yours or no longer exists."))
    return await record_answer(ctx, run, person, {k: str(v) for k, v in ctx.event.form.items()})


async def answer_now(ctx: Context, values: dict[str, str]) -> Outcome:
    person = _person(ctx)
    runs = await current_runs(person.id, ctx.now, ctx.group.id if ctx.group else None)
    if not runs:
        raise NotFound(_("You have no stand-up to answer right now."))
    if len(runs) == 1:
        return await record_answer(ctx, run=runs[0], person=person, values=values)
    outcome = Outcome()
    for run in runs:
        outcome.merge(await record_answer(ctx, run, person, values, reply=False))
    return outcome.reply(_("Thanks, your stand-up is recorded for {count} groups.", count=len(runs)), ephemeral=True)


@router.message()
async def free_text_answer(ctx: Context) -> Outcome | None:
    """``昨天: … 今天: … 障碍: …`` (or yesterday/today/blockers) from someone with a stand-up open now."""
    if ctx.actor is None:
        return None
    head, values = _answer_fields(ctx.event.text)
    if not values or head.strip():
        return None
    runs = await current_runs(ctx.actor.id, ctx.now, ctx.group.id if ctx.group else None)
    if not runs:
        return None
    return await answer_now(ctx, values)


# ---------------------------------------------------------------- raise as risk


@router.action("standup.raise_risk")
async def raise_risk(ctx: Context) -> Outcome:
    """A blocker from the digest → a risk report. Until the risk workflow (workflows/risks) is in, this
    records nothing and says so."""
    answer = await StandupAnswer.filter(id=int(ctx.event.value.get("answer", 0))).select_related("person").first()
    if answer is None:
        raise NotFound(_("This stand-up answer no longer exists."))
    try:
        from workflows.risks import from_blocker
    except ImportError:
        return Outcome().reply(
            _(
                "Risk reports are not available in this version yet, so nothing was recorded. Blocker of {name}: {text}",
                name=answer.person.name,
                text=answer.blockers,
            ),
            ephemeral=True,
        )
    return await from_blocker(ctx, answer)


# ---------------------------------------------------------------- participation


async def stats(ctx: Context, rest: str) -> Outcome:
    """Participation per person over the last N weeks (default 4): on time, late, away, missed."""
    weeks = 4
    if match := re.search(r"\d+", rest or ""):
        weeks = max(1, min(52, int(match.group())))
    today = lookup.local_today(ctx)
    since = today - timedelta(weeks=weeks)
    query = StandupRun.filter(day__gte=since, day__lte=today).order_by("day")
    if ctx.group is not None:
        standup = await _existing(ctx)
        if standup is None:
            raise NotFound(_("This group has no stand-up yet. Send “standup set time: 09:30 cutoff: 11:00”."))
        query = query.filter(standup_id=standup.id)
    runs = list(await query)
    if ctx.group is None and ctx.actor is not None:
        runs = [r for r in runs if ctx.actor.id in [int(p) for p in r.participants or []]]
    counts: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    weekly: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for run in runs:
        state = await run_state(run)
        week = f"W{run.day.isocalendar().week:02d}"
        for pid in [int(p) for p in run.participants or []]:
            if ctx.group is None and ctx.actor is not None and pid != ctx.actor.id:
                continue
            status = state.status(pid)
            counts[pid][status] += 1
            if status not in ("skipped", "leave"):
                weekly[pid][week][1] += 1
                weekly[pid][week][0] += status in ("answered", "late")
    if not counts:
        return Outcome().reply(_("No stand-ups in the last {weeks} weeks.", weeks=weeks), ephemeral=True)
    people = {p.id: p.name for p in await Person.filter(id__in=list(counts))}
    lines: list[Any] = [_("Participation over the last {weeks} weeks ({runs} stand-ups):", weeks=weeks, runs=len(runs))]
    for pid in sorted(counts, key=lambda p: people.get(p, "")):
        c = counts[pid]
        expected = sum(c.values()) - c["skipped"] - c["leave"]
        rate = round(100 * (c["answered"] + c["late"]) / expected) if expected else 100
        trend = " ".join(f"{week} {round(100 * a / n) if n else 100}%" for week, (a, n) in sorted(weekly[pid].items()))
        lines.append(
            _(
                "- **{name}**: {rate}% — {ontime} on time, {late} late, {away} away, {missing} missed · {trend}",
                name=people.get(pid, str(pid)),
                rate=rate,
                ontime=c["answered"],
                late=c["late"],
                away=c["skipped"] + c["leave"],
                missing=c["missing"],
                trend=trend,
            )
        )
    return Outcome().reply(Card(title=_("Stand-up participation"), body=join(lines), color="blue"))


__all__ = ["materialize", "router"]
