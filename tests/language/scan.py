"""The language scan: every outbound message rendered in one locale, checked for words that do not belong.

Outbox rows keep their content unlocalized (``Msg`` trees), so one run of a
lifecycle can be rendered in both languages. Rendering marks every plain value
a message carries (``{name}`` arguments, plain field values) so the scan can
tell the catalog's words from data: catalog text is checked strictly; a value
is let through when it is a name, an id, a URL, a number or a date, or exactly
something a person typed (the caller says what was typed), and is checked like
catalog text otherwise — a code such as ``design`` or ``request.created``
arriving as a value is the defect this scan exists to find.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bot.i18n import LIST_SEPARATORS, Join, Msg, catalog, from_json

OPEN, CLOSE = "\x01", "\x02"

# ASCII words a Chinese reader may meet in the bot's own words: units, formats, brand and file names.
ALLOWED_ASCII = {
    "DPI", "PDF", "VI", "SOP", "ID", "URL", "OK", "px", "AM", "PM", "Slack", "DingTalk", "WeCom",
    "collabbot", "collab", "XZB",
}
# The glossary's "avoid" column (zh_CN): a term a Chinese reader should never meet in the bot's words.
AVOID_ZH = {
    "截止日期": "截止时间",
    "验收标准": "交付标准",
    "执行人": "负责人",
    "婉拒": "拒绝",
    "驳回": "拒绝",
    "未同意": "拒绝",
    "升级": "上报",
    "已延期": "已逾期",
    "提为风险": "上报为风险",
    "机器人": "协作助手",
    "您": "你",
}

_CJK = re.compile(r"[\u3400-\u9fff\u3000-\u303f\uff00-\uffef]")
_CJK_EN = re.compile(r"[\u3400-\u9fff\u3000-\u303f]")  # Han and CJK symbols (《》。、); a typed ， may stay behind its words
_HAN = re.compile(r"[\u3400-\u9fff]")
_ASCII_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_.:\-]*")
_ID = re.compile(r"^(?:[A-Z]{2,8}\d{6,}(?:-[A-Z0-9]+)*[a-z]?|[A-Z]{1,4}\d+|v\d+(?:\.\d+)*|\d+[A-Za-z%]*)$")
_URL = re.compile(r"https?://\S+|\b(?:Africa|America|Asia|Atlantic|Australia|Europe|Indian|Pacific)/[A-Za-z_]+")  # and IANA zone ids
_MARKUP = re.compile(r"\*\*|~~|`|\[|\]\([^)]*\)")
# ASCII punctuation that must be full-width when it touches Chinese text.
_ASCII_PUNCT_NEAR_HAN = re.compile(r"[\u3400-\u9fff][,:;!?()]|[,:;!?(][\u3400-\u9fff]|[\u3400-\u9fff] [,:;!?(]")


@dataclass
class Finding:
    locale: str
    rule: str
    text: str
    where: str

    def __str__(self) -> str:
        return f"[{self.locale}] {self.rule}: {self.text!r} in {self.where}"


@dataclass
class Typed:
    """What people typed (messages and form values), and the names the bot may show."""

    texts: list[str] = field(default_factory=list)
    names: set[str] = field(default_factory=set)

    def is_typed(self, value: str) -> bool:
        value = value.strip()
        return bool(value) and any(value in text for text in self.texts)

    def without_typed(self, value: str) -> str:
        """``value`` with every piece of typed text in it blanked out (a title inside a line the code built)."""
        fragments = {f.strip(" -•\t") for text in self.texts for f in re.split(r"[\n|：:，,；;]|\s+", text)}
        for fragment in sorted((f for f in fragments if len(f) >= 2), key=len, reverse=True):
            # whole tokens only: a typed "02" must not eat the 02 of an id the bot wrote
            value = re.sub(rf"(?<![A-Za-z0-9]){re.escape(fragment)}(?![A-Za-z0-9])", " ", value)
        return value


def _marked(value: Any, locale: str) -> str:
    """Localize like ``bot.i18n.localize`` but wrap every plain value in OPEN … CLOSE."""
    if value is None:
        return ""
    if isinstance(value, Msg):
        template = catalog(locale).gettext(value.msgid)
        args = {k: _marked(v, locale) for k, v in value.args.items()}
        try:
            return template.format_map(_Keep(args))
        except (ValueError, IndexError, AttributeError):
            return template
    if isinstance(value, Join):
        sep = LIST_SEPARATORS.get(locale, value.sep) if value.sep == ", " else value.sep
        return sep.join(_marked(p, locale) for p in value.parts)
    if isinstance(value, list | tuple):
        return "\n".join(_marked(v, locale) for v in value)
    text = str(value)
    return f"{OPEN}{text}{CLOSE}" if text else ""


class _Keep(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


_VISIBLE = {"title", "body", "label", "status", "command", "placeholder", "submit_label", "template", "initial", "fields", "buttons", "choices", "form", "opens_form"}


def visible_texts(payload: dict[str, Any], locale: str) -> Iterable[tuple[str, str]]:
    """(where, marked text) for every piece of an outbox payload a reader sees."""

    def walk(node: Any, path: str) -> Iterable[tuple[str, str]]:
        if isinstance(node, dict):
            if "$m" in node or "$j" in node:
                yield path, _marked(from_json(node), locale)
                return
            for key, child in node.items():
                if key == "initial" and (node.get("kind") in ("select", "multiselect") or node.get("choices")):
                    continue  # a choice's value: the reader sees its label
                if key in _VISIBLE:
                    yield from walk(child, f"{path}.{key}")
                elif key == "value" and "label" in node and "action" not in node and "kind" not in node and not re.search(r"\.choices\[\d+\]$", path):
                    yield from walk(child, f"{path}.value")
        elif isinstance(node, list):
            for index, child in enumerate(node):
                yield from walk(child, f"{path}[{index}]")
        elif node is not None and node != "":
            yield path, f"{OPEN}{node}{CLOSE}"

    yield from walk(payload, "")


def _segments(marked: str) -> Iterable[tuple[bool, str]]:
    """(is_value, text) pieces of a marked text; values may nest (a value inside a value's Msg)."""
    depth, current, out = 0, [], []
    for char in marked:
        if char == OPEN:
            out.append((depth > 0, "".join(current)))
            current, depth = [], depth + 1
        elif char == CLOSE:
            out.append((True, "".join(current)))
            current, depth = [], max(depth - 1, 0)
        else:
            current.append(char)
    out.append((depth > 0, "".join(current)))
    return [(v, t) for v, t in out if t]


# A platform account is an id the platform gave (钉钉 staff-123); a directory id follows 编号 / "id".
_ACCOUNT = re.compile(r"(?:模拟器|钉钉|企业微信|Slack|Simulator|DingTalk|WeCom)\s+[\w@.\-]+|(?:编号|\bid)\s+[\w@.\-]+")


_ACCOUNT_LABEL = re.compile(r"(?:模拟器|钉钉|企业微信|Slack|Simulator|DingTalk|WeCom|编号|\bid)\s*$")
_ACCOUNT_ID = re.compile(r"[\w@.\-]+")


def _strip_names(text: str, typed: Typed) -> str:
    for name in sorted(typed.names, key=len, reverse=True):
        if name:
            text = text.replace(name, " ")
    return _ACCOUNT.sub(" ", _URL.sub(" ", text))


def scan_text(marked: str, locale: str, where: str, typed: Typed) -> list[Finding]:
    findings: list[Finding] = []
    plain = marked.replace(OPEN, "").replace(CLOSE, "")
    before = ""
    for is_value, piece in _segments(marked):
        after_label = _ACCOUNT_LABEL.search(before) is not None
        before = piece
        if is_value and (typed.is_typed(piece) or piece.strip() in typed.names or (after_label and _ACCOUNT_ID.fullmatch(piece.strip()))):
            continue
        cleaned = _strip_names(typed.without_typed(piece) if is_value else piece, typed)
        if locale == "zh_CN":
            for word in _ASCII_WORD.findall(_MARKUP.sub(" ", cleaned)):
                word = word.rstrip(".:-")
                if word and word not in ALLOWED_ASCII and not _ID.match(word) and not re.fullmatch(r"[a-z]{1,2}", word):
                    findings.append(Finding(locale, "ASCII word", f"{word} ← {_around(plain, word)}", where))
            if not is_value:
                for bad, good in AVOID_ZH.items():
                    if bad in piece:
                        findings.append(Finding(locale, f"avoid {bad} (use {good})", _around(plain, bad), where))
                for match in _ASCII_PUNCT_NEAR_HAN.finditer(piece):
                    findings.append(Finding(locale, "ASCII punctuation in Chinese text", f"{match.group(0)} ← {_around(plain, match.group(0))}", where))
                if ", " in piece and _HAN.search(piece):
                    findings.append(Finding(locale, "ASCII comma in Chinese text", _around(plain, ", "), where))
        else:
            cleaned = cleaned.replace("语言 中文", " ")  # the command that switches to Chinese, shown to English readers
            if _CJK_EN.search(cleaned):
                findings.append(Finding(locale, "CJK in English text", f"{piece[:60]!r} ← {_around(plain, piece[:20])}", where))
    if locale == "zh_CN":  # a list of names joined by ", " is a value built in code
        for match in re.finditer(r"[\u3400-\u9fff\w]\x02?, \x01?[\u3400-\u9fff]", marked):
            findings.append(Finding(locale, "names joined with ', ' (use 、)", _around(plain, ", "), where))
            del match
            break
    return findings


def _around(text: str, part: str, width: int = 40) -> str:
    at = max(text.find(part), 0)
    return text[max(at - width, 0) : at + len(part) + width].replace("\n", "⏎")


def scan_payload(payload: dict[str, Any], locale: str, typed: Typed, where: str = "") -> list[Finding]:
    findings: list[Finding] = []
    for path, marked in visible_texts(payload, locale):
        findings += scan_text(marked, locale, f"{where}{path}", typed)
    return findings
