"""Feishu / Lark events → ``Event`` (pure).

Both ways in (the long connection and the HTTP event subscription) carry the same schema-2.0
envelope: ``{"schema": "2.0", "header": {"event_id", "event_type", "token", "create_time", …},
"event": {…}}``. Two event types matter:

- ``im.message.receive_v1``: a message to the bot — in a group only when it @-mentions the bot
  (scope ``im:message.group_at_msg``), in a direct chat (``p2p``) anything. The text holds
  ``@_user_1`` placeholders for mentions; the bot's own is removed, the others become ``@name``;
- ``card.action.trigger``: a click on a card button, or the submit button of a card's form
  (``action.form_value``). The button's callback value is ours (``render.callback_value``):
  ``{"a": action, "v": value}`` or ``{"f": form id, "v": form value}``, plus ``"d": 1`` on a card
  sent to a direct chat (the callback names only the chat, not whether it is one).

Ids: a person is their ``open_id`` (what the message API takes with ``receive_id_type=open_id``);
a group is its ``chat_id``; a direct chat is named by the person's ``open_id``. The engine dedupes
on the envelope's ``event_id``, which Feishu keeps when it delivers an event again.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from bot.errors import MalformedPayload
from bot.types import Conversation, Event, EventKind

from ..payload import items, obj, refuses_malformed, text

PLATFORM = "feishu"
MESSAGE_RECEIVED = "im.message.receive_v1"
CARD_ACTION = "card.action.trigger"

_PLACEHOLDER = re.compile(r"@_user_\d+")
_DATE_WITH_ZONE = re.compile(r"^(\d{4}-\d{2}-\d{2}) [+-]\d{4}$")


@dataclass(frozen=True, slots=True)
class Envelope:
    """What a callback body says, once read: a URL challenge, or one event."""

    kind: str  # "challenge" | "event"
    token: str | None
    event_type: str = ""
    event_id: str = ""
    create_time_ms: int = 0
    challenge: str = ""
    event: dict[str, Any] | None = None


@refuses_malformed
def envelope(body: dict[str, Any]) -> Envelope:
    """A decrypted callback body → an ``Envelope``; ``MalformedPayload`` when it is neither."""
    body = obj(body, "callback")
    if text(body.get("type"), "type") == "url_verification":
        challenge = text(body.get("challenge"), "challenge")
        if not challenge:
            raise MalformedPayload("url_verification without a challenge")
        return Envelope("challenge", text(body.get("token"), "token"), challenge=challenge)
    header = obj(body.get("header"), "header")
    event_type = text(header.get("event_type"), "header.event_type")
    event_id = text(header.get("event_id"), "header.event_id")
    if not event_type or not event_id:
        raise MalformedPayload("an event without header.event_type or header.event_id")
    created = text(header.get("create_time"), "header.create_time") or "0"
    return Envelope(
        "event",
        text(header.get("token"), "header.token"),
        event_type=event_type,
        event_id=event_id,
        create_time_ms=int(created) if created.isdigit() else 0,
        event=obj(body.get("event"), "event"),
    )


def _content(raw: Any) -> dict[str, Any]:
    """A message's ``content``: a JSON string holding an object."""
    value = text(raw, "message.content") or ""
    if not value:
        return {}
    try:
        parsed = json.loads(value)
    except ValueError as exc:
        raise MalformedPayload("message.content is not JSON") from exc
    return obj(parsed, "message.content")


def _post_text(content: dict[str, Any]) -> str:
    """The words of a rich-text (``post``) message; its paragraphs become lines."""
    if "content" not in content and len(content) == 1:  # {"zh_cn": {...}}: one language
        content = obj(next(iter(content.values())), "post")
    lines = []
    for paragraph in items(content.get("content"), "post.content"):
        parts = []
        for node in items(paragraph, "post.content[]"):
            node = obj(node, "post node")
            tag = text(node.get("tag"), "post node tag")
            if tag in ("text", "a", "md"):
                parts.append(text(node.get("text"), "post node text") or "")
            elif tag == "at":
                parts.append(text(node.get("user_id"), "post at user_id") or "")
        lines.append("".join(parts))
    title = text(content.get("title"), "post.title") or ""
    return "\n".join([title, *lines] if title else lines)


def message_words(message: dict[str, Any]) -> str:
    kind = text(message.get("message_type"), "message.message_type")
    content = _content(message.get("content"))
    if kind == "text":
        return text(content.get("text"), "content.text") or ""
    if kind == "post":
        return _post_text(content)
    return ""


def _mentions(message: dict[str, Any]) -> list[tuple[str, str, str]]:
    """``(placeholder, open_id, name)`` of each mention."""
    found = []
    for mention in items(message.get("mentions"), "message.mentions"):
        mention = obj(mention, "mention")
        ids = obj(mention.get("id"), "mention.id")
        key = text(mention.get("key"), "mention.key") or ""
        found.append((key, text(ids.get("open_id"), "mention.id.open_id") or "", text(mention.get("name"), "mention.name") or ""))
    return found


