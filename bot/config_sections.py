"""The configuration's shape: one pydantic model per section, each field validated with a clear message.

Loaded (file, environment, ``*_FILE`` secrets) by ``bot/config.py``, which re-exports everything here;
import from ``bot.config``."""

from __future__ import annotations

import zoneinfo
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.i18n import SUPPORTED_LOCALES, normalize_locale

TIMER_BACKFILL_DAYS = 7  # how far back the clock's materializer writes occurrences after an outage


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _check_timezone(value: str | None) -> str | None:
    if value is None:
        return value
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA timezone {value!r} (e.g. Asia/Shanghai, Europe/Berlin)") from exc
    return value


def _secret_prefix(prefix: str, what: str) -> Any:
    """A validator: the secret must start with ``prefix`` (the message never repeats the value)."""

    def check(value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(prefix):
            raise ValueError(f"must start with {prefix} ({what})")
        return value

    return check


def secret_text(value: SecretStr | str | None) -> str:
    """The plain text of a secret setting, for the one call that hands it to a platform."""
    if value is None:
        return ""
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def redact_url(url: str) -> str:
    """``postgres://bot:s3cret@db/collab`` → ``postgres://bot:***@db/collab`` (for output and logs)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(a database URL that cannot be parsed)"
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit(parts._replace(netloc=user + host))


def _check_locale(value: str | None) -> str | None:
    if value is None:
        return value
    normalized = normalize_locale(value)
    if normalized is None:
        raise ValueError(f"unsupported locale {value!r}; use one of {', '.join(SUPPORTED_LOCALES)}")
    return normalized


class BotSection(Section):
    locale: str = "zh_CN"
    timezone: str = "Asia/Shanghai"
    id_prefix: str = Field("XZB", pattern=r"^[A-Za-z]{1,8}$")
    calendar: str = Field("CN", description="country code of the public-holiday calendar")
    extra_days_off: list[str] = Field(default_factory=list, description="ISO dates the organisation is closed")
    extra_working_days: list[str] = Field(default_factory=list, description="ISO dates worked despite the calendar")
    request_answer_working_days: int = Field(2, ge=1, le=30)
    review_working_days: int = Field(2, ge=1, le=30)
    due_soon_working_days: int = Field(2, ge=0, le=30)
    max_text_length: int = Field(8000, ge=100)
    directory_cache_size: int = Field(5000, ge=100, description="people (and as many groups, and collaborations' bound groups) each process keeps in its directory cache")
    names: list[str] = Field(
        default_factory=lambda: ["协作助手", "collabbot"],
        description="the names people @-mention the bot by, in every language (a platform's own bot_name is added)",
    )

    _tz = field_validator("timezone")(_check_timezone)
    _loc = field_validator("locale")(_check_locale)


class ClocksSection(Section):
    """The clocks' knobs (stand-ups themselves are set per group with the ``standup`` command)."""

    alert_time: str = Field("09:00", pattern=r"^\d{1,2}:\d{2}$", description="local time (bot.timezone) of the daily deadline check")
    alert_repeat_working_days: int = Field(2, ge=1, le=30, description="the same alert goes to the same recipient at most once per this many working days")
    alert_ladder: list[int] = Field(default_factory=lambda: [1, 2, 3], min_length=3, max_length=3, description="working days overdue when the owner, then the group, then the initiator and the owner's head are alerted")
    weekly_report_weekday: int = Field(5, ge=1, le=7, description="ISO weekday the weekly report is asked for (5 = Friday)")
    weekly_report_time: str = Field("17:00", pattern=r"^\d{1,2}:\d{2}$")
    weekly_report_compile_minutes: int = Field(60, ge=0, le=1440, description="minutes between the question and the compiled report")
    working_hours: str = Field("09:00-18:00", pattern=r"^\d{1,2}:\d{2}\s*[-–~]\s*\d{1,2}:\d{2}$", description="the organisation's working hours on working days (bot.timezone)")
    hour_clocks: Literal["working", "calendar"] = Field("working", description="hour-based clocks (risk 4 h, issues, minutes) count working hours, or plain calendar hours")

    @field_validator("working_hours")
    @classmethod
    def _working_hours(cls, value: str) -> str:
        from bot.calendar import parse_hours_range

        parse_hours_range(value)
        return value


class CalendarYearEntry(Section):
    """A year's official public calendar, before the calendar package has it (``[[calendar_years]]``)."""

    year: int = Field(ge=2000, le=2200)
    country: str = Field("CN", pattern=r"^[A-Za-z]{2}$")
    days_off: list[str] = Field(default_factory=list, description="ISO dates of the official days off (holidays)")
    working_days: list[str] = Field(default_factory=list, description="ISO dates of the official working weekends (调休)")

    @model_validator(mode="after")
    def _dates(self) -> CalendarYearEntry:
        import datetime as _dt

        for name in ("days_off", "working_days"):
            for value in getattr(self, name):
                try:
                    day = _dt.date.fromisoformat(value.strip())
                except ValueError as exc:
                    raise ValueError(f"{name}: {value!r} is not an ISO date (2027-01-01)") from exc
                if day.year != self.year:
                    raise ValueError(f"{name}: {value} is not in {self.year}")
        if set(self.days_off) & set(self.working_days):
            raise ValueError("a date is both a day off and a working day")
        return self


class DatabaseSection(Section):
    url: str = "sqlite://collabbot.db"

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "postgres://", "postgresql://", "asyncpg://", "psycopg://")):
            raise ValueError("must start with sqlite:// or postgres:// (e.g. sqlite://collabbot.db)")
        return value


