"""Acceptance against the delivery standard as a checklist (交付标准逐项验收).

The 交付标准 of a subtask is split into items — "300DPI、750×1500px；品牌VI色" gives ``300DPI``,
``750×1500px`` and ``品牌VI色`` — on 、，,；; and line breaks (an ASCII comma between two digits, as in
``1,000px``, does not split), each item's text kept exactly as typed. The owner ticks each item when
submitting (form checkboxes, or the typed self-check below); the reviewer passes every item or fails naming
the items that fail. Each submission stores its own items (``AcceptanceRequest.checklist``), so a later
change of the standard does not rewrite the history.

The typed self-check (``自检：`` / ``self-check:``), one or more parts separated by ；; or line breaks:

- ``自检：1、2 通过；3 未通过`` — items by number (as the card numbers them; ranges like ``1-3`` too),
  ``通过/符合/✓`` or ``未通过/不符合/✗`` after them (no word means ticked);
- ``自检：300DPI 通过`` — an item by its text works as well as its number;
- ``自检：全部通过`` / ``self-check: all pass`` — every item (also ``均符合``、``符合交付标准``);
- any other text is kept as the self-check note, and the items stay unticked ("not stated").

The typed failed items of a verdict: ``不通过 XZB…-01 不通过项：2、3 意见：…`` (numbers or texts). A fail
that names no item names the items whose text the comments quote, and otherwise fails every item.
"""

from __future__ import annotations

import re
from typing import Any

from bot.i18n import Msg, _, join

_SEPARATORS = re.compile(r"[、，；;\n\r]+|(?<!\d),|,(?!\d)")
_PARTS = re.compile(r"[；;\n\r]+")
_RANGE = re.compile(r"(?<![0-9A-Za-z.×])(\d{1,2})\s*(?:-|~|～|到|至)\s*(\d{1,2})(?![0-9A-Za-z.×%])")
_NUMBER = re.compile(r"(?<![0-9A-Za-z.×xX*])(\d{1,2})(?![0-9A-Za-z.×%])")
_NEGATIVE = re.compile(r"未通过|不通过|没通过|不符合|未符合|未达到|没达到|不满足|未满足|未完成|不合格|✗|❌|\bfail(?:ed|s)?\b|\bnot\b|\bno\b", re.I)
_ALL = re.compile(r"全部|所有|均|都|全都|每项|各项|符合交付标准|\ball\b|\bevery\b|\beach\b|meets the standard", re.I)
_POSITIVE_ONLY = re.compile(r"^\s*(通过|符合|合格|已自检|ok|yes|pass(?:ed)?|✓|✅)\s*$", re.I)

SELF_CHECK_MARK = {True: "✓", False: "✗", None: "—"}
RESULT_MARK = {"passed": "✅", "failed": "❌", None: "⏳"}


def checklist_items(standard: str | None) -> list[str]:
    """The items of a delivery standard, each as typed (only the spaces around it dropped)."""
    return [part.strip() for part in _SEPARATORS.split(standard or "") if part.strip()]


def new_checklist(items: list[str]) -> list[dict[str, Any]]:
    return [{"item": item, "self_check": None, "result": None} for item in items]


def _referenced(part: str, items: list[str]) -> set[int]:
    """Item indexes (0-based) that ``part`` names, by text or by number."""
    found: set[int] = set()
    rest = part
    for index in sorted(range(len(items)), key=lambda i: -len(items[i])):  # longest first: "300DPI" before "300"
        if items[index] and items[index] in rest:
            found.add(index)
            rest = rest.replace(items[index], " ")
    for match in _RANGE.finditer(rest):  # "1-3", "1～3", "1到3"
        low, high = sorted((int(match.group(1)), int(match.group(2))))
        found.update(number - 1 for number in range(low, high + 1) if 1 <= number <= len(items))
    rest = _RANGE.sub(" ", rest)
    for match in _NUMBER.finditer(rest):
        number = int(match.group(1))
        if 1 <= number <= len(items):
            found.add(number - 1)
    return found


def parse_marks(text: str, items: list[str]) -> dict[int, bool] | None:
    """What a typed self-check (or failed-items line) says per item: index → ticked. None: it names no item."""
    marks: dict[int, bool] = {}
    stated = False
    for part in _PARTS.split(text or ""):
        if not part.strip():
            continue
        positive = _NEGATIVE.search(part) is None
        referenced = _referenced(part, items)
        if referenced:
            stated = True
            for index in referenced:
                marks[index] = positive
        elif _ALL.search(part) or _POSITIVE_ONLY.match(part):
            stated = True
            for index in range(len(items)):
                marks.setdefault(index, positive)
    return marks if stated else None


def self_checked(checklist: list[dict[str, Any]], ticked: dict[int, bool] | None) -> list[dict[str, Any]]:
    """The checklist with the owner's ticks; an item the owner did not mention is unticked once any is stated."""
    if ticked is None:
        return checklist
    return [{**row, "self_check": ticked.get(index, False)} for index, row in enumerate(checklist)]


def ticked_from_form(value: Any, items: list[str]) -> dict[int, bool]:
    """Checkbox values (item numbers as strings, or item texts) → index → ticked, every item stated."""
    chosen = {str(v).strip() for v in (value if isinstance(value, list) else str(value or "").split(",")) if str(v).strip()}
    return {index: str(index + 1) in chosen or item in chosen for index, item in enumerate(items)}


def failed_indexes(named: Any, comments: str, items: list[str]) -> set[int]:
    """The items a fail names: ticked boxes or a typed list; else those the comments quote; else all of them."""
    if isinstance(named, list):
        chosen = ticked_from_form(named, items)
        failed = {index for index, ticked in chosen.items() if ticked}
    else:
        marks = parse_marks(str(named or ""), items)
        failed = {index for index, _mark in (marks or {}).items()}
    if not failed:
        failed = {index for index, item in enumerate(items) if item and item in comments}
    return failed or set(range(len(items)))


def judged(checklist: list[dict[str, Any]], passed: bool, failed: set[int]) -> list[dict[str, Any]]:
    return [{**row, "result": "passed" if passed or index not in failed else "failed"} for index, row in enumerate(checklist)]


def failed_items(checklist: list[dict[str, Any]]) -> list[str]:
    return [row["item"] for row in checklist if row.get("result") == "failed"]


def checklist_lines(checklist: list[dict[str, Any]]) -> list[Msg]:
    """One line per item: number, text as typed, the owner's self-check, the reviewer's verdict."""
    return [
        _(
            "{n}. {item} — self-check {self_check}, verdict {result}",
            n=index,
            item=row["item"],
            self_check=SELF_CHECK_MARK.get(row.get("self_check"), "—"),
            result=RESULT_MARK.get(row.get("result"), "⏳"),
        )
        for index, row in enumerate(checklist, start=1)
    ]


def checklist_body(checklist: list[dict[str, Any]]) -> Any:
    if not checklist:
        return None
    return join([_("**Delivery standard, item by item:**"), *checklist_lines(checklist)])
