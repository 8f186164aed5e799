"""Dates as people type them, in Chinese or English: ``2026-12-01``, ``12月1日``, ``下周五``, ``next Friday``, ``明天``.

Weeks start on Monday and both languages mean the same day: ``下周五`` = ``next Friday`` = the Friday of next
week (typed on a Tuesday or on a Friday alike); ``本周五`` / ``这周五`` = ``this Friday`` = this week's Friday;
``周五`` = ``Friday`` = the next Friday on or after today.

``parse_date`` returns a ``date`` relative to ``today`` (the reader's local
date). Chinese forms are read here; English and other forms go to
``dateparser``. A date without a year is the next such day on or after today.
"""

from __future__ import annotations

import contextlib
import re
from datetime import date, datetime, timedelta

import dateparser

from bot.errors import InvalidInput
from bot.i18n import _

HALF_YEAR_DAYS = 183  # a year-less date further ahead than this is read as the last one, when reading the nearest

_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "1": 0, "2": 1, "3": 2, "4": 3, "5": 4, "6": 5, "7": 6}
_CN_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
_EN_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _cn_number(text: str) -> int | None:
    if text.isdigit():
        return int(text)
    if all(ch in _CN_DIGITS for ch in text):
        if text.startswith("十"):
            text = "一" + text
        if "十" in text:
            tens, _sep, ones = text.partition("十")
            return _CN_DIGITS[tens] * 10 + (_CN_DIGITS[ones] if ones else 0)
        return _CN_DIGITS[text] if len(text) == 1 else None
    return None


def _month_day(today: date, month: int, day: int, year: int | None) -> date | None:
    try:
        if year is not None:
            return date(year, month, day)
        candidate = date(today.year, month, day)
        return candidate if candidate >= today else date(today.year + 1, month, day)
    except ValueError:
        return None


def _chinese(text: str, today: date) -> date | None:
    relative = {"今天": 0, "今日": 0, "明天": 1, "明日": 1, "后天": 2, "大后天": 3}
    if text in relative:
        return today + timedelta(days=relative[text])
    if m := re.fullmatch(r"(?:(\d{4})年)?(\d{1,2}|[一二三四五六七八九十]+)月(\d{1,2}|[一二三四五六七八九十]+)[日号]?", text):
        month, day = _cn_number(m.group(2)), _cn_number(m.group(3))
        if month is None or day is None:
            return None
        return _month_day(today, month, day, int(m.group(1)) if m.group(1) else None)
    if m := re.fullmatch(r"(下下|下|本|这|这个|下个)?(?:周|星期|礼拜)([一二三四五六日天1-7])", text):
        weekday = _WEEKDAYS[m.group(2)]
        monday = today - timedelta(days=today.weekday())
        weeks = {"下下": 2, "下": 1, "下个": 1}.get(m.group(1) or "", 0)
        candidate = monday + timedelta(weeks=weeks, days=weekday)
        if weeks == 0 and not m.group(1) and candidate < today:
            candidate += timedelta(weeks=1)
        return candidate
    if m := re.fullmatch(r"(\d+|[一二两三四五六七八九十]+)(天|周|个?星期)[以之]?后", text):
        count = _cn_number(m.group(1))
        if count is None:
            return None
        return today + (timedelta(days=count) if m.group(2) == "天" else timedelta(weeks=count))
    return None


def _english(text: str, today: date) -> date | None:
    low = text.lower().strip()
    if m := re.fullmatch(r"(next|this)?\s*(mon|tue|wed|thu|fri|sat|sun)[a-z]*", low):
        weekday = next(i for i, name in enumerate(_EN_WEEKDAYS) if name.startswith(m.group(2)))
        monday = today - timedelta(days=today.weekday())
        if m.group(1) == "next":  # the same week as 下周五: the Friday of next week
            return monday + timedelta(weeks=1, days=weekday)
        if m.group(1) == "this":  # as 本周五: this week's Friday
            return monday + timedelta(days=weekday)
        return today + timedelta(days=(weekday - today.weekday()) % 7)
    settings = {
        "RELATIVE_BASE": datetime(today.year, today.month, today.day, 12, 0),
        "PREFER_DATES_FROM": "future",
        "DATE_ORDER": "YMD",
        "REQUIRE_PARTS": ["day"],
    }
    parsed = dateparser.parse(text, settings=settings, languages=["en", "zh"])
    return parsed.date() if parsed else None


def _parse(cleaned: str, today: date) -> date | None:
    if m := re.fullmatch(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})", cleaned):
        try:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            return None
    if m := re.fullmatch(r"(\d{1,2})[-/.](\d{1,2})", cleaned):
        return _month_day(today, int(m.group(1)), int(m.group(2)), None)
    if cleaned:
        return _chinese(cleaned, today) or (None if re.search(r"[\u3400-\u9fff]", cleaned) else _english(cleaned, today))
    return None


def parse_date(text: str, today: date, *, nearest: bool = False) -> date:
    """Read a date; raises ``InvalidInput`` with a translated hint when it cannot.

    A month and day without a year is the next such day (a deadline lies ahead); with ``nearest``, the one closest
    to today, back or ahead (a search's range: on 10月9日, "9月30日" is nine days ago, not next year)."""
    raw = (text or "").strip()
    cleaned = re.sub(r"\s+", "", raw) if re.search(r"[\u3400-\u9fff]", raw) else raw
    found = _parse(cleaned, today)
    if found is not None and nearest and (found - today).days > HALF_YEAR_DAYS and not re.search(r"\d{4}", cleaned):
        with contextlib.suppress(ValueError):  # a 29 February has no day a year earlier: the one ahead stays
            found = found.replace(year=found.year - 1)
    if found is not None:
        return found
    raise InvalidInput(
        _("I could not read the date “{text}”. Write it like 2026-12-01, 12月1日, 下周五 or next Friday.", text=raw[:40])
    )
