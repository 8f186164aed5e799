"""The meeting notice (《沟通会议通知》) and the minutes card (表3 跨部门会议纪要表)."""

from __future__ import annotations

from typing import Any

from bot.i18n import Msg, _, join
from bot.router import Context
from bot.types import Button, Card, CardField, Choice, Form, FormField
from storage.models import Collaboration, Confirmation, Person
from storage.models_workflows import Meeting, Minutes

from ..common.format import PRIORITIES, when
from .states import MeetingFlow, MinutesFlow

FORMS: dict[str, Msg] = {"online": _("online"), "offline": _("offline"), "phone": _("phone call")}


def absent_form(meeting: Meeting) -> Form:
    return Form(
        id="meeting.absent",
        title=_("Cannot attend {code}", code=meeting.code),
        submit_label=_("Send"),
        value={"code": meeting.code},
        template=_("absent {code} reason: …", code=meeting.code),
        fields=[FormField("reason", _("Reason"), "textarea", required=True, placeholder=_("e.g. 客户拜访"))],
    )


def object_form(minutes: Minutes, code: str) -> Form:
    return Form(
        id="minutes.object",
        title=_("Request a correction of the minutes of {code}", code=code),
        submit_label=_("Send to the recorder"),
        value={"code": code, "number": minutes.number},
        template=_("minutes {code} correct comment: …", code=code),
        fields=[FormField("comment", _("What is wrong"), "textarea", required=True)],
    )


async def _names(ids: list[int]) -> dict[int, str]:
    return {p.id: p.name for p in await Person.filter(id__in=ids)}


async def notice_card(meeting: Meeting, ctx: Context) -> Card:
    tz = ctx.config.bot.timezone
    ids = [int(p) for p in meeting.attendees or []]
    names = await _names([*ids, meeting.recorder_id, meeting.organizer_id])
    absences = {int(k): v for k, v in (meeting.absences or {}).items()}
    attendee_text = join([_("{name} ✗ ({reason})", name=names.get(i, "?"), reason=absences[i]) if i in absences else names.get(i, "?") for i in ids], ", ")
    lines: list[Any] = []
    if meeting.short_notice:
        lines.append(_("⚠ Sent less than 3 working days before the meeting: the rule is to send the notice 3 working days ahead."))
    if meeting.urgent:
        lines.append(_("Urgent: the minutes are due 2 hours after the call."))
    buttons: list[Button] = []
    if meeting.state == "scheduled" and meeting.starts_at > ctx.now:
        buttons = [Button(_("Cannot attend"), "meeting.absent", {"code": meeting.code}, command=_("absent {code} reason: ", code=meeting.code), opens_form=absent_form(meeting))]
    status: Any = _("Minutes due by {time} from {recorder}.", time=when(meeting.minutes_due_at, tz), recorder=names.get(meeting.recorder_id, "?"))
    if meeting.state != "scheduled":
        status = _("Status: {state}", state=MeetingFlow.label(meeting.state))
    return Card(
        key=f"meet:{meeting.code}",
        title=_("Meeting notice {code}: {topic}", code=meeting.code, topic=meeting.topic),
        body=join(lines),
        fields=[
            CardField(_("Time"), when(meeting.starts_at, tz)),
            CardField(_("Form"), FORMS.get(meeting.form, meeting.form)),
            CardField(_("Location / link"), meeting.location or "—"),
            CardField(_("Attendees"), attendee_text or "—"),
            CardField(_("Agenda"), meeting.agenda or "—"),
            CardField(_("Pre-reading"), meeting.prereading or "—"),
            CardField(_("Organizer"), names.get(meeting.organizer_id, "?")),
            CardField(_("Recorder"), names.get(meeting.recorder_id, "?")),
        ],
        buttons=buttons,
        color="red" if meeting.short_notice else "blue",
        status=status,
        mentions=[str(i) for i in ids] if meeting.state == "scheduled" else [],
    )


def action_line(index: int, action: dict[str, Any], owner_name: str) -> Msg:
    return _(
        "{n}. {content} — owner {owner}, due {deadline}, output: {output}, priority {priority}{subtask}",
        n=index,
        content=action["content"],
        owner=owner_name,
        deadline=action["deadline"],
        output=action["output"],
        priority=PRIORITIES.get(action.get("priority", "medium"), action.get("priority", "")),
        subtask=f" → {action['subtask']}" if action.get("subtask") else "",
    )


