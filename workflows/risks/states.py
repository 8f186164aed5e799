"""Risk reports, issues and delay notices as state machines."""

from __future__ import annotations

from bot.i18n import _
from bot.states import StateMachine


class RiskFlow(StateMachine):
    labels = {"open": _("waiting for a response"), "escalated": _("escalated"), "responded": _("responded")}
    transitions = {
        "escalate": (("open",), "escalated"),
        "respond": (("open", "escalated"), "responded"),
    }
    final = ("responded",)


class IssueFlow(StateMachine):
    labels = {"open": _("open"), "resolved": _("resolved")}
    transitions = {
        "escalate": (("open",), "open"),
        "resolve": (("open",), "resolved"),
    }
    final = ("resolved",)


class DelayFlow(StateMachine):
    labels = {
        "pending": _("waiting for the initiator"),
        "confirmed": _("confirmed"),
        "rejected": _("rejected"),
        "withdrawn": _("superseded"),
    }
    transitions = {
        "confirm": (("pending",), "confirmed"),
        "reject": (("pending",), "rejected"),
        "withdraw": (("pending",), "withdrawn"),
    }
    final = ("confirmed", "rejected", "withdrawn")