class ServerSection(Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)


class SimulatorSection(Section):
    enabled: bool = False
    manual_clock: bool = Field(False, description="let the simulator API move the clock (demo and tests only)")
    platforms: list[str] = Field(
        default_factory=lambda: ["simulator"],
        description="platform names the simulator plays (two names simulate two platforms)",
    )
    unsafe_demo: bool = Field(
        False,
        description="this is a demo: allow the simulator (anyone may act as anyone), a manual clock and a simulator "
        "reachable from other machines; `collabbot run` refuses all three without it (or --unsafe-demo)",
    )


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this machine only (127.0.0.0/8, ::1, localhost)."""
    import ipaddress

    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False


class DashboardSection(Section):
    """The read-only web dashboard and the signed links the bot posts to it (see docs/dashboard.md)."""

    enabled: bool = False
    base_url: str = Field("http://127.0.0.1:8080", pattern=r"^https?://", description="how people's browsers reach this server")
    secret: SecretStr | None = Field(None, min_length=16, description="signs the links (HMAC-SHA256); keep it private")
    admin_token: SecretStr | None = Field(None, min_length=16, description="opens every page with ?admin=TOKEN")
    link_ttl_days: int = Field(7, ge=1, le=365, description="days a posted link stays valid")

    @model_validator(mode="after")
    def _needs_secret(self) -> DashboardSection:
        if self.enabled and not self.secret:
            raise ValueError("the dashboard needs secret (at least 16 characters) to sign its links")
        return self


class RetentionSection(Section):
    """How long the bookkeeping rows are kept (see docs/deploy.md, "Tables that would grow"). Once an hour one
    process deletes older ones, a batch at a time. 0 keeps them for ever. Collaborations, their records and the
    audit log are never deleted."""

    inbox_days: int = Field(30, ge=0, le=3650, description="days a handled delivery id is kept (a redelivery within them is recognised)")
    outbox_sent_days: int = Field(90, ge=0, le=3650, description="days a sent message's outbox row is kept")
    timers_days: int = Field(30, ge=0, le=3650, description="days a fired, cancelled or missed timer is kept after it was due")

    @field_validator("timers_days")
    @classmethod
    def _after_backfill(cls, value: int) -> int:
        if 0 < value < TIMER_BACKFILL_DAYS + 1:
            raise ValueError(
                f"must be 0 (keep) or at least {TIMER_BACKFILL_DAYS + 1}: after an outage the clock writes the "
                f"occurrences of up to {TIMER_BACKFILL_DAYS} days back, and a done timer row is what stops it firing one again"
            )
        return value


class DepartmentEntry(Section):
    code: str = Field(pattern=r"^[A-Za-z0-9_\-]{1,64}$")
    name: str = Field(min_length=1)
    head: str | None = None
    superior: str | None = None


class PersonEntry(Section):
    id: str = Field(pattern=r"^[A-Za-z0-9_.\-]{1,64}$")
    name: str = Field(min_length=1)
    department: str | None = None
    superior: str | None = None
    email: str | None = None
    locale: str | None = None
    timezone: str | None = None
    admin: bool = False
    identities: dict[str, str] = Field(default_factory=dict, description="platform name -> platform user id")

    _tz = field_validator("timezone")(_check_timezone)
    _loc = field_validator("locale")(_check_locale)


class GroupEntry(Section):
    platform: str
    id: str
    name: str | None = None
    locale: str | None = None
    timezone: str | None = None

    _tz = field_validator("timezone")(_check_timezone)
    _loc = field_validator("locale")(_check_locale)


class SlackSection(Section):
    enabled: bool = True
    mode: Literal["socket", "http"] = "socket"
    bot_token: SecretStr
    app_token: SecretStr | None = None
    signing_secret: SecretStr | None = None
    api_url: str = "https://slack.com/api/"
    command: str = "/collab"
    standup_command: str = "/standup"
    events_path: str = Field("/slack/events", pattern=r"^/")
    timeout: float = Field(10.0, gt=0, description="seconds for one Web API call")
    ping_interval: float = Field(10.0, gt=0, description="Socket Mode keep-alive ping, seconds")
    lookup_users: bool = Field(True, description="read names, e-mail and locale with users.info (scopes users:read, users:read.email)")

    _bot_token = field_validator("bot_token")(_secret_prefix("xoxb-", "the Bot User OAuth Token, OAuth & Permissions"))
    _app_token = field_validator("app_token")(_secret_prefix("xapp-", "an App-Level Token, Basic Information"))

    @model_validator(mode="after")
    def _mode_needs(self) -> SlackSection:
        if self.mode == "socket" and not self.app_token:
            raise ValueError("socket mode needs app_token (xapp-…, scope connections:write): set COLLABBOT_SLACK__APP_TOKEN or COLLABBOT_SLACK__APP_TOKEN_FILE")
        if self.mode == "http" and not self.signing_secret:
            raise ValueError("http mode needs signing_secret (Basic Information → App Credentials): set COLLABBOT_SLACK__SIGNING_SECRET or COLLABBOT_SLACK__SIGNING_SECRET_FILE")
        return self


class DingTalkSection(Section):
    enabled: bool = True
    app_key: str = Field(min_length=1)
    app_secret: SecretStr = Field(min_length=1)
    robot_code: str | None = None
    card_template_id: str | None = None
    openapi_url: str = "https://api.dingtalk.com"
    messages_per_minute: int = Field(20, ge=2, le=1000, description="robot messages per group (or person) a minute")
    watchdog_seconds: float = Field(90.0, gt=0, description="reconnect the Stream after this long without a frame or pong")
    timeout: float = Field(10.0, gt=0, description="seconds for one OpenAPI call")


class WeComSection(Section):
    enabled: bool = True
    mode: Literal["long_connection", "api"] = "long_connection"
    bot_id: str | None = None
    secret: SecretStr | None = None
    ws_url: str = "wss://openws.work.weixin.qq.com"
    token: SecretStr | None = None
    encoding_aes_key: SecretStr | None = None
    corp_id: str | None = None
    agent_id: int | None = None
    corp_secret: SecretStr | None = None
    api_url: str = "https://qyapi.weixin.qq.com/cgi-bin/"
    bot_name: str | None = Field(None, description="the robot's name as members @-mention it (else the first @word is taken)")
    callback_path: str = Field("/wecom/callback", pattern=r"^/")
    app_token: SecretStr | None = Field(None, description="the self-built app's callback Token (receives its messages and clicks)")
    app_encoding_aes_key: SecretStr | None = None
    app_callback_path: str = Field("/wecom/app/callback", pattern=r"^/")
    direct_messages: Literal["bot", "app"] = Field("bot", description="send personal messages through the robot or the self-built app")
    card_url: str = Field("https://work.weixin.qq.com/", description="where a tap on a notice card leads")
    heartbeat_seconds: float = Field(30.0, gt=0)
    reconnect_max_seconds: float = Field(30.0, gt=0)

    @model_validator(mode="after")
    def _mode_needs(self) -> WeComSection:
        if self.mode == "long_connection" and not (self.bot_id and self.secret):
            raise ValueError("long_connection mode needs bot_id and secret of the intelligent robot (secret: COLLABBOT_WECOM__SECRET or COLLABBOT_WECOM__SECRET_FILE)")
        if self.mode == "api" and not (self.token and self.encoding_aes_key):
            raise ValueError("api mode needs token and encoding_aes_key (43 characters)")
        for name in ("encoding_aes_key", "app_encoding_aes_key"):
            value = getattr(self, name)
            if value is not None and len(value.get_secret_value()) != 43:
                raise ValueError(f"{name} must be exactly 43 characters")
        app = (self.corp_id, self.corp_secret, self.agent_id)
        if self.direct_messages == "app" and not all(app):
            raise ValueError("direct_messages = \"app\" needs corp_id, corp_secret and agent_id of the self-built app")
        if bool(self.app_token) != bool(self.app_encoding_aes_key):
            raise ValueError("the app callback needs both app_token and app_encoding_aes_key")
        if self.app_token and not self.corp_id:
            raise ValueError("the app callback needs corp_id (it is the receive id of the app's callbacks)")
        return self


class FeishuSection(Section):
    enabled: bool = True
    mode: Literal["long_connection", "http"] = "long_connection"
    app_id: str = Field(min_length=1, description="App ID (cli_…), Credentials & Basic Info")
    app_secret: SecretStr = Field(min_length=1)
    verification_token: SecretStr | None = Field(None, description="Events & Callbacks → Encryption Strategy (http mode)")
    encrypt_key: SecretStr | None = Field(None, description="Events & Callbacks → Encryption Strategy: signs and encrypts callbacks")
    api_url: str = Field("https://open.feishu.cn", description="https://open.larksuite.com for Lark")
    events_path: str = Field("/feishu/events", pattern=r"^/")
    bot_name: str | None = Field(None, description="the bot's name as members @-mention it")
    messages_per_second: int = Field(5, ge=1, le=50, description="messages to one chat (or person) a second")
    lookup_users: bool = Field(True, description="read names and e-mail with the contact API (scope contact:user.email:readonly)")
    timeout: float = Field(10.0, gt=0, description="seconds for one OpenAPI call")
    reconnect_max_seconds: float = Field(60.0, gt=0)
    max_age_seconds: float = Field(300.0, gt=0, description="http mode: older signed callbacks are refused")

    @model_validator(mode="after")
    def _mode_needs(self) -> FeishuSection:
        if self.mode == "http" and not (self.verification_token and self.encrypt_key):
            raise ValueError("http mode needs verification_token and encrypt_key (Events & Callbacks → Encryption Strategy): set COLLABBOT_FEISHU__ENCRYPT_KEY or COLLABBOT_FEISHU__ENCRYPT_KEY_FILE")
        return self


class Config(BaseSettings):
    """The whole configuration. ``from_dict``/``load`` layer the environment over the file (see the module
    docstring); constructing ``Config(...)`` directly reads nothing from the environment."""

    model_config = SettingsConfigDict(extra="forbid")

    bot: BotSection = Field(default_factory=BotSection)
    database: DatabaseSection = Field(default_factory=DatabaseSection)
    clocks: ClocksSection = Field(default_factory=ClocksSection)
    server: ServerSection = Field(default_factory=ServerSection)
    simulator: SimulatorSection = Field(default_factory=SimulatorSection)
    dashboard: DashboardSection = Field(default_factory=DashboardSection)
    retention: RetentionSection = Field(default_factory=RetentionSection)
    departments: list[DepartmentEntry] = Field(default_factory=list)
    people: list[PersonEntry] = Field(default_factory=list)
    groups: list[GroupEntry] = Field(default_factory=list)
    calendar_years: list[CalendarYearEntry] = Field(default_factory=list)
    slack: SlackSection | None = None
    dingtalk: DingTalkSection | None = None
    wecom: WeComSection | None = None
    feishu: FeishuSection | None = None

    @model_validator(mode="after")
    def _references(self) -> Config:
        people = {p.id for p in self.people}
        departments = {d.code for d in self.departments}
        problems = []
        for index, dept in enumerate(self.departments):
            for role in ("head", "superior"):
                ref = getattr(dept, role)
                if ref is not None and ref not in people:
                    problems.append(f"departments[{index}].{role}: no person with id {ref!r}")
        for index, person in enumerate(self.people):
            if person.department is not None and person.department not in departments:
                problems.append(f"people[{index}].department: no department with code {person.department!r}")
            if person.superior is not None and person.superior not in people:
                problems.append(f"people[{index}].superior: no person with id {person.superior!r}")
        for kind, values in (("people", [p.id for p in self.people]), ("departments", [d.code for d in self.departments])):
            dupes = sorted({v for v in values if values.count(v) > 1})
            if dupes:
                problems.append(f"{kind}: duplicate ids {', '.join(dupes)}")
        if self.simulator.enabled and not is_loopback(self.server.host) and not self.simulator.unsafe_demo:
            problems.append(
                f"simulator.enabled: the simulator API would listen on {self.server.host}, not a loopback address, "
                "and lets anyone who reaches it act as anyone; use 127.0.0.1, or set [simulator] unsafe_demo = true for a demo"
            )
        if problems:
            raise ValueError("; ".join(problems))
        return self
