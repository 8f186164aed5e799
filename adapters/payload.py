"""Typed reads of platform payloads: the right type, nothing, or ``MalformedPayload``.

Platforms send JSON (or XML, or form fields) whose shape we trust only after
reading it: a field that should hold an object may hold a string, a list may
be a number. Parsers read every field through these helpers, so a payload of
the wrong shape becomes one typed refusal instead of a ``TypeError`` deep in
a handler.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from bot.errors import MalformedPayload

P = ParamSpec("P")
R = TypeVar("R")


def obj(value: Any, what: str) -> dict[str, Any]:
    """An object field: ``{}`` when absent or null, the dict itself, else a refusal."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    raise MalformedPayload(f"{what} is {type(value).__name__}, not an object")


def items(value: Any, what: str) -> list[Any]:
    """A list field: ``[]`` when absent or null, the list itself, else a refusal."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    raise MalformedPayload(f"{what} is {type(value).__name__}, not a list")


def text(value: Any, what: str) -> str | None:
    """A string field (an id, a name, a timestamp): ``None`` when absent, numbers as their digits, else a refusal."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise MalformedPayload(f"{what} is {type(value).__name__}, not a string")


def integer(value: Any, what: str, default: int = 0) -> int:
    """A whole number, given as a number or as its digits; a refusal for anything else."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise MalformedPayload(f"{what} is a boolean, not a number")
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise MalformedPayload(f"{what} is not a whole number") from exc


def json_object(raw: bytes | str, what: str) -> dict[str, Any]:
    """A body that must be one JSON object in UTF-8."""
    try:
        decoded = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        value = json.loads(decoded)
    except UnicodeDecodeError as exc:
        raise MalformedPayload(f"{what} is not UTF-8") from exc
    except ValueError as exc:
        raise MalformedPayload(f"{what} is not JSON") from exc
    if not isinstance(value, dict):
        raise MalformedPayload(f"{what} is {type(value).__name__}, not an object")
    return value


def refuses_malformed(parser: Callable[P, R]) -> Callable[P, R]:
    """A pure parser whose wrong-typed input ends in ``MalformedPayload``, whatever line it trips on.

    The parsers read through the helpers above; this is the net under them, so a shape nobody
    foresaw is still refused rather than crashing the request.
    """

    @functools.wraps(parser)
    def parse(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return parser(*args, **kwargs)
        except MalformedPayload:
            raise
        except (TypeError, AttributeError, KeyError, ValueError, IndexError) as exc:
            raise MalformedPayload(f"{parser.__name__}: {type(exc).__name__}: {exc}") from exc

    return parse
