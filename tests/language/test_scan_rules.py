"""The scan itself: it finds each class of defect the issue names, and lets typed text, names and ids through."""

from __future__ import annotations

from bot.i18n import _, join, to_json
from bot.types import Button, Card, CardField, Text
from tests.language.scan import Typed, scan_payload

TYPED = Typed(texts=["标题：Launch 海报，第一批\n备注：用 Figma 做"], names={"刘洋", "陈杰", "设计部"})


def rules(content, locale: str = "zh_CN") -> set[str]:
    return {f.rule for f in scan_payload(to_json(content.to_json()), locale, TYPED)}


def test_codes_arriving_as_values_are_found():
    assert rules(Text(_("{name} confirmed {what}", name="刘洋", what="request:r1:design"))) == {"ASCII word"}
    assert rules(Card(title=_("Collaborations"), fields=[CardField(_("Priority"), "high")])) == {"ASCII word"}
    assert rules(Text(join([_("Collaborations"), "[request.created]"]))) == {"ASCII word"}


def test_a_button_command_in_english_is_found():
    card = Card(title=_("Collaborations"), buttons=[Button(_("Accept"), "request.accept", command="accept XZB2026112301 design")])
    assert "ASCII word" in rules(card)
    card = Card(title=_("Collaborations"), buttons=[Button(_("Accept"), "request.accept", command=_("accept {code} {department}", code="XZB2026112301", department="设计部"))])
    assert rules(card) == set()


def test_typography_and_glossary_terms_are_checked_in_chinese():
    assert "ASCII punctuation in Chinese text" in rules(Text(_("原因: 素材晚到")))
    assert any(r.startswith("avoid 机器人") for r in rules(Text(_("机器人离线"))))
    assert any(r.startswith("avoid 升级") for r in rules(Text(_("已升级至王芳"))))
    assert "names joined with ', ' (use 、)" in rules(Text(_("{a}", a="刘洋, 陈杰")))


def test_typed_text_names_and_ids_pass():
    assert rules(Text(_("{title}", title="Launch 海报，第一批"))) == set()
    assert rules(Text(_("{who} {code}", who="陈杰", code="XZB2026112301-01"))) == set()
    assert rules(Text(_("{url}", url="https://files.example/poster.pdf"))) == set()


def test_chinese_in_english_is_found_unless_typed_or_a_name():
    assert rules(Text(_("Status: 进行中")), "en") == {"CJK in English text"}
    assert rules(Text(_("{who} owns {title}", who="刘洋", title="Launch 海报，第一批")), "en") == set()
