"""§7 Meetings: the notice (notice.py) and the minutes (minutes.py), each with its own router."""

from __future__ import annotations

from bot.router import Router

from . import minutes, notice

router = Router()
router.include(notice.router)
router.include(minutes.router)
