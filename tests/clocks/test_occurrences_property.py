"""Property: around DST transitions, in any timezone, a stand-up occurs exactly once per local working day,
at strictly increasing instants, however the materializer's windows are cut."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.calendar import WorkCalendar, local_datetime
from workflows.standup.schedule import Plan, next_occurrence, occurrences, timer_specs

ZONES = [
    "America/Los_Angeles",
    "America/New_York",
    "America/Havana",  # DST switches at midnight: 00:xx does not exist on the spring day
    "America/Santiago",
    "Europe/London",
    "Europe/Berlin",
    "Australia/Sydney",
    "Australia/Lord_Howe",  # a 30-minute DST shift
    "Pacific/Auckland",
    "Asia/Shanghai",
    "Asia/Kolkata",
]


def transitions(zone: str, years: tuple[int, ...] = (2026, 2027)) -> list[datetime]:
    """UTC instants where the zone's offset changes (hour resolution is enough to land near them)."""
    tz = ZoneInfo(zone)
    found = []
    moment = datetime(years[0], 1, 1, tzinfo=UTC)
    end = datetime(years[-1] + 1, 1, 1, tzinfo=UTC)
    previous = moment.astimezone(tz).utcoffset()
    while moment < end:
        moment += timedelta(hours=1)
        offset = moment.astimezone(tz).utcoffset()
        if offset != previous:
            found.append(moment)
            previous = offset
    return found


TRANSITIONS = {zone: transitions(zone) or [datetime(2026, 3, 8, tzinfo=UTC)] for zone in ZONES}
CALENDARS = {code: WorkCalendar(code) for code in ("CN", "US", "GB", "AU")}
CALENDARS["ALL"] = WorkCalendar("NONE", weekend=())  # every day a working day: DST Sundays count too


@st.composite
def cases(draw):
    zone = draw(st.sampled_from(ZONES))
    pivot = draw(st.sampled_from(TRANSITIONS[zone]))
    start = pivot - timedelta(days=draw(st.integers(0, 6)), hours=draw(st.integers(0, 23)))
    span = timedelta(days=draw(st.integers(2, 12)))
    # wall-clock times that hit the DST gap / fold in most zones, plus ordinary ones
    hour = draw(st.sampled_from([0, 1, 2, 3, 9, 23]))
    minute = draw(st.sampled_from([0, 15, 30, 45]))
    later = min(23 * 60 + 59, hour * 60 + minute + draw(st.integers(30, 600)))
    days = draw(st.sampled_from([(), (1, 2, 3, 4, 5), (1, 3, 5), (2, 4, 6)]))
    calendar = draw(st.sampled_from(sorted(CALENDARS)))
    cuts = sorted(draw(st.lists(st.integers(1, int(span.total_seconds() // 60) - 1), max_size=6, unique=True)))
    return zone, start, span, time(hour, minute), time(later // 60, later % 60), days, calendar, cuts


@settings(max_examples=300, deadline=None)
@given(cases())
def test_one_occurrence_per_local_working_day_strictly_increasing(case):
    zone, start, span, at, cutoff, days, calendar_code, cuts = case
    calendar = CALENDARS[calendar_code]
    plan = Plan(group_id=1, standup_id=1, time=f"{at:%H:%M}", cutoff=f"{cutoff:%H:%M}", remind=None, timezone=zone, days=tuple(days))
    end = start + span

    # the materializer sees the span in arbitrary consecutive windows
    edges = [start, *(start + timedelta(minutes=m) for m in cuts), end]
    pieces = [occurrences(plan, calendar, a, b) for a, b in itertools.pairwise(edges)]
    stitched = [occ for piece in pieces for occ in piece]
    whole = occurrences(plan, calendar, start, end)
    assert stitched == whole
    assert next_occurrence(plan, calendar, start, end) == (whole[0] if whole else None)  # what "standup show" tells

    tz = ZoneInfo(zone)
    # one per local day, strictly increasing instants, each on its own local date at the planned wall time
    assert len({o.day for o in whole}) == len(whole)
    assert all(a.prompt_at < b.prompt_at for a, b in itertools.pairwise(whole))
    assert all(a.day < b.day for a, b in itertools.pairwise(whole))
    for occ in whole:
        assert occ.prompt_at.astimezone(tz).date() == occ.day
        assert occ.prompt_at == local_datetime(occ.day, at, zone).astimezone(UTC)  # (aware == across zones is False in a fold)
        assert occ.prompt_at < occ.cutoff_at
        assert calendar.is_working_day(occ.day)
        local = occ.prompt_at.astimezone(tz)
        if local.replace(tzinfo=None) != datetime.combine(occ.day, at):  # only a wall time in a DST gap moves,
            assert local.time() > at and local.time() <= (datetime.combine(occ.day, at) + timedelta(hours=1)).time()

    # every local working day whose prompt falls in the span has its occurrence (none skipped)
    first, last = start.astimezone(tz).date() - timedelta(days=1), end.astimezone(tz).date() + timedelta(days=1)
    expected = []
    day = first
    while day <= last:
        meets = calendar.is_working_day(day) and (not days or day.isoweekday() in days or day.weekday() >= 5)
        if meets and start <= local_datetime(day, at, zone).astimezone(UTC) < end:
            expected.append(day)
        day += timedelta(days=1)
    assert [o.day for o in whole] == expected

    # and the timer keys are unique per day (the materializer's insert-or-ignore relies on it)
    keys = [spec.key for occ in whole for spec in timer_specs(plan, occ)]
    assert len(keys) == len(set(keys))


def test_known_dst_days():
    la = Plan(1, 1, "02:30", "04:00", None, "America/Los_Angeles", ())
    us = CALENDARS["US"]
    spring = occurrences(la, us, datetime(2026, 3, 6, tzinfo=UTC), datetime(2026, 3, 11, tzinfo=UTC))
    # Friday 6 Mar (PST) and Monday 9 / Tuesday 10 Mar (PDT); Sunday 8 Mar is no working day anyway
    assert [(o.day, o.prompt_at.astimezone(ZoneInfo("America/Los_Angeles")).strftime("%H:%M %Z")) for o in spring] == [
        (date(2026, 3, 6), "02:30 PST"),
        (date(2026, 3, 9), "02:30 PDT"),
        (date(2026, 3, 10), "02:30 PDT"),
    ]
    # on a team that meets every day, the missing 02:30 of Sunday 8 Mar moves forward to 03:30 PDT, once
    sunday = occurrences(la, CALENDARS["ALL"], datetime(2026, 3, 8, tzinfo=UTC), datetime(2026, 3, 9, tzinfo=UTC))
    assert [o.prompt_at.astimezone(ZoneInfo("America/Los_Angeles")).strftime("%m-%d %H:%M %Z") for o in sunday] == ["03-08 03:30 PDT"]
    # and the repeated 01:30 of Sunday 1 Nov is taken once, at its first (PDT) occurrence
    fall = Plan(1, 1, "01:30", "04:00", None, "America/Los_Angeles", ())
    sunday = occurrences(fall, CALENDARS["ALL"], datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 2, tzinfo=UTC))
    assert [o.prompt_at for o in sunday] == [datetime(2026, 11, 1, 8, 30, tzinfo=UTC)]
