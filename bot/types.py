"""The neutral types every platform and every workflow speaks.

An adapter turns a platform payload into an ``Event``; a handler turns an
``Event`` into an ``Outcome`` (what to say, which cards to update, which timers
to set); the engine commits the outcome and the delivery worker hands each
message to the adapter's ``render``/``transport``. Nothing here imports a
platform SDK.
"""

from __future__ import annotations

import base64
import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from bot.i18n import Msg, from_json, json_text, to_json

Textish = Msg | str  # a user-facing text: translatable or verbatim (user content)


class EventKind(enum.StrEnum):
    COMMAND = "command"  # a slash command or an @-mention with a command word
    MESSAGE = "message"  # plain text with no recognisable command (DMs, replies)
    ACTION = "action"  # a card button click
    FORM = "form"  # a submitted card form / modal
    TIMER = "timer"  # a due timer row, fired by the scheduler


@dataclass(frozen=True, slots=True)
class Conversation:
    """Where an event happened or a message goes: a group/channel or a direct chat."""

    platform: str
    id: str
    is_direct: bool = False
    name: str | None = None
    thread: str | None = None


@dataclass(frozen=True, slots=True)
class Event:
    """One inbound thing, from any platform or from the scheduler.

    ``delivery_id`` is the platform's own id for this delivery (Slack
    ``event_id``/envelope, DingTalk ``messageId``, WeCom ``msgid``); the engine
    dedupes on ``(platform, delivery_id)``.
    """

    kind: EventKind
    platform: str
    delivery_id: str
    conversation: Conversation | None = None
    actor_id: str | None = None  # the platform's user id
    actor_name: str | None = None  # display name hint for people not yet in the directory
    actor_email: str | None = None
    text: str = ""  # command / message text with the bot mention removed
    action: str | None = None  # button action id or form id
    value: dict[str, Any] = field(default_factory=dict)  # button value
    form: dict[str, Any] = field(default_factory=dict)  # submitted form fields
    locale_hint: str | None = None
    reply_to: dict[str, Any] = field(default_factory=dict)  # opaque, for the adapter only
    tenant: str = "default"
    timer_key: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)  # timer payload
    raw: Any = None  # the platform payload, read only by adapters


# ---------------------------------------------------------------- cards


ButtonStyle = Literal["primary", "danger", "default"]
Color = Literal["green", "yellow", "red", "grey", "blue"]
# "checkboxes": several choices ticked in a list (the value is a list of choice values), "multiselect" the same as a drop-down
FieldKind = Literal["text", "textarea", "date", "select", "multiselect", "checkboxes", "person", "number"]


