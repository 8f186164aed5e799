"""The collaboration request and each requested department's answer, as state machines."""

from __future__ import annotations

from bot.i18n import _
from bot.states import StateMachine


class CollaborationFlow(StateMachine):
    labels = {
        "pending": _("awaiting departments"),
        "active": _("active"),
        "completed": _("completed"),
        "archived": _("archived"),
        "cancelled": _("cancelled"),
    }
    transitions = {
        "activate": (("pending",), "active"),
        "rescope": (("pending",), "pending"),
        "reroute": (("pending",), "pending"),
        "cancel": (("pending", "active"), "cancelled"),
        "complete": (("active",), "completed"),
        "archive": (("completed",), "archived"),
    }
    final = ("archived", "cancelled")


class DepartmentAnswerFlow(StateMachine):
    labels = {
        "pending": _("waiting for an answer"),
        "accepted": _("accepted"),
        "declined": _("declined"),
        "withdrawn": _("withdrawn"),
    }
    transitions = {
        "accept": (("pending",), "accepted"),
        "decline": (("pending",), "declined"),
        "reopen": (("pending", "accepted", "declined"), "pending"),
        "withdraw": (("pending", "declined", "accepted"), "withdrawn"),
    }
