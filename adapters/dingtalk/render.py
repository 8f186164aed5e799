"""Localized ``Card``/``Text`` → DingTalk payloads (pure).

Two shapes of a card:

- with the card template (``card_template_id`` in the config): ``card_params``
  fills the template's variables (``cards/collabbot_card.json`` documents
  them); buttons are a loop of ``sendCardRequest`` events whose params carry
  ``Button.action`` and ``Button.value``, so a click comes back as a card
  callback;
- without a template: ``card_markdown`` renders a markdown message whose
  buttons are ``dtmd://dingtalkclient/sendMessage`` links: tapping one sends
  the button's ``command`` text as the user's message (a signed ``#btn``
  line when the button has no command, which ``inbound`` turns back into the
  click).

Forms have no modal on DingTalk: a card's form is shown as its one-message
``field: value`` template, to be filled in and sent back.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from typing import Any
from urllib.parse import quote

from bot.i18n import _, localize
from bot.platform import Mention
from bot.types import Button, Card, Form, Text

COLOR_MARK = {"green": "🟢 ", "yellow": "🟡 ", "red": "🔴 ", "grey": "⚪ ", "blue": ""}
BUTTON_COLOR = {"primary": "blue", "danger": "red", "default": "gray"}
DTMD_SEND = "dtmd://dingtalkclient/sendMessage?content="
ACTION_PREFIX = "#btn"
TITLE_LENGTH = 40
MAX_MARKDOWN = 6000  # well below what DingTalk accepts for a markdown message

_INLINE_CODE = re.compile(r"`([^`\n]+)`")
_MD_MARKS = re.compile(r"^[#>\-*\s]+|[*_`]")


def tr(message: Any, locale: str) -> str:
    return str(localize(message, locale))


def markdown(text: str) -> str:
    """The markdown subset cards use → what DingTalk renders.

    DingTalk joins lines unless they end in two spaces, shows inline code
    literally and has no code blocks in messages: lines get hard breaks,
    inline code becomes bold, a fenced block becomes a quote.
    """
    out: list[str] = []
    fenced = False
    for line in text.splitlines():
        if line.strip().startswith("```"):
            fenced = not fenced
            continue
        if fenced:
            out.append(f"> {line}" if line.strip() else ">")
        else:
            out.append(_INLINE_CODE.sub(r"**\1**", line.rstrip()))
    return "  \n".join(out)


def truncate(text: str, limit: int = MAX_MARKDOWN) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def plain_title(text: str) -> str:
    """A short one-line summary (the chat list and the notification show it)."""
    for line in text.splitlines():
        cleaned = _MD_MARKS.sub("", line).strip()
        if cleaned:
            return cleaned if len(cleaned) <= TITLE_LENGTH else cleaned[: TITLE_LENGTH - 1] + "…"
    return "collabbot"


def _colon(locale: str) -> str:
    return "：" if locale.startswith("zh") else ": "


def form_text(form: Form, locale: str) -> str:
    """A form as instructions: fill in the template and send it to the bot."""
    template = str(form.template or "") or "\n".join(f"{field.name}: " for field in form.fields)
    return "\n".join(
        [
            f"**{form.title}**",
            tr(
                _("Copy these lines, fill them in and send them to me (in a group, @-mention me first):"),
                locale,
            ),
            "```",
            template,
            "```",
        ]
    )


def card_content(card: Card, mentions: list[Mention], locale: str) -> str:
    """Body, fields, status, form and mentions of a card, as DingTalk markdown."""
    parts: list[str] = []
    if card.body:
        parts.append(str(card.body))
    if card.fields:
        colon = _colon(locale)
        parts.append("\n".join(f"**{field.label}**{colon}{field.value}" for field in card.fields))
    if card.status:
        parts.append("\n".join(f"> {line}" for line in str(card.status).splitlines()))
    if card.form is not None and not (card.form.template and str(card.form.template) in str(card.body or "")):
        parts.append(form_text(card.form, locale))  # unless the body already shows what to send
    if mentions:
        parts.append(" ".join(f"@{m.name}" for m in mentions))
    return markdown("\n\n".join(parts))


def card_title(card: Card) -> str:
    return f"{COLOR_MARK.get(card.color, '')}{card.title}"


def button_params(button: Button) -> dict[str, str]:
    """What a click sends back in ``cardPrivateData.params``."""
    return {"action": button.action, "value": json.dumps(button.value, ensure_ascii=False, sort_keys=True)}


def card_params(card: Card, mentions: list[Mention], locale: str) -> dict[str, str]:
    """The ``cardParamMap`` of the template: every value a string, lists as JSON (DingTalk's rule)."""
    buttons = [
        {
            "text": str(button.label),
            "color": BUTTON_COLOR.get(button.style, "gray"),
            "status": "normal",
            "action": {
                "type": "sendCardRequest",
                "params": {"actionId": button.action, "params": button_params(button)},
            },
        }
        for button in card.buttons
    ]
    return {
        "title": card_title(card),
        "content": truncate(card_content(card, mentions, locale)),
        "btns": json.dumps(buttons, ensure_ascii=False),
        "lastMessage": plain_title(str(card.title)),
    }


def button_signature(secret: str, action: str, value_json: str) -> str:
    digest = hmac.new(secret.encode(), f"{action}\n{value_json}".encode(), hashlib.sha256).hexdigest()
    return digest[:12]


def action_text(secret: str, button: Button) -> str:
    """``#btn <action> <value json> ~<signature>``: a click sent as text, tamper-evident."""
    value_json = json.dumps(button.value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return (
        f"{ACTION_PREFIX} {button.action} {value_json} ~{button_signature(secret, button.action, value_json)}"
    )


def dtmd_link(label: str, content: str) -> str:
    text = " ".join(label.split()).replace("[", "［").replace("]", "］") or "…"
    return f"[{text}]({DTMD_SEND}{quote(content, safe='')})"


def _button_line(button: Button, secret: str, locale: str) -> str:
    command = (button.command or "").strip()
    if command:
        link = dtmd_link(str(button.label), button.command or command)
        return "- " + tr(_("{link} (or send: {command})", link=link, command=f"`{command}`"), locale)
    return "- " + dtmd_link(str(button.label), action_text(secret, button))


def card_markdown(
    card: Card, mentions: list[Mention], locale: str, *, secret: str, direct: bool
) -> tuple[str, str]:
    """The card as a markdown message with link buttons (no template configured): ``(title, text)``."""
    parts = [f"### {card_title(card)}", card_content(card, mentions, locale)]
    if card.buttons:
        lines = [_button_line(button, secret, locale) for button in card.buttons]
        if not direct:
            lines.append(tr(_("In a group, @-mention me before you send a command."), locale))
        parts.append(markdown("\n".join(lines)))
    return plain_title(str(card.title)), truncate("\n\n".join(p for p in parts if p))


def text_markdown(text: Text, mentions: list[Mention]) -> tuple[str, str]:
    body = str(text.body or "")
    if mentions:
        body = f"{body}\n\n" + " ".join(f"@{m.name}" for m in mentions)
    return plain_title(body), truncate(markdown(body))


def fold_markdown(items: list[str], locale: str) -> tuple[str, str]:
    """Several queued messages as one (pacing: see ``transport``): ``(title, text)``."""
    header = tr(
        _("{count} messages, combined into one to stay within DingTalk's rate limit:", count=len(items)),
        locale,
    )
    return header, "\n\n---\n\n".join([f"**{header}**", *items])
