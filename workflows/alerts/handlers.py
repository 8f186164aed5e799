"""The alerts area's router: missed-clock reports, SLA reminders/escalations, deadline colours and alerts."""

from __future__ import annotations

import importlib

from bot.router import Router

from . import deadlines, missed, sla
from .deadlines import materialize

router = Router()
router.include(missed.router)
router.include(deadlines.router)


def _handled_elsewhere() -> set[str]:
    """Timer kinds another area already handles: if a core workflow takes over an SLA kind, it wins."""
    from workflows.registry import AREAS

    kinds: set[str] = set()
    for name in AREAS:
        if name.startswith("workflows.alerts"):
            continue
        module = importlib.import_module(name)
        kinds |= set(getattr(getattr(module, "router", None), "timers", {}))
    return kinds


_taken = _handled_elsewhere()
for _kind, _route in sla.router.timers.items():
    if _kind not in _taken:
        router.timers[_kind] = _route

__all__ = ["materialize", "router"]
