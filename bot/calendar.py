"""The working-day calendar: weekends, public holidays, China's adjusted working weekends (调休), and the
organisation's own extra days off / working days.

Every "within N working days" of the spec goes through ``WorkCalendar``:

    calendar = WorkCalendar.from_config(config)
    calendar.add_working_days(date(2026, 9, 30), 2)       # → 2026-10-09 (National Day week skipped)
    calendar.end_of_working_day(due, "Asia/Shanghai")    # → the UTC instant that day ends locally

Country "CN" uses the ``chinese-calendar`` package (official State Council schedules, incl. working
Saturdays/Sundays); for a year it does not cover yet, it falls back to the ``holidays`` package's China
calendar (which estimates the substitute days) and logs that once. Any other ISO country code uses
``holidays``. Precedence: the organisation's extra days (config) > the public calendar > Monday–Friday.

Official years (``OFFICIAL_YEARS``): the State Council publishes next year's holidays and 调休 working
weekends each November or December, before the packages carry them. A year loaded by an admin (``管理 日历
2027 …``, stored in the database, see ``bot/calendar_years.py``) or listed in the config (``[[calendar_years]]``)
replaces the package's data for that year. Precedence: organisation extra days > official year > package.

Working hours (``add_working_hours``): hour-based clocks (risk 4 h, severe issue 4 h, general issue 24 h,
minutes due) count the organisation's working hours — ``[clocks] working_hours`` (default 09:00–18:00) on
working days — unless ``[clocks] hour_clocks = "calendar"``; ``hours_later`` applies that choice. A 4-hour
clock raised at 17:30 on a Friday is due 12:30 on the next working day; a 24-hour clock is one working day.

DST rule (``local_datetime``): a wall-clock time that does not exist (spring forward) is moved forward by
the gap (02:30 → 03:30); a time that occurs twice (fall back) takes its first occurrence (``fold=0``).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

log = logging.getLogger("collabbot.calendar")

_MAX_SCAN = 3660  # ten years: a calendar with no working day is a configuration error, not a loop
DEFAULT_WORKING_HOURS = (time(9, 0), time(18, 0))


class OfficialYears:
    """Official public-calendar years known beyond the packages, per country: ``{(country, year): (days off,
    working weekend days)}``. One per process, filled from the config and the database; ``version`` tells
    calendars to drop a cached year."""

    def __init__(self) -> None:
        self.years: dict[tuple[str, int], tuple[frozenset[date], frozenset[date]]] = {}
        self.version = 0
        self._public: dict[tuple[str, int], tuple[frozenset[date], frozenset[date]]] = {}

    def set(self, country: str, year: int, days_off: Iterable[date], working_days: Iterable[date]) -> None:
        entry = (frozenset(days_off), frozenset(working_days))
        if self.years.get((country.upper(), year)) != entry:
            self.years[(country.upper(), year)] = entry
            self.version += 1
            self._public.clear()

    def get(self, country: str, year: int) -> tuple[frozenset[date], frozenset[date]] | None:
        return self.years.get((country.upper(), year))

    def clear(self) -> None:
        self.years.clear()
        self.version += 1
        self._public.clear()

    def public_year(
        self, country: str, year: int, load: Callable[[], tuple[frozenset[date], frozenset[date]]]
    ) -> tuple[frozenset[date], frozenset[date]]:
        """``country``'s public calendar of ``year`` as ``load`` reads it, once per process for every calendar
        on these official years (a stand-up's own country makes a calendar per command)."""
        key = (country, year)
        found = self._public.get(key)
        if found is None:
            found = self._public[key] = load()
        return found


OFFICIAL_YEARS = OfficialYears()


def has_official_schedule(country: str, year: int) -> bool:
    """Whether the official days off and working weekends of ``year`` are known (loaded, or in the package).
    Only China publishes 调休 a year ahead; other countries' rules are computed by the ``holidays`` package."""
    country = (country or "").strip().upper()
    if country != "CN":
        return True
    return OFFICIAL_YEARS.get(country, year) is not None or _chinese_calendar_year(year) is not None


def parse_hours_range(text: str) -> tuple[time, time]:
    """``09:00-18:00`` (or ``9:00–18:00``) → (start, end); the end must be after the start."""
    parts = [p.strip() for p in text.replace("–", "-").replace("~", "-").split("-")]
    if len(parts) != 2:
        raise ValueError(f"working hours {text!r} are not like 09:00-18:00")
    start, end = (time.fromisoformat(p.zfill(5)) for p in parts)
    if not start < end:
        raise ValueError(f"working hours {text!r} must end after they start, on the same day")
    return start, end


def _parse_dates(values: Iterable[str | date]) -> frozenset[date]:
    out = set()
    for value in values:
        out.add(value if isinstance(value, date) else date.fromisoformat(str(value).strip()))
    return frozenset(out)


@functools.lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_datetime(day: date, at: time, tz: str) -> datetime:
    """The aware instant for wall-clock ``at`` on ``day`` in ``tz``, by the module's DST rule (see docstring)."""
    zone = _zone(tz)
    naive = datetime.combine(day, at.replace(tzinfo=None, fold=0))
    first = naive.replace(tzinfo=zone, fold=0)
    # A non-existent time does not round-trip through UTC: shift it forward by the gap.
    round_trip = first.astimezone(UTC).astimezone(zone)
    if round_trip.replace(tzinfo=None) != naive:
        later = naive.replace(tzinfo=zone, fold=1)
        gap = (later.utcoffset() or timedelta()) - (first.utcoffset() or timedelta())
        shifted = (naive + abs(gap)).replace(tzinfo=zone)
        return shifted
    return first


def utc_at(day: date, at: time, tz: str) -> datetime:
    """``local_datetime`` converted to UTC."""
    return local_datetime(day, at, tz).astimezone(UTC)


class WorkCalendar:
    """Which days are working days. Immutable and cheap to query (per-year caches)."""

    def __init__(
        self,
        country: str = "CN",
        *,
        extra_days_off: Iterable[str | date] = (),
        extra_working_days: Iterable[str | date] = (),
        weekend: tuple[int, ...] = (5, 6),
        working_hours: tuple[time, time] = DEFAULT_WORKING_HOURS,
        hour_clocks: str = "working",
        official: OfficialYears | None = None,
    ):
        self.country = (country or "").strip().upper() or "NONE"
        self.working_hours = working_hours
        self.hour_clocks = hour_clocks
        self.official = official if official is not None else OFFICIAL_YEARS
        self._version = self.official.version
        if not working_hours[0] < working_hours[1]:
            raise ValueError("working hours must end after they start, on the same day")
        self.extra_days_off = _parse_dates(extra_days_off)
        self.extra_working_days = _parse_dates(extra_working_days)
        self.weekend = frozenset(weekend)
        self._years: dict[int, tuple[frozenset[date], frozenset[date]]] = {}
        clash = self.extra_days_off & self.extra_working_days
        if clash:
            raise ValueError(f"dates both extra day off and extra working day: {', '.join(sorted(map(str, clash)))}")

    @classmethod
    def from_config(cls, config: Any, country: str | None = None) -> WorkCalendar:
        """From ``config.bot`` (calendar, extra_days_off, extra_working_days); ``country`` overrides the code."""
        bot = config.bot
        clocks = getattr(config, "clocks", None)
        for entry in getattr(config, "calendar_years", None) or ():
            OFFICIAL_YEARS.set(entry.country, entry.year, _parse_dates(entry.days_off), _parse_dates(entry.working_days))
        return cls(
            country or bot.calendar,
            extra_days_off=bot.extra_days_off,
            extra_working_days=bot.extra_working_days,
            working_hours=parse_hours_range(clocks.working_hours) if clocks is not None else DEFAULT_WORKING_HOURS,
            hour_clocks=clocks.hour_clocks if clocks is not None else "working",
        )

    def with_country(self, country: str | None) -> WorkCalendar:
        """The same organisation days on another country's public calendar (a team in another office)."""
        if not country or country.strip().upper() == self.country:
            return self
        return WorkCalendar(
            country,
            extra_days_off=self.extra_days_off,
            extra_working_days=self.extra_working_days,
            weekend=tuple(self.weekend),
            working_hours=self.working_hours,
            hour_clocks=self.hour_clocks,
            official=self.official,
        )

    # -- the public calendar, per year ------------------------------------

    def _year(self, year: int) -> tuple[frozenset[date], frozenset[date]]:
        """(public holidays, official working weekend days) of ``year``."""
        if self._version != self.official.version:
            self._years.clear()
            self._version = self.official.version
        cached = self._years.get(year)
        if cached is None:
            cached = self._years[year] = self.official.public_year(self.country, year, lambda: self._load_year(year))
        return cached

    def preload(self, today: date) -> None:
        """Read this year's and next year's public calendars now, at start-up, rather than in the first command
        that looks past New Year: the ``holidays`` package took about 60 ms to import and estimate a year."""
        self._year(today.year)
        self._year(today.year + 1)

    def _load_year(self, year: int) -> tuple[frozenset[date], frozenset[date]]:
        if self.country in ("NONE", "-", ""):
            return frozenset(), frozenset()
        loaded = self.official.get(self.country, year)
        if loaded is not None:
            return loaded
        if self.country == "CN":
            official = _chinese_calendar_year(year)
            if official is not None:
                return official
            log.warning("chinese-calendar has no official schedule for %s; using the holidays package's estimate", year)
        import holidays

        try:
            table = holidays.country_holidays(self.country, years=year)
        except NotImplementedError as exc:
            raise ValueError(f"unknown holiday calendar {self.country!r} (use an ISO country code such as CN, US, DE)") from exc
        days_off = frozenset(d for d in table if d.year == year)
        workdays = frozenset(d for d in getattr(table, "weekend_workdays", ()) if d.year == year)
        return days_off, workdays

    # -- queries --------------------------------------------------------------

    def is_working_day(self, d: date) -> bool:
        if isinstance(d, datetime):
            d = d.date()
        if d in self.extra_working_days:
            return True
        if d in self.extra_days_off:
            return False
        days_off, working_weekend = self._year(d.year)
        if d in working_weekend:
            return True
        if d in days_off:
            return False
        return d.weekday() not in self.weekend

    def is_holiday(self, d: date) -> bool:
        """A day off that would otherwise be a working day (a public holiday or an extra day off)."""
        return d.weekday() not in self.weekend and not self.is_working_day(d)

    def next_working_day(self, d: date, *, include: bool = False) -> date:
        """The first working day after ``d`` (or ``d`` itself when ``include`` and it is one)."""
        day = d if include else d + timedelta(days=1)
        for _ in range(_MAX_SCAN):
            if self.is_working_day(day):
                return day
            day += timedelta(days=1)
        raise ValueError("no working day within ten years: check the calendar configuration")

    def previous_working_day(self, d: date, *, include: bool = False) -> date:
        day = d if include else d - timedelta(days=1)
        for _ in range(_MAX_SCAN):
            if self.is_working_day(day):
                return day
            day -= timedelta(days=1)
        raise ValueError("no working day within ten years: check the calendar configuration")

    def add_working_days(self, d: date, n: int) -> date:
        """The ``n``-th working day after ``d`` (``n`` < 0: before). ``n == 0`` returns ``d`` unchanged."""
        day = d
        step = 1 if n >= 0 else -1
        for _ in range(abs(n)):
            day = self.next_working_day(day) if step > 0 else self.previous_working_day(day)
        return day

    def working_days_between(self, a: date, b: date) -> int:
        """Working days in ``(a, b]`` — so ``working_days_between(d, add_working_days(d, n)) == n``.

        When ``b`` is before ``a``: minus the working days in ``[b, a)``.
        """
        if b < a:
            return -sum(1 for day in _days(b, a - timedelta(days=1)) if self.is_working_day(day))
        return sum(1 for day in _days(a + timedelta(days=1), b) if self.is_working_day(day))

    def working_days(self, start: date, end: date) -> Iterator[date]:
        """Every working day in ``[start, end]``."""
        return (day for day in _days(start, end) if self.is_working_day(day))

    # -- instants -----------------------------------------------------------

    def end_of_working_day(self, d: date, tz: str, *, at: time = time(23, 59, 59)) -> datetime:
        """UTC instant of ``at`` (default: the very end) on ``d`` in ``tz``."""
        return utc_at(d, at, tz)

    def deadline_after(self, start: datetime, n: int, tz: str) -> datetime:
        """Within ``n`` working days of the instant ``start``: the same local wall-clock time on the
        ``n``-th working day after ``start``'s local date (a request sent Friday 15:00 with n=2 is due
        Tuesday 15:00). UTC."""
        zone = _zone(tz)
        local = start.astimezone(zone)
        day = self.add_working_days(local.date(), n)
        return utc_at(day, local.time().replace(tzinfo=None), tz)

    def end_of_nth_working_day(self, start: datetime, n: int, tz: str) -> datetime:
        """End of the ``n``-th working day after ``start``'s local date in ``tz`` (UTC)."""
        local_day = start.astimezone(_zone(tz)).date()
        return self.end_of_working_day(self.add_working_days(local_day, n), tz)

    # -- working hours ---------------------------------------------------------

    def _window(self, day: date, tz: str) -> tuple[datetime, datetime]:
        return utc_at(day, self.working_hours[0], tz), utc_at(day, self.working_hours[1], tz)

    def add_working_hours(self, start: datetime, hours: float, tz: str) -> datetime:
        """The instant ``hours`` working hours after ``start`` (before it when negative), counting only the
        working hours of working days in ``tz``. Time outside them does not count: 4 h from Friday 17:30
        is Monday 12:30 (with 09:00–18:00). A total that ends exactly at the close of a day ends there. UTC."""
        remaining = timedelta(hours=abs(hours))
        cursor = start.astimezone(UTC)
        if not remaining:
            return cursor
        day = cursor.astimezone(_zone(tz)).date()
        for _ in range(_MAX_SCAN):
            if self.is_working_day(day):
                opens, closes = self._window(day, tz)
                if hours > 0 and cursor < closes:
                    cursor = max(cursor, opens)
                    if remaining <= closes - cursor:
                        return cursor + remaining
                    remaining -= closes - cursor
                elif hours < 0 and cursor > opens:
                    cursor = min(cursor, closes)
                    if remaining <= cursor - opens:
                        return cursor - remaining
                    remaining -= cursor - opens
            day += timedelta(days=1 if hours > 0 else -1)
            cursor = utc_at(day, time(0), tz) if hours > 0 else utc_at(day + timedelta(days=1), time(0), tz)
        raise ValueError("no working hour within ten years: check the calendar configuration")

    def working_hours_between(self, a: datetime, b: datetime, tz: str) -> float:
        """Working hours in ``[a, b]`` (minus those in ``[b, a]`` when ``b`` is before ``a``)."""
        if b < a:
            return -self.working_hours_between(b, a, tz)
        total = timedelta()
        zone = _zone(tz)
        for day in _days(a.astimezone(zone).date(), b.astimezone(zone).date()):
            if self.is_working_day(day):
                opens, closes = self._window(day, tz)
                total += max(timedelta(), min(b, closes) - max(a, opens))
        return total.total_seconds() / 3600

    def is_working_time(self, moment: datetime, tz: str) -> bool:
        day = moment.astimezone(_zone(tz)).date()
        if not self.is_working_day(day):
            return False
        opens, closes = self._window(day, tz)
        return opens <= moment < closes

    def next_working_time(self, moment: datetime, tz: str) -> datetime:
        """``moment`` if it falls within working hours, else the next opening (UTC)."""
        if self.is_working_time(moment, tz):
            return moment.astimezone(UTC)
        day = moment.astimezone(_zone(tz)).date()
        if self.is_working_day(day) and moment < self._window(day, tz)[0]:
            return self._window(day, tz)[0]
        return self._window(self.next_working_day(day), tz)[0]

    def hours_later(self, start: datetime, hours: float, tz: str) -> datetime:
        """An hour-based clock's due time by the organisation's rule (UTC).

        With ``[clocks] hour_clocks = "working"`` (the default) a clock of whole days (24 h, 48 h) runs that
        many working days from when work resumes (the same wall-clock time on the n-th working day; a clock
        started after hours starts at the next opening), and any other clock counts working hours
        (``add_working_hours``: 4 h from 17:30 is 12:30 on the next working day). With ``"calendar"``
        hours are plain hours."""
        if self.hour_clocks == "calendar":
            return start.astimezone(UTC) + timedelta(hours=hours)
        if hours > 0 and hours % 24 == 0:
            return self.deadline_after(self.next_working_time(start, tz), int(hours // 24), tz)
        return self.add_working_hours(start, hours, tz)

    def on_working_day(self, moment: datetime, tz: str, *, forward: bool = False) -> datetime:
        """``moment`` if its local date is a working day, else the same wall-clock time on the working day
        before it (``forward``: after it) — a derived reminder never lands on a weekend or holiday. UTC."""
        local = moment.astimezone(_zone(tz))
        if self.is_working_day(local.date()):
            return moment.astimezone(UTC)
        day = self.next_working_day(local.date()) if forward else self.previous_working_day(local.date())
        return utc_at(day, local.time().replace(tzinfo=None), tz)

    def __repr__(self) -> str:
        return f"WorkCalendar({self.country!r}, off={len(self.extra_days_off)}, working={len(self.extra_working_days)})"


def _days(start: date, end: date) -> Iterator[date]:
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)


@functools.lru_cache(maxsize=64)
def _chinese_calendar_year(year: int) -> tuple[frozenset[date], frozenset[date]] | None:
    import chinese_calendar

    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return None
    days_off = frozenset(d for d in chinese_calendar.holidays if d.year == year)
    working_weekend = frozenset(d for d in chinese_calendar.workdays if d.year == year and d.weekday() >= 5)
    return days_off, working_weekend
