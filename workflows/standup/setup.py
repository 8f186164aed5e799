"""Setting a group's stand-up up: ``standup set …`` (or the set-up form), ``standup show``, ``standup on`` / ``off``."""

from __future__ import annotations

import re
import zoneinfo
from datetime import date, datetime, timedelta
from typing import Any

from bot.calendar import WorkCalendar
from bot.errors import InvalidInput, NotFound
from bot.i18n import _, join
from bot.router import Context, Router
from bot.types import Card, CardField, Choice, Form, FormField, Outcome
from storage import directory
from storage.models import Group
from storage.models_clocks import Standup

from ..common import lookup
from ..common.fields import FieldSet, split_list
from ..common.format import calendar_label, zone_label
from ..common.forms import form_card
from .cards import local_time
from .common import existing_standup, need_group
from .schedule import Plan, hhmm, next_occurrence, parse_hhmm
from .store import reconcile

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
    group = need_group(ctx)
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
        people = await directory.people(standup.participants, shared=True)
        who = join([people[pid].name for pid in sorted(people)], ", ")
    else:
        who = _("the owners of open subtasks in this group's collaborations")
    plan = Plan.of(standup)
    first = next_occurrence(plan, calendar.with_country(standup.calendar), now, now + timedelta(days=14)) if standup.active else None
    fields = [
        CardField(_("When"), _("{days} at {time} ({timezone})", days=days_text(standup.days), time=standup.time, timezone=zone_label(standup.timezone))),
        CardField(_("Digest"), standup.cutoff),
        CardField(_("Reminder"), standup.remind or _("30 minutes before the digest")),
        CardField(_("Participants"), who),
        CardField(_("Ask"), _("by direct message") if standup.mode == "dm" else _("in the group")),
        CardField(_("Holidays"), calendar_label(standup.calendar or calendar.country)),
    ]
    if first is not None:
        fields.append(CardField(_("Next"), first.day.isoformat() + " " + local_time(first.prompt_at, standup.timezone)))
    status = None if standup.active else _("Paused")
    return Card(title=_("Daily stand-up · {group}", group=group.name or group.conversation_id), fields=fields, status=status, color="blue" if standup.active else "grey")


async def show(ctx: Context) -> Outcome:
    standup = await existing_standup(ctx)
    if standup is None:
        if ctx.group is None:
            return Outcome().reply(_("Stand-ups are set per group: send “standup set time: 09:30 cutoff: 11:00” in the group."), ephemeral=True)
        return Outcome().reply(setup_card(None, ctx))
    calendar = ctx.services["calendar"]
    return Outcome().reply(await summary_card(standup, need_group(ctx), calendar, ctx.now))


async def switch(ctx: Context, on: bool, calendar: WorkCalendar) -> Outcome:
    group = need_group(ctx)
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
