"""A meeting and its minutes as state machines."""

from __future__ import annotations

from bot.i18n import _
from bot.states import StateMachine


class MeetingFlow(StateMachine):
    labels = {"scheduled": _("scheduled"), "minuted": _("minutes submitted"), "confirmed": _("minutes confirmed")}
    transitions = {
        "minute": (("scheduled", "minuted"), "minuted"),
        "confirm": (("minuted",), "confirmed"),
    }
    final = ("confirmed",)


class MinutesFlow(StateMachine):
    labels = {
        "pending": _("waiting for the attendees to confirm"),
        "confirmed": _("confirmed by the attendees"),
        "disputed": _("correction requested"),
        "superseded": _("superseded by a newer version"),
    }
    transitions = {
        "confirm": (("pending",), "confirmed"),
        "dispute": (("pending",), "disputed"),
        "supersede": (("pending", "disputed"), "superseded"),
    }
    final = ("confirmed", "superseded")
