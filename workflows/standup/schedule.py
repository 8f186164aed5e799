"""When a stand-up happens: its occurrences on local working days, as UTC instants (pure).

Timer keys: ``standup:{group}:{local date}`` (the prompts), ``…:remind`` and ``…:digest``. Wall-clock
times follow ``bot.calendar.local_datetime``'s DST rule (a missing time moves forward, a repeated time
takes its first occurrence), so every local working day has exactly one occurrence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.calendar import WorkCalendar, utc_at
from bot.recurrence import recurring
from bot.types import TimerSpec

DEFAULT_REMIND_BEFORE = timedelta(minutes=30)
_HHMM = re.compile(r"^\s*(\d{1,2})(?:[:：.点时](\d{2})?)?\s*(?:分)?\s*$")


def parse_hhmm(value: str) -> time:
    """``9:30`` / ``09:30`` / ``9点30`` / ``17`` → a ``time``; ValueError otherwise."""
    match = _HHMM.match(value or "")
    if not match:
        raise ValueError(value)
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    if not (0 <= hour < 24 and 0 <= minute < 60):
        raise ValueError(value)
    return time(hour, minute)


def hhmm(value: time) -> str:
    return f"{value.hour:02d}:{value.minute:02d}"


@dataclass(frozen=True, slots=True)
class Occurrence:
    day: date
    prompt_at: datetime
    remind_at: datetime | None
    cutoff_at: datetime


@dataclass(frozen=True, slots=True)
class Plan:
    """The parts of a ``Standup`` row the schedule needs."""

    group_id: int
    standup_id: int
    time: str
    cutoff: str
    remind: str | None
    timezone: str
    days: tuple[int, ...]
    version: int = 1

    @classmethod
    def of(cls, standup: object) -> Plan:
        return cls(
            group_id=standup.group_id,  # type: ignore[attr-defined]
            standup_id=standup.id,  # type: ignore[attr-defined]
            time=standup.time,  # type: ignore[attr-defined]
            cutoff=standup.cutoff,  # type: ignore[attr-defined]
            remind=standup.remind,  # type: ignore[attr-defined]
            timezone=standup.timezone,  # type: ignore[attr-defined]
            days=tuple(standup.days or ()),  # type: ignore[attr-defined]
            version=standup.version,  # type: ignore[attr-defined]
        )


def occurs_on(plan: Plan, calendar: WorkCalendar, day: date) -> bool:
    """A stand-up meets on local working days (an adjusted working weekend counts), limited to ``days``."""
    if not calendar.is_working_day(day):
        return False
    return not (plan.days and day.isoweekday() not in plan.days and day.weekday() < 5)


def occurrence(plan: Plan, day: date) -> Occurrence:
    prompt_at = utc_at(day, parse_hhmm(plan.time), plan.timezone)
    cutoff_at = utc_at(day, parse_hhmm(plan.cutoff), plan.timezone)
    if cutoff_at <= prompt_at:  # a DST gap can squeeze them together: keep the digest after the prompt
        cutoff_at = prompt_at + timedelta(minutes=30)
    remind_at: datetime | None = utc_at(day, parse_hhmm(plan.remind), plan.timezone) if plan.remind else cutoff_at - DEFAULT_REMIND_BEFORE
    if remind_at is not None and not prompt_at < remind_at < cutoff_at:
        remind_at = None
    return Occurrence(day, prompt_at, remind_at, cutoff_at)


def occurrences(plan: Plan, calendar: WorkCalendar, since: datetime, until: datetime) -> list[Occurrence]:
    """Every occurrence whose prompt is in ``[since, until)``, in order (the days from a ``CronTrigger`` in
    the stand-up's timezone, kept when ``occurs_on`` says it meets that day)."""
    found = []
    for day, _prompt in recurring(parse_hhmm(plan.time), plan.timezone, since, until):
        if occurs_on(plan, calendar, day):
            found.append(occurrence(plan, day))
    return found


def next_occurrence(plan: Plan, calendar: WorkCalendar, since: datetime, until: datetime) -> Occurrence | None:
    """``occurrences(plan, calendar, since, until)[0]`` (or None), walking the local days one by one instead
    of asking a ``CronTrigger`` for each: every local day is a candidate, as the trigger's ``*`` gives them."""
    zone = ZoneInfo(plan.timezone)
    day, last = since.astimezone(zone).date() - timedelta(days=1), until.astimezone(zone).date() + timedelta(days=1)
    at = parse_hhmm(plan.time)
    while day <= last:
        if occurs_on(plan, calendar, day) and since <= utc_at(day, at, plan.timezone) < until:
            return occurrence(plan, day)
        day += timedelta(days=1)
    return None


def prompt_key(group_id: int, day: date) -> str:
    return f"standup:{group_id}:{day.isoformat()}"


def timer_specs(plan: Plan, occ: Occurrence) -> list[TimerSpec]:
    """The prompt, reminder and digest rows of one occurrence."""
    base = {"standup": plan.standup_id, "day": occ.day.isoformat(), "version": plan.version}
    key = prompt_key(plan.group_id, occ.day)
    until_cutoff = max(60.0, (occ.cutoff_at - occ.prompt_at).total_seconds())
    specs = [
        TimerSpec(key, "standup.prompt", occ.prompt_at, {**base, "_series": f"standup:{plan.group_id}:prompt", "_grace_s": until_cutoff}),
        TimerSpec(f"{key}:digest", "standup.digest", occ.cutoff_at, {**base, "_series": f"standup:{plan.group_id}:digest"}),
    ]
    if occ.remind_at is not None:
        grace = max(60.0, (occ.cutoff_at - occ.remind_at).total_seconds())
        specs.append(
            TimerSpec(f"{key}:remind", "standup.remind", occ.remind_at, {**base, "_series": f"standup:{plan.group_id}:remind", "_grace_s": grace})
        )
    return specs
