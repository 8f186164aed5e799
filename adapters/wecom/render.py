"""Localized ``Card``/``Text`` → WeCom template cards and markdown (pure).

Which template card:

- a card with buttons → ``button_interaction`` (at most 6 buttons; each key carries
  ``Button.action`` and ``Button.value``, see ``inbound.encode_key``);
- a card whose form only asks for choices → ``vote_interaction`` (one question, single or
  multiple choice) or ``multiple_interaction`` (two or three single-choice questions);
- a decided card brought up to date after a click (``update=True``, no buttons left) →
  ``button_interaction`` whose greyed-out button (``replace_text``) says it was handled;
- anything else → ``text_notice`` (WeCom requires a ``card_action`` link on it).

WeCom has no modals: a form that needs typing is shown as its ``Form.template``, which
the member copies, fills in and sends back as ``字段：值`` lines.

Texts are clipped to WeCom's documented lengths (counted in 字: a CJK character is one,
a Latin letter half). An interactive card keeps its buttons and is clipped; a card
without interaction that does not fit, or one that cannot be a template card at all
(more than 6 buttons, an over-long key), is sent as markdown instead, with each
button's typed command.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from bot.i18n import _, text
from bot.platform import Mention
from bot.types import Button, Card, Form, FormField, Text

from .inbound import KeyTooLong, encode_key

# 字 limits from WeCom's template card reference ("建议不超过 N 个字")
LIMITS = {
    "source": 13,
    "title": 26,
    "desc": 30,
    "sub_title": 112,
    "quote": 112,
    "keyname": 5,
    "value": 26,
    "button": 10,
    "checkbox_option": 11,
    "select_title": 13,
    "select_option": 10,
}
MAX_BUTTONS = 6
MAX_HORIZONTAL = 6
MAX_CHECKBOX_OPTIONS = 20
MAX_SELECTS = 3
MAX_SELECT_OPTIONS = 10
ROBOT_MARKDOWN_BYTES = 20480
APP_MARKDOWN_BYTES = 2048

# button_interaction styles 1-4 (WeCom shows them only as a picture: 1 is the default blue)
BUTTON_STYLES = {"primary": 1, "default": 2, "danger": 3}
SOURCE_COLORS = {"green": 3, "red": 2, "grey": 0, "blue": 1, "yellow": 1}  # 0 grey, 1 black, 2 red, 3 green
ELLIPSIS = "…"


class CannotRender(ValueError):
    """This card cannot be a template card; send markdown instead."""


@dataclass(frozen=True, slots=True)
class RenderOptions:
    source: str = "collabbot"  # the small caption above every card
    card_url: str = "https://work.weixin.qq.com/"  # where a tap on a notice card leads (WeCom requires one)
    markdown_bytes: int = ROBOT_MARKDOWN_BYTES


# ---------------------------------------------------------------- text helpers


def width(value: str) -> float:
    """Length in 字: wide (CJK, full-width) characters count 1, everything else ½."""
    return sum(1.0 if unicodedata.east_asian_width(c) in ("W", "F") else 0.5 for c in value)


def clip(value: str, limit: float) -> str:
    """``value`` cut to at most ``limit`` 字, ending in … when it was cut."""
    value = value.strip()
    if width(value) <= limit:
        return value
    out, used = [], 0.0
    for char in value:
        w = width(char)
        if used + w > limit - 1:
            break
        out.append(char)
        used += w
    return "".join(out).rstrip() + ELLIPSIS


def clip_bytes(value: str, limit: int) -> str:
    data = value.encode()
    if len(data) <= limit:
        return value
    return data[: limit - len(ELLIPSIS.encode())].decode(errors="ignore") + ELLIPSIS


_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")


def plain(value: Any) -> str:
    """The card markdown subset as plain text (template cards show no markdown)."""
    if value is None:
        return ""
    result = _LINK.sub(r"\1 (\2)", str(value))
    return result.replace("**", "").replace("__", "").replace("`", "").strip()


def _s(value: Any) -> str:
    return "" if value is None else str(value)


def mention_prefix(mentions: list[Mention], at: str | None = None) -> str:
    """``<@userid>`` for each mentioned member with a WeCom id (markdown notifies them)."""
    ids = [m.platform_user_id for m in mentions if m.platform_user_id]
    if at and at not in ids:
        ids.insert(0, at)
    return " ".join(f"<@{uid}>" for uid in ids)


# ---------------------------------------------------------------- forms


def is_choice_form(form: Form | None) -> bool:
    """A form WeCom can ask on the card itself: only choice questions, at most three."""
    if form is None or not form.fields or len(form.fields) > MAX_SELECTS:
        return False
    if any(f.kind not in ("select", "multiselect", "checkboxes") or not f.choices for f in form.fields):
        return False
    if len(form.fields) == 1:
        return len(form.fields[0].choices) <= MAX_CHECKBOX_OPTIONS
    return all(f.kind == "select" and len(f.choices) <= MAX_SELECT_OPTIONS for f in form.fields)


def _submit_key(form: Form) -> str:
    value = dict(form.value)
    multi = [f.name for f in form.fields if f.kind in ("multiselect", "checkboxes")]
    if multi:
        value["_m"] = multi
    return encode_key("f", form.id, value)


def _template_lines(card: Card, locale: str) -> list[str]:
    """The form's one-message template, unless the body already shows it."""
    form = card.form
    if form is None or not form.template:
        return []
    template = _s(form.template).strip()
    if template and template in _s(card.body):
        return []
    return [text(_("To fill this in, send one message:"), locale), template]


