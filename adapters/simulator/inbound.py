"""Simulator API JSON → ``Event`` (pure)."""

from __future__ import annotations

import uuid
from typing import Any

from bot.types import Conversation, Event, EventKind


class BadRequest(ValueError):
    """The API call is malformed; the message says which field."""


def dm_conversation(person: str) -> str:
    return f"dm:{person}"


def _required(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"field {name!r} is required and must be a non-empty string")
    return value.strip()


def _conversation(platform: str, data: dict[str, Any], person: str) -> Conversation:
    conversation = data.get("conversation")
    if conversation in (None, "") or data.get("direct"):
        return Conversation(platform, dm_conversation(person), is_direct=True)
    if not isinstance(conversation, str):
        raise BadRequest("field 'conversation' must be a string (a group id) or null for a direct message")
    return Conversation(platform, conversation, is_direct=conversation.startswith("dm:"))


def message_event(platform: str, data: dict[str, Any], names: dict[str, str]) -> Event:
    """``{"person", "conversation" | null, "text", "delivery_id"?}`` → a command/message event."""
    person = _required(data, "person")
    text = data.get("text")
    if not isinstance(text, str):
        raise BadRequest("field 'text' is required and must be a string")
    text = text.replace("\x00", "")
    conversation = _conversation(platform, data, person)
    return Event(
        kind=EventKind.COMMAND,
        platform=platform,
        delivery_id=str(data.get("delivery_id") or uuid.uuid4().hex),
        conversation=conversation,
        actor_id=person,
        actor_name=names.get(person, person),
        text=text,
    )


def action_event(platform: str, data: dict[str, Any], conversation_id: str, button: dict[str, Any], names: dict[str, str]) -> Event:
    """A click on ``button`` of a message in ``conversation_id``."""
    person = _required(data, "person")
    return Event(
        kind=EventKind.ACTION,
        platform=platform,
        delivery_id=str(data.get("delivery_id") or uuid.uuid4().hex),
        conversation=Conversation(platform, conversation_id, is_direct=conversation_id.startswith("dm:")),
        actor_id=person,
        actor_name=names.get(person, person),
        action=button["action"],
        value=dict(button.get("value") or {}),
    )


def form_event(platform: str, data: dict[str, Any], conversation_id: str, form: dict[str, Any], names: dict[str, str]) -> Event:
    person = _required(data, "person")
    fields = data.get("fields")
    if not isinstance(fields, dict):
        raise BadRequest("field 'fields' is required and must be an object of field name → value")
    clean = {str(k): ("" if v is None else v if isinstance(v, list) else str(v)) for k, v in fields.items()}
    return Event(
        kind=EventKind.FORM,
        platform=platform,
        delivery_id=str(data.get("delivery_id") or uuid.uuid4().hex),
        conversation=Conversation(platform, conversation_id, is_direct=conversation_id.startswith("dm:")),
        actor_id=person,
        actor_name=names.get(person, person),
        action=form["id"],
        value=dict(form.get("value") or {}),
        form=clean,
    )
