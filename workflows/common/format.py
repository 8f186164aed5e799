"""Shared labels and formats for cards: priorities, stages, times."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.errors import InvalidInput
from bot.i18n import Msg, _

PRIORITIES: dict[str, Msg] = {"high": _("high"), "medium": _("medium"), "low": _("low")}
_PRIORITY_WORDS = {
    "high": "high", "h": "high", "高": "high", "紧急": "high", "p0": "high", "p1": "high",
    "medium": "medium", "m": "medium", "normal": "medium", "中": "medium", "普通": "medium", "p2": "medium",
    "low": "low", "l": "low", "低": "low", "p3": "low",
}


def parse_priority(text: str | None, field: str = "priority") -> str:
    if not text or not text.strip():
        return "medium"
    value = _PRIORITY_WORDS.get(text.strip().lower())
    if value is None:
        raise InvalidInput(_("Priority “{text}” is not one of 高/中/低 (high/medium/low).", text=text.strip()[:20]), field=field)
    return value


def when(moment: datetime | None, timezone: str) -> str:
    """A timestamp as the organisation reads it: ``2026-11-23 10:02``."""
    if moment is None:
        return "—"
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")


def day(value: date | None) -> str:
    return value.isoformat() if value else "—"


def or_dash(value: str | None) -> str:
    return value if value and value.strip() else "—"
