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


PLATFORMS: dict[str, Msg] = {"simulator": _("Simulator"), "dingtalk": _("DingTalk"), "wecom": _("WeCom"), "slack": _("Slack"), "feishu": _("Feishu")}


def platform_label(platform: str | None) -> Msg | str:
    """A platform as people call it (钉钉, 企业微信); a name the bot does not know is shown as configured."""
    return PLATFORMS.get(platform or "", platform or "—")


def account(platform: str | None, user_id: str | None) -> Msg:
    """Which platform account acted: ``钉钉 staff-123``."""
    return _("{platform} {account}", platform=platform_label(platform), account=user_id or "—")


CONFIRMATION_STATES = {"pending": _("is still to confirm"), "confirmed": _("confirmed"), "rejected": _("declined"), "void": _("no longer needed")}


def purpose_label(subject: str, purpose: str, departments: dict[str, str]) -> Msg:
    """What a confirmation was about, in words: ``request:r2:design`` → 设计部 answering round 2 of the request."""
    kind, _sep, rest = purpose.partition(":")
    if kind == "request":
        round_, _sep, dept = rest.partition(":")
        return _("{department}'s answer to {code} (round {round})", department=departments.get(dept, dept), code=subject, round=round_.lstrip("r"))
    if kind == "acceptance":
        return _("the acceptance of {code} (attempt {attempt})", code=subject, attempt=rest)
    if kind == "minutes":
        return _("the minutes {code} (version {version})", code=subject, version=rest.lstrip("v"))
    if kind == "change":
        return _("the change request {code}", code=subject)
    if kind == "delay":
        return _("the delay notice {code}", code=subject)
    return _("{code}", code=subject)


ZONES: dict[str, Msg] = {"Asia/Shanghai": _("Beijing time"), "Asia/Chongqing": _("Beijing time"), "Asia/Hong_Kong": _("Hong Kong time"), "Asia/Taipei": _("Taipei time")}


def zone_label(tz: str) -> Msg | str:
    """A timezone as people say it (北京时间); other zones by their IANA name, which is an id."""
    return ZONES.get(tz, tz)


CALENDARS: dict[str, Msg] = {"CN": _("mainland China"), "HK": _("Hong Kong"), "TW": _("Taiwan"), "DE": _("Germany"), "US": _("United States")}


def calendar_label(country: str) -> Msg | str:
    """The public-holiday calendar by its country's name; other codes as configured."""
    return CALENDARS.get(country.upper(), country)
