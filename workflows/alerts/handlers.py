"""The alerts area's router: missed-clock reports (and, below, deadline alerts)."""

from __future__ import annotations

from bot.router import Router

from . import missed

router = Router()
router.include(missed.router)
