"""Configuration: one TOML file, overridden by environment variables, validated with a clear message per field.

Loaded with pydantic-settings, in layers (a later layer wins):

1. the TOML file (``--config`` or ``COLLABBOT_CONFIG``);
2. ``COLLABBOT_DATABASE_URL``, a short form for the database URL;
3. ``COLLABBOT_<SECTION>__<KEY>`` (double underscore between levels), e.g.
   ``COLLABBOT_DATABASE__URL=postgres://…`` or ``COLLABBOT_SLACK__BOT_TOKEN=xoxb-…``;
4. ``COLLABBOT_<SECTION>__<KEY>_FILE`` naming a file that holds the value (Docker and systemd secrets), e.g.
   ``COLLABBOT_SLACK__BOT_TOKEN_FILE=/run/secrets/slack_bot_token``.

Tokens and secrets are ``SecretStr``: printed, logged or dumped they show ``**********``; adapters call
``get_secret_value()`` where they hand them to the platform. ``redact_url`` hides a database password.

The sections themselves (``BotSection``, ``SlackSection`` …, ``Config``) are in ``bot/config_sections.py``
and re-exported here: import everything from ``bot.config``.
"""

from __future__ import annotations

import contextvars
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource

from bot.config_sections import (
    TIMER_BACKFILL_DAYS,
    BotSection,
    CalendarYearEntry,
    ClocksSection,
    Config,
    DashboardSection,
    DatabaseSection,
    DepartmentEntry,
    DingTalkSection,
    FeishuSection,
    GroupEntry,
    PersonEntry,
    RetentionSection,
    Section,
    ServerSection,
    SimulatorSection,
    SlackSection,
    WeComSection,
    is_loopback,
    redact_url,
    secret_text,
)

__all__ = [
    "PREFIX",
    "TIMER_BACKFILL_DAYS",
    "BotSection",
    "CalendarYearEntry",
    "ClocksSection",
    "Config",
    "ConfigError",
    "DashboardSection",
    "DatabaseSection",
    "DepartmentEntry",
    "DingTalkSection",
    "FeishuSection",
    "GroupEntry",
    "PersonEntry",
    "RetentionSection",
    "Section",
    "ServerSection",
    "SimulatorSection",
    "SlackSection",
    "WeComSection",
    "config_path",
    "env_name",
    "env_overrides",
    "from_dict",
    "is_loopback",
    "load",
    "redact_url",
    "secret_text",
]


class ConfigError(Exception):
    """The configuration is invalid; ``problems`` holds one human-readable line per bad field."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


PREFIX = "COLLABBOT_"
_ENVIRON: contextvars.ContextVar[Mapping[str, str] | None] = contextvars.ContextVar("collabbot_environ", default=None)


def _set_path(data: dict[str, Any], path: list[str], value: str) -> None:
    node = data
    for part in path[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            return
    node[path[-1]] = value


def env_name(path: str) -> str:
    """``slack.bot_token`` → ``COLLABBOT_SLACK__BOT_TOKEN``."""
    return PREFIX + "__".join(part.upper() for part in path.split("."))


class _Environment(EnvSettingsSource):
    """``COLLABBOT_<SECTION>__<KEY>`` from the given mapping (``os.environ`` unless a test passes its own)."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]):
        self._environ = {k: v for k, v in environ.items() if not k.upper().endswith("_FILE")}
        super().__init__(settings_cls, env_prefix=PREFIX, env_nested_delimiter="__", case_sensitive=False)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {key.lower(): value for key, value in self._environ.items()}


class _MappingSource(PydanticBaseSettingsSource):
    """A ready nested dict as a settings layer."""

    def __init__(self, settings_cls: type[BaseSettings], data: dict[str, Any]):
        super().__init__(settings_cls)
        self.data = data

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self.data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return self.data


