"""An improvement's status (未开始 / 进行中 / 已完成)."""

from __future__ import annotations

from bot.i18n import _
from bot.states import StateMachine


class ImprovementFlow(StateMachine):
    field = "status"
    labels = {"not_started": _("not started"), "in_progress": _("under way"), "done": _("done")}
    transitions = {
        "start": (("not_started",), "in_progress"),
        "finish": (("not_started", "in_progress"), "done"),
    }
    final = ("done",)
