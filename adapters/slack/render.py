"""Localized ``Card``/``Text``/``Form`` → Block Kit (pure: no I/O).

Everything rendered stays inside Slack's documented limits, whatever the
content: at most 50 blocks per message, 3000 characters per text object
(2000 per section field, 150 per header), 25 buttons in at most 5 per
actions block, 75-character button labels, 2000-character button values;
modals get 24-character titles and at most 100 blocks. A card too long for
one message is shortened with a note, never rejected.
"""

from __future__ import annotations

import json
import re
from typing import Any

from bot.i18n import _, localize
from bot.platform import Mention
from bot.types import Button, Card, Form, FormField, Text

from .inbound import ACTION_SUFFIX, FORM_ACTION

MAX_BLOCKS = 50
MAX_MODAL_BLOCKS = 100
MAX_TEXT = 3000
MAX_FIELD_TEXT = 2000
MAX_FIELDS_PER_SECTION = 10
MAX_HEADER = 150
MAX_BUTTONS = 25
BUTTONS_PER_BLOCK = 5
MAX_BUTTON_LABEL = 75
MAX_BUTTON_VALUE = 2000
MAX_ACTION_ID = 255
MAX_MODAL_TITLE = 24
MAX_PLACEHOLDER = 150
MAX_OPTION_TEXT = 75
MAX_OPTION_VALUE = 150
MAX_OPTIONS = 100
MAX_CHECKBOXES = 10  # a checkboxes element holds at most 10 options; more become a multi-select
MAX_LABEL = 2000
MAX_METADATA = 3000

_COLOR_MARK = {"green": "🟢 ", "yellow": "🟡 ", "red": "🔴 ", "grey": "⚪ ", "blue": ""}
_BOLD = re.compile(r"\*\*(.+?)\*\*", re.S)
_MD_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^)\s]+|mailto:[^)\s]+)\)")
_BULLET = re.compile(r"^(\s*)[-*] ", re.M)


def truncate(text: str, limit: int) -> str:
    """At most ``limit`` characters, ending with an ellipsis when cut (at a word break when one is near)."""
    if len(text) <= limit:
        return text
    cut = text[: max(0, limit - 1)]
    space = cut.rfind(" ")
    if space >= limit * 0.6:
        cut = cut[:space]
    return cut.rstrip() + "…"


def escape(text: str) -> str:
    """Slack's three control characters (https://api.slack.com/reference/surfaces/formatting#escaping)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mrkdwn(text: Any) -> str:
    """The card markdown subset (``**bold**``, ``[label](url)``, ``- `` lists, line breaks) → Slack mrkdwn."""
    out = escape("" if text is None else str(text))
    out = _BOLD.sub(lambda m: f"*{m.group(1).strip()}*", out)
    out = _MD_LINK.sub(lambda m: f"<{m.group(2)}|{m.group(1)}>", out)
    return _BULLET.sub(lambda m: f"{m.group(1)}• ", out)


def plain(text: Any, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": truncate(str(text or " ") or " ", limit), "emoji": True}


def chunks(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Split ``text`` into pieces of at most ``limit`` characters, at line breaks where possible."""
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:  # one very long line: hard split
            if current:
                pieces.append(current)
                current = ""
            pieces.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            pieces.append(current)
            current = line
        else:
            current = candidate
    if current.strip():
        pieces.append(current)
    return [p for p in pieces if p.strip()]


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, MAX_TEXT)}}


def context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(text, MAX_TEXT)}]}


def mention_text(mentions: list[Mention]) -> str:
    return " ".join(f"<@{m.platform_user_id}>" if m.platform_user_id else f"@{escape(m.name)}" for m in mentions)


def _t(msg: Any, locale: str) -> str:
    return str(localize(msg, locale))


# ---------------------------------------------------------------- cards


