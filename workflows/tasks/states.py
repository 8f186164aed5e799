"""A subtask's stage (未开始 / 执行中 / 待验收 / 已完成)."""

from __future__ import annotations

from bot.i18n import _
from bot.states import StateMachine


class SubtaskFlow(StateMachine):
    field = "stage"
    labels = {
        "not_started": _("not started"),
        "in_progress": _("in progress"),
        "in_review": _("awaiting acceptance"),
        "done": _("done"),
    }
    transitions = {
        "start": (("not_started",), "in_progress"),
        "progress": (("not_started", "in_progress"), "in_progress"),
        "submit": (("not_started", "in_progress"), "in_review"),
        "fail": (("in_review",), "in_progress"),
        "pass": (("in_review",), "done"),
    }
    final = ("done",)