def _without_bot(words: str, mentions: list[tuple[str, str, str]], bot_open_id: str | None, group: bool) -> str:
    """Drop the bot's mention; write every other placeholder as ``@name``."""
    bot_keys = {key for key, open_id, _ in mentions if bot_open_id and open_id == bot_open_id}
    if group and not bot_keys and mentions and words.lstrip().startswith(mentions[0][0]):
        bot_keys = {mentions[0][0]}  # the bot's own id not known yet: in a group, it is the leading mention
    names = {key: name for key, _, name in mentions}

    def swap(match: re.Match[str]) -> str:
        key = match.group(0)
        if key in bot_keys:
            return ""
        return f"@{names[key]}" if names.get(key) else key

    return _PLACEHOLDER.sub(swap, words).strip()


@refuses_malformed
def message_event(event: dict[str, Any], *, event_id: str, bot_open_id: str | None = None) -> Event | None:
    """``im.message.receive_v1`` → a command event; None for a bot's own message or one without a sender."""
    event = obj(event, "event")
    sender = obj(event.get("sender"), "event.sender")
    if (text(sender.get("sender_type"), "sender.sender_type") or "user") != "user":
        return None
    open_id = text(obj(sender.get("sender_id"), "sender.sender_id").get("open_id"), "sender_id.open_id")
    message = obj(event.get("message"), "event.message")
    chat_id = text(message.get("chat_id"), "message.chat_id")
    if not open_id or not chat_id:
        return None
    direct = text(message.get("chat_type"), "message.chat_type") == "p2p"
    conversation = Conversation(PLATFORM, open_id if direct else chat_id, is_direct=direct)
    words = _without_bot(message_words(message), _mentions(message), bot_open_id, not direct)
    message_id = text(message.get("message_id"), "message.message_id") or ""
    return Event(
        kind=EventKind.COMMAND,
        platform=PLATFORM,
        delivery_id=event_id,
        conversation=conversation,
        actor_id=open_id,
        text=words,
        reply_to={"message_id": message_id, "chat_id": chat_id},
        raw=event,
    )


def _form_values(raw: dict[str, Any]) -> dict[str, Any]:
    """A form's values as typed; a date picker's ``2026-12-01 +0800`` becomes ``2026-12-01``."""
    values: dict[str, Any] = {}
    for name, value in raw.items():
        if isinstance(value, str):
            dated = _DATE_WITH_ZONE.match(value)
            values[name] = dated.group(1) if dated else value
        elif isinstance(value, list):
            values[name] = [text(item, f"form_value.{name}[]") or "" for item in value]
        elif value is None or isinstance(value, int | float | bool):
            values[name] = value
        else:
            raise MalformedPayload(f"form_value.{name} is {type(value).__name__}")
    return values


@refuses_malformed
def card_action(event: dict[str, Any], *, event_id: str) -> Event | None:
    """``card.action.trigger`` → an action (or form) event; None when the click names nothing of ours."""
    event = obj(event, "event")
    operator = obj(event.get("operator"), "event.operator")
    open_id = text(operator.get("open_id"), "operator.open_id")
    action = obj(event.get("action"), "event.action")
    value = obj(action.get("value"), "action.value")
    context = obj(event.get("context"), "event.context")
    chat_id = text(context.get("open_chat_id"), "context.open_chat_id")
    message_id = text(context.get("open_message_id"), "context.open_message_id") or ""
    clicked = text(value.get("a"), "value.a")
    form_id = text(value.get("f"), "value.f")
    if not open_id or not (clicked or form_id):
        return None
    direct = bool(value.get("d")) or not chat_id
    conversation = Conversation(PLATFORM, open_id if direct else str(chat_id), is_direct=direct)
    common: dict[str, Any] = {
        "platform": PLATFORM,
        "delivery_id": event_id,
        "conversation": conversation,
        "actor_id": open_id,
        "value": obj(value.get("v"), "value.v"),
        "reply_to": {"message_id": message_id, "chat_id": chat_id or "", "clicked": True},
        "raw": event,
    }
    if form_id:
        form = _form_values(obj(action.get("form_value"), "action.form_value"))
        return Event(kind=EventKind.FORM, action=form_id, form=form, **common)
    return Event(kind=EventKind.ACTION, action=clicked, **common)


def to_event(found: Envelope, *, bot_open_id: str | None = None) -> Event | None:
    """The event of an envelope, or None for a type the bot does not subscribe to."""
    if found.kind != "event" or found.event is None:
        return None
    if found.event_type == MESSAGE_RECEIVED:
        return message_event(found.event, event_id=found.event_id, bot_open_id=bot_open_id)
    if found.event_type == CARD_ACTION:
        return card_action(found.event, event_id=found.event_id)
    return None
