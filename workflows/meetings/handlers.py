"""§7 Meetings: the notice (warned when less than 3 working days ahead, reminders to attendees), the minutes
with every field of table 3 (the recorder is reminded until they are in: 24 hours, 2 hours after an urgent
call), the attendees' confirmation on a card, and action items that become tracked subtasks."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from typing import Any, cast

from bot.errors import InvalidInput, NotAllowed, TransitionNotAllowed
from bot.i18n import _, join
from bot.router import Context, Router, normalize_text
from bot.types import Card, Outcome, Text, ToPerson
from storage.models import Collaboration, Confirmation, Department, Person
from storage.models_workflows import Meeting, Minutes, PlannedSubtask

from ..common import lookup
from ..common.fields import FieldSet, parse_fields, read_date, require, split_list
from ..common.format import parse_priority, when
from ..common.forms import ask
from ..common.records import announce_to, open_confirmation, require_actor, require_open, void_confirmations
from ..retro import planned
from ..risks.kit import (
    DOC,
    add_working_days,
    end_of_day,
    find_document,
    names_of,
    new_code,
    require_participant,
    working_days_between,
    zone,
)
from .cards import absent_form, minutes_card, notice_card, object_form
from .states import MeetingFlow, MinutesFlow

router = Router()

NOTICE_WORKING_DAYS = 3
MINUTES_HOURS = 24
URGENT_MINUTES_HOURS = 2
MAX_MINUTES_REMINDERS = 6
EXAMPLE = _("minutes XZB2026112301-M01")

MEETING_FIELDS = FieldSet(
    {
        "topic": ("topic", "subject", "主题", "会议主题"),
        "time": ("time", "when", "时间", "会议时间"),
        "form": ("form", "format", "形式", "会议形式"),
        "location": ("location", "place", "link", "地点", "会议地点", "链接", "会议链接"),
        "attendees": ("attendees", "participants", "参会人", "参会人员", "参会部门及人员", "参与人"),
        "agenda": ("agenda", "议程", "会议议程"),
        "prereading": ("pre-reading", "prereading", "pre reading", "materials", "前置资料", "会前资料", "预读材料"),
        "recorder": ("recorder", "记录人"),
        "urgent": ("urgent", "紧急"),
    }
)
MINUTES_FIELDS = FieldSet(
    {
        "attendees": ("attendees", "present", "参会人员", "参会人", "参会部门及人员"),
        "absent": ("absentees", "absent", "缺席人员及原因", "缺席人员", "缺席"),
        "agenda": ("agenda", "议程", "会议议程"),
        "conclusions": ("conclusions", "discussion", "讨论内容及结论", "讨论内容", "结论", "共识结论"),
        "resolutions": ("resolutions", "decisions", "决议事项", "决议"),
        "followups": ("follow-ups", "followups", "open questions", "待跟进问题", "待跟进"),
        "actions": ("actions", "action items", "todo", "待办事项", "待办"),
        "recorder": ("recorder", "记录人"),
        "comment": ("comment", "意见"),
    }
)
ACTION_FIELDS = FieldSet(
    {
        "content": ("content", "内容", "事项"),
        "owner": ("owner", "负责人", "责任人"),
        "deadline": ("deadline", "due", "截止", "截止时间", "完成时间"),
        "output": ("output", "deliverable", "输出成果", "输出", "交付"),
        "priority": ("priority", "优先级"),
    }
)
FORM_WORDS = {
    "online": "online", "video": "online", "线上": "online", "视频": "online", "视频会议": "online", "腾讯会议": "online", "钉钉会议": "online",
    "offline": "offline", "in person": "offline", "线下": "offline", "现场": "offline", "会议室": "offline",
    "phone": "phone", "call": "phone", "phone call": "phone", "电话": "phone", "电话会议": "phone",
}
_YES = {"yes", "y", "true", "是", "紧急", "urgent", "1"}
_TIME = re.compile(r"(上午|下午|晚上|中午)?\s*(\d{1,2})(?::(\d{2})|点(?:(半)|(\d{1,2})分?)?)\s*(am|pm)?\s*$", re.I)


def read_time(ctx: Context, text: str, field: str) -> datetime:
    """``2026-11-27 14:00``, ``11月27日 14:00``, ``下周三 下午2点``, ``tomorrow 9:30`` → a UTC instant."""
    raw = normalize_text(text)
    match = _TIME.search(raw)
    if match is None:
        raise InvalidInput(_("Give the meeting time with a day and an hour, e.g. “2026-11-27 14:00” or “11月27日 14:00”."), field=field)
    hour = int(match.group(2))
    minute = 30 if match.group(4) else int(match.group(3) or match.group(5) or 0)
    if (match.group(1) in ("下午", "晚上") or (match.group(6) or "").lower() == "pm") and hour < 12:
        hour += 12
    if hour > 23 or minute > 59:
        raise InvalidInput(_("“{text}” is not a time of day. Write it like 14:00.", text=match.group(0).strip()), field=field)
    day_text = raw[: match.start()].strip()
    day = read_date(day_text, lookup.local_today(ctx), field) if day_text else lookup.local_today(ctx)
    return datetime.combine(day, time(hour, minute), zone(ctx)).astimezone(UTC)


async def _people(ctx: Context, text: str, field: str) -> list[Person]:
    """People by name or id; a department name stands for its head."""
    found: list[Person] = []
    for name in split_list(text):
        try:
            person = await lookup.person(ctx, name, field=field)
        except InvalidInput:
            dept = await Department.filter(name=name).first() or await Department.filter(code__iexact=name).first()
            if dept is None or dept.head_id is None:
                raise
            person = await Person.get(id=dept.head_id)
        if person.id not in {p.id for p in found}:
            found.append(person)
    return found


# ---------------------------------------------------------------- notice


@router.command("meeting", "会议通知", "会议", "约会议", "沟通会")
async def meeting_command(ctx: Context, args: str) -> Outcome:
    head, values = parse_fields(args, MEETING_FIELDS)
    collab = await lookup.collaboration(ctx, head)
    require_open(collab)
    organizer = await require_participant(ctx, collab, _("call a meeting"))
    if not values:
        raise InvalidInput(
            _("Send the notice in one message: “meeting {code}\ntopic: …\ntime: 2026-11-27 14:00\nform: online\nattendees: 刘洋, 陈杰\nagenda: …\npre-reading: …\nrecorder: …”.", code=collab.code)
        )
    topic = require(values, "topic", _("Topic"))[:255]
    urgent = (values.get("urgent") or "").strip().lower() in _YES
    starts_at = read_time(ctx, require(values, "time", _("Time")), "time")
    if starts_at < ctx.now - timedelta(hours=URGENT_MINUTES_HOURS if urgent else 0):
        raise InvalidInput(_("The meeting time {time} is in the past. Choose a later time (an urgent call that just happened: add “urgent: yes”).", time=when(starts_at, ctx.config.bot.timezone)), field="time")
    form = FORM_WORDS.get((values.get("form") or "online").strip().lower())
    if form is None:
        raise InvalidInput(_("Form “{text}” is not one of online / offline / phone (线上 / 线下 / 电话).", text=values["form"][:20]), field="form")
    attendees = await _people(ctx, require(values, "attendees", _("Attendees")), "attendees")
    recorder = await lookup.person(ctx, values["recorder"], field="recorder") if values.get("recorder") else organizer
    today = lookup.local_today(ctx)
    meeting_day = starts_at.astimezone(zone(ctx)).date()
    ahead = working_days_between(ctx, today, meeting_day)
    short_notice = ahead < NOTICE_WORKING_DAYS and not urgent
    due = starts_at + timedelta(hours=URGENT_MINUTES_HOURS if urgent else MINUTES_HOURS)
    code = await new_code(collab, "M")
    ids = [p.id for p in attendees]
    meeting = await Meeting.create(
        code=code,
        collaboration=collab,
        organizer=organizer,
        recorder=recorder,
        topic=topic,
        starts_at=starts_at,
        form=form,
        location=values.get("location", ""),
        attendees=ids,
        agenda=values.get("agenda", ""),
        prereading=values.get("prereading", ""),
        urgent=urgent,
        short_notice=short_notice,
        minutes_due_at=due,
        created_at=ctx.now,
    )
    outcome = Outcome().record("meeting.noticed", code, topic=topic, time=starts_at.isoformat(), attendees=ids, short_notice=short_notice, urgent=urgent)
    card = await notice_card(meeting, ctx)
    outcome.send(await announce_to(collab), card)
    for pid in {*ids, recorder.id}:
        outcome.send(ToPerson(pid), card)
    for label, before in (("day", timedelta(hours=24)), ("hour", timedelta(hours=1))):
        if starts_at - before > ctx.now + timedelta(minutes=30):
            outcome.timer(f"meeting:{code}:remind-{label}", "meeting.remind", starts_at - before, code=code, collaboration=collab.id)
    first = max(starts_at + timedelta(hours=1), ctx.now + timedelta(hours=1))
    outcome.timer(f"meeting:{code}:minutes:0", "minutes.remind", min(first, due), code=code, n=0, collaboration=collab.id)
    if short_notice:
        outcome.reply(
            _("⚠ Meeting {code} is only {days} working day(s) away: notices should go out 3 working days ahead. It was sent anyway.", code=code, days=max(ahead, 0)),
            ephemeral=True,
        )
    return outcome


async def _absent(ctx: Context, code_text: str, reason: str) -> Outcome:
    meeting = await find_document(ctx, Meeting, code_text, "M", _("absent XZB2026112301-M01 reason: …"), lock=True)
    actor = require_actor(ctx)
    if actor.id not in [int(p) for p in meeting.attendees or []]:
        raise NotAllowed(_("You are not invited to {code}.", code=meeting.code))
    if meeting.state != "scheduled" or meeting.starts_at <= ctx.now:
        raise TransitionNotAllowed(_("Meeting {code} has already taken place.", code=meeting.code))
    if not reason.strip():
        raise InvalidInput(_("Say why you cannot attend, e.g. “absent {code} reason: 客户拜访”.", code=meeting.code), field="reason")
    absences = dict(meeting.absences or {})
    absences[str(actor.id)] = reason.strip()
    if not await Meeting.filter(id=meeting.id, version=meeting.version).update(absences=absences, version=meeting.version + 1):
        raise TransitionNotAllowed(_("{code} was changed by someone else just now. Nothing was changed: try again.", code=meeting.code))
    meeting.absences, meeting.version = absences, meeting.version + 1
    outcome = Outcome().record("meeting.absence", meeting.code, reason=reason.strip())
    outcome.update(await notice_card(meeting, ctx))
    outcome.send(ToPerson(meeting.organizer_id), Text(_("{name} cannot attend {code}: {reason}", name=actor.name, code=meeting.code, reason=reason.strip())))
    return outcome


@router.action("meeting.absent")
async def absent_clicked(ctx: Context, event: Any) -> Outcome:
    meeting = await find_document(ctx, Meeting, str(event.value.get("code", "")), "M", EXAMPLE)
    form = absent_form(meeting)
    if ctx.actor is None or ctx.actor.id not in [int(p) for p in meeting.attendees or []]:
        return await _absent(ctx, meeting.code, "?")
    return ask(form)


@router.form("meeting.absent")
async def absent_submitted(ctx: Context, event: Any) -> Outcome:
    return await _absent(ctx, str(event.value.get("code", "")), str(event.form.get("reason", "")))


@router.command("absent", "请假", "无法参会", "缺席")
async def absent_command(ctx: Context, args: str) -> Outcome:
    head, values = parse_fields(args, FieldSet({"reason": ("reason", "原因", "理由")}))
    return await _absent(ctx, head, values.get("reason", ""))


@router.timer("meeting.remind")
async def remind_attendees(ctx: Context, event: Any) -> Outcome:
    meeting = await Meeting.get_or_none(code=str(event.payload.get("code", "")))
    if meeting is None or meeting.state != "scheduled":
        return Outcome()
    absent = {int(k) for k in (meeting.absences or {})}
    line = Text(
        _("⏰ Reminder: meeting {code} “{topic}” at {time} ({form}). Pre-reading: {reading}", code=meeting.code, topic=meeting.topic, time=when(meeting.starts_at, ctx.config.bot.timezone), form=meeting.form, reading=meeting.prereading or "—")
    )
    outcome = Outcome()
    for pid in [int(p) for p in meeting.attendees or []]:
        if pid not in absent:
            outcome.send(ToPerson(pid), line)
    return outcome


# ---------------------------------------------------------------- minutes


def _actions(text: str) -> list[dict[str, str]]:
    items = []
    for raw in re.split(r"\n+", text or ""):
        line = re.sub(r"^\s*(?:[-•*]|\d+[.、)])\s*", "", raw).strip()
        if not line or line in ("无", "none", "-"):
            continue
        if "|" in line:
            parts = [p.strip() for p in line.split("|")]
            parts += [""] * (5 - len(parts))
            items.append(dict(zip(("content", "owner", "deadline", "output", "priority"), parts[:5], strict=True)))
        else:
            head, values = parse_fields(line, ACTION_FIELDS)
            values.setdefault("content", head.strip(" ;,"))
            items.append(values)
    return items


async def _check_actions(ctx: Context, collab: Collaboration, raw: list[dict[str, str]]) -> list[dict[str, Any]]:
    today = lookup.local_today(ctx)
    actions = []
    for index, item in enumerate(raw, start=1):
        for name, label in (("content", _("content")), ("owner", _("owner")), ("deadline", _("deadline")), ("output", _("output"))):
            if not (item.get(name) or "").strip():
                raise InvalidInput(
                    _("Action item {n} has no {what}. Write each as “content | owner | deadline | output | priority”.", n=index, what=label),
                    field="actions",
                )
        owner = await lookup.person(ctx, item["owner"], field="actions")
        deadline = read_date(item["deadline"], today, "actions")
        if deadline < today:
            raise InvalidInput(_("Action item {n} is due {date}, which is in the past.", n=index, date=deadline.isoformat()), field="actions")
        if deadline > collab.deadline:
            raise InvalidInput(
                _("Action item {n} is due {date}, after the collaboration's deadline {limit}.", n=index, date=deadline.isoformat(), limit=collab.deadline.isoformat()),
                field="actions",
            )
        actions.append(
            {
                "content": item["content"].strip()[:255],
                "owner": owner.id,
                "deadline": deadline.isoformat(),
                "output": item["output"].strip(),
                "priority": parse_priority(item.get("priority"), field="actions"),
            }
        )
    return actions


def _absentees(text: str) -> list[tuple[str, str]]:
    result = []
    for part in re.split(r"[;；\n、]+", text or ""):
        part = part.strip()
        if not part or part in ("无", "none", "-", "—"):
            continue
        match = re.match(r"([^\s:(（,，]+)\s*[:(（,，]?\s*(.*?)[)）]?$", part)
        if match:
            result.append((match.group(1), match.group(2).strip()))
    return result


async def submit_minutes(ctx: Context, head: str, values: dict[str, str]) -> Outcome:
    meeting = await find_document(ctx, Meeting, head, "M", EXAMPLE, lock=True)
    collab = await Collaboration.get(id=meeting.collaboration_id)
    actor = require_actor(ctx)
    if actor.id not in (meeting.recorder_id, meeting.organizer_id):
        raise NotAllowed(_("Only {recorder}, the recorder of {code}, or its organizer can submit the minutes.", recorder=(await Person.get(id=meeting.recorder_id)).name, code=meeting.code))
    if meeting.state == "confirmed":
        raise TransitionNotAllowed(_("The minutes of {code} were already confirmed by every attendee. Nothing was changed.", code=meeting.code))
    conclusions = require(values, "conclusions", _("Discussion and conclusions"))
    raw_actions = _actions(values.get("actions", ""))
    if raw_actions and collab.state not in ("pending", "active"):
        raise InvalidInput(_("{code} is closed, so action items cannot become subtasks. Record them in the improvement log instead.", code=collab.code), field="actions")
    actions = await _check_actions(ctx, collab, raw_actions)
    invited = [int(p) for p in meeting.attendees or []]
    if values.get("attendees"):
        present = [p.id for p in await _people(ctx, values["attendees"], "attendees")]
    else:
        present = [p for p in invited if str(p) not in (meeting.absences or {})]
    if not present:
        raise InvalidInput(_("Name who attended (attendees: …)."), field="attendees")
    absentees: list[dict[str, Any]] = []
    if values.get("absent"):
        for name, reason in _absentees(values["absent"]):
            person = await Person.filter(name=name).first() or await Person.filter(handle=name).first()
            absentees.append({"person": person.id if person else None, "name": person.name if person else name, "reason": reason})
    else:
        for pid, reason in (meeting.absences or {}).items():
            absentees.append({"person": int(pid), "name": (await names_of([int(pid)]))[0], "reason": reason})
    recorder = await lookup.person(ctx, values["recorder"], field="recorder") if values.get("recorder") else await Person.get(id=meeting.recorder_id)
    outcome = Outcome()
    previous = await Minutes.filter(meeting_id=meeting.id).order_by("-number").first()
    if previous is not None and MinutesFlow.can(previous, "supersede"):
        await MinutesFlow.fire(previous, "supersede", meeting.code)
        outcome.record("minutes.superseded", meeting.code, version=previous.number)
        await void_confirmations(meeting.code, f"minutes:v{previous.number}")
        outcome.cancel(f"minutes:{meeting.code}:v{previous.number}:*")
        outcome.update(await minutes_card(previous, meeting, ctx))
    number = (previous.number if previous else 0) + 1
    minutes = await Minutes.create(
        meeting=meeting,
        number=number,
        attendees=present,
        absentees=absentees,
        agenda=values.get("agenda") or meeting.agenda,
        conclusions=conclusions,
        resolutions=values.get("resolutions", ""),
        followups=values.get("followups", ""),
        actions=actions,
        recorder=recorder,
        submitted_at=ctx.now,
    )
    await MeetingFlow.fire(meeting, "minute", meeting.code, minutes_version=number)
    for pid in present:
        await open_confirmation(meeting.code, f"minutes:v{number}", pid, ctx.now)
    outcome.cancel(f"meeting:{meeting.code}:*")
    outcome.record("minutes.submitted", meeting.code, version=number, attendees=present, actions=len(actions), late=ctx.now > meeting.minutes_due_at)
    if actor.id in present:  # the recorder's own submission is their confirmation
        await _sign(ctx, meeting, minutes, "confirmed")
    outcome.update(await notice_card(meeting, ctx))
    card = await minutes_card(minutes, meeting, ctx)
    outcome.send(await announce_to(collab), card)
    for pid in present:
        if pid != actor.id:
            outcome.send(ToPerson(pid), card)
    outcome.timer(f"minutes:{meeting.code}:v{number}:confirm", "minutes.confirm_remind", end_of_day(ctx, add_working_days(ctx, lookup.local_today(ctx), 1)), code=meeting.code, number=number, collaboration=collab.id)
    if actor.id in present:
        await _maybe_confirmed(ctx, meeting, minutes, collab, outcome)
    return outcome


async def _sign(ctx: Context, meeting: Meeting, minutes: Minutes, state: str, comment: str = "") -> None:
    assert ctx.actor is not None
    if not await Confirmation.filter(subject=meeting.code, purpose=f"minutes:v{minutes.number}", person_id=ctx.actor.id, state="pending").update(
        state=state, decided_at=ctx.now, platform=ctx.event.platform, platform_user_id=ctx.event.actor_id, comment=comment
    ):
        raise TransitionNotAllowed(_("You already answered the minutes of {code}. Nothing was changed.", code=meeting.code))


async def _maybe_confirmed(ctx: Context, meeting: Meeting, minutes: Minutes, collab: Collaboration, outcome: Outcome) -> None:
    """When the last attendee confirmed: the minutes take effect and their action items become subtasks."""
    if await Confirmation.filter(subject=meeting.code, purpose=f"minutes:v{minutes.number}", state="pending").exists():
        return
    await MinutesFlow.fire(minutes, "confirm", meeting.code, confirmed_at=ctx.now)
    await MeetingFlow.fire(meeting, "confirm", meeting.code)
    outcome.record("minutes.confirmed", meeting.code, version=minutes.number)
    outcome.cancel(f"minutes:{meeting.code}:*")
    items = [
        {"title": a["content"], "owner": int(a["owner"]), "standard": a["output"], "priority": a["priority"], "deadline": datetime.fromisoformat(a["deadline"]).date()}
        for a in minutes.actions or []
    ]
    if items:
        rows = await planned.plan(collab, f"minutes:{meeting.code}", items, ctx.now)
        await planned.realize(ctx, collab, outcome)
        codes = dict(await PlannedSubtask.filter(id__in=[r.id for r in rows]).values_list("id", "subtask_code"))
        actions = [dict(a, subtask=codes.get(rows[i].id)) for i, a in enumerate(minutes.actions or [])]
        await Minutes.filter(id=minutes.id).update(actions=actions)
        minutes.actions = actions
    outcome.update(await notice_card(meeting, ctx))
    outcome.send(
        await announce_to(collab),
        Text(
            _("✅ The minutes of {code} were confirmed by every attendee; {count} action item(s) are now tracked as subtasks.", code=meeting.code, count=len(items))
            if collab.state == "active" or not items
            else _("✅ The minutes of {code} were confirmed by every attendee; their {count} action item(s) become subtasks when the collaboration is active.", code=meeting.code, count=len(items))
        ),
    )


async def _current(ctx: Context, code_text: str, number: int | None) -> tuple[Meeting, Minutes, Collaboration]:
    meeting = await find_document(ctx, Meeting, code_text, "M", EXAMPLE, lock=True)
    minutes = await Minutes.filter(meeting_id=meeting.id).order_by("-number").first()
    if minutes is None:
        raise TransitionNotAllowed(_("There are no minutes of {code} yet.", code=meeting.code))
    if number is not None and number != minutes.number:
        raise TransitionNotAllowed(_("This card is out of date: the minutes of {code} are at version {n}. Use the newest card.", code=meeting.code, n=minutes.number))
    return meeting, minutes, await Collaboration.get(id=meeting.collaboration_id)


async def _authorize_attendee(ctx: Context, meeting: Meeting, minutes: Minutes) -> Person:
    actor = require_actor(ctx)
    if actor.id not in [int(p) for p in minutes.attendees or []]:
        raise NotAllowed(_("Only the attendees of {code} confirm its minutes.", code=meeting.code))
    if minutes.state != "pending":
        raise TransitionNotAllowed(_("The minutes of {code} are {state}. Nothing was changed.", code=meeting.code, state=MinutesFlow.label(minutes.state)))
    return actor


async def confirm_minutes(ctx: Context, code_text: str, number: int | None) -> Outcome:
    meeting, minutes, collab = await _current(ctx, code_text, number)
    await _authorize_attendee(ctx, meeting, minutes)
    await _sign(ctx, meeting, minutes, "confirmed")
    outcome = Outcome().record("minutes.signed", meeting.code, version=minutes.number)
    await _maybe_confirmed(ctx, meeting, minutes, collab, outcome)
    outcome.update(await minutes_card(minutes, meeting, ctx))
    return outcome


async def object_minutes(ctx: Context, code_text: str, number: int | None, comment: str) -> Outcome:
    meeting, minutes, _collab = await _current(ctx, code_text, number)
    actor = await _authorize_attendee(ctx, meeting, minutes)
    if not comment.strip():
        raise InvalidInput(_("Say what is wrong in the minutes, e.g. “minutes {code} correct comment: 截止时间应为12月10日”.", code=meeting.code), field="comment")
    await _sign(ctx, meeting, minutes, "rejected", comment.strip())
    await MinutesFlow.fire(minutes, "dispute", meeting.code)
    outcome = Outcome().record("minutes.disputed", meeting.code, version=minutes.number, comment=comment.strip())
    outcome.cancel(f"minutes:{meeting.code}:v{minutes.number}:*")
    outcome.update(await minutes_card(minutes, meeting, ctx))
    outcome.send(
        ToPerson(minutes.recorder_id),
        Text(_("{name} asks for a correction of the minutes of {code}: {comment}\nSend the corrected minutes with “minutes {code} …”.", name=actor.name, code=meeting.code, comment=comment.strip())),
    )
    return outcome


@router.command("minutes", "会议纪要", "纪要")
async def minutes_command(ctx: Context, args: str) -> Outcome:
    head, values = parse_fields(args, MINUTES_FIELDS)
    if not any(m.group(2).upper() == "M" for m in DOC.finditer(head)) and not re.search(r"(?:^|\s)-?M\d{2}\b", head, re.I):
        raise InvalidInput(_("Which meeting? Add its id, e.g. “{example}”.", example=EXAMPLE))
    words = {w.lower() for w in head.split()}
    if words & {"confirm", "ok", "确认", "同意"}:
        return await confirm_minutes(ctx, head, None)
    if words & {"correct", "object", "更正", "修改", "有误"}:
        return await object_minutes(ctx, head, None, values.get("comment", ""))
    if not values:
        meeting = await find_document(ctx, Meeting, head, "M", EXAMPLE)
        minutes = await Minutes.filter(meeting_id=meeting.id).order_by("-number").first()
        if minutes is None:
            raise InvalidInput(
                _("Send the minutes in one message: “minutes {code}\nconclusions: …\nresolutions: …\nfollow-ups: …\nabsent: 韩梅 出差\nactions:\n- content | owner | deadline | output | priority”.", code=meeting.code),
            )
        card = await minutes_card(minutes, meeting, ctx)
        card.key = None
        return Outcome().reply(card)
    return await submit_minutes(ctx, head, values)


def _number(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@router.action("minutes.confirm")
async def confirm_clicked(ctx: Context, event: Any) -> Outcome:
    return await confirm_minutes(ctx, str(event.value.get("code", "")), _number(event.value.get("number")))


@router.action("minutes.object")
async def object_clicked(ctx: Context, event: Any) -> Outcome:
    meeting, minutes, _collab = await _current(ctx, str(event.value.get("code", "")), _number(event.value.get("number")))
    await _authorize_attendee(ctx, meeting, minutes)
    form = object_form(minutes, meeting.code)
    return ask(form)


@router.form("minutes.object")
async def object_submitted(ctx: Context, event: Any) -> Outcome:
    return await object_minutes(ctx, str(event.value.get("code", "")), _number(event.value.get("number")), str(event.form.get("comment", "")))


@router.timer("minutes.remind")
async def remind_recorder(ctx: Context, event: Any) -> Outcome:
    """Until the minutes are in: before they are due, when they are due (the organizer is told too), then
    every 24 hours (2 after an urgent call)."""
    meeting = await Meeting.get_or_none(code=str(event.payload.get("code", "")))
    if meeting is None or meeting.state != "scheduled":
        return Outcome()
    n = int(event.payload.get("n", 0))
    tz = ctx.config.bot.timezone
    overdue = ctx.now >= meeting.minutes_due_at
    outcome = Outcome()
    line = (
        _("⏰ The minutes of {code} “{topic}” were due {time} and are not in yet. Send them with “minutes {code} …”.", code=meeting.code, topic=meeting.topic, time=when(meeting.minutes_due_at, tz))
        if overdue
        else _("📝 Please write the minutes of {code} “{topic}” by {time}: “minutes {code} conclusions: … actions: …”.", code=meeting.code, topic=meeting.topic, time=when(meeting.minutes_due_at, tz))
    )
    outcome.send(ToPerson(meeting.recorder_id), Text(line))
    if overdue and meeting.organizer_id != meeting.recorder_id:
        outcome.send(ToPerson(meeting.organizer_id), Text(line))
    if overdue:
        outcome.record("minutes.overdue", meeting.code, reminder=n)
    if n < MAX_MINUTES_REMINDERS:
        step = timedelta(hours=URGENT_MINUTES_HOURS if meeting.urgent else MINUTES_HOURS)
        following = meeting.minutes_due_at if not overdue else ctx.now + step
        outcome.timer(f"meeting:{meeting.code}:minutes:{n + 1}", "minutes.remind", following, code=meeting.code, n=n + 1, collaboration=meeting.collaboration_id)
    return outcome


@router.timer("minutes.confirm_remind")
async def remind_confirmers(ctx: Context, event: Any) -> Outcome:
    code = str(event.payload.get("code", ""))
    number = int(event.payload.get("number", 0))
    minutes = await Minutes.filter(meeting__code=code, number=number).first()
    if minutes is None or minutes.state != "pending":
        return Outcome()
    waiting = cast(list[int], await Confirmation.filter(subject=code, purpose=f"minutes:v{number}", state="pending").values_list("person_id", flat=True))
    outcome = Outcome()
    for pid in waiting:
        outcome.send(ToPerson(pid), Text(_("Reminder: please confirm the minutes of {code} (or ask for a correction) on their card.", code=code)))
    return outcome


@router.command("meetings", "会议列表")
async def list_meetings(ctx: Context, args: str) -> Outcome:
    collab = await lookup.collaboration(ctx, args)
    rows = await Meeting.filter(collaboration_id=collab.id).order_by("starts_at")
    lines = [
        _("{code} {time} “{topic}” — {state}", code=m.code, time=when(m.starts_at, ctx.config.bot.timezone), topic=m.topic, state=MeetingFlow.label(m.state))
        for m in rows
    ]
    return Outcome().reply(Card(title=_("Meetings of {code}", code=collab.code), body=join(lines or [_("No meetings yet.")]), color="blue"))
