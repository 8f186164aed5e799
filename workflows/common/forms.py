"""Asking for a form: a modal or an inline form where the platform has forms, its one-message template everywhere."""

from __future__ import annotations

from typing import Any

from bot.i18n import _, join
from bot.types import Card, Form, Outcome


def form_card(form: Form, *lead: Any) -> Card:
    """The form as a card: ``lead`` lines, then the template people can copy, fill in and send."""
    return Card(
        title=form.title,
        body=join([*lead, _("Reply with one message like this, one line per field (or use the form where your chat shows one):"), form.template]),
        form=form,
        color="blue",
    )


def ask(form: Form, *lead: Any) -> Outcome:
    """Reply with the form card and open the form at once where the platform can (a Slack modal)."""
    outcome = Outcome().reply(form_card(form, *lead))
    outcome.open_form = form
    return outcome
