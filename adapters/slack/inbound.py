"""Slack payloads → ``Event`` (pure: no I/O).

Every function takes the JSON Slack sent (a slash command form, an Events
API ``event_callback``, a ``block_actions`` or ``view_submission`` payload)
and returns the neutral ``Event``, or ``None`` for things the bot ignores
(bot messages, edits, joins), and raises ``MalformedPayload`` for a payload of
the wrong shape (a string where an object belongs…). ``delivery_id`` is stable across Slack's
redeliveries so the engine's inbox dedupes them: the ``event_id`` for
events, the ``trigger_id`` for commands and modal submissions, and
``action_ts`` + user + action for button clicks.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import replace
from typing import Any

from bot.errors import MalformedPayload
from bot.i18n import normalize_locale
from bot.types import Conversation, Event, EventKind

from ..payload import items, obj, refuses_malformed, text

PLATFORM = "slack"

# A button whose click opens a form as a modal (the card's own form, or a ``Button.opens_form``).
FORM_ACTION = "collabbot.form"
# Suffix that keeps action_ids unique inside one actions block (``request.accept#2``).
ACTION_SUFFIX = "#"

_LINK = re.compile(r"<([^<>|]+)(?:\|([^<>]*))?>")
_LEADING_MENTION = re.compile(r"^\s*<@([A-Z0-9]+)(?:\|[^>]*)?>[\s:,]*")
_IGNORED_SUBTYPES_OK = {None, "file_share", "thread_broadcast"}
# Words the adapter types on the user's behalf (an empty /collab, the /standup command itself), in the
# language of their Slack client: the bot answers in the language it was spoken to in.
_OWN_WORDS = {"zh_CN": {"help": "帮助", "standup": "站会"}}


def own_word(word: str, locale: str | None) -> str:
    """``help`` → ``帮助`` for a Chinese Slack client; unchanged otherwise."""
    return _OWN_WORDS.get(normalize_locale(locale) or "", {}).get(word, word)


def _replace_link(match: re.Match[str]) -> str:
    target, label = match.group(1), match.group(2)
    if target.startswith("@"):  # a user: keep Slack's own form, the directory resolves it
        return f"<{target}>"
    if target.startswith("#"):  # a channel
        return f"#{label}" if label else target
    if target.startswith("!"):  # <!here>, <!channel>, <!subteam^S1|@team>
        special = target[1:].split("^", 1)[0]
        return label or f"@{special}"
    if target.startswith("mailto:"):
        return target[len("mailto:") :]
    return target  # a URL: keep the URL itself (deliverable links must survive)


def clean_text(text: str | None, bot_user_id: str | None = None) -> str:
    """Slack's escaped mrkdwn → what the user typed: the bot's own leading mention removed,
    links unwrapped to their URL, ``&amp;``/``&lt;``/``&gt;`` unescaped. User mentions stay ``<@U…>``."""
    text = text or ""
    while True:
        match = _LEADING_MENTION.match(text)
        if not match or (bot_user_id and match.group(1) != bot_user_id):
            break
        text = text[match.end() :]
    if bot_user_id:  # "hey @collabbot help": the bot's name anywhere is not part of the command
        text = re.sub(rf"\s*<@{re.escape(bot_user_id)}(?:\|[^>]*)?>\s*", " ", text).strip()
    text = _LINK.sub(_replace_link, text)
    return html.unescape(text).strip()


def is_direct(channel_id: str | None) -> bool:
    """``D…`` channels are one-to-one DMs (``G…``/``C…`` are groups and channels)."""
    return bool(channel_id) and str(channel_id).startswith("D")


def base_action(action_id: str) -> str:
    """``request.accept#2`` → ``request.accept`` (render's de-duplicating suffix removed)."""
    head, sep, tail = action_id.rpartition(ACTION_SUFFIX)
    return head if sep and tail.isdigit() else action_id


