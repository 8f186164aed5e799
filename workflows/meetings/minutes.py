"""The minutes (table 3 会议纪要): every field, the recorder reminded until they are in (24 hours, 2 hours after
an urgent call), the attendees' confirmation on a card, and action items that become tracked subtasks."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, cast

from bot.errors import InvalidInput, NotAllowed, TransitionNotAllowed
from bot.i18n import _
from bot.router import Context, Router
from bot.types import Button, Card, Outcome, Text, ToPerson
from storage.models import Collaboration, Confirmation, Person
from storage.models_workflows import Meeting, Minutes, PlannedSubtask

from ..common import lookup
from ..common.card_values import clicked_version
from ..common.fields import parse_fields, read_date, require
from ..common.format import parse_priority, when
from ..common.forms import answer_typed, ask
from ..common.records import announce_to, open_confirmation, require_actor, void_confirmations
from ..common.visibility import readable_document, sent_to
from ..retro import planned
from ..risks.kit import DOC, add_working_days, end_of_day, find_document, names_of
from .cards import minutes_card, minutes_form, notice_card, object_form
from .fields import (
    ACTION_FIELDS,
    EXAMPLE,
    MAX_MINUTES_REMINDERS,
    MINUTES_FIELDS,
    MINUTES_HOURS,
    URGENT_MINUTES_HOURS,
    people,
)
from .states import MeetingFlow, MinutesFlow

router = Router()


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
        present = [p.id for p in await people(ctx, values["attendees"], "attendees")]
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
        _write_card(meeting, _("{name} asks for a correction of the minutes of {code}: {comment}", name=actor.name, code=meeting.code, comment=comment.strip())),
    )
    return outcome


@router.command("minutes", "会议纪要", "纪要")
async def minutes_command(ctx: Context, args: str) -> Outcome:
    head, values = parse_fields(args, MINUTES_FIELDS)
    if not any(m.group(2).upper() == "M" for m in DOC.finditer(head)) and not re.search(r"(?:^|\s)-?M\d{2}\b", head, re.I):
        raise InvalidInput(_("Which meeting? Add its id, e.g. “{example}”.", example=EXAMPLE))
    words = {w.lower() for w in head.split()}
    if words & {"confirm", "ok", "确认", "同意"}:  # a typed decision is answered where it was typed
        return answer_typed(ctx, await confirm_minutes(ctx, head, None), _("Recorded: you confirmed the minutes of {code}.", code=head.split()[0]))
    if words & {"correct", "object", "更正", "修改", "有误"}:
        outcome = await object_minutes(ctx, head, None, values.get("comment", ""))
        return answer_typed(ctx, outcome, _("Recorded: you asked for a correction of the minutes of {code}.", code=head.split()[0]))
    if not values:
        meeting = await find_document(ctx, Meeting, head, "M", EXAMPLE)
        minutes = await Minutes.filter(meeting_id=meeting.id).order_by("-number").first()
        if minutes is None:
            actor = require_actor(ctx)
            if actor.id not in (meeting.recorder_id, meeting.organizer_id):
                await readable_document(ctx, meeting.collaboration_id, meeting.code)  # nor its recorder's name, to outsiders
                raise NotAllowed(_("Only {recorder}, the recorder of {code}, or its organizer can submit the minutes.", recorder=(await Person.get(id=meeting.recorder_id)).name, code=meeting.code))
            return ask(minutes_form(meeting), ctx=ctx)
        audience = await readable_document(ctx, meeting.collaboration_id, meeting.code)
        card = await minutes_card(minutes, meeting, ctx)
        card.key = None
        return sent_to(audience, [card])
    return await submit_minutes(ctx, head, values)



@router.action("minutes.confirm")
async def confirm_clicked(ctx: Context, event: Any) -> Outcome:
    code = str(event.value.get("code", ""))
    return await confirm_minutes(ctx, code, clicked_version(event.value, "number", code))


@router.action("minutes.object")
async def object_clicked(ctx: Context, event: Any) -> Outcome:
    code = str(event.value.get("code", ""))
    meeting, minutes, _collab = await _current(ctx, code, clicked_version(event.value, "number", code))
    await _authorize_attendee(ctx, meeting, minutes)
    form = object_form(minutes, meeting.code)
    return ask(form, ctx=ctx)


@router.form("minutes.object")
async def object_submitted(ctx: Context, event: Any) -> Outcome:
    code = str(event.value.get("code", ""))
    return await object_minutes(ctx, code, clicked_version(event.value, "number", code), str(event.form.get("comment", "")))


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
        _("⏰ The minutes of {code} “{topic}” were due {time} and are not in yet.", code=meeting.code, topic=meeting.topic, time=when(meeting.minutes_due_at, tz))
        if overdue
        else _("📝 Please write the minutes of {code} “{topic}” by {time}.", code=meeting.code, topic=meeting.topic, time=when(meeting.minutes_due_at, tz))
    )
    card = _write_card(meeting, line)
    outcome.send(ToPerson(meeting.recorder_id), card)
    if overdue and meeting.organizer_id != meeting.recorder_id:
        outcome.send(ToPerson(meeting.organizer_id), card)
    if overdue:
        outcome.record("minutes.overdue", meeting.code, reminder=n)
    if n < MAX_MINUTES_REMINDERS:
        step = URGENT_MINUTES_HOURS if meeting.urgent else MINUTES_HOURS
        following = meeting.minutes_due_at if not overdue else ctx.services["calendar"].hours_later(ctx.now, step, ctx.config.bot.timezone)
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


@router.form("minutes.new")
async def minutes_submitted(ctx: Context, event: Any) -> Outcome:
    values = {k: v for k, v in event.form.items() if isinstance(v, str) and v.strip()}
    return await submit_minutes(ctx, str(event.value.get("code", "")), values)


def _write_card(meeting: Meeting, line: Any) -> Card:
    """A reminder the recorder acts on: the minutes form one click away (its template where a chat has no forms)."""
    return Card(
        title=_("Minutes of {code}", code=meeting.code),
        body=line,
        buttons=[Button(_("Write the minutes"), "minutes.write", {"code": meeting.code}, "primary", command=_("minutes {code} conclusions: …", code=meeting.code), opens_form=minutes_form(meeting))],
        color="yellow",
    )


@router.action("minutes.write")
async def write_clicked(ctx: Context, event: Any) -> Outcome:
    meeting = await find_document(ctx, Meeting, str(event.value.get("code", "")), "M", EXAMPLE)
    actor = require_actor(ctx)
    if actor.id not in (meeting.recorder_id, meeting.organizer_id):
        raise NotAllowed(_("Only {recorder}, the recorder of {code}, or its organizer can submit the minutes.", recorder=(await Person.get(id=meeting.recorder_id)).name, code=meeting.code))
    return ask(minutes_form(meeting), ctx=ctx)
