from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.calendar import OfficialYears, WorkCalendar, local_datetime, utc_at
from bot.config import from_dict


def test_chinese_holidays_and_adjusted_working_weekends():
    cal = WorkCalendar("CN")
    assert not cal.is_working_day(date(2026, 10, 1))  # National Day
    assert not cal.is_working_day(date(2026, 10, 7))
    assert cal.is_working_day(date(2026, 10, 10))  # 调休: Saturday worked
    assert cal.is_working_day(date(2026, 2, 28))  # Saturday after the Spring Festival
    assert not cal.is_working_day(date(2026, 2, 23))  # Monday off
    assert cal.is_holiday(date(2026, 2, 23))
    assert not cal.is_working_day(date(2026, 3, 1))  # an ordinary Sunday
    assert cal.add_working_days(date(2026, 9, 30), 2) == date(2026, 10, 9)
    assert cal.working_days_between(date(2026, 9, 30), date(2026, 10, 9)) == 2
    assert cal.next_working_day(date(2026, 9, 30)) == date(2026, 10, 8)
    assert cal.next_working_day(date(2026, 10, 9)) == date(2026, 10, 10)


def test_other_countries_use_the_holidays_package():
    us = WorkCalendar("US")
    assert not us.is_working_day(date(2026, 11, 26))  # Thanksgiving
    assert us.is_working_day(date(2026, 10, 1))
    de = WorkCalendar("DE")
    assert not de.is_working_day(date(2026, 10, 3))
    with pytest.raises(ValueError):
        WorkCalendar("XX").is_working_day(date(2026, 1, 5))


def test_years_beyond_chinese_calendar_fall_back_to_an_estimate():
    cal = WorkCalendar("CN")
    assert not cal.is_working_day(date(2027, 10, 1))
    assert cal.is_working_day(date(2027, 3, 3))


def test_a_public_year_is_read_once_for_every_calendar_and_replaced_by_an_official_one():
    official = OfficialYears()
    office = WorkCalendar("DE", official=official)
    office.preload(date(2026, 12, 2))  # at start: this year and the next
    team = WorkCalendar("CN", official=official).with_country("DE")  # a stand-up's own country, per command
    assert team._year(2027) is office._year(2027)  # read once, not again for each new calendar
    assert team.is_working_day(date(2027, 1, 4))
    official.set("DE", 2027, [date(2027, 1, 4)], [])
    assert not team.is_working_day(date(2027, 1, 4)) and not office.is_working_day(date(2027, 1, 4))


def test_organisation_days_override_the_public_calendar():
    config = from_dict(
        {"bot": {"calendar": "CN", "extra_days_off": ["2026-11-27"], "extra_working_days": ["2026-10-05"]}}, environ={}
    )
    cal = WorkCalendar.from_config(config)
    assert not cal.is_working_day(date(2026, 11, 27))
    assert cal.is_working_day(date(2026, 10, 5))
    assert cal.with_country("US").is_working_day(date(2026, 10, 5))
    assert not cal.with_country("US").is_working_day(date(2026, 11, 27))
    with pytest.raises(ValueError):
        WorkCalendar("CN", extra_days_off=["2026-01-05"], extra_working_days=["2026-01-05"])


def test_add_working_days_backwards_and_zero():
    cal = WorkCalendar("CN")
    assert cal.add_working_days(date(2026, 10, 8), -1) == date(2026, 9, 30)
    assert cal.add_working_days(date(2026, 10, 8), 0) == date(2026, 10, 8)
    assert cal.working_days_between(date(2026, 10, 9), date(2026, 9, 30)) == -2


def test_deadlines_as_utc_instants():
    cal = WorkCalendar("CN")
    # sent Wed 30 Sep 15:00 Shanghai: two working days later is Fri 9 Oct 15:00
    start = datetime(2026, 9, 30, 7, 0, tzinfo=UTC)
    assert cal.deadline_after(start, 2, "Asia/Shanghai") == datetime(2026, 10, 9, 7, 0, tzinfo=UTC)
    assert cal.end_of_nth_working_day(start, 1, "Asia/Shanghai") == datetime(2026, 10, 8, 15, 59, 59, tzinfo=UTC)


def test_dst_rule_for_missing_and_repeated_wall_clock_times():
    la = "America/Los_Angeles"
    # 02:30 does not exist on 8 Mar 2026: moved forward by the gap to 03:30 PDT
    assert utc_at(date(2026, 3, 8), time(2, 30), la) == datetime(2026, 3, 8, 10, 30, tzinfo=UTC)
    # 01:30 occurs twice on 1 Nov 2026: the first (PDT) one
    assert utc_at(date(2026, 11, 1), time(1, 30), la) == datetime(2026, 11, 1, 8, 30, tzinfo=UTC)
    assert local_datetime(date(2026, 3, 9), time(9, 0), la).utcoffset() == timedelta(hours=-7)
    assert local_datetime(date(2026, 3, 6), time(9, 0), la).utcoffset() == timedelta(hours=-8)


@settings(max_examples=200, deadline=None)
@given(
    st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 12, 31)),
    st.integers(min_value=-15, max_value=15),
    st.sampled_from(["CN", "US", "GB"]),
)
def test_add_and_count_are_inverse(day, n, country):
    cal = WorkCalendar(country)
    target = cal.add_working_days(day, n)
    assert cal.working_days_between(day, target) == n
    if n > 0:
        assert cal.is_working_day(target) and target > day