def button_element(button: Button, action_id: str) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "button",
        "text": plain(button.label, MAX_BUTTON_LABEL),
        "action_id": action_id[:MAX_ACTION_ID],
    }
    if button.value:  # a form button keeps it too: if its card is gone, the click goes to the workflow
        value = json.dumps(button.value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
        if len(value) > MAX_BUTTON_VALUE:
            raise ValueError(f"button {button.action!r}: value is {len(value)} characters, Slack allows {MAX_BUTTON_VALUE}")
        element["value"] = value
    if button.style in ("primary", "danger"):
        element["style"] = button.style
    return element


def _action_blocks(buttons: list[Button], card: Card) -> tuple[list[dict[str, Any]], list[Button]]:
    """Buttons in rows of 5, at most 25; returns the blocks and the buttons that did not fit."""
    all_buttons = list(buttons)
    if card.form is not None:
        all_buttons.insert(0, Button(label=card.form.title, action=FORM_ACTION, style="primary"))
    shown, dropped = all_buttons[:MAX_BUTTONS], all_buttons[MAX_BUTTONS:]
    blocks: list[dict[str, Any]] = []
    for row_index in range(0, len(shown), BUTTONS_PER_BLOCK):
        row = shown[row_index : row_index + BUTTONS_PER_BLOCK]
        used: dict[str, int] = {}
        elements = []
        for button in row:
            base = f"{FORM_ACTION}:{button.action}" if button.opens_form is not None else button.action
            count = used.get(base, 0)
            used[base] = count + 1
            elements.append(button_element(button, base if count == 0 else f"{base}{ACTION_SUFFIX}{count}"))
        blocks.append({"type": "actions", "block_id": f"actions-{row_index // BUTTONS_PER_BLOCK}", "elements": elements})
    return blocks, dropped


def _field_blocks(card: Card) -> list[dict[str, Any]]:
    """Short fields in a two-column grid (10 per section), long ones as their own sections."""
    blocks: list[dict[str, Any]] = []
    grid: list[dict[str, Any]] = []

    def flush() -> None:
        if grid:
            blocks.append({"type": "section", "fields": list(grid)})
            grid.clear()

    for field in card.fields:
        label = mrkdwn(field.label)
        value = mrkdwn(field.value if field.value not in (None, "") else "—")
        text = f"*{label}*\n{value}"
        if len(text) <= 300 and value.count("\n") < 4:
            grid.append({"type": "mrkdwn", "text": truncate(text, MAX_FIELD_TEXT)})
            if len(grid) == MAX_FIELDS_PER_SECTION:
                flush()
        else:
            flush()
            pieces = chunks(value, MAX_TEXT - len(label) - 4)
            blocks.append(section(f"*{label}*\n{pieces[0] if pieces else '—'}"))
            blocks += [section(piece) for piece in pieces[1:]]
    flush()
    return blocks


def render_card(card: Card, mentions: list[Mention] | None = None, locale: str = "zh_CN") -> dict[str, Any]:
    """A card → ``{"text": fallback, "blocks": [...]}`` for chat.postMessage / chat.update."""
    title = str(card.title or "")
    head: list[dict[str, Any]] = [{"type": "header", "text": plain(_COLOR_MARK.get(card.color, "") + title, MAX_HEADER)}]
    if mentions:
        head.append(section(mention_text(mentions)))

    middle: list[dict[str, Any]] = []
    if card.body not in (None, ""):
        middle += [section(piece) for piece in chunks(mrkdwn(card.body))]
    middle += _field_blocks(card)

    tail: list[dict[str, Any]] = []
    if card.form is not None and card.form.template:
        hint = _t(_("Or send it as one message:"), locale)
        tail.append(context(f"{escape(hint)}\n```{escape(str(card.form.template))}```"))
    if card.status not in (None, ""):
        tail.append(context(mrkdwn(card.status)))
    actions, dropped = _action_blocks(card.buttons, card)
    if dropped:
        commands = ", ".join(f"`{escape(b.command)}`" for b in dropped if b.command)
        if commands:
            tail.append(context(escape(_t(_("More options, typed as commands:"), locale)) + " " + commands))
    tail += actions

    room = MAX_BLOCKS - len(head) - len(tail)
    if len(middle) > room:
        middle = middle[: max(0, room - 1)]
        middle.append(context(escape(_t(_("(Shortened to fit in Slack. Ask the bot to show the full record.)"), locale))))
    blocks = head + middle + tail

    fallback = title
    if mentions:
        fallback = f"{mention_text(mentions)} {fallback}"
    if card.status not in (None, ""):
        fallback = f"{fallback} — {card.status}"
    return {"text": truncate(fallback, MAX_TEXT), "blocks": blocks}


def render_text(text: Text, mentions: list[Mention] | None = None) -> dict[str, Any]:
    """A plain message → mrkdwn sections (3000 characters each), with a notification fallback."""
    body = mrkdwn(text.body)
    if mentions:
        body = f"{mention_text(mentions)} {body}"
    pieces = chunks(body) or [" "]
    if len(pieces) > MAX_BLOCKS:
        pieces = [*pieces[: MAX_BLOCKS - 1], truncate(pieces[MAX_BLOCKS - 1], MAX_TEXT - 2) + " …"]
    return {"text": truncate(body, MAX_TEXT), "blocks": [section(piece) for piece in pieces]}


def render(content: Card | Text, mentions: list[Mention] | None = None, locale: str = "zh_CN") -> dict[str, Any]:
    if isinstance(content, Card):
        return render_card(content, mentions, locale)
    return render_text(content, mentions)


# ---------------------------------------------------------------- modals


def _option(value: str, label: Any) -> dict[str, Any]:
    return {"text": plain(label, MAX_OPTION_TEXT), "value": str(value)[:MAX_OPTION_VALUE]}


def _element(field: FormField) -> dict[str, Any]:
    element: dict[str, Any] = {"action_id": field.name}
    initial = field.initial
    kind = field.kind
    if kind in ("select", "multiselect", "checkboxes") and not field.choices:
        kind = "text"
    if kind == "checkboxes" and len(field.choices) > MAX_CHECKBOXES:
        kind = "multiselect"
    if kind == "date":
        element["type"] = "datepicker"
        if initial and re.fullmatch(r"\d{4}-\d{2}-\d{2}", initial):
            element["initial_date"] = initial
    elif kind == "checkboxes":
        options = [_option(c.value, c.label) for c in field.choices]
        element["type"] = "checkboxes"
        element["options"] = options
        chosen = [o for o in options if initial is not None and o["value"] in str(initial).split(",")]
        if chosen:
            element["initial_options"] = chosen
        return element  # checkboxes take no placeholder
    elif kind in ("select", "multiselect"):
        options = [_option(c.value, c.label) for c in field.choices[:MAX_OPTIONS]]
        element["type"] = "static_select" if kind == "select" else "multi_static_select"
        element["options"] = options
        chosen = [o for o in options if initial is not None and o["value"] in str(initial).split(",")]
        if chosen and kind == "select":
            element["initial_option"] = chosen[0]
        elif chosen:
            element["initial_options"] = chosen
    elif kind == "person":
        element["type"] = "users_select"
        match = re.fullmatch(r"<?@?([UW][A-Z0-9]+)>?", initial or "")
        if match:
            element["initial_user"] = match.group(1)
    elif kind == "number":
        element["type"] = "number_input"
        element["is_decimal_allowed"] = True
        if initial and re.fullmatch(r"-?\d+(\.\d+)?", initial):
            element["initial_value"] = initial
    else:
        element["type"] = "plain_text_input"
        element["multiline"] = kind == "textarea"
        if initial:
            element["initial_value"] = initial[:MAX_TEXT]
    if field.placeholder:
        element["placeholder"] = plain(field.placeholder, MAX_PLACEHOLDER)
    return element


def render_modal(form: Form, locale: str, private_metadata: str = "") -> dict[str, Any]:
    """A form → a ``views.open`` modal; ``callback_id`` is the form id, ``block_id``/``action_id`` the field names."""
    blocks = [
        {
            "type": "input",
            "block_id": field.name,
            "label": plain(field.label, MAX_LABEL),
            "optional": not field.required,
            "element": _element(field),
        }
        for field in form.fields[:MAX_MODAL_BLOCKS]
    ]
    if len(private_metadata) > MAX_METADATA:
        raise ValueError(f"form {form.id!r}: private_metadata is {len(private_metadata)} characters (limit {MAX_METADATA})")
    return {
        "type": "modal",
        "callback_id": form.id[:MAX_ACTION_ID],
        "title": plain(form.title, MAX_MODAL_TITLE),
        "submit": plain(form.submit_label, MAX_MODAL_TITLE),
        "close": plain(_t(_("Cancel"), locale), MAX_MODAL_TITLE),
        "private_metadata": private_metadata,
        "blocks": blocks,
    }


def modal_errors(view: dict[str, Any], errors: dict[str, str]) -> dict[str, str]:
    """Form errors keyed by field → ``response_action: errors`` keyed by the view's input block ids.

    An error on a field the modal does not show goes on the first input, so the user still sees it."""
    block_ids = [b.get("block_id") for b in view.get("blocks") or [] if b.get("type") == "input" and b.get("block_id")]
    out: dict[str, str] = {}
    for name, message in errors.items():
        target = name if name in block_ids else (block_ids[0] if block_ids else name)
        out[target] = truncate(f"{out[target]} {message}" if target in out else str(message), MAX_FIELD_TEXT)
    return out
