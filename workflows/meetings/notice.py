"""The meeting notice (《沟通会议通知》): warned when less than 3 working days ahead, reminders to attendees,
absences with a reason; and the list of a collaboration's meetings."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.errors import InvalidInput, NotAllowed, TransitionNotAllowed
from bot.i18n import _, join
from bot.router import Context, Router
from bot.types import Card, Outcome, Text, ToPerson
from storage.models import Collaboration
from storage.models_workflows import Meeting

from ..common import lookup
from ..common.fields import FieldSet, parse_fields, require
from ..common.format import when
from ..common.forms import ask
from ..common.records import announce_to, require_actor, require_open
from ..common.visibility import readable_collaboration, sent_to
from ..risks.kit import find_document, new_code, require_participant, working_days_between, zone
from .cards import FORMS, absent_form, meeting_form, notice_card
from .fields import (
    EXAMPLE,
    FORM_WORDS,
    MEETING_FIELDS,
    MINUTES_HOURS,
    NOTICE_WORKING_DAYS,
    URGENT_MINUTES_HOURS,
    YES,
    people,
    read_time,
)
from .states import MeetingFlow

router = Router()


@router.command("meeting", "会议通知", "会议", "约会议", "沟通会")
async def meeting_command(ctx: Context, args: str) -> Outcome:
    head, values = parse_fields(args, MEETING_FIELDS)
    collab = await lookup.collaboration(ctx, head)
    if not values:
        require_open(collab)
        await require_participant(ctx, collab, _("call a meeting"))
        return ask(meeting_form(collab), ctx=ctx)
    return await notice_meeting(ctx, collab, values)


@router.form("meeting.new")
async def meeting_submitted(ctx: Context, event: Any) -> Outcome:
    collab = await lookup.collaboration(ctx, str(event.value.get("code", "")))
    values = {k: v for k, v in event.form.items() if isinstance(v, str) and v.strip()}
    return await notice_meeting(ctx, collab, values)


async def notice_meeting(ctx: Context, collab: Collaboration, values: dict[str, str]) -> Outcome:
    """One 《沟通会议通知》, typed or from the form."""
    require_open(collab)
    organizer = await require_participant(ctx, collab, _("call a meeting"))
    topic = require(values, "topic", _("Topic"))[:255]
    urgent = (values.get("urgent") or "").strip().lower() in YES
    starts_at = read_time(ctx, require(values, "time", _("Time")), "time")
    if starts_at < ctx.now - timedelta(hours=URGENT_MINUTES_HOURS if urgent else 0):
        raise InvalidInput(_("The meeting time {time} is in the past. Choose a later time (an urgent call that just happened: add “urgent: yes”).", time=when(starts_at, ctx.config.bot.timezone)), field="time")
    form = FORM_WORDS.get((values.get("form") or "online").strip().lower())
    if form is None:
        raise InvalidInput(_("Form “{text}” is not one of online / offline / phone (线上 / 线下 / 电话).", text=values["form"][:20]), field="form")
    attendees = await people(ctx, require(values, "attendees", _("Attendees")), "attendees")
    recorder = await lookup.person(ctx, values["recorder"], field="recorder") if values.get("recorder") else organizer
    today = lookup.local_today(ctx)
    meeting_day = starts_at.astimezone(zone(ctx)).date()
    ahead = working_days_between(ctx, today, meeting_day)
    short_notice = ahead < NOTICE_WORKING_DAYS and not urgent
    calendar = ctx.services["calendar"]
    due = calendar.hours_later(starts_at, URGENT_MINUTES_HOURS if urgent else MINUTES_HOURS, ctx.config.bot.timezone)
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
    # the day-before reminder goes on the working day before the meeting, at the meeting's time of day
    reminders = (("day", calendar.deadline_after(starts_at, -1, ctx.config.bot.timezone)), ("hour", starts_at - timedelta(hours=1)))
    for label, remind_at in reminders:
        if remind_at > ctx.now + timedelta(minutes=30):
            outcome.timer(f"meeting:{code}:remind-{label}", "meeting.remind", remind_at, code=code, collaboration=collab.id)
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
    return ask(form, ctx=ctx)


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
        _("⏰ Reminder: meeting {code} “{topic}” at {time} ({form}). Pre-reading: {reading}", code=meeting.code, topic=meeting.topic, time=when(meeting.starts_at, ctx.config.bot.timezone), form=FORMS.get(meeting.form, meeting.form), reading=meeting.prereading or "—")
    )
    outcome = Outcome()
    for pid in [int(p) for p in meeting.attendees or []]:
        if pid not in absent:
            outcome.send(ToPerson(pid), line)
    return outcome



@router.command("meetings", "会议列表")
async def list_meetings(ctx: Context, args: str) -> Outcome:
    collab, _actor, audience = await readable_collaboration(ctx, args)
    rows = await Meeting.filter(collaboration_id=collab.id).order_by("starts_at")
    lines = [
        _("{code} {time} “{topic}” — {state}", code=m.code, time=when(m.starts_at, ctx.config.bot.timezone), topic=m.topic, state=MeetingFlow.label(m.state))
        for m in rows
    ]
    return sent_to(audience, [Card(title=_("Meetings of {code}", code=collab.code), body=join(lines or [_("No meetings yet.")]), color="blue")])