def card_action(action_id: str) -> str:
    """The card's own action of a rendered button: ``collabbot.form:request.decline#1`` → ``request.decline``."""
    action = base_action(action_id)
    if action.startswith(FORM_ACTION + ":"):
        return action[len(FORM_ACTION) + 1 :]
    return action


@refuses_malformed
def command_event(body: dict[str, Any], *, main_command: str = "/collab", locale: str | None = None) -> Event:
    """A slash command. ``/collab new …`` → text ``new …``; any other command (``/standup …``) →
    ``standup …``, so it routes like the typed command word. An empty ``/collab`` asks for help.
    ``locale`` is the user's Slack locale: the words the adapter adds are in that language."""
    body = obj(body, "command")
    command = text(body.get("command"), "command") or main_command
    args = clean_text(text(body.get("text"), "text"))
    if command.lower() == main_command.lower():
        words = args or own_word("help", locale)
    else:
        words = f"{own_word(command.lstrip('/').lower(), locale)} {args}".strip()
    channel = text(body.get("channel_id"), "channel_id") or ""
    channel_name = text(body.get("channel_name"), "channel_name")
    trigger = text(body.get("trigger_id"), "trigger_id") or text(body.get("command_ts"), "command_ts") or ""
    user_id = text(body.get("user_id"), "user_id")
    return Event(
        kind=EventKind.COMMAND,
        platform=PLATFORM,
        delivery_id=f"cmd:{trigger}:{user_id}",
        conversation=Conversation(
            PLATFORM,
            channel,
            is_direct=is_direct(channel),
            name=None if channel_name in (None, "directmessage", "privategroup") else channel_name,
        ),
        actor_id=user_id,
        actor_name=text(body.get("user_name"), "user_name"),
        text=words,
        reply_to=_reply_to(body.get("response_url")),
        raw=body,
    )


@refuses_malformed
def message_event(body: dict[str, Any], *, bot_user_id: str | None = None, locale: str | None = None) -> Event | None:
    """An Events API ``event_callback``: ``app_mention`` in a channel or ``message`` in a DM."""
    event = obj(obj(body, "event_callback").get("event"), "event")
    kind = event.get("type")
    user = text(event.get("user"), "event.user")
    if event.get("bot_id") or event.get("subtype") not in _IGNORED_SUBTYPES_OK or not user:
        return None
    if bot_user_id and user == bot_user_id:
        return None
    channel = text(event.get("channel"), "event.channel") or ""
    direct = event.get("channel_type") == "im" or is_direct(channel)
    if kind == "message" and not direct:
        return None  # channel chatter: the bot answers only when mentioned
    if kind not in ("app_mention", "message"):
        return None
    words = clean_text(text(event.get("text"), "event.text"), bot_user_id)
    if kind == "app_mention" and not words:
        words = own_word("help", locale)
    thread = text(event.get("thread_ts"), "event.thread_ts")
    event_id = text(body.get("event_id"), "event_id")
    return Event(
        kind=EventKind.COMMAND if kind == "app_mention" else EventKind.MESSAGE,
        platform=PLATFORM,
        delivery_id=event_id or f"ev:{channel}:{text(event.get('ts'), 'event.ts')}",
        conversation=Conversation(PLATFORM, channel, is_direct=direct, thread=thread if thread and not direct else None),
        actor_id=user,
        text=words,
        raw=body,
    )


def _reply_to(response_url: Any) -> dict[str, Any]:
    return {"response_url": response_url} if isinstance(response_url, str) and response_url else {}


def _channel_of(body: dict[str, Any]) -> str:
    channel = obj(body.get("channel"), "channel")
    container = obj(body.get("container"), "container")
    return text(channel.get("id"), "channel.id") or text(container.get("channel_id"), "container.channel_id") or ""


def _user(body: dict[str, Any]) -> tuple[str | None, str | None]:
    user = obj(body.get("user"), "user")
    return text(user.get("id"), "user.id"), text(user.get("name"), "user.name") or text(user.get("username"), "user.username")


