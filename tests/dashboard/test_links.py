"""Signed links (bot/links.py): what a link opens, until when, for whom; every kind of tampering is refused."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from bot.config import from_dict
from bot.links import (
    LinkError,
    LinkGrant,
    LinkRefusal,
    links_enabled,
    locale_hint,
    path_scope,
    scope_path,
    sign_link,
    verify_link,
)
from tests.dashboard.conftest import DASHBOARD

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
CONFIG = from_dict({"dashboard": DASHBOARD}, environ={})


def test_a_link_opens_its_scope_and_what_lies_under_it_until_it_expires() -> None:
    url = sign_link(CONFIG, scope="collab:12", person_id=5, now=NOW, locale="en")
    assert url.startswith("https://collab.example.com/dashboard/collab/12?t=")
    grant = verify_link(CONFIG, url, now=NOW + timedelta(days=6, hours=23))
    assert grant == LinkGrant("collab:12", 5, NOW + timedelta(days=7), "en")
    assert grant.covers("collab:12/gantt.png") and not grant.covers("collab:123") and not grant.covers("collab:1")
    assert verify_link(CONFIG, url.replace("/collab/12?", "/collab/12/gantt.png?"), now=NOW) == grant
    assert verify_link(CONFIG, url, now=NOW + timedelta(days=7)) == LinkRefusal("expired", "en", 5)
    short = sign_link(CONFIG, scope="health", person_id=None, now=NOW, ttl=timedelta(hours=1))
    assert isinstance(verify_link(CONFIG, short.replace("/health?", "/health/heatmap.png?"), now=NOW), LinkGrant)
    assert verify_link(CONFIG, short, now=NOW + timedelta(hours=1)).reason == "expired"  # type: ignore[union-attr]


def test_every_kind_of_tampering_is_refused_as_altered() -> None:
    url = sign_link(CONFIG, scope="collab:12", person_id=5, now=NOW)
    head, token = url.split("?t=")
    payload, signature = token.split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    body["s"] = "collab:13"  # a forged scope under the old signature
    forged = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
    for tampered in (
        f"{head}?t={payload}.{signature[:-1]}{'A' if signature[-1] != 'A' else 'B'}",
        f"{head.replace('/12', '/13')}?t={token}",
        f"{head}?t={forged}.{signature}",
        f"{head}?t={payload}",
        f"{head}?t=",
        f"{head}?t=%%%.???",
        f"https://collab.example.com/elsewhere?t={token}",
    ):
        assert verify_link(CONFIG, tampered, now=NOW) == LinkRefusal("altered"), tampered


def test_a_link_made_for_someone_else_is_not_theirs() -> None:
    url = sign_link(CONFIG, scope="person:5", person_id=5, now=NOW)
    assert verify_link(CONFIG, url, now=NOW, viewer_person_id=6) == LinkRefusal("not_yours", None, 5)
    assert isinstance(verify_link(CONFIG, url, now=NOW, viewer_person_id=5), LinkGrant)


def test_links_need_the_dashboard_and_a_well_formed_scope() -> None:
    off = from_dict({}, environ={})
    assert not links_enabled(off) and links_enabled(CONFIG)
    with pytest.raises(LinkError):
        sign_link(off, scope="collab:1", person_id=1, now=NOW)
    assert verify_link(off, "https://x/dashboard/collab/1?t=a.b", now=NOW) == LinkRefusal("disabled")
    for bad in ("Collab:1", "collab:", "collab:1 2", "../etc", ""):
        with pytest.raises(LinkError):
            sign_link(CONFIG, scope=bad, person_id=1, now=NOW)
    assert scope_path("dept:design") == "/dashboard/dept/design" and path_scope("/dashboard/dept/design") == "dept:design"
    assert path_scope("/elsewhere") is None and locale_hint("garbage") is None


def test_the_dashboard_section_refuses_to_start_without_a_secret() -> None:
    from bot.config import ConfigError

    with pytest.raises(ConfigError) as error:
        from_dict({"dashboard": {"enabled": True}}, environ={})
    assert "secret" in str(error.value)
