"""Localized ``Card``/``Text`` → Feishu message content (pure).

A card is a card JSON 2.0 (``schema: "2.0"``): a header whose ``template`` colour follows the card's
status colour, the body as markdown, the fields as ``**label**：value`` lines, the status under a
divider, the buttons side by side in a ``column_set``, and the card's form as a ``form`` container
whose submit button sends every field at once. Each button's ``callback`` value is what
``inbound.card_action`` reads back (``callback_value``). ``config.update_multi`` makes one card
the same for everyone who sees it, which is what lets a decision change it for the whole group.

A text is a ``post`` with one ``md`` paragraph, so the markdown subset of our texts renders (bold,
lists, links); mentions are ``<at user_id="ou_…"></at>``, which notify.
"""

from __future__ import annotations

import json
from typing import Any

from bot.i18n import _, localize
from bot.platform import Mention
from bot.types import Button, Card, Form, FormField, Text

HEADER_TEMPLATE = {"green": "green", "yellow": "orange", "red": "red", "grey": "grey", "blue": "blue"}
BUTTON_TYPE = {"primary": "primary_filled", "danger": "danger", "default": "default"}
MAX_MARKDOWN = 8000  # a card stays well below Feishu's 30 KB request limit
SUMMARY_LENGTH = 60


def tr(message: Any, locale: str) -> str:
    return str(localize(message, locale))


def plain(content: str) -> dict[str, str]:
    return {"tag": "plain_text", "content": content}


def clip(value: str, limit: int = MAX_MARKDOWN) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def summary(title: str) -> str:
    """The one line the chat list and the notification show."""
    line = next((part.strip() for part in title.splitlines() if part.strip()), "collabbot")
    return line if len(line) <= SUMMARY_LENGTH else line[: SUMMARY_LENGTH - 1] + "…"


def callback_value(button: Button, *, direct: bool) -> dict[str, Any]:
    """What a click sends back: the action and its value (``inbound.card_action`` reads it)."""
    value: dict[str, Any] = {"a": button.action, "v": button.value}
    if direct:
        value["d"] = 1
    return value


def at_card(mentions: list[Mention]) -> str:
    return " ".join(f"<at id={m.platform_user_id}></at>" for m in mentions if m.platform_user_id)


def _colon(locale: str) -> str:
    return "：" if locale.startswith("zh") else ": "


def button(button: Button, *, direct: bool, name: str) -> dict[str, Any]:
    return {
        "tag": "button",
        "name": name,
        "text": plain(str(button.label)),
        "type": BUTTON_TYPE.get(button.style, "default"),
        "behaviors": [{"type": "callback", "value": callback_value(button, direct=direct)}],
    }


def _options(field: FormField) -> list[dict[str, Any]]:
    return [{"text": plain(str(choice.label)), "value": choice.value} for choice in field.choices]


def _label(field: FormField) -> dict[str, Any]:
    mark = " *" if field.required else ""
    return {"tag": "markdown", "content": f"**{field.label}**{mark}"}


def form_field(field: FormField, locale: str) -> list[dict[str, Any]]:
    """One form field as card components: inputs carry their own label, pickers get one above them."""
    placeholder = plain(str(field.placeholder)) if field.placeholder else None
    common: dict[str, Any] = {"name": field.name, "required": field.required}
    if placeholder:
        common["placeholder"] = placeholder
    if "placeholder" not in common:  # a picker with nothing chosen must show something (Feishu refuses it otherwise)
        picker_hint = {"tag": "plain_text", "content": str(field.label)}
    else:
        picker_hint = common["placeholder"]
    if field.kind in ("select", "multiselect", "checkboxes") and field.choices:
        if field.kind == "select":
            picker: dict[str, Any] = {"tag": "select_static", **common, "placeholder": picker_hint, "options": _options(field)}
            if field.initial:
                picker["initial_option"] = field.initial
        else:
            picker = {"tag": "multi_select_static", **common, "placeholder": picker_hint, "options": _options(field)}
            if field.initial:
                picker["selected_values"] = [v.strip() for v in field.initial.split(",") if v.strip()]
        return [_label(field), picker]
    if field.kind == "date":
        picker = {"tag": "date_picker", **common, "placeholder": picker_hint}
        if field.initial:
            picker["initial_date"] = field.initial
        return [_label(field), picker]
    element: dict[str, Any] = {"tag": "input", **common, "label": plain(str(field.label)), "label_position": "top"}
    if field.kind == "textarea":
        element["input_type"] = "multiline_text"
        element["rows"] = 3
    if field.initial:
        element["default_value"] = field.initial
    return [element]