def first_action(body: dict[str, Any]) -> dict[str, Any] | None:
    """The first action of a ``block_actions`` payload, checked to be an object."""
    actions = items(obj(body, "block_actions").get("actions"), "actions")
    return obj(actions[0], "actions[0]") if actions else None


@refuses_malformed
def action_event(body: dict[str, Any]) -> Event | None:
    """The first action of a ``block_actions`` payload (a button click)."""
    action = first_action(body)
    if action is None:
        return None
    user_id, user_name = _user(body)
    raw_value = text(action.get("value"), "action.value")  # Slack sends button values as strings
    try:
        value = json.loads(raw_value) if raw_value else {}
    except ValueError:
        value = {"value": raw_value}
    if not isinstance(value, dict):
        value = {"value": value}
    channel = _channel_of(body)
    message = obj(body.get("message"), "message")
    container = obj(body.get("container"), "container")
    thread = text(message.get("thread_ts"), "message.thread_ts")
    reply = _reply_to(body.get("response_url"))
    message_ts = text(message.get("ts"), "message.ts") or text(container.get("message_ts"), "container.message_ts")
    if message_ts:
        reply["message_ref"] = f"{channel}:{message_ts}"
    action_id = text(action.get("action_id"), "action.action_id") or ""
    moment = text(action.get("action_ts"), "action.action_ts") or text(body.get("trigger_id"), "trigger_id")
    return Event(
        kind=EventKind.ACTION,
        platform=PLATFORM,
        delivery_id=f"act:{moment}:{user_id}:{action_id}",
        conversation=Conversation(PLATFORM, channel, is_direct=is_direct(channel), thread=thread if thread != message_ts else None)
        if channel
        else None,
        actor_id=user_id,
        actor_name=user_name,
        action=card_action(action_id),
        value=value,
        reply_to=reply,
        raw=body,
    )


# ---------------------------------------------------------------- modals


def form_metadata(conversation: Conversation | None, value: dict[str, Any], reply_to: dict[str, Any] | None = None) -> str:
    """The modal's ``private_metadata``: where the form was opened and the form's ``value``."""
    data: dict[str, Any] = {"v": value}
    if conversation is not None:
        data["c"] = conversation.id
        if conversation.thread:
            data["t"] = conversation.thread
    if reply_to and reply_to.get("response_url"):
        data["r"] = reply_to["response_url"]
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    if len(text) > 3000 and "r" in data:  # the response URL is a nicety; the value is not
        del data["r"]
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text


def _element_value(element: dict[str, Any]) -> Any:
    kind = element.get("type")
    if kind in ("static_select", "external_select", "radio_buttons"):
        option = obj(element.get("selected_option"), "selected_option")
        return text(option.get("value"), "selected_option.value") or ""
    if kind in ("multi_static_select", "multi_external_select", "checkboxes"):
        options = items(element.get("selected_options"), "selected_options")
        return [str(text(obj(o, "selected_options[]").get("value"), "option.value")) for o in options]
    if kind == "datepicker":
        return text(element.get("selected_date"), "selected_date") or ""
    if kind == "users_select":
        user = text(element.get("selected_user"), "selected_user")
        return f"<@{user}>" if user else ""
    if kind == "multi_users_select":
        return [f"<@{text(u, 'selected_users[]')}>" for u in items(element.get("selected_users"), "selected_users")]
    if kind == "conversations_select":
        return text(element.get("selected_conversation"), "selected_conversation") or ""
    return text(element.get("value"), "value") or ""


def form_values(view: dict[str, Any]) -> dict[str, Any]:
    """``view.state.values`` → ``{field name: value}`` (block_id is the field name)."""
    values: dict[str, Any] = {}
    state = obj(obj(view, "view").get("state"), "view.state")
    for block_id, elements in obj(state.get("values"), "view.state.values").items():
        for element in obj(elements, "view.state.values[]").values():
            values[str(block_id)] = _element_value(obj(element, "view.state.values[][]"))
    return values


