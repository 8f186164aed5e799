"""The bodies Feishu sends: schema-2.0 event envelopes, as documented and as lark-oapi parses them."""

from __future__ import annotations

import itertools
import json
from typing import Any

APP_ID = "cli_a1b2c3d4e5f6g7h8"
TENANT = "736588c9260f175d"
VERIFICATION_TOKEN = "v3rificationT0kenOfTheFakeApp"
ENCRYPT_KEY = "fakeEncryptKey4collabbot"
BOT_OPEN_ID = "ou_bot0000000000000000000000000000"
BOT_NAME = "协作助手"

_numbers = itertools.count(1)


def next_id(prefix: str) -> str:
    return f"{prefix}{next(_numbers):032x}"[: len(prefix) + 32]


def envelope(event_type: str, event: dict[str, Any], *, event_id: str | None = None, create_ms: int = 0) -> dict[str, Any]:
    return {
        "schema": "2.0",
        "header": {
            "event_id": event_id or next_id("ev"),
            "token": VERIFICATION_TOKEN,
            "create_time": str(create_ms),
            "event_type": event_type,
            "tenant_key": TENANT,
            "app_id": APP_ID,
        },
        "event": event,
    }


def message(
    open_id: str,
    text: str,
    *,
    chat_id: str | None = None,
    mention_bot: bool = True,
    mentions: dict[str, str] | None = None,
    create_ms: int = 0,
    event_id: str | None = None,
) -> dict[str, Any]:
    """``im.message.receive_v1``: in a group (``chat_id``) the bot is @-mentioned first, as Feishu writes it
    (``@_user_1``); ``mentions`` maps other open ids to names, each written ``@_user_N`` in the text."""
    found: list[dict[str, Any]] = []
    words = text
    if chat_id is not None and mention_bot:
        found.append({"key": "@_user_1", "id": {"open_id": BOT_OPEN_ID, "union_id": "on_bot", "user_id": ""}, "name": BOT_NAME, "tenant_key": TENANT})
        words = f"@_user_1 {text}"
    for other, name in (mentions or {}).items():
        key = f"@_user_{len(found) + 1}"
        found.append({"key": key, "id": {"open_id": other, "union_id": f"on_{other}", "user_id": other[3:]}, "name": name, "tenant_key": TENANT})
        words = words.replace(f"@{name}", key)
    body: dict[str, Any] = {
        "sender": {"sender_id": {"open_id": open_id, "union_id": f"on_{open_id}", "user_id": open_id[3:]}, "sender_type": "user", "tenant_key": TENANT},
        "message": {
            "message_id": next_id("om_"),
            "root_id": "",
            "parent_id": "",
            "create_time": str(create_ms),
            "update_time": str(create_ms),
            "chat_id": chat_id or f"oc_p2p_{open_id}",
            "chat_type": "group" if chat_id else "p2p",
            "message_type": "text",
            "content": json.dumps({"text": words}, ensure_ascii=False),
            "mentions": found,
        },
    }
    return envelope("im.message.receive_v1", body, event_id=event_id, create_ms=create_ms)


def card_action(
    open_id: str,
    message_id: str,
    chat_id: str,
    value: dict[str, Any],
    *,
    form_value: dict[str, Any] | None = None,
    name: str = "b0",
    create_ms: int = 0,
) -> dict[str, Any]:
    """``card.action.trigger``: a button (or a form's submit button) clicked on the card ``message_id``."""
    action: dict[str, Any] = {"value": value, "tag": "button", "name": name, "timezone": "Asia/Shanghai"}
    if form_value is not None:
        action["form_value"] = form_value
    body = {
        "operator": {"tenant_key": TENANT, "open_id": open_id, "union_id": f"on_{open_id}", "user_id": open_id[3:]},
        "token": next_id("c-"),
        "action": action,
        "host": "im_message",
        "context": {"open_message_id": message_id, "open_chat_id": chat_id},
    }
    return envelope("card.action.trigger", body, create_ms=create_ms)
