"""What the meeting notice and the minutes share: their fields, the form of a meeting, reading a time, naming people."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time

from bot.errors import InvalidInput
from bot.i18n import _
from bot.router import Context, normalize_text
from storage.models import Department, Person

from ..common import lookup
from ..common.fields import FieldSet, read_date, split_list
from ..risks.kit import zone

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
YES = {"yes", "y", "true", "是", "紧急", "urgent", "1"}
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


async def people(ctx: Context, text: str, field: str) -> list[Person]:
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
