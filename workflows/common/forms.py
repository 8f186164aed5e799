"""Asking for a form: a modal or an inline form where the platform has forms, its one-message template everywhere.

A form is for the one person who asked for it: ``ask`` posts the form card to that person (in the direct chat
with the bot, or where they already are when that is a direct chat), never to the whole group, and says so
in the group with a note only they see where the platform can. The card carries a key, and the form's
``value`` names it (``form_card``); once a submission is accepted, ``closing`` brings every copy of the card
to "submitted by …" without the form, so a used form cannot be sent twice.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import Any

from bot.errors import TransitionNotAllowed
from bot.i18n import _, join
from bot.router import Context, Route, Router
from bot.types import Card, EventKind, Form, Outcome, ToPerson
from storage.models import CardRecord

from .format import when

FORM_CARD = "form_card"  # the key, in a form's value, of the card that shows the form


def form_card(form: Form, *lead: Any) -> Card:
    """The form as a card: ``lead`` lines, then the template people can copy, fill in and send."""
    return Card(
        title=form.title,
        body=join([*lead, _("Reply with one message like this, one line per field (or use the form where your chat shows one):"), form.template]),
        form=form,
        color="blue",
    )


def _card_key(ctx: Context) -> str:
    digest = hashlib.sha1(f"{ctx.event.platform}:{ctx.event.delivery_id}".encode()).hexdigest()[:20]
    return f"form:{digest}"


def ask(form: Form, *lead: Any, ctx: Context | None = None) -> Outcome:
    """The form card for the person who asked (a direct message when they asked in a group), opened at once
    as a modal where the platform can (Slack). Without ``ctx`` the card is a plain reply where they asked."""
    if ctx is None or ctx.actor is None or ctx.event.conversation is None:
        outcome = Outcome().reply(form_card(form, *lead))
        outcome.open_form = form
        return outcome
    key = _card_key(ctx)
    form = replace(form, value={**form.value, FORM_CARD: key})
    card = form_card(form, *lead)
    card.key = key
    outcome = Outcome()
    if ctx.event.conversation.is_direct:
        outcome.reply(card)
    else:
        outcome.send(ToPerson(ctx.actor.id), card)
        outcome.reply(_("I sent you the form “{title}” in a direct message: only you see it.", title=form.title), ephemeral=True)
    outcome.open_form = form
    return outcome


def closed_card(ctx: Context, key: str, title: Any) -> Card:
    """A used form card: who submitted it and when; no form, no buttons."""
    name = ctx.actor.name if ctx.actor else "?"
    return Card(
        key=key,
        title=title,
        status=_("✅ Submitted by {name} at {time}. This form is closed.", name=name, time=when(ctx.now, ctx.config.bot.timezone)),
        color="grey",
    )


def _closing(route: Route) -> Route:
    async def handler(ctx: Context) -> Outcome | None:
        event = ctx.event
        key = event.value.get(FORM_CARD) if event.kind is EventKind.FORM else None
        # locked: of two submissions at once (two modals, two processes), the second waits and then finds the form closed
        record = await CardRecord.filter(key=key).select_for_update().first() if isinstance(key, str) and key.startswith("form:") else None
        if record is not None and (record.content or {}).get("form") is None:
            # a second modal opened from the same card, or a stale copy: the form was used already
            raise TransitionNotAllowed(_("This form was already submitted. Nothing was changed."))
        outcome = await Router.call(route, ctx)
        if outcome is not None and record is not None and not outcome.form_errors:
            outcome.update(closed_card(ctx, record.key, Card.from_json(record.content).title))
        return outcome

    return Route(handler, ("ctx",), route.name)


def closing(router: Router) -> Router:
    """Make every form of ``router`` close the card it came from once a submission is accepted (a refused
    one rolls back and leaves the form open, to be corrected)."""
    for name, route in list(router.forms.items()):
        router.forms[name] = _closing(route)
    return router


def answer_typed(ctx: Context, outcome: Outcome, message: Any) -> Outcome:
    """A decision typed in a group (``通过 XZB…-01``, ``接受 XZB…``) is answered there, to the one who typed it:
    its cards change elsewhere (the reviewer's DM, the group's card far up). In a direct chat the card there
    already shows the decision, so nothing is added."""
    conversation = ctx.event.conversation
    if ctx.event.kind is EventKind.COMMAND and conversation is not None and not conversation.is_direct:
        outcome.reply(message, ephemeral=True)
    return outcome