@dataclass(slots=True)
class Button:
    """A card button. ``command`` is the text a user can type instead (platforms without buttons).

    Give ``command`` as a ``Msg`` so the reader sees the command in their own language.
    """

    label: Textish
    action: str
    value: dict[str, Any] = field(default_factory=dict)
    style: ButtonStyle = "default"
    command: Any = None  # Textish: the typed equivalent, localized like the label
    opens_form: Form | None = None  # clicking opens this form (a modal on Slack)

    def to_json(self) -> dict[str, Any]:
        return {
            "label": to_json(self.label),
            "action": self.action,
            "value": self.value,
            "style": self.style,
            "command": to_json(self.command),
            "opens_form": self.opens_form.to_json() if self.opens_form else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Button:
        form = data.get("opens_form")
        return cls(
            label=from_json(data["label"]),
            action=data["action"],
            value=data.get("value") or {},
            style=data.get("style", "default"),
            command=from_json(data.get("command")),
            opens_form=Form.from_json(form) if form else None,
        )


@dataclass(slots=True)
class Choice:
    value: str
    label: Textish

    def to_json(self) -> dict[str, Any]:
        return {"value": self.value, "label": to_json(self.label)}


@dataclass(slots=True)
class FormField:
    name: str
    label: Textish
    kind: FieldKind = "text"
    required: bool = False
    choices: list[Choice] = field(default_factory=list)
    placeholder: Textish | None = None
    initial: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": to_json(self.label),
            "kind": self.kind,
            "required": self.required,
            "choices": [c.to_json() for c in self.choices],
            "placeholder": to_json(self.placeholder),
            "initial": self.initial,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FormField:
        return cls(
            name=data["name"],
            label=from_json(data["label"]),
            kind=data.get("kind", "text"),
            required=bool(data.get("required")),
            choices=[Choice(c["value"], from_json(c["label"])) for c in data.get("choices", [])],
            placeholder=from_json(data.get("placeholder")),
            initial=data.get("initial"),
        )


@dataclass(slots=True)
class Form:
    """A form: a Slack modal, a DingTalk/WeCom card form, the simulator's inline form.

    Its submission arrives as ``Event(kind=FORM, action=form.id, form={...}, value=form.value)``.
    ``template`` is the one-message ``field: value`` text that works everywhere.
    """

    id: str
    title: Textish
    fields: list[FormField]
    submit_label: Textish
    value: dict[str, Any] = field(default_factory=dict)
    template: Textish | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": to_json(self.title),
            "fields": [f.to_json() for f in self.fields],
            "submit_label": to_json(self.submit_label),
            "value": self.value,
            "template": to_json(self.template),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Form:
        return cls(
            id=data["id"],
            title=from_json(data["title"]),
            fields=[FormField.from_json(f) for f in data.get("fields", [])],
            submit_label=from_json(data["submit_label"]),
            value=data.get("value") or {},
            template=from_json(data.get("template")),
        )


@dataclass(slots=True)
class CardField:
    label: Textish
    value: Any  # Textish, or a plain value

    def json_shape(self) -> dict[str, Any]:
        """``to_json``'s dict with the label and value as they are (``bot.i18n.json_text`` finishes it)."""
        return {"label": self.label, "value": self.value}

    def to_json(self) -> dict[str, Any]:
        return to_json(self.json_shape())


@dataclass(slots=True)
class Card:
    """A neutral card. ``key`` names it so that a later outcome can update every copy of it.

    ``body`` is a small markdown subset every platform renders (``**bold**``,
    line breaks, ``- `` lists, links). ``status`` is shown after a decision
    ("accepted by 张三 at 10:02"); a card with no buttons is a decided card.
    """

    title: Textish
    key: str | None = None
    body: Any = None  # Textish or Join
    fields: list[CardField] = field(default_factory=list)
    buttons: list[Button] = field(default_factory=list)
    form: Form | None = None
    color: Color = "blue"
    status: Any = None
    mentions: list[str] = field(default_factory=list)  # person ids to @-mention

    def json_shape(self) -> dict[str, Any]:
        """``to_json``'s dict with the title, body, fields and status as they are (``Msg`` / ``Join`` /
        ``CardField`` not yet plain: ``bot.i18n.to_json`` or ``json_text`` finish it)."""
        return {
            "type": "card",
            "key": self.key,
            "title": self.title,
            "body": self.body,
            "fields": list(self.fields),
            "buttons": [b.to_json() for b in self.buttons],
            "form": self.form.to_json() if self.form else None,
            "color": self.color,
            "status": self.status,
            "mentions": list(self.mentions),
        }

    def to_json(self) -> dict[str, Any]:
        return to_json(self.json_shape())

    def json_text(self) -> str:
        """``to_json()`` as the JSON text the card table stores (``bot.i18n.json_text``): a card can hold
        thousands of values (a digest lists every answer), and this writes them in one pass."""
        return json_text(self.json_shape())

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Card:
        form = data.get("form")
        return cls(
            title=from_json(data["title"]),
            key=data.get("key"),
            body=from_json(data.get("body")),
            fields=[CardField(from_json(f["label"]), from_json(f["value"])) for f in data.get("fields", [])],
            buttons=[Button.from_json(b) for b in data.get("buttons", [])],
            form=Form.from_json(form) if form else None,
            color=data.get("color", "blue"),
            status=from_json(data.get("status")),
            mentions=list(data.get("mentions", [])),
        )


@dataclass(slots=True)
class Text:
    """A plain message. ``ephemeral`` shows it only to the actor where the platform can."""

    body: Any  # Textish or Join
    ephemeral: bool = False
    mentions: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"type": "text", "body": to_json(self.body), "ephemeral": self.ephemeral, "mentions": self.mentions}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Text:
        return cls(from_json(data["body"]), bool(data.get("ephemeral")), list(data.get("mentions", [])))


@dataclass(slots=True)
class FileContent:
    """A file or image to upload: a chart, an export.

    ``data`` travels in the outbox row. A platform that can upload sends the file (an image inline); one
    that cannot shows ``caption`` and ``link`` (a signed dashboard link, when the handler could make one).
    """

    filename: str
    mime: str
    data: bytes
    caption: Any = None  # Textish or Join
    link: str | None = None
    mentions: list[str] = field(default_factory=list)
    fallback: Any = None  # Textish: what a chat that cannot take the file shows instead (caption, link, advice)
    oversize: Any = None  # Textish: what a chat shows when the file is larger than its platform takes

    @property
    def is_image(self) -> bool:
        return self.mime.startswith("image/")

    def in_place_of_oversize(self, limit: int, size: int | None = None) -> Text | None:
        """The text a platform that takes files of at most ``limit`` bytes posts instead of this one (``size``:
        what it would upload, when not ``data`` as it is); None when the file fits. An upload over the limit is
        refused, and retrying it would only be refused again."""
        if (len(self.data) if size is None else size) <= limit:
            return None
        return Text(self.oversize or self.fallback or self.caption or self.filename, mentions=self.mentions)

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "file",
            "filename": self.filename,
            "mime": self.mime,
            "data": base64.b64encode(self.data).decode("ascii"),
            "caption": to_json(self.caption),
            "link": self.link,
            "mentions": list(self.mentions),
            "fallback": to_json(self.fallback),
            "oversize": to_json(self.oversize),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FileContent:
        return cls(
            filename=str(data["filename"]),
            mime=str(data["mime"]),
            data=base64.b64decode(data.get("data") or ""),
            caption=from_json(data.get("caption")),
            link=data.get("link"),
            mentions=list(data.get("mentions", [])),
            fallback=from_json(data.get("fallback")),
            oversize=from_json(data.get("oversize")),
        )


