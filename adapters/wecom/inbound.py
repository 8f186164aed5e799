"""WeCom callbacks → ``Event`` (pure: no network, no database).

The intelligent robot sends the same JSON body over its long connection
(``aibot_msg_callback`` / ``aibot_event_callback`` frames) and to its HTTPS
callback (after decryption); a self-built app sends XML. ``msgid`` is WeCom's
"unique mark of this callback, for de-duplication" and becomes
``Event.delivery_id`` (the engine's inbox then handles a redelivery once).

Card buttons carry ``Button.action`` and ``Button.value`` in their key
(``encode_key``), so a click turns back into ``Event(kind=ACTION, action, value)``
without a lookup; the submit button of a choice card carries the form id and
value the same way and its selections become ``Event(kind=FORM)``.

A callback of the wrong shape (a string where an object belongs…) raises
``MalformedPayload``; the transport answers it 400, or drops a long-connection
frame with a logged refusal.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

from bot.types import Conversation, Event, EventKind

from ..payload import items as list_field
from ..payload import obj, refuses_malformed
from ..payload import text as text_field

PLATFORM = "wecom"
KEY_LIMIT = 1024  # bytes, for button keys, submit keys and question keys
APP_PREFIX = "app:"  # conversation ids of a person's chat with the self-built app
NOOP_KEY = "noop"  # the greyed-out button of a decided card

_DEDUP_SUFFIX = re.compile(r"\|#\d+$")


class KeyTooLong(ValueError):
    """A button's action and value do not fit WeCom's key limit."""


def encode_key(kind: str, name: str, value: dict[str, Any] | None = None, *, index: int | None = None) -> str:
    """``b|request.accept|{"code":"XZB…"}`` for a button (``kind="b"``), ``f|…`` for a form's submit button.

    ``index`` makes two otherwise identical keys on one card distinct (WeCom refuses duplicates).
    """
    key = f"{kind}|{name}"
    if value:
        key += "|" + json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    if index is not None:
        key += f"|#{index}"
    if len(key.encode()) > KEY_LIMIT:
        raise KeyTooLong(f"the key for {name!r} is {len(key.encode())} bytes; WeCom allows {KEY_LIMIT}")
    return key


def decode_key(key: str) -> tuple[str, str, dict[str, Any]] | None:
    """``(kind, name, value)`` of a key made by ``encode_key``; None for anything else."""
    key = _DEDUP_SUFFIX.sub("", (key or "").strip())
    parts = key.split("|", 2)
    if len(parts) < 2 or parts[0] not in ("b", "f") or not parts[1]:
        return None
    value: dict[str, Any] = {}
    if len(parts) == 3:
        try:
            loaded = json.loads(parts[2])
        except ValueError:
            return None
        if not isinstance(loaded, dict):
            return None
        value = loaded
    return parts[0], parts[1], value


# ---------------------------------------------------------------- text


_LEADING_MENTION = re.compile(r"^\s*@\S+[\s\u2005\u00a0]*")


def strip_mention(text: str, bot_name: str | None = None) -> str:
    """The command text of a group message: the robot's @-mention removed wherever it is.

    Without a configured ``bot_name`` the first ``@word`` is taken to be the mention
    (WeCom puts it first when a member picks the robot from the @ list).
    """
    text = (text or "").replace("\u2005", " ").replace("\u00a0", " ")
    if bot_name:
        stripped = text.replace(f"@{bot_name}", " ")
        if stripped != text:
            return re.sub(r"[ \t]+", " ", stripped).strip()
    return _LEADING_MENTION.sub("", text, count=1).strip()


def message_text(body: dict[str, Any]) -> str | None:
    """The text a member typed (or spoke: voice arrives transcribed); None for images and files."""
    msgtype = body.get("msgtype")
    if msgtype == "text":
        return text_field(obj(body.get("text"), "text").get("content"), "text.content") or ""
    if msgtype == "voice":
        return text_field(obj(body.get("voice"), "voice").get("content"), "voice.content") or ""
    if msgtype == "mixed":
        entries = list_field(obj(body.get("mixed"), "mixed").get("msg_item"), "mixed.msg_item")
        parts = [
            text_field(obj(i.get("text"), "msg_item.text").get("content"), "msg_item.text.content") or ""
            for i in entries
            if isinstance(i, dict) and i.get("msgtype") == "text"
        ]
        return "\n".join(p for p in parts if p) if parts else None
    return None


# ---------------------------------------------------------------- robot callbacks


@dataclass(slots=True)
class Inbound:
    """One parsed robot callback: the event to dispatch (if any) and what the transport must remember."""

    event: Event | None
    kind: str  # "msg" | "card" | "welcome" | "ignored" | "disconnected"
    req_id: str = ""
    task_id: str | None = None
    actor: str | None = None
    card_type: str | None = None
    extras: dict[str, Any] = field(default_factory=dict)


def _conversation(body: dict[str, Any], userid: str) -> Conversation:
    chatid = text_field(body.get("chatid"), "chatid")
    if body.get("chattype") == "group" and chatid:
        return Conversation(PLATFORM, str(chatid), is_direct=False)
    return Conversation(PLATFORM, userid, is_direct=True)


def _delivery_id(body: dict[str, Any], req_id: str) -> str:
    msgid = text_field(body.get("msgid"), "msgid")
    return msgid if msgid else f"req:{req_id}"


def card_click(event: dict[str, Any]) -> dict[str, Any]:
    """The click data of a ``template_card_event``, nested (``event.template_card_event``) or flattened."""
    nested = event.get("template_card_event")
    data = dict(nested) if isinstance(nested, dict) else {}
    for name in ("event_key", "task_id", "card_type", "selected_items"):
        if name not in data and name in event:
            data[name] = event[name]
    # the documentation's tables also spell them eventkey / cardtype
    data.setdefault("event_key", data.get("eventkey") or event.get("eventkey"))
    data.setdefault("card_type", data.get("cardtype") or event.get("cardtype"))
    return data


def selections(selected_items: Any) -> dict[str, list[str]]:
    """``{"selected_item": [{"question_key", "option_ids": {"option_id": [...]}}]}`` → question → options."""
    if not isinstance(selected_items, dict):
        return {}
    items = selected_items.get("selected_item") or []
    if isinstance(items, dict):
        items = [items]
    result: dict[str, list[str]] = {}
    for item in items:
        if not isinstance(item, dict) or not item.get("question_key"):
            continue
        ids = obj(item.get("option_ids"), "option_ids").get("option_id") or []
        if isinstance(ids, str | int):
            ids = [ids]
        result[str(text_field(item["question_key"], "question_key"))] = [str(text_field(i, "option_id")) for i in list_field(ids, "option_id")]
    return result


def _click_event(
    decoded: tuple[str, str, dict[str, Any]],
    chosen: dict[str, list[str]],
    *,
    delivery_id: str,
    conversation: Conversation,
    actor: str,
    reply_to: dict[str, Any],
    raw: Any,
) -> Event:
    kind, name, value = decoded
    if kind == "f":
        multi = value.pop("_m", [])
        form = {q: (ids if q in multi else (ids[0] if ids else "")) for q, ids in chosen.items()}
        return Event(
            kind=EventKind.FORM,
            platform=PLATFORM,
            delivery_id=delivery_id,
            conversation=conversation,
            actor_id=actor,
            action=name,
            value=value,
            form=form,
            reply_to=reply_to,
            raw=raw,
        )
    return Event(
        kind=EventKind.ACTION,
        platform=PLATFORM,
        delivery_id=delivery_id,
        conversation=conversation,
        actor_id=actor,
        action=name,
        value=value,
        reply_to=reply_to,
        raw=raw,
    )


@refuses_malformed
def robot_callback(
    body: dict[str, Any],
    *,
    req_id: str,
    received_at: float,
    via: str,
    bot_name: str | None = None,
    welcome_text: str = "帮助",
) -> Inbound:
    """Parse a robot callback body (``via`` is ``"ws"`` or ``"api"``).

    ``received_at`` (epoch seconds by the product's clock) lets the transport tell whether
    the callback's ``req_id`` can still be answered; ``welcome_text`` is the command run
    for ``enter_chat`` (its reply is the welcome message).
    """
    body = obj(body, "callback")
    if body.get("msgtype") == "event" and obj(body.get("event"), "event").get("eventtype") == "disconnected_event":
        return Inbound(None, "disconnected", req_id)  # it has no "from": another connection took the bot over
    userid = text_field(obj(body.get("from"), "from").get("userid"), "from.userid") or ""
    if not userid:
        return Inbound(None, "ignored", req_id)
    conversation = _conversation(body, userid)
    delivery_id = _delivery_id(body, req_id)
    base_reply: dict[str, Any] = {"via": via, "req_id": req_id, "at": received_at}
    response_url = text_field(body.get("response_url"), "response_url")
    if response_url:
        base_reply["response_url"] = response_url
    if conversation.is_direct:
        base_reply["single"] = True

    if body.get("msgtype") == "event":
        event = obj(body.get("event"), "event")
        eventtype = event.get("eventtype")
        if eventtype == "template_card_event":
            click = card_click(event)
            task_id = text_field(click.get("task_id"), "task_id") or ""
            decoded = decode_key(text_field(click.get("event_key"), "event_key") or "")
            if decoded is None or not task_id:
                return Inbound(None, "ignored", req_id, task_id or None, userid)
            reply_to = {**base_reply, "kind": "card", "task_id": task_id}
            built = _click_event(
                decoded,
                selections(click.get("selected_items")),
                delivery_id=delivery_id,
                conversation=conversation,
                actor=userid,
                reply_to=reply_to,
                raw=body,
            )
            return Inbound(built, "card", req_id, task_id, userid, text_field(click.get("card_type"), "card_type") or None)
        if eventtype == "enter_chat":
            built = Event(
                kind=EventKind.COMMAND,
                platform=PLATFORM,
                delivery_id=delivery_id,
                conversation=Conversation(PLATFORM, userid, is_direct=True),
                actor_id=userid,
                text=welcome_text,
                reply_to={**base_reply, "kind": "welcome", "single": True},
                raw=body,
            )
            return Inbound(built, "welcome", req_id, actor=userid)
        if eventtype == "disconnected_event":
            return Inbound(None, "disconnected", req_id)
        return Inbound(None, "ignored", req_id, actor=userid)

    text = message_text(body)
    if text is None:
        return Inbound(None, "ignored", req_id, actor=userid, extras={"msgtype": body.get("msgtype")})
    if not conversation.is_direct:
        text = strip_mention(text, bot_name)
    built = Event(
        kind=EventKind.COMMAND,
        platform=PLATFORM,
        delivery_id=delivery_id,
        conversation=conversation,
        actor_id=userid,
        text=text.strip(),
        reply_to={**base_reply, "kind": "msg"},
        raw=body,
    )
    return Inbound(built, "msg", req_id, actor=userid)


# ---------------------------------------------------------------- self-built app (XML)


def parse_xml(text: str) -> dict[str, Any]:
    """A flat dict of a WeCom XML packet; ``SelectedItems`` becomes the robot's JSON shape."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise ValueError(f"not XML: {exc}") from exc
    data: dict[str, Any] = {}
    for child in root:
        if child.tag == "SelectedItems":
            items = []
            for item in child.iter("SelectedItem"):
                options = [o.text or "" for o in item.iter("OptionId")]
                items.append({"question_key": item.findtext("QuestionKey") or "", "option_ids": {"option_id": options}})
            data["SelectedItems"] = {"selected_item": items}
        else:
            data[child.tag] = (child.text or "").strip()
    return data


def app_conversation(userid: str) -> Conversation:
    return Conversation(PLATFORM, APP_PREFIX + userid, is_direct=True)


@refuses_malformed
def app_callback(data: dict[str, Any], *, received_at: float) -> Inbound:
    """A decrypted app packet: text messages and template-card clicks; other events are ignored."""
    userid = text_field(data.get("FromUserName"), "FromUserName") or ""
    if not userid:
        return Inbound(None, "ignored")
    conversation = app_conversation(userid)
    base_reply: dict[str, Any] = {"via": "app", "at": received_at, "single": True}
    if data.get("MsgType") == "text":
        built = Event(
            kind=EventKind.COMMAND,
            platform=PLATFORM,
            delivery_id=f"app:msg:{data.get('MsgId') or data.get('CreateTime')}:{userid}",
            conversation=conversation,
            actor_id=userid,
            text=(data.get("Content") or "").strip(),
            reply_to={**base_reply, "kind": "msg"},
            raw=data,
        )
        return Inbound(built, "msg", actor=userid)
    if data.get("MsgType") == "event" and data.get("Event") == "template_card_event":
        task_id = data.get("TaskId") or ""
        decoded = decode_key(data.get("EventKey") or "")
        if decoded is None or not task_id:
            return Inbound(None, "ignored", task_id=task_id or None, actor=userid)
        response_code = data.get("ResponseCode") or ""
        # WeCom documents no msgid for events: the sender and second are the de-duplication key
        delivery_id = f"app:event:{userid}:{data.get('CreateTime')}:{task_id}"
        built = _click_event(
            decoded,
            selections(data.get("SelectedItems")),
            delivery_id=delivery_id,
            conversation=conversation,
            actor=userid,
            reply_to={**base_reply, "kind": "card", "task_id": task_id},
            raw=data,
        )
        return Inbound(built, "card", task_id=task_id, actor=userid, card_type=data.get("CardType"), extras={"response_code": response_code})
    return Inbound(None, "ignored", actor=userid)