async def minutes_card(minutes: Minutes, meeting: Meeting, ctx: Context) -> Card:
    tz = ctx.config.bot.timezone
    present = [int(p) for p in minutes.attendees or []]
    owners = [int(a["owner"]) for a in minutes.actions or []]
    names = await _names([*present, *owners, minutes.recorder_id])
    rows = {r.person_id: r for r in await Confirmation.filter(subject=meeting.code, purpose=f"minutes:v{minutes.number}")}
    absent = [_("{name} ({reason})", name=a["name"], reason=a["reason"]) if a.get("reason") else a["name"] for a in minutes.absentees or []]
    absentees = join(absent, ", ") if absent else _("none")
    signatures: list[Any] = []
    for pid in present:
        row = rows.get(pid)
        if row is not None and row.state == "confirmed":
            signatures.append(_("✅ {name} confirmed at {time}", name=names.get(pid, "?"), time=when(row.decided_at, tz)))
        elif row is not None and row.state == "rejected":
            signatures.append(_("✏️ {name} asked for a correction: {comment}", name=names.get(pid, "?"), comment=row.comment))
        elif minutes.state == "pending":
            signatures.append(_("⏳ {name} has not confirmed yet", name=names.get(pid, "?")))
    actions = [action_line(i + 1, a, names.get(int(a["owner"]), "?")) for i, a in enumerate(minutes.actions or [])]
    buttons: list[Button] = []
    value = {"code": meeting.code, "number": minutes.number}
    if minutes.state == "pending":
        buttons = [
            Button(_("Confirm the minutes"), "minutes.confirm", value, "primary", command=_("minutes {code} confirm", code=meeting.code)),
            Button(_("Request a correction"), "minutes.object", value, "danger", command=_("minutes {code} correct comment: ", code=meeting.code), opens_form=object_form(minutes, meeting.code)),
        ]
    return Card(
        key=f"minutes:{meeting.code}:v{minutes.number}",
        title=_("Minutes {code} (version {n}): {topic}", code=meeting.code, n=minutes.number, topic=meeting.topic),
        body=join([_("**Action items (each becomes a subtask):**") if actions else _("No action items."), *actions, _("**Confirmations:**"), *signatures]),
        fields=[
            CardField(_("Meeting id"), meeting.code),
            CardField(_("Topic"), meeting.topic),
            CardField(_("Time"), when(meeting.starts_at, tz)),
            CardField(_("Form"), FORMS.get(meeting.form, meeting.form)),
            CardField(_("Attendees"), (join([names.get(p, "?") for p in present], ", ") if present else "—")),
            CardField(_("Absentees and reasons"), absentees),
            CardField(_("Agenda"), minutes.agenda or "—"),
            CardField(_("Discussion and conclusions"), minutes.conclusions or "—"),
            CardField(_("Resolutions"), minutes.resolutions or "—"),
            CardField(_("Follow-ups"), minutes.followups or "—"),
            CardField(_("Recorder"), names.get(minutes.recorder_id, "?")),
        ],
        buttons=buttons,
        color={"pending": "yellow", "confirmed": "green", "disputed": "red"}.get(minutes.state, "grey"),  # type: ignore[arg-type]
        status=_("Status: {state}", state=MinutesFlow.label(minutes.state)),
        mentions=[str(p) for p in present if p in rows and rows[p].state == "pending"] if minutes.state == "pending" else [],
    )


def meeting_form(collab: Collaboration) -> Form:
    """《沟通会议通知》: topic, time, form, place, attendees, agenda, pre-reading, recorder."""
    return Form(
        id="meeting.new",
        title=_("Meeting notice for {code}", code=collab.code),
        submit_label=_("Send the notice"),
        value={"code": collab.code},
        template=_("meeting {code}\ntopic: …\ntime: 2026-11-27 14:00\nform: online\nattendees: 刘洋, 陈杰\nagenda: …\npre-reading: …\nrecorder: …", code=collab.code),
        fields=[
            FormField("topic", _("Topic"), required=True),
            FormField("time", _("Time"), required=True, placeholder=_("e.g. 2026-11-27 14:00 or 下周三 下午2点")),
            FormField("form", _("Form"), "select", choices=[Choice(k, v) for k, v in FORMS.items()], initial="online"),
            FormField("location", _("Place or link")),
            FormField("attendees", _("Attendees"), required=True, placeholder=_("names or departments, e.g. 刘洋、陈杰、研发部")),
            FormField("agenda", _("Agenda"), "textarea"),
            FormField("prereading", _("Pre-reading"), "textarea"),
            FormField("recorder", _("Recorder"), "person"),
        ],
    )


def minutes_form(meeting: Meeting) -> Form:
    """Table 3 会议纪要: attendance, conclusions, resolutions, follow-ups and action items."""
    return Form(
        id="minutes.new",
        title=_("Minutes of {code}", code=meeting.code),
        submit_label=_("Submit the minutes"),
        value={"code": meeting.code},
        template=_("minutes {code}\nconclusions: …\nresolutions: …\nfollow-ups: …\nabsent: 韩梅 出差\nactions:\n- content | owner | deadline | output | priority", code=meeting.code),
        fields=[
            FormField("attendees", _("Attendees"), placeholder=_("empty: everyone invited who did not send an absence")),
            FormField("absent", _("Absentees and reasons"), "textarea", placeholder=_("e.g. 韩梅 出差")),
            FormField("conclusions", _("Discussion and conclusions"), "textarea", required=True),
            FormField("resolutions", _("Resolutions"), "textarea"),
            FormField("followups", _("Follow-ups"), "textarea"),
            FormField("actions", _("Action items"), "textarea", placeholder=_("one per line: content | owner | deadline | output | priority")),
        ],
    )