def _short_forms(environ: Mapping[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if environ.get("COLLABBOT_DATABASE_URL"):
        _set_path(data, ["database", "url"], environ["COLLABBOT_DATABASE_URL"])
    return data


def _secret_files(environ: Mapping[str, str]) -> dict[str, Any]:
    """``COLLABBOT_SLACK__BOT_TOKEN_FILE=/run/secrets/x`` → ``{"slack": {"bot_token": <the file's text>}}``."""
    data: dict[str, Any] = {}
    problems = []
    for key, filename in sorted(environ.items()):
        upper = key.upper()
        if not upper.startswith(PREFIX) or not upper.endswith("_FILE") or upper == "COLLABBOT_CONFIG_FILE":
            continue
        name = upper[len(PREFIX) : -len("_FILE")]
        path = ["database", "url"] if name == "DATABASE_URL" else [p.lower() for p in name.split("__")]
        if len(path) < 2:
            continue
        try:
            value = Path(filename).read_text(encoding="utf-8").strip()
        except OSError as exc:
            problems.append(
                f"{'.'.join(path)}: {key} names {filename}, which cannot be read ({exc.strerror or type(exc).__name__});"
                " create the file (readable by the bot's user) or unset the variable"
            )
            continue
        if not value:
            problems.append(f"{'.'.join(path)}: {key} names {filename}, which is empty; write the value into it")
            continue
        _set_path(data, path, value)
    if problems:
        raise ConfigError(problems)
    return data


def env_overrides(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """What the environment sets (short forms, ``COLLABBOT_…__…`` and ``…_FILE``), as one nested dict."""
    environ = os.environ if environ is None else environ
    return _merge(_merge(_short_forms(environ), _Environment(Config, environ)()), _secret_files(environ))


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _settings_sources(
    settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource
) -> tuple[PydanticBaseSettingsSource, ...]:
    environ = _ENVIRON.get()
    if environ is None:  # Config(...) in code: exactly what was passed
        return (init_settings,)
    # earlier wins: secret files, then COLLABBOT_…__…, then the short forms, then the file's data
    return (
        _MappingSource(settings_cls, _secret_files(environ)),
        _Environment(settings_cls, environ),
        _MappingSource(settings_cls, _short_forms(environ)),
        init_settings,
    )


def _customise(
    cls: type[BaseSettings],
    settings_cls: type[BaseSettings],
    init_settings: PydanticBaseSettingsSource,
    env_settings: PydanticBaseSettingsSource,
    dotenv_settings: PydanticBaseSettingsSource,
    file_secret_settings: PydanticBaseSettingsSource,
) -> tuple[PydanticBaseSettingsSource, ...]:
    return _settings_sources(settings_cls, init_settings)


Config.settings_customise_sources = classmethod(_customise)  # type: ignore[method-assign,assignment]

_HINTS = {
    "missing": "missing: set it in the configuration file, or as {env} (or {env}_FILE naming a file that holds it)",
}


def _format_errors(error: ValidationError) -> list[str]:
    problems = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "(top level)"
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown setting (check the spelling against the configuration reference in README.md)"
        elif item["type"] in _HINTS:
            message = _HINTS[item["type"]].format(env=env_name(where))
        problems.append(f"{where}: {message}")
    return problems


def from_dict(data: dict[str, Any], environ: Mapping[str, str] | None = None) -> Config:
    """Validate ``data`` (the file's content) with the environment's layers over it (``os.environ`` by default)."""
    token = _ENVIRON.set(os.environ if environ is None else environ)
    try:
        return Config(**data)
    except ValidationError as exc:
        raise ConfigError(_format_errors(exc)) from exc
    finally:
        _ENVIRON.reset(token)


def config_path(given: str | None, environ: Mapping[str, str] | None = None) -> str | None:
    """The configuration file: ``--config`` if given, else ``COLLABBOT_CONFIG``."""
    environ = os.environ if environ is None else environ
    return given or environ.get("COLLABBOT_CONFIG") or None


def load(path: str | Path, environ: Mapping[str, str] | None = None) -> Config:
    """Read, merge with the environment and validate; raises ``ConfigError`` listing every problem."""
    try:
        with Path(path).open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError as exc:
        raise ConfigError([f"{path}: file not found"]) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: not valid TOML ({exc})"]) from exc
    return from_dict(data, environ)
