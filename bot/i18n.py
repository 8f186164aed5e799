"""Translation: lazy messages that are localized for whoever finally reads them.

Handlers build cards and replies before they know every reader (a card posted to
a Chinese group and an English DM at once), so user-facing text is a ``Msg``:
a gettext msgid plus its arguments. ``localize`` turns a ``Msg`` (or any nested
structure holding them) into text for one locale. ``_`` is the marker Babel's
extractor looks for; every user-facing string in the code goes through it.

Catalogs live in ``locales/<locale>/LC_MESSAGES/*.po``; every ``.po`` file of a
locale is read and merged, so each area can keep its own file.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DEFAULT_LOCALE = "zh_CN"
SUPPORTED_LOCALES = ("zh_CN", "en")

_LOCALE_ALIASES = {
    "zh": "zh_CN",
    "zh_cn": "zh_CN",
    "zh-cn": "zh_CN",
    "zh-hans": "zh_CN",
    "cn": "zh_CN",
    "中文": "zh_CN",
    "en": "en",
    "en_us": "en",
    "en-us": "en",
    "en_gb": "en",
    "english": "en",
    "英文": "en",
}


def normalize_locale(value: str | None) -> str | None:
    """Map a user's or platform's locale spelling to a supported locale, or None."""
    if not value:
        return None
    return _LOCALE_ALIASES.get(value.strip().lower().replace(" ", ""))


@dataclass(frozen=True, slots=True)
class Msg:
    """A translatable message: ``msgid`` with ``{name}`` placeholders and their values.

    Values may themselves be ``Msg`` objects (localized recursively) or any
    value with a ``__str__``.
    """

    msgid: str
    args: Mapping[str, Any] = field(default_factory=dict)

    def json_shape(self) -> dict[str, Any]:
        """``to_json``'s dict with the arguments as they are (``to_json`` / ``json_text`` finish them)."""
        return {"$m": self.msgid, "a": self.args}

    def to_json(self) -> dict[str, Any]:
        return to_json(self.json_shape())

    def __str__(self) -> str:  # a Msg printed by accident still reads as something
        return localize(self, DEFAULT_LOCALE)


@dataclass(frozen=True, slots=True)
class Join:
    """Several texts joined by ``sep`` after localization (lines of a card body)."""

    parts: tuple[Any, ...]
    sep: str = "\n"

    def json_shape(self) -> dict[str, Any]:
        """``to_json``'s dict with the parts as they are (``to_json`` / ``json_text`` finish them)."""
        return {"$j": self.parts, "s": self.sep}

    def to_json(self) -> dict[str, Any]:
        return to_json(self.json_shape())


# ``join(items, ", ")`` is a list of names or things: Chinese lists them with the enumeration comma.
LIST_SEPARATORS = {"zh_CN": "、"}


def _(msgid: str, /, **args: Any) -> Msg:
    """Mark ``msgid`` for translation; ``args`` fill its ``{placeholders}``."""
    return Msg(msgid, args)


def join(parts: Iterable[Any], sep: str = "\n") -> Join:
    return Join(tuple(p for p in parts if p is not None and p != ""), sep)


_SCALARS = frozenset({str, int, float, bool, type(None)})


def to_json(value: Any) -> Any:
    """Serialize a structure that may hold ``Msg``/``Join`` into plain JSON (for the outbox)."""
    if type(value) in _SCALARS:  # most of a card: checked first, a card holds thousands
        return value
    if isinstance(value, Msg | Join):
        return value.to_json()
    if isinstance(value, Mapping):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    shape = getattr(value, "json_shape", None)
    if shape is not None:
        return to_json(shape())
    return value


def _one_level(value: Any) -> Any:
    """The ``default`` of ``json_text``'s encoder: an object with a ``json_shape()`` (a message, a join, a card,
    a card's field) as ``to_json`` shapes it, one level deep (the encoder comes back for the values it holds)."""
    if isinstance(value, Mapping):
        return dict(value)
    shape = getattr(value, "json_shape", None)
    if shape is not None:
        return shape()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


json_text = json.JSONEncoder(separators=(",", ":"), default=_one_level).encode
"""``json_text(value)`` is ``json.dumps(to_json(value), separators=(",", ":"))`` — the text tortoise's
``JSONField`` stores for ``to_json(value)`` — written in one pass, without building ``to_json``'s copy first."""


def from_json(value: Any) -> Any:
    """Inverse of ``to_json``."""
    if isinstance(value, dict):
        if "$m" in value:
            return Msg(value["$m"], {k: from_json(v) for k, v in value.get("a", {}).items()})
        if "$j" in value:
            return Join(tuple(from_json(p) for p in value["$j"]), value.get("s", "\n"))
        return {k: from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_json(v) for v in value]
    return value


class Catalog:
    """All messages of one locale, merged from every ``.po`` file of that locale."""

    def __init__(self, locale: str, messages: dict[str, str]):
        self.locale = locale
        self.messages = messages

    def gettext(self, msgid: str) -> str:
        return self.messages.get(msgid) or msgid


@functools.cache
def catalog(locale: str) -> Catalog:
    messages: dict[str, str] = {}
    folder = LOCALES_DIR / locale / "LC_MESSAGES"
    for po_path in sorted(folder.glob("*.po")):
        with po_path.open("rb") as handle:
            po = read_po(handle, locale=locale)
        for message in po:
            if message.id and isinstance(message.id, str) and message.string and not message.fuzzy:
                messages[message.id] = str(message.string)
    return Catalog(locale, messages)


def preload() -> None:
    """Read every supported locale's catalogs now (blocking: call it in a thread at start-up), so the first
    reply does not stall the event loop for the second it takes to parse them."""
    for locale in SUPPORTED_LOCALES:
        catalog(locale)


class _SafeArgs(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def localize(value: Any, locale: str | None) -> Any:
    """Localize ``value`` (a ``Msg``, ``Join``, or containers of them) for ``locale``."""
    loc = normalize_locale(locale) or DEFAULT_LOCALE
    if isinstance(value, Msg):
        text = catalog(loc).gettext(value.msgid)
        args = _SafeArgs({k: localize(v, loc) for k, v in value.args.items()})
        try:
            return text.format_map(args)
        except (ValueError, IndexError, AttributeError):
            return text
    if isinstance(value, Join):
        sep = LIST_SEPARATORS.get(loc, value.sep) if value.sep == ", " else value.sep
        return sep.join(str(localize(p, loc)) for p in value.parts)
    if isinstance(value, list | tuple):
        return [localize(v, loc) for v in value]
    if isinstance(value, Mapping):
        return {k: localize(v, loc) for k, v in value.items()}
    return value


def text(value: Any, locale: str | None) -> str:
    """Localize to a plain string ("" for None)."""
    if value is None:
        return ""
    return str(localize(value, locale))
