"""Every zh_CN message, not only those a lifecycle shows: the glossary's terms and Chinese punctuation."""

from __future__ import annotations

import re

from babel.messages.pofile import read_po

from bot.i18n import LOCALES_DIR
from tests.language.scan import AVOID_ZH

_HAN = "\u3400-\u9fff"
_ASCII_PUNCT = re.compile(rf"[{_HAN}][,:;!?()]|[,:;!?(][{_HAN}]")
_CODE = re.compile(r"`[^`]*`|\{[^{}]*\}|https?://\S+")  # commands in backticks, placeholders and links are not prose


def zh_messages() -> list[tuple[str, str, str]]:
    found = []
    for path in sorted((LOCALES_DIR / "zh_CN" / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as handle:
            for message in read_po(handle, locale="zh_CN"):
                if message.id and isinstance(message.string, str) and message.string:
                    found.append((path.name, str(message.id), message.string))
    return found


def test_zh_cn_catalogs_use_the_glossary_terms():
    bad = [f"{name}: {text!r} uses {term} (use {good})" for name, _msgid, text in zh_messages() for term, good in AVOID_ZH.items() if term in _CODE.sub("", text)]
    assert not bad, "\n".join(bad)


def test_zh_cn_catalogs_use_full_width_punctuation():
    bad = [f"{name}: {text!r}" for name, _msgid, text in zh_messages() if _ASCII_PUNCT.search(_CODE.sub("", text)) or re.search(rf"[{_HAN}], [{_HAN}]", text)]
    assert not bad, "\n".join(bad)
