"""§4 Risks (《风险说明》), issue tiers (分级响应) and delay notices.

``from_blocker(ctx, answer)`` is the stand-up's one-click entry: a blocker from the digest becomes a risk.
"""

from __future__ import annotations

from typing import Any

from bot.router import Context
from bot.types import Outcome


async def from_blocker(ctx: Context, answer: Any) -> Outcome:
    """A stand-up answer's blocker (``StandupAnswer`` with ``person`` loaded) → a risk report, in one click."""
    from .handlers import raise_from_blocker

    return await raise_from_blocker(ctx, answer)
