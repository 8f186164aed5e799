"""Official calendar years in the database (``storage.models_calendar.CalendarYear``) and in this process
(``bot.calendar.OFFICIAL_YEARS``): an admin loads next year's holidays and 调休 working weekends before the
calendar package has them; every process reads them back on each materializer run."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from bot.calendar import OFFICIAL_YEARS, OfficialYears
from storage.models_calendar import CalendarYear


async def load_calendar_years(official: OfficialYears = OFFICIAL_YEARS) -> int:
    """Read every stored year into ``official``; returns how many rows there are."""
    rows = await CalendarYear.all()
    for row in rows:
        official.set(row.country, row.year, map(date.fromisoformat, row.days_off), map(date.fromisoformat, row.working_days))
    return len(rows)


async def save_calendar_year(
    country: str,
    year: int,
    days_off: Iterable[date],
    working_days: Iterable[date],
    *,
    by: str | None,
    now: datetime,
    official: OfficialYears = OFFICIAL_YEARS,
) -> bool:
    """Store (or replace) a year and use it in this process at once. True when it replaced a stored year."""
    off = sorted(set(days_off))
    work = sorted(set(working_days))
    country = country.upper()
    off_text, work_text = [d.isoformat() for d in off], [d.isoformat() for d in work]
    replaced = await CalendarYear.filter(country=country, year=year).update(days_off=off_text, working_days=work_text, loaded_by=by, updated_at=now)
    if not replaced:
        await CalendarYear.create(
            country=country, year=year, days_off=off_text, working_days=work_text, loaded_by=by, created_at=now, updated_at=now
        )
    official.set(country, year, off, work)
    return bool(replaced)
