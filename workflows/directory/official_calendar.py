"""Next year's official calendar: ``管理 日历 2027 休：… 班：…`` / ``admin calendar 2027 off: … work: …`` loads
a year's official days off and 调休 working weekends (admin only, audited, stored in the database); from
December 1 on, the admins are warned once when next year's schedule is still missing.

The warning is a timer row with a unique key per country and year (``calendar:missing:CN:2027``): written
by this area's materializer source, it fires once however often the process restarts.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.calendar import WorkCalendar, has_official_schedule
from bot.calendar_years import load_calendar_years, save_calendar_year
from bot.dates import parse_date
from bot.errors import InvalidInput, NotAllowed
from bot.i18n import _, join
from bot.router import Context, Router
from bot.scheduler import MaterializeContext
from bot.types import Card, Outcome, TimerSpec, ToPerson
from storage.models import Person

from ..common.records import require_actor

router = Router()

MISSING_KIND = "calendar.missing"
WARN_FROM = (12, 1)  # month, day: the State Council publishes next year's schedule in November or December

_OFF_WORDS = ("休", "休息", "放假", "假", "假日", "节假日", "days off", "days_off", "off", "holidays", "holiday")
_WORK_WORDS = ("班", "上班", "调休上班", "补班", "working days", "working_days", "working", "work", "workdays")
_LABEL = re.compile(
    r"(?P<word>" + "|".join(re.escape(w) for w in sorted(_OFF_WORDS + _WORK_WORDS, key=len, reverse=True)) + r")\s*[:：]",
    re.IGNORECASE,
)
_RANGE = re.compile(r"\s*(?:~|～|\.\.|至|到|—|–)\s*")
_ITEM_SPLIT = re.compile(r"[,，、;；\s]+")


def usage() -> Any:
    return _(
        "Usage: “admin calendar 2027 off: 2027-01-01, 2027-02-06~2027-02-12 work: 2027-02-14”. "
        "“off” lists the official days off, “work” the weekend days that are worked instead (adjusted working days)."
    )


def _dates(text: str, year: int) -> list[date]:
    """``2027-01-01, 2月6日至2月12日`` → every date listed or in a range, all in ``year``."""
    base = date(year, 1, 1)
    days: list[date] = []
    joined = _RANGE.sub("~", text.strip())
    for item in filter(None, _ITEM_SPLIT.split(joined)):
        first, _sep, last = item.partition("~")
        start = parse_date(first, base)
        end = parse_date(last, base) if last else start
        if end < start:
            raise InvalidInput(_("The range “{text}” ends before it starts.", text=item[:40]))
        if (end - start).days > 60:
            raise InvalidInput(_("The range “{text}” is longer than 60 days; list the days off of each holiday.", text=item[:40]))
        for offset in range((end - start).days + 1):
            day = start + timedelta(days=offset)
            if day.year != year:
                raise InvalidInput(_("{date} is not in {year}.", date=day.isoformat(), year=year))
            days.append(day)
    return days


def parse_year(text: str) -> tuple[int, list[date], list[date]]:
    """``2027 休：… 班：…`` → (year, days off, working weekend days)."""
    match = re.match(r"\s*(\d{4})\s*年?", text)
    if match is None:
        raise InvalidInput(usage())
    year = int(match.group(1))
    rest = text[match.end() :]
    labels = list(_LABEL.finditer(rest))
    if not labels or rest[: labels[0].start()].strip():
        raise InvalidInput(usage())
    off: list[date] = []
    work: list[date] = []
    for index, label in enumerate(labels):
        end = labels[index + 1].start() if index + 1 < len(labels) else len(rest)
        values = _dates(rest[label.end() : end], year)
        (off if label.group("word").lower() in _OFF_WORDS else work).extend(values)
    if not off:
        raise InvalidInput(_("List the official days off of {year} after “off:”.", year=year))
    clash = sorted(set(off) & set(work))
    if clash:
        raise InvalidInput(_("{date} is listed both as a day off and as a working day.", date=clash[0].isoformat()))
    weekdays = [d for d in work if d.weekday() < 5]
    if weekdays:
        raise InvalidInput(_("{date} is a weekday: “work:” lists only the weekend days worked instead of a holiday.", date=weekdays[0].isoformat()))
    return year, sorted(set(off)), sorted(set(work))


async def admin_calendar(ctx: Context, args: str) -> Outcome:
    """``admin calendar`` shows which years are known; ``admin calendar 2027 off: … work: …`` loads one."""
    actor = require_actor(ctx)
    if not actor.is_admin:
        raise NotAllowed(_("Only an admin can load the official calendar. Admins are set in the configuration file."))
    calendar: WorkCalendar = ctx.services["calendar"]
    country = calendar.country
    if not args.strip():
        year = _org_today(ctx).year
        lines = [
            _("{year}: loaded", year=y) if has_official_schedule(country, y) else _("{year}: missing", year=y) for y in (year, year + 1)
        ]
        return Outcome().reply(Card(title=_("Official holiday calendar"), body=join([*lines, usage()]), color="blue"), ephemeral=True)
    year, off, work = parse_year(args)
    replaced = await save_calendar_year(country, year, off, work, by=actor.handle, now=ctx.now)
    outcome = Outcome().record(
        "calendar.year_loaded", f"{country}:{year}", days_off=[d.isoformat() for d in off], working_days=[d.isoformat() for d in work], replaced=replaced
    )
    return outcome.reply(
        _(
            "Official calendar of {year} loaded: {off} days off, {work} working weekend days. Deadlines and reminders from now on use it.",
            year=year,
            off=len(off),
            work=len(work),
        )
    )


def _org_today(ctx: Context) -> date:
    return ctx.now.astimezone(ZoneInfo(ctx.config.bot.timezone)).date()


def missing_year(country: str, today: date) -> int | None:
    """Next year, when it is December (or later) and its official schedule is not known yet."""
    if (today.month, today.day) < WARN_FROM:
        return None
    return None if has_official_schedule(country, today.year + 1) else today.year + 1


async def materialize(mctx: MaterializeContext) -> list[TimerSpec]:
    """Read the loaded years (another process may have loaded one), and write the once-only warning."""
    await load_calendar_years()
    country = mctx.calendar.country
    today = mctx.now.astimezone(ZoneInfo(mctx.config.bot.timezone)).date()
    year = missing_year(country, today)
    if year is None:
        return []
    return [TimerSpec(f"calendar:missing:{country}:{year}", MISSING_KIND, mctx.now, {"country": country, "year": year})]


@router.timer(MISSING_KIND)
async def warn_missing(ctx: Context) -> Outcome:
    country, year = str(ctx.event.payload.get("country") or "CN"), int(ctx.event.payload.get("year") or 0)
    if not year or has_official_schedule(country, year):
        return Outcome()
    admins = await Person.filter(is_admin=True).order_by("id")
    outcome = Outcome().record("calendar.missing", f"{country}:{year}", admins=[p.handle for p in admins])
    card = Card(
        title=_("The official calendar of {year} is missing", year=year),
        body=join(
            [
                _(
                    "The holidays and adjusted working weekends of {year} are not in the calendar package yet, so from January on "
                    "deadlines would skip no holiday and count no working weekend. Load them from the State Council's notice:",
                    year=year,
                ),
                usage(),
            ]
        ),
        color="yellow",
    )
    for admin in admins:
        outcome.send(ToPerson(admin.id), card)
    return outcome