Content = Card | Text | FileContent


def content_from_json(data: dict[str, Any]) -> Content:
    kind = data.get("type")
    if kind == "file":
        return FileContent.from_json(data)
    return Card.from_json(data) if kind == "card" else Text.from_json(data)


# ---------------------------------------------------------------- where messages go


@dataclass(frozen=True, slots=True)
class Reply:
    """Back to the conversation the event came from."""


@dataclass(frozen=True, slots=True)
class ToPerson:
    """A direct message to a person, on the platform where they are."""

    person_id: int


@dataclass(frozen=True, slots=True)
class ToConversation:
    conversation: Conversation


@dataclass(frozen=True, slots=True)
class ToCollaboration:
    """Every group bound to a collaboration, on every platform; ``or_person`` (a DM) when it is bound to none."""

    collaboration_id: int
    or_person: int | None = None


Audience = Reply | ToPerson | ToConversation | ToCollaboration


@dataclass(slots=True)
class Outgoing:
    to: Audience
    content: Content


@dataclass(slots=True)
class TimerSpec:
    """A durable timer: fired once as ``Event(kind=TIMER, action=kind)`` when ``due_at`` passes."""

    key: str
    kind: str
    due_at: datetime
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class AuditNote:
    action: str
    subject: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class ConfirmationNote:
    """The actor's answer to a confirmation asked of them (确认): ``state`` confirmed or rejected, with a comment."""

    subject: str
    purpose: str
    state: str
    comment: str = ""


@dataclass(slots=True)
class Outcome:
    """What a handler decided. The engine commits it in the event's transaction.

    - ``messages``: new messages or cards to post;
    - ``updates``: cards whose every posted copy must show this new content
      (matched by ``Card.key``);
    - ``timers`` / ``cancel_timers``: durable timers to set or cancel (by key or key prefix ending in ``*``);
    - ``audit``: decisions to record (actor and time are added by the engine);
    - ``confirmations``: the actor's answers to confirmations asked of them, recorded with the platform account
      and time by the engine (no later read of the event sees them: they are written with its last statement);
    - ``open_form``: a form to open at once (a modal), when the platform can;
    - ``form_errors``: per-field errors for the submitted form.
    """

    messages: list[Outgoing] = field(default_factory=list)
    updates: list[Card] = field(default_factory=list)
    timers: list[TimerSpec] = field(default_factory=list)
    cancel_timers: list[str] = field(default_factory=list)
    audit: list[AuditNote] = field(default_factory=list)
    confirmations: list[ConfirmationNote] = field(default_factory=list)
    open_form: Form | None = None
    form_errors: dict[str, Any] = field(default_factory=dict)

    def reply(self, body: Any, *, ephemeral: bool = False) -> Outcome:
        content = body if isinstance(body, Card | Text | FileContent) else Text(body, ephemeral=ephemeral)
        self.messages.append(Outgoing(Reply(), content))
        return self

    def send(self, to: Audience, content: Content) -> Outcome:
        self.messages.append(Outgoing(to, content))
        return self

    def update(self, card: Card) -> Outcome:
        if not card.key:
            raise ValueError("only a keyed card can be updated")
        self.updates.append(card)
        return self

    def timer(self, key: str, kind: str, due_at: datetime, **payload: Any) -> Outcome:
        self.timers.append(TimerSpec(key, kind, due_at, payload))
        return self

    def cancel(self, key_or_prefix: str) -> Outcome:
        self.cancel_timers.append(key_or_prefix)
        return self

    def record(self, action: str, subject: str, **detail: Any) -> Outcome:
        self.audit.append(AuditNote(action, subject, detail))
        return self

    def confirmed(self, subject: str, purpose: str, state: str, comment: str = "") -> Outcome:
        self.confirmations.append(ConfirmationNote(subject, purpose, state, comment))
        return self

    def merge(self, other: Outcome) -> Outcome:
        self.messages += other.messages
        self.updates += other.updates
        self.timers += other.timers
        self.cancel_timers += other.cancel_timers
        self.audit += other.audit
        self.confirmations += other.confirmations
        self.form_errors.update(other.form_errors)
        self.open_form = self.open_form or other.open_form
        return self
