"""Slack's documented Block Kit limits, checked independently of the renderer.

Sources: https://api.slack.com/reference/block-kit/blocks,
…/block-elements, …/composition-objects, …/surfaces/views, and
https://api.slack.com/methods/chat.postMessage (50 blocks per message). The
collabbot rule is stricter in two places: at most 3000 characters in *any*
text (the message fallback included) and at most 5 buttons per actions block.
The fake Slack answers ``invalid_blocks`` for anything that breaks them, as
Slack does.
"""

from __future__ import annotations

from typing import Any

TEXT_LIMITS = {"header": 150, "section": 3000, "context": 3000}


def _text(obj: Any, where: str, limit: int, problems: list[str], *, kinds: tuple[str, ...] = ("plain_text", "mrkdwn")) -> None:
    if not isinstance(obj, dict):
        problems.append(f"{where}: not a text object")
        return
    if obj.get("type") not in kinds:
        problems.append(f"{where}: type {obj.get('type')!r} not in {kinds}")
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        problems.append(f"{where}: empty text")
    elif len(text) > limit:
        problems.append(f"{where}: {len(text)} characters (limit {limit})")


def _element(element: dict[str, Any], where: str, problems: list[str], *, in_input: bool = False) -> None:
    kind = element.get("type")
    action_id = element.get("action_id", "")
    if len(action_id) > 255:
        problems.append(f"{where}: action_id longer than 255")
    if "placeholder" in element:
        _text(element["placeholder"], f"{where}.placeholder", 150, problems, kinds=("plain_text",))
    if kind == "button":
        _text(element.get("text"), f"{where}.text", 75, problems, kinds=("plain_text",))
        if len(element.get("value", "")) > 2000:
            problems.append(f"{where}: value longer than 2000")
        if element.get("style") not in (None, "primary", "danger"):
            problems.append(f"{where}: style {element.get('style')!r}")
    elif kind in ("static_select", "multi_static_select"):
        options = element.get("options") or []
        if not 1 <= len(options) <= 100:
            problems.append(f"{where}: {len(options)} options (1..100)")
        for index, option in enumerate(options):
            _text(option.get("text"), f"{where}.options[{index}].text", 75, problems, kinds=("plain_text",))
            if not 0 < len(option.get("value", "")) <= 150:
                problems.append(f"{where}.options[{index}]: value length must be 1..150")
        initial = [element["initial_option"]] if "initial_option" in element else element.get("initial_options", [])
        for chosen in initial:
            if chosen not in options:
                problems.append(f"{where}: initial option {chosen!r} is not one of the options")
    elif kind == "plain_text_input":
        if len(element.get("initial_value", "")) > 3000:
            problems.append(f"{where}: initial_value longer than 3000")
    elif kind in ("datepicker", "users_select", "number_input", "multi_users_select"):
        pass
    elif not in_input or kind is None:
        problems.append(f"{where}: unsupported element type {kind!r}")


def block_problems(blocks: list[dict[str, Any]], *, max_blocks: int, surface: str) -> list[str]:
    problems: list[str] = []
    if len(blocks) > max_blocks:
        problems.append(f"{surface}: {len(blocks)} blocks (limit {max_blocks})")
    block_ids = [b["block_id"] for b in blocks if "block_id" in b]
    if len(block_ids) != len(set(block_ids)):
        problems.append(f"{surface}: duplicate block_id")
    buttons = 0
    for index, block in enumerate(blocks):
        where = f"{surface}.blocks[{index}]({block.get('type')})"
        kind = block.get("type")
        if len(block.get("block_id", "")) > 255:
            problems.append(f"{where}: block_id longer than 255")
        if kind == "header":
            _text(block.get("text"), f"{where}.text", 150, problems, kinds=("plain_text",))
        elif kind == "section":
            if "text" not in block and "fields" not in block:
                problems.append(f"{where}: needs text or fields")
            if "text" in block:
                _text(block["text"], f"{where}.text", 3000, problems)
            fields = block.get("fields") or []
            if len(fields) > 10:
                problems.append(f"{where}: {len(fields)} fields (limit 10)")
            for f_index, field in enumerate(fields):
                _text(field, f"{where}.fields[{f_index}]", 2000, problems)
        elif kind == "context":
            elements = block.get("elements") or []
            if not 1 <= len(elements) <= 10:
                problems.append(f"{where}: {len(elements)} elements (1..10)")
            for e_index, element in enumerate(elements):
                _text(element, f"{where}.elements[{e_index}]", 3000, problems)
        elif kind == "actions":
            elements = block.get("elements") or []
            if not 1 <= len(elements) <= 5:
                problems.append(f"{where}: {len(elements)} elements (collabbot: 1..5 per actions block)")
            ids = [e.get("action_id") for e in elements]
            if len(ids) != len(set(ids)):
                problems.append(f"{where}: duplicate action_id in one block {ids}")
            for e_index, element in enumerate(elements):
                buttons += element.get("type") == "button"
                _element(element, f"{where}.elements[{e_index}]", problems)
        elif kind == "input":
            _text(block.get("label"), f"{where}.label", 2000, problems, kinds=("plain_text",))
            if "element" not in block:
                problems.append(f"{where}: input without element")
            else:
                _element(block["element"], f"{where}.element", problems, in_input=True)
        elif kind == "divider":
            pass
        else:
            problems.append(f"{where}: unknown block type")
    if buttons > 25:
        problems.append(f"{surface}: {buttons} buttons (limit 25)")
    return problems


def message_problems(payload: dict[str, Any]) -> list[str]:
    """What Slack (and collabbot's stricter rule) would reject in a chat.postMessage/update/postEphemeral payload."""
    problems = block_problems(payload.get("blocks") or [], max_blocks=50, surface="message")
    text = payload.get("text")
    if text is not None and len(str(text)) > 3000:
        problems.append(f"message.text: {len(str(text))} characters (collabbot limit 3000)")
    if not text and not payload.get("blocks"):
        problems.append("message: no text and no blocks")
    return problems


def view_problems(view: dict[str, Any]) -> list[str]:
    """What Slack would reject in a views.open modal."""
    problems = block_problems(view.get("blocks") or [], max_blocks=100, surface="modal")
    for key in ("title", "submit", "close"):
        if key in view:
            _text(view[key], f"modal.{key}", 24, problems, kinds=("plain_text",))
    if "title" not in view:
        problems.append("modal: no title")
    if any(b.get("type") == "input" for b in view.get("blocks") or []) and "submit" not in view:
        problems.append("modal: inputs without a submit button")
    if len(view.get("private_metadata", "")) > 3000:
        problems.append("modal.private_metadata longer than 3000")
    if len(view.get("callback_id", "")) > 255:
        problems.append("modal.callback_id longer than 255")
    return problems
