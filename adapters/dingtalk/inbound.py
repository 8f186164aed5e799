"""DingTalk Stream frames → ``Event`` (pure).

Two topics arrive: robot messages (``/v1.0/im/bot/messages/get``: an
@-mention of the robot in a group, or anything said to it one-to-one) and
card callbacks (``/v1.0/card/instances/callback``: a button click on a card
created with ``callbackType: STREAM``).

Ids: a person is their ``senderStaffId`` (the userId the card and robot APIs
take); a group is its ``openConversationId``; a one-to-one chat is named by
the person's staff id, which is what the one-to-one send API needs. The
delivery id the engine dedupes on is the message's ``msgId`` (stable when a
frame is pushed again) and, for a card callback, the frame's ``messageId``. A frame of the wrong shape raises ``MalformedPayload``.
"""

from __future__ import annotations

import hmac
import json
import re
from typing import Any

from bot.types import Conversation, Event, EventKind

from ..payload import integer, items, obj, refuses_malformed, text
from .render import ACTION_PREFIX, button_signature

PLATFORM = "dingtalk"
ROBOT_TOPIC = "/v1.0/im/bot/messages/get"
CARD_TOPIC = "/v1.0/card/instances/callback"

_ACTION_TEXT = re.compile(rf"^{re.escape(ACTION_PREFIX)}\s+(\S+)\s+(\{{.*\}})\s+~([0-9a-f]{{12}})\s*$", re.S)


def message_text(data: dict[str, Any]) -> str:
    """The words of a robot message: text, the text parts of rich text, or a voice message's transcript."""
    kind = data.get("msgtype")
    if kind == "text":
        return text(obj(data.get("text"), "text").get("content"), "text.content") or ""
    content = data.get("content") or {}
    if not isinstance(content, dict):
        return ""
    if kind == "richText":
        return "".join(
            text(item["text"], "richText[].text") or ""
            for item in items(content.get("richText"), "content.richText")
            if isinstance(item, dict) and "text" in item
        )
    if kind == "audio":
        return text(content.get("recognition"), "content.recognition") or ""
    return ""


def parse_action_text(text: str, secret: str) -> tuple[str, dict[str, Any]] | None:
    """A ``#btn`` line sent by a link button of the markdown fallback → ``(action, value)``; None if not one or forged."""
    match = _ACTION_TEXT.match(text.strip())
    if not match:
        return None
    action, value_json, signature = match.groups()
    if not hmac.compare_digest(signature, button_signature(secret, action, value_json)):
        return None
    try:
        value = json.loads(value_json)
    except ValueError:
        return None
    return (action, value) if isinstance(value, dict) else None


@refuses_malformed
def robot_message(data: dict[str, Any], *, message_id: str | None, secret: str) -> Event | None:
    """A robot message → a command event (or the click of a link button); None when no sender can be named."""
    data = obj(data, "robot message")
    staff_id = text(data.get("senderStaffId"), "senderStaffId") or text(data.get("senderId"), "senderId")
    delivery_id = text(data.get("msgId"), "msgId") or text(message_id, "messageId")
    if not staff_id or not delivery_id:
        return None
    direct = text(data.get("conversationType"), "conversationType") == "1"
    conversation_id = staff_id if direct else text(data.get("conversationId"), "conversationId") or ""
    if not conversation_id:
        return None
    title = text(data.get("conversationTitle"), "conversationTitle")
    conversation = Conversation(PLATFORM, conversation_id, is_direct=direct, name=None if direct else title)
    words = message_text(data).strip()
    reply_to: dict[str, Any] = {}
    webhook = text(data.get("sessionWebhook"), "sessionWebhook")
    if webhook:
        reply_to = {
            "session_webhook": webhook,
            "expires_ms": integer(data.get("sessionWebhookExpiredTime"), "sessionWebhookExpiredTime"),
        }
    common: dict[str, Any] = {
        "platform": PLATFORM,
        "delivery_id": delivery_id,
        "conversation": conversation,
        "actor_id": staff_id,
        "actor_name": text(data.get("senderNick"), "senderNick") or None,
        "reply_to": reply_to,
        "raw": data,
    }
    clicked = parse_action_text(words, secret)
    if clicked is not None:
        return Event(kind=EventKind.ACTION, action=clicked[0], value=clicked[1], **common)
    return Event(kind=EventKind.COMMAND, text=words, **common)


def _json_object(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value.strip():
        try:
            parsed = json.loads(value)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return {}


@refuses_malformed
def card_callback(
    data: dict[str, Any], *, message_id: str | None, names: dict[str, str] | None = None
) -> Event | None:
    """A card button click → an action event; None when it names no action or no user."""
    data = obj(data, "card callback")
    content = _json_object(data.get("content"))
    private = _json_object(content.get("cardPrivateData"))
    params = _json_object(private.get("params"))
    action_ids = items(private.get("actionIds"), "cardPrivateData.actionIds")
    action = text(params.get("action"), "params.action") or (text(action_ids[0], "actionIds[0]") if action_ids else None)
    user_id = text(data.get("userId"), "userId")
    message_id = text(message_id, "messageId")
    if not action or not user_id or not message_id:
        return None
    space_type = (text(data.get("spaceType"), "spaceType") or "").upper()
    space_id = text(data.get("spaceId"), "spaceId")
    direct = space_type != "IM_GROUP" or not space_id
    conversation = Conversation(PLATFORM, user_id if direct else str(space_id), is_direct=direct)
    return Event(
        kind=EventKind.ACTION,
        platform=PLATFORM,
        delivery_id=message_id,
        conversation=conversation,
        actor_id=user_id,
        actor_name=(names or {}).get(user_id),
        action=action,
        value=_json_object(params.get("value")),
        reply_to={"out_track_id": track} if (track := text(data.get("outTrackId"), "outTrackId")) else {},
        raw=data,
    )
