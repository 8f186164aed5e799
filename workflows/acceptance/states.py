"""The state machine of one acceptance submission."""

from __future__ import annotations

from bot.i18n import _
from bot.states import StateMachine


class AcceptanceFlow(StateMachine):
    labels = {"pending": _("awaiting verdict"), "passed": _("passed"), "failed": _("failed")}
    transitions = {"pass": (("pending",), "passed"), "fail": (("pending",), "failed")}
    final = ("passed", "failed")