# ---------------------------------------------------------------- template cards


def _buttons(buttons: list[Button]) -> list[dict[str, Any]]:
    keys: set[str] = set()
    result = []
    for index, button in enumerate(buttons):
        key = encode_key("b", button.action, button.value)
        if key in keys:
            key = encode_key("b", button.action, button.value, index=index)
        keys.add(key)
        result.append({"text": clip(_s(button.label), LIMITS["button"]), "style": BUTTON_STYLES.get(button.style, 2), "key": key})
    return result


def _checkbox(field_: FormField) -> dict[str, Any]:
    return {
        "question_key": field_.name,
        "mode": 1 if field_.kind in ("multiselect", "checkboxes") else 0,
        "option_list": [
            {"id": c.value, "text": clip(_s(c.label), LIMITS["checkbox_option"]), **({"is_checked": True} if c.value == field_.initial else {})}
            for c in field_.choices
        ],
    }


def _select(field_: FormField) -> dict[str, Any]:
    item: dict[str, Any] = {
        "question_key": field_.name,
        "title": clip(_s(field_.label), LIMITS["select_title"]),
        "option_list": [{"id": c.value, "text": clip(_s(c.label), LIMITS["select_option"])} for c in field_.choices],
    }
    if field_.initial and any(c.value == field_.initial for c in field_.choices):
        item["selected_id"] = field_.initial
    return item


@dataclass(slots=True)
class _Layout:
    title: str
    sub_lines: list[str] = field(default_factory=list)
    horizontal: list[dict[str, Any]] = field(default_factory=list)
    overflowed: bool = False


def _layout(card: Card, locale: str, mentions: list[Mention]) -> _Layout:
    title = plain(card.title)
    layout = _Layout(clip(title, LIMITS["title"]))
    if width(title) > LIMITS["title"]:
        layout.overflowed = True
        layout.sub_lines.append(title)
    names = [m.name for m in mentions if m.name]
    if names:
        layout.sub_lines.append(" ".join(f"@{n}" for n in names))
    body = plain(card.body)
    if body:
        layout.sub_lines.append(body)
    for item in card.fields:
        label, value = plain(item.label), plain(item.value) or "-"
        if len(layout.horizontal) < MAX_HORIZONTAL and width(value) <= LIMITS["value"] and width(label) <= LIMITS["keyname"] * 2:
            layout.horizontal.append({"keyname": clip(label, LIMITS["keyname"]), "value": value})
        else:
            layout.overflowed = True
            layout.sub_lines.append(f"{label}：{value}")
    if not is_choice_form(card.form):
        layout.sub_lines += _template_lines(card, locale)
    sub = "\n".join(line for line in layout.sub_lines if line)
    if width(sub) > LIMITS["sub_title"]:
        layout.overflowed = True
    return layout