@refuses_malformed
def form_event(body: dict[str, Any]) -> Event:
    """A ``view_submission``: ``Event(kind=FORM, action=<form id>, form=<fields>, value=<form value>)``."""
    view = obj(obj(body, "view_submission").get("view"), "view")
    try:
        meta = json.loads(text(view.get("private_metadata"), "view.private_metadata") or "{}")
    except ValueError:
        meta = {}
    if not isinstance(meta, dict):
        meta = {}
    user_id, user_name = _user(body)
    channel = meta.get("c") if isinstance(meta.get("c"), str) else None
    thread = meta.get("t") if isinstance(meta.get("t"), str) else None
    conversation = Conversation(PLATFORM, channel, is_direct=is_direct(channel), thread=thread) if channel else None
    trigger = text(body.get("trigger_id"), "trigger_id")
    key = trigger or f"{text(view.get('id'), 'view.id')}:{text(view.get('hash'), 'view.hash')}"
    raw_value = meta.get("v")
    value: dict[str, Any] = raw_value if isinstance(raw_value, dict) else {}
    return Event(
        kind=EventKind.FORM,
        platform=PLATFORM,
        delivery_id=f"view:{key}:{user_id}",
        conversation=conversation,
        actor_id=user_id,
        actor_name=user_name,
        action=text(view.get("callback_id"), "view.callback_id") or "",
        value=value,
        form=form_values(view),
        reply_to=_reply_to(meta.get("r")),
        raw=body,
    )


# ---------------------------------------------------------------- people


def with_profile(event: Event, user: dict[str, Any] | None) -> Event:
    """Fill the actor's display name, e-mail and locale from a ``users.info`` ``user`` object."""
    if not isinstance(user, dict) or not user:
        return event
    profile: dict[str, Any] = user["profile"] if isinstance(user.get("profile"), dict) else {}

    def string(value: Any) -> str | None:
        return value if isinstance(value, str) and value else None

    name = string(profile.get("display_name")) or string(profile.get("real_name")) or string(user.get("real_name"))
    return replace(
        event,
        actor_name=name or event.actor_name,
        actor_email=string(profile.get("email")) or event.actor_email,
        locale_hint=string(user.get("locale")) or event.locale_hint,
    )


# ---------------------------------------------------------------- checks


def check_request(body: Any) -> None:
    """Raise ``MalformedPayload`` unless ``body`` (a signed HTTP request, parsed the way Bolt parses it)
    has the shape of what it claims to be; payload types the bot ignores pass.

    Bolt reads the envelope (team, user, channel, authorizations, the event's and the view's type)
    before any listener runs, so those are checked here too: a wrong type there would be its 500."""
    body = obj(body, "request body")
    for name in ("type", "command"):  # Bolt routes on them: a number here is a 404 or its 500
        if name in body and not isinstance(body[name], str):
            raise MalformedPayload(f"{name} is not a string")
    for name in ("team", "user", "channel", "enterprise"):
        if not isinstance(body.get(name), str):
            obj(body.get(name), name)
    for authorization in items(body.get("authorizations"), "authorizations"):
        obj(authorization, "authorizations[]")
    if "command" in body:
        command_event(body)
        return
    kind = body.get("type")
    if kind == "event_callback":
        event = obj(body.get("event"), "event")
        if not isinstance(event.get("type"), str):
            raise MalformedPayload("event.type is not a string")
        message_event(body)
    elif kind == "block_actions":
        actions = items(body.get("actions"), "actions")
        if not actions or not all(isinstance(a, dict) and isinstance(a.get("action_id"), str) for a in actions):
            raise MalformedPayload("actions must be objects with an action_id")
        action_event(body)
    elif kind in ("view_submission", "view_closed"):
        view = obj(body.get("view"), "view")
        if not isinstance(view.get("type"), str) or not isinstance(view.get("callback_id"), str):
            raise MalformedPayload("view.type and view.callback_id must be strings")
        if kind == "view_submission":
            form_event(body)
