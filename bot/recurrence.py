"""Recurring local times ("09:00 on working days", "Friday 17:00") from APScheduler's ``CronTrigger``.

The trigger picks the *days* (in the group's timezone, limited by ``day_of_week``), the working-day
calendar filters them, and ``utc_at`` turns each day's wall-clock time into an instant.
The trigger is asked for the day at local noon rather than at the wanted time because APScheduler 3's
``CronTrigger`` fires on the wrong instant around DST changes (02:30 on a spring-forward day comes out as
03:30 local; a fall-back 01:30 comes out twice and then stalls); ``utc_at`` (bot/calendar.py) has the project's one rule for
those wall-clock times (a skipped time moves forward, a repeated one takes its first instant).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from bot.calendar import WorkCalendar, utc_at

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def cron_weekday(iso_weekday: int) -> str:
    """ISO weekday (1 = Monday) → the cron field APScheduler reads (``mon``)."""
    return WEEKDAYS[iso_weekday - 1]


def local_days(tz: str, first: date, last: date, *, day_of_week: str = "*") -> Iterator[date]:
    """The local dates in ``[first, last]`` that ``CronTrigger(day_of_week=…)`` fires on, in order."""
    zone = ZoneInfo(tz)
    trigger = CronTrigger(day_of_week=day_of_week, hour=12, minute=0, timezone=zone)
    now = datetime.combine(first, time(0), zone)
    previous: datetime | None = None
    while True:
        fire = trigger.get_next_fire_time(previous, now)
        if fire is None:
            return
        day = fire.astimezone(zone).date()
        if day > last:
            return
        yield day
        previous, now = fire, fire + timedelta(hours=1)


def recurring(
    at: time, tz: str, since: datetime, until: datetime, *, calendar: WorkCalendar | None = None, day_of_week: str = "*"
) -> list[tuple[date, datetime]]:
    """``(local day, UTC instant)`` of every ``at`` (local wall-clock time in ``tz``) in ``[since, until)``,
    on days ``day_of_week`` allows and, given a ``calendar``, that are working days (调休 weekends included
    when ``day_of_week`` allows them)."""
    zone = ZoneInfo(tz)
    first = since.astimezone(zone).date() - timedelta(days=1)
    last = until.astimezone(zone).date() + timedelta(days=1)
    found = []
    for day in local_days(tz, first, last, day_of_week=day_of_week):
        if calendar is not None and not calendar.is_working_day(day):
            continue
        instant = utc_at(day, at, tz)
        if since <= instant < until:
            found.append((day, instant))
    return found
