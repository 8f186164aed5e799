"""Reading a change request: top-level ``field: value`` lines and one line per changed subtask.

    变更申请 XZB2026112301
    变更原因：客户临时增加1支短视频需求
    新目标：完成3款海报和1支短视频
    影响：设计部工作量增加，整体顺延两天
    截止：2026-12-24
    -01 截止：2026-12-12 负责人：anna 交付标准：600DPI
    -02 截止：2026-12-18

A subtask line starts with its id (``XZB2026112301-01``, ``-01`` or ``#01``); lines right after it that
start with a subtask field (deadline / owner / standard) belong to it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.router import TypedText, normalize_with_map

from ..common.fields import FieldSet, parse_fields

CHANGE_FIELDS = FieldSet(
    {
        "reason": ("reason", "change reason", "变更原因", "原因"),
        "goal": ("goal", "new goal", "新目标", "变更后目标", "目标"),
        "impact": ("impact", "影响", "变更影响", "影响范围"),
        "deadline": ("deadline", "collaboration deadline", "协作截止", "总截止", "截止", "截止时间"),
        "changes": ("changes", "subtasks", "子任务变更", "变更内容"),
    }
)
ITEM_FIELDS = FieldSet(
    {
        "deadline": ("deadline", "new deadline", "截止", "截止时间", "新截止"),
        "owner": ("owner", "new owner", "负责人", "新负责人"),
        "standard": ("standard", "delivery standard", "交付标准", "验收标准"),
    }
)

_ITEM_LINE = re.compile(r"^\s*(?:([A-Za-z]{1,8}\d{10,12})-(\d{2,3})|[-#](\d{2,3})|(?:子任务|subtask)\s*(\d{1,3}))\b\s*:?\s*(.*)$", re.I)


@dataclass(slots=True)
class ItemText:
    ref: str  # "01" or the full code
    text: str
    values: dict[str, str] = field(default_factory=dict)


def _starts_with_field(line: str, fields: FieldSet) -> bool:
    match = fields.pattern().search(line.strip())
    return match is not None and match.start() == 0


def split_items(text: str) -> tuple[list[str], list[ItemText]]:
    """(top-level lines, subtask items) of a change request's text."""
    top: list[str] = []
    items: list[ItemText] = []
    current: ItemText | None = None
    typed = text.original if isinstance(text, TypedText) else text
    for raw in typed.strip().splitlines():  # what was typed stays as typed: parse_fields reads values from it
        line, positions = normalize_with_map(raw)
        match = _ITEM_LINE.match(line.strip())
        if match:
            lead = len(line) - len(line.lstrip())
            start = lead + match.start(5)
            ref = f"{match.group(1).upper()}-{match.group(2)}" if match.group(1) else (match.group(3) or match.group(4))
            current = ItemText(ref, raw[positions[start]:] if start < len(positions) else "")
            items.append(current)
        elif current is not None and _starts_with_field(line, ITEM_FIELDS):
            current.text += "\n" + raw
        else:
            current = None
            top.append(raw)
    for item in items:
        _head, item.values = parse_fields(item.text, ITEM_FIELDS)
    return top, items


def parse_change(text: str) -> tuple[str, dict[str, str], list[ItemText]]:
    """(head, top-level fields, items). A ``changes:`` field (the form's textarea) holds more item lines."""
    top, items = split_items(text)
    head, values = parse_fields("\n".join(top), CHANGE_FIELDS)
    extra = values.pop("changes", "")
    if extra:
        more_top, more_items = split_items(extra)
        items += more_items
        if any(line.strip() for line in more_top):
            values["_unparsed"] = "\n".join(line for line in more_top if line.strip())
    return head, values, items
