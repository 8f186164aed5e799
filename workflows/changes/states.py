"""The change request and the subtask stage reset a changed delivery standard causes."""

from __future__ import annotations

from bot.i18n import _
from bot.states import StateMachine


class ChangeFlow(StateMachine):
    labels = {
        "pending": _("waiting for confirmations"),
        "applied": _("confirmed by all and applied"),
        "rejected": _("rejected"),
        "withdrawn": _("withdrawn"),
    }
    transitions = {
        "apply": (("pending",), "applied"),
        "reject": (("pending",), "rejected"),
        "withdraw": (("pending",), "withdrawn"),
    }
    final = ("applied", "rejected", "withdrawn")


class AcceptanceReset(StateMachine):
    """A new delivery standard sends a subtask back to work: what was accepted was accepted against the old one."""

    field = "stage"
    transitions = {"reset": (("in_review", "done"), "in_progress")}
