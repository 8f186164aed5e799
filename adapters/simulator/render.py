"""Localized ``Card``/``Text`` → the JSON the simulator page draws (pure)."""

from __future__ import annotations

from typing import Any

from bot.platform import Mention
from bot.types import Card, Text


def render(content: Card | Text, mentions: list[Mention]) -> dict[str, Any]:
    data = content.to_json()
    data["mentions"] = [m.name for m in mentions]
    return data
