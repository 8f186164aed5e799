"""Localized ``Card``/``Text`` → the JSON the simulator page draws (pure)."""

from __future__ import annotations

from typing import Any

from bot.platform import Mention
from bot.types import Card, FileContent, Text


def render(content: Card | Text | FileContent, mentions: list[Mention]) -> dict[str, Any]:
    """The stored message; a file keeps its bytes (base64) and the API serves them at ``/sim/api/files/{id}``."""
    data = content.to_json()
    data["mentions"] = [m.name for m in mentions]
    return data
