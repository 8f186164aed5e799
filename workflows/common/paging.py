"""Pages of a long list in chat: ``show XZB… page 2`` / ``查看 XZB… 第2页``."""

from __future__ import annotations

import math
import re

PAGE = re.compile(r"(?:\bpage\s*|\bp\s*|第\s*)(\d{1,4})\s*页?", re.IGNORECASE)


def page_number(text: str) -> tuple[int, str]:
    """``"XZB… page 2"`` / ``"XZB… 第2页"`` → (2, the rest); no page → (1, text)."""
    match = PAGE.search(text or "")
    if not match:
        return 1, text
    return max(1, int(match.group(1))), (text[: match.start()] + text[match.end() :]).strip()


def page_count(total: int, size: int) -> int:
    return max(1, math.ceil(total / size))
