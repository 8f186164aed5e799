"""Logging set-up: text or JSON lines, each line of an event tagged with its platform and delivery id,
and known secrets masked wherever they would appear.

``Engine.dispatch`` runs inside ``event_context(platform, delivery_id)``; a filter on the root handler copies
the context onto every record, so a line logged deep in a handler, the outbox or an SDK callback that runs in
the event's task says which event it belongs to. ``--log-format json`` (or ``COLLABBOT_LOG_FORMAT=json``)
writes one JSON object a line for a log shipper (Loki, ELK, 阿里云 SLS).
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
import sys
import traceback
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

if TYPE_CHECKING:
    from bot.config import Config

_EVENT: contextvars.ContextVar[tuple[str, str] | None] = contextvars.ContextVar("collabbot_event", default=None)
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.\-]*://[^:/@\s]*:)(?P<password>[^@\s/]+)(?P<tail>@)", re.IGNORECASE)
_SECRETS: set[str] = set()
MASK = "***"


@contextlib.contextmanager
def event_context(platform: str, delivery_id: str) -> Iterator[None]:
    """Tag every log line written inside the block with this event's platform and delivery id."""
    token = _EVENT.set((platform, delivery_id))
    try:
        yield
    finally:
        _EVENT.reset(token)


def current_event() -> tuple[str, str] | None:
    return _EVENT.get()


def register_secrets(values: Iterable[str | None]) -> None:
    """Mask these exact strings in every log line from now on (the configuration's tokens, at start-up)."""
    _SECRETS.update(v for v in values if v and len(v) >= 6)


def redact(text: str) -> str:
    """``text`` with URL passwords and registered secrets replaced by ``***``."""
    text = _URL_PASSWORD.sub(lambda m: f"{m['head']}{MASK}{m['tail']}", text)
    for secret in _SECRETS:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


class EventContextFilter(logging.Filter):
    """Adds ``platform`` and ``delivery_id`` (empty outside an event) and masks secrets in the message."""

    def filter(self, record: logging.LogRecord) -> bool:
        event = _EVENT.get()
        record.platform, record.delivery_id = event if event else ("", "")
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return True


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        platform, delivery = getattr(record, "platform", ""), getattr(record, "delivery_id", "")
        if platform or delivery:
            head, _sep, rest = line.partition(": ")
            line = f"{head} [{platform} {delivery}]: {rest}"
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ts, level, logger, message, platform, delivery_id (+ exc)."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        platform, delivery = getattr(record, "platform", ""), getattr(record, "delivery_id", "")
        if platform or delivery:
            data["platform"], data["delivery_id"] = platform, delivery
        if record.exc_info:
            data["exc"] = record.exc_text or redact(self.formatException(record.exc_info))
        return json.dumps(data, ensure_ascii=False)


def mask_config_secrets(config: Config) -> None:
    """Mask every secret of ``config`` (tokens, the database password) in log lines from now on."""
    from urllib.parse import urlsplit

    values: list[str | None] = []
    with contextlib.suppress(ValueError):
        values.append(urlsplit(config.database.url).password)
    for name in ("slack", "dingtalk", "wecom", "feishu", "dashboard"):
        section = getattr(config, name, None)
        if section is not None:
            values += [value.get_secret_value() for _field, value in section if isinstance(value, SecretStr)]
    register_secrets(values)


def handler(fmt: str = "text", stream: Any = None) -> logging.Handler:
    """A handler that tags, masks and formats (``fmt``: text | json)."""
    made = logging.StreamHandler(stream or sys.stderr)
    made.addFilter(EventContextFilter())
    made.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    return made


def _masked_excepthook(kind: type[BaseException], value: BaseException, tb: Any) -> None:
    """An uncaught error's traceback, with secrets masked like every log line."""
    sys.stderr.write(redact("".join(traceback.format_exception(kind, value, tb))))


def setup(level: str = "INFO", fmt: str = "text", stream: Any = None) -> logging.Handler:
    """Replace the root logger's handlers with ``handler(fmt, stream)``; uncaught tracebacks are masked too."""
    sys.excepthook = _masked_excepthook
    handler_ = handler(fmt, stream)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler_)
    root.setLevel(level.upper())
    return handler_