def template_card(
    card: Card,
    *,
    task_id: str,
    locale: str,
    mentions: list[Mention] | None = None,
    update: bool = False,
    options: RenderOptions | None = None,
) -> dict[str, Any]:
    """The ``template_card`` object for ``card``; raises ``CannotRender`` when markdown must do."""
    options = options or RenderOptions()
    mentions = mentions or []
    layout = _layout(card, locale, mentions)
    interactive = bool(card.buttons) or is_choice_form(card.form) or update
    if not interactive and layout.overflowed:
        raise CannotRender("the notice does not fit a template card")
    if len(card.buttons) > MAX_BUTTONS:
        raise CannotRender(f"{len(card.buttons)} buttons; a WeCom card holds {MAX_BUTTONS}")
    result: dict[str, Any] = {
        "card_type": "text_notice",
        "source": {"desc": clip(options.source, LIMITS["source"]), "desc_color": SOURCE_COLORS.get(card.color, 0)},
        "main_title": {"title": layout.title},
    }
    if card.status:
        result["quote_area"] = {"type": 0, "quote_text": clip(plain(card.status), LIMITS["quote"])}
    sub = "\n".join(line for line in layout.sub_lines if line)
    if sub:
        result["sub_title_text"] = clip(sub, LIMITS["sub_title"])
    if layout.horizontal:
        result["horizontal_content_list"] = layout.horizontal
    try:
        if card.buttons:
            result["card_type"] = "button_interaction"
            result["button_list"] = _buttons(card.buttons)
        elif is_choice_form(card.form):
            assert card.form is not None
            form = card.form
            submit = {"text": clip(_s(form.submit_label), LIMITS["button"]), "key": _submit_key(form)}
            if len(form.fields) == 1:
                result["card_type"] = "vote_interaction"
                result["checkbox"] = _checkbox(form.fields[0])
            else:
                result["card_type"] = "multiple_interaction"
                result["select_list"] = [_select(f) for f in form.fields]
            result["submit_button"] = submit
            # vote and multiple-choice cards show only a title, the question and the submit button
            for name in ("horizontal_content_list", "sub_title_text", "quote_area"):
                result.pop(name, None)
            desc = plain(card.status) or plain(card.body)
            if desc:
                result["main_title"]["desc"] = clip(desc, LIMITS["desc"])
        elif update:
            done = text(_("Handled"), locale)
            result["card_type"] = "button_interaction"
            result["button_list"] = [{"text": clip(done, LIMITS["button"]), "style": 2, "key": "noop"}]
            result["replace_text"] = clip(done, LIMITS["button"])
        else:
            result["card_action"] = {"type": 1, "url": options.card_url}
    except KeyTooLong as exc:
        raise CannotRender(str(exc)) from exc
    result["task_id"] = task_id
    return result


# ---------------------------------------------------------------- markdown


def card_markdown(card: Card, *, locale: str, mentions: list[Mention] | None = None, limit: int = ROBOT_MARKDOWN_BYTES) -> str:
    """The whole card as markdown: every field, the status, and the command behind each button."""
    lines: list[str] = []
    prefix = mention_prefix(mentions or [])
    if prefix:
        lines.append(prefix)
    lines.append(f"**{plain(card.title)}**")
    if card.body:
        lines.append(_s(card.body).strip())
    if card.status:
        lines.append(f"> {plain(card.status)}")
    for item in card.fields:
        lines.append(f"**{plain(item.label)}**：{plain(item.value) or '-'}")
    template = _template_lines(card, locale)
    if template:
        lines.append(template[0])
        lines.append("```\n" + template[1] + "\n```")
    for button in card.buttons:
        if button.command:
            lines.append(text(_("- {label}: send “{command}”", label=plain(button.label), command=button.command), locale))
        else:
            lines.append(f"- {plain(button.label)}")
    return clip_bytes("\n".join(line for line in lines if line), limit)


def text_markdown(message: Text, *, mentions: list[Mention] | None = None, at: str | None = None, limit: int = ROBOT_MARKDOWN_BYTES) -> str:
    """A plain message as markdown; ``at`` is the member a private answer in a group is addressed to."""
    body = _s(message.body).strip()
    prefix = mention_prefix(mentions or [], at)
    return clip_bytes(f"{prefix} {body}".strip() if prefix else body, limit)


@dataclass(slots=True)
class Rendered:
    """What to send: ``msgtype`` ``"template_card"`` (``payload`` is the card) or ``"markdown"`` (``payload`` is the text)."""

    msgtype: str
    payload: Any
    task_id: str | None = None

    def body(self) -> dict[str, Any]:
        """The ``msgtype``/content part of a send or reply frame."""
        if self.msgtype == "template_card":
            return {"msgtype": "template_card", "template_card": self.payload}
        return {"msgtype": "markdown", "markdown": {"content": self.payload}}


def render(
    content: Card | Text,
    *,
    task_id: str,
    locale: str,
    mentions: list[Mention] | None = None,
    at: str | None = None,
    update: bool = False,
    options: RenderOptions | None = None,
) -> Rendered:
    """A card as a template card when it fits, else markdown; a text as markdown."""
    options = options or RenderOptions()
    if isinstance(content, Text):
        return Rendered("markdown", text_markdown(content, mentions=mentions, at=at, limit=options.markdown_bytes))
    try:
        return Rendered("template_card", template_card(content, task_id=task_id, locale=locale, mentions=mentions, update=update, options=options), task_id)
    except CannotRender:
        return Rendered("markdown", card_markdown(content, locale=locale, mentions=mentions, limit=options.markdown_bytes))


def stream_body(markdown: str, stream_id: str) -> dict[str, Any]:
    """A finished one-shot stream reply (the robot's way to answer a message with text)."""
    return {"msgtype": "stream", "stream": {"id": stream_id, "finish": True, "content": markdown}}
