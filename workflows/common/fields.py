"""``field: value`` text (one message, any order, English or Chinese keys) → a dict of canonical fields.

Works for one field per line and for several on one line
(``progress XZB…-01 60% done: wrote copy problems: none``). The text before
the first key is returned as the positional part (usually an id).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from bot.dates import parse_date
from bot.errors import InvalidInput
from bot.i18n import _, join
from bot.router import TypedText, normalize_with_map

_CJK = re.compile(r"[\u3400-\u9fff]")


@dataclass(frozen=True, slots=True)
class FieldSet:
    """The fields one form understands: canonical name → accepted spellings."""

    aliases: dict[str, tuple[str, ...]]
    _built: list[tuple[re.Pattern[str], dict[str, str]]] = field(default_factory=list, init=False, repr=False, compare=False)

    def _parts(self) -> tuple[re.Pattern[str], dict[str, str]]:
        if not self._built:  # built on first use and kept: every message a form reads goes through here
            spellings = sorted({a.lower() for names in self.aliases.values() for a in (*names,)}, key=len, reverse=True)
            alternatives = "|".join(re.escape(s) for s in spellings)
            pattern = re.compile(rf"(?:^|(?<=[\s,;]))({alternatives})\s*:", re.I | re.M)
            names: dict[str, str] = {}
            for name, spelled in self.aliases.items():
                for spelling in spelled:
                    names.setdefault(spelling.lower(), name)
            self._built.append((pattern, names))
        return self._built[0]

    def pattern(self) -> re.Pattern[str]:
        return self._parts()[0]

    def canonical(self, spelling: str) -> str:
        return self._parts()[1][spelling.lower()]


def _as_typed(typed: str, normal: str, positions: list[int], start: int, end: int) -> str:
    """The value between ``start`` and ``end`` of the normalized text, as the person typed it (separators around it trimmed)."""
    while start < end and (normal[start].isspace() or normal[start] in ",;"):
        start += 1
    while end > start and (normal[end - 1].isspace() or normal[end - 1] in ",;"):
        end -= 1
    return typed[positions[start] : positions[end - 1] + 1] if start < end else ""


def parse_fields(text: str, fields: FieldSet) -> tuple[str, dict[str, str]]:
    """Split ``text`` into its positional head and its known fields."""
    typed = text.original if isinstance(text, TypedText) else text
    text, positions = normalize_with_map(typed)
    matches = list(fields.pattern().finditer(text))
    head = text[: matches[0].start()] if matches else text
    values: dict[str, str] = {}
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        name = fields.canonical(match.group(1))
        value = _as_typed(typed, text, positions, match.end(), end)
        if name in values and value:
            values[name] = f"{values[name]}\n{value}"
        else:
            values[name] = value
    head = head.strip()
    unknown = re.search(r"^\s*([^\s:]{1,20})\s*:(?!//)\s*\S", head, re.M)
    if unknown:
        raise InvalidInput(
            _(
                "Unknown field “{name}”. Known fields: {known}.",
                name=unknown.group(1),
                known=join([names[0] for names in fields.aliases.values()], ", "),
                known_zh=join([next((n for n in names if _CJK.search(n)), names[0]) for names in fields.aliases.values()], ", "),
            ),
            field=unknown.group(1),
        )
    return head, values


def require(values: dict[str, str], name: str, label: object) -> str:
    value = (values.get(name) or "").strip()
    if not value:
        raise InvalidInput(_("The field “{label}” is missing. Add a line “{label}: …”.", label=label), field=name)
    return value


def split_list(value: str) -> list[str]:
    """``"市场部, 设计部、研发部"`` → three items (comma, 、, semicolon, slash, newline)."""
    return [item.strip() for item in re.split(r"[,，、;；/\n]+|\s+and\s+|\s*和\s*", value or "") if item.strip()]


# the spellings of a date range's two fields, for the forms that take one (搜索, 导出)
DATE_RANGE: dict[str, tuple[str, ...]] = {"from": ("from", "since", "从", "开始"), "to": ("to", "until", "至", "到", "结束")}


def read_date(text: str, today: date, field: str, *, nearest: bool = False) -> date:
    """``parse_date`` with the form field named, so a form shows the error next to it (``nearest``: a range looked
    up, where a year-less day is the closest one, not the next one)."""
    try:
        return parse_date(text, today, nearest=nearest)
    except InvalidInput as error:
        error.field = field
        raise