def form_container(form: Form, locale: str, *, direct: bool) -> dict[str, Any]:
    """The card's form: every field, then one submit button that sends them all."""
    elements: list[dict[str, Any]] = []
    for field in form.fields:
        elements += form_field(field, locale)
    value: dict[str, Any] = {"f": form.id, "v": form.value}
    if direct:
        value["d"] = 1
    elements.append(
        {
            "tag": "button",
            "name": "submit",
            "text": plain(str(form.submit_label)),
            "type": "primary_filled",
            "form_action_type": "submit",
            "behaviors": [{"type": "callback", "value": value}],
        }
    )
    return {"tag": "form", "name": "form", "elements": elements}


def card(content: Card, mentions: list[Mention], locale: str, *, direct: bool = False) -> dict[str, Any]:
    """A card as card JSON 2.0."""
    elements: list[dict[str, Any]] = []
    if content.body:
        elements.append({"tag": "markdown", "content": clip(str(content.body))})
    if content.fields:
        colon = _colon(locale)
        lines = "\n".join(f"**{field.label}**{colon}{field.value}" for field in content.fields)
        elements.append({"tag": "markdown", "content": clip(lines)})
    if content.status:
        elements.append({"tag": "hr"})
        elements.append({"tag": "markdown", "content": clip(str(content.status))})
    if mentions:
        elements.append({"tag": "markdown", "content": at_card(mentions)})
    if content.form is not None:
        elements.append(form_container(content.form, locale, direct=direct))
    if content.buttons:
        columns = [
            {"tag": "column", "width": "auto", "elements": [button(b, direct=direct, name=f"b{index}")]}
            for index, b in enumerate(content.buttons)
        ]
        elements.append({"tag": "column_set", "flex_mode": "flow", "horizontal_spacing": "8px", "columns": columns})
        commands = [str(b.command) for b in content.buttons if b.command]
        if commands:  # what to type where buttons do not show (an old client, a forwarded copy)
            hint = tr(_("Or send: {commands}", commands=" / ".join(commands)), locale)
            elements.append({"tag": "markdown", "content": hint, "text_size": "notation"})
    title = str(content.title)
    return {
        "schema": "2.0",
        "config": {"update_multi": True, "summary": {"content": summary(title)}},
        "header": {"title": plain(title), "template": HEADER_TEMPLATE.get(content.color, "blue")},
        "body": {"elements": elements},
    }


def at_text(mentions: list[Mention]) -> str:
    return " ".join(f'<at user_id="{m.platform_user_id}"></at>' for m in mentions if m.platform_user_id)


def text_post(content: Text, mentions: list[Mention], *, also_at: str | None = None) -> dict[str, Any]:
    """A text as a ``post`` with one markdown paragraph; ``also_at``: a person it is meant for, in a group."""
    body = clip(str(content.body or ""))
    tags = at_text(mentions)
    if also_at:
        body = f'<at user_id="{also_at}"></at> {body}'
    if tags:
        body = f"{body}\n{tags}"
    return {"zh_cn": {"title": "", "content": [[{"tag": "md", "text": body}]]}}


def content_json(value: dict[str, Any]) -> str:
    """The message API takes ``content`` as a JSON string."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
