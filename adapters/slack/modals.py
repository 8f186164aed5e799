"""Forms behind card buttons: a click on a form button opens, as a modal, the form the posted card holds
(its newest version, from the outbox records)."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.i18n import from_json, localize
from bot.types import Card, Event, Form

from . import inbound, render
from .errors import platform_error

log = logging.getLogger("collabbot.slack")


def localized_form(form: Form, locale: str) -> Form:
    return Form.from_json(localize(from_json(form.to_json()), locale))


def localized_card(data: dict[str, Any], locale: str) -> Card:
    return Card.from_json(localize(from_json(data), locale))


async def open_modal(client: AsyncWebClient, trigger_id: str, form: Form, locale: str, event: Event) -> None:
    metadata = inbound.form_metadata(event.conversation, form.value, event.reply_to)
    try:
        await client.views_open(trigger_id=trigger_id, view=render.render_modal(form, locale, metadata))
    except SlackApiError as exc:
        log.warning("slack views.open for form %s failed: %s", form.id, platform_error(exc))


async def open_card_form(client: AsyncWebClient, platform: str, event: Event, raw_action: str, body: dict[str, Any]) -> bool:
    """A click on a form button: open the form the card holds as a modal. False if it is gone."""
    ref = (event.reply_to or {}).get("message_ref")
    trigger_id = body.get("trigger_id")
    if not ref or not trigger_id:
        return False
    found = await stored_card(platform, ref)
    if found is None:
        return False
    card, locale = found
    wanted = inbound.card_action(raw_action)
    if wanted == inbound.FORM_ACTION:
        form = card.form
    else:
        form = next((b.opens_form for b in card.buttons if b.action == wanted and b.opens_form), None)
    if form is None:
        return False
    await open_modal(client, trigger_id, form, locale, event)
    return True


async def stored_card(platform: str, message_ref: str) -> tuple[Card, str] | None:
    """The localized card behind a posted message (its newest version), from the outbox records."""
    from storage.models import CardPost, CardRecord, OutboxMessage

    post = await CardPost.filter(platform=platform, message_ref=message_ref).first()
    if post is not None:
        record = await CardRecord.get_or_none(id=post.card_id)
        if record is not None:
            return localized_card(record.content, post.locale), post.locale
    row = await OutboxMessage.filter(platform=platform, message_ref=message_ref, post_id=None).first()
    if row is not None and (row.payload or {}).get("type") == "card":
        return localized_card(row.payload, row.locale), row.locale
    return None
