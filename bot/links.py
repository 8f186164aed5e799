"""Signed, expiring, scoped links to the read-only dashboard.

A link is ``{base_url}/dashboard/{scope path}?t={token}``. The token carries the
scope, the person it was made for, the expiry and (optionally) the reader's
locale, signed with HMAC-SHA256 over the ``[dashboard] secret``. Nothing is
stored server side, so any number of bot processes can sign and check links.

Scopes (``kind`` or ``kind:rest``) map one-to-one onto dashboard paths:

- ``collab:12``            → ``/dashboard/collab/12`` (and everything under it, e.g. ``collab:12`` covers
                              ``/dashboard/collab/12/gantt.png``; sign ``collab:12/gantt.png`` for the image alone)
- ``person:5``             → ``/dashboard/person/5`` (a person's page; links from it stay within what person 5 may see)
- ``dept:ops``             → ``/dashboard/dept/ops``
- ``archive``, ``health``  → ``/dashboard/archive``, ``/dashboard/health``
- ``export:<name>``        → ``/dashboard/export/<name>``

A token for one scope never opens another path: changing the path of a link is
refused as *altered*, like changing the token itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

if TYPE_CHECKING:
    from bot.config import Config

SCOPE_PATTERN = re.compile(r"^[a-z]+(?::[A-Za-z0-9_.\-/]+)?$")
DASHBOARD_PREFIX = "/dashboard"

RefusalReason = Literal["expired", "altered", "not_yours", "disabled"]


class LinkError(ValueError):
    """A link cannot be made: the dashboard is disabled or has no secret, or the scope is malformed."""


@dataclass(frozen=True, slots=True)
class LinkGrant:
    """What a valid link allows: ``person_id`` may see ``scope`` until ``expires_at``.

    ``person_id`` None is a bearer link: whoever holds it sees ``scope`` and nothing beyond it.
    ``admin`` marks the links the dashboard makes for a reader who came with the admin token.
    """

    scope: str
    person_id: int | None
    expires_at: datetime
    locale: str | None = None
    admin: bool = False

    def covers(self, scope: str) -> bool:
        """True when ``scope`` is this grant's scope or lies under it (``collab:12`` covers ``collab:12/gantt.png``,
        ``health`` covers ``health:heatmap.png``)."""
        if scope == self.scope or scope.startswith(self.scope + "/"):
            return True
        return ":" not in self.scope and scope.startswith(self.scope + ":")


@dataclass(frozen=True, slots=True)
class LinkRefusal:
    """Why a link was refused: ``expired``, ``altered`` (token or path changed), ``not_yours`` or ``disabled``."""

    reason: RefusalReason
    locale: str | None = None
    person_id: int | None = None  # set only when the signature held (expired, not yours): whose link it was


def _secret_text(value: Any) -> str:
    if value is None:
        return ""
    getter = getattr(value, "get_secret_value", None)
    return str(getter() if callable(getter) else value)


def _secret(config: Config) -> bytes:
    section = getattr(config, "dashboard", None)
    if section is None or not section.enabled:
        raise LinkError("the dashboard is disabled ([dashboard] enabled = false)")
    secret = _secret_text(section.secret)
    if not secret:
        raise LinkError("[dashboard] secret is not set")
    return secret.encode()


def links_enabled(config: Config) -> bool:
    """True when links can be made (the ``[dashboard]`` section is enabled and has a secret)."""
    section = getattr(config, "dashboard", None)
    return bool(section is not None and section.enabled and _secret_text(section.secret))


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: bytes, payload: str) -> str:
    return _b64(hmac.new(secret, payload.encode(), hashlib.sha256).digest())


def scope_path(scope: str) -> str:
    """The dashboard path a scope opens: ``collab:12`` → ``/dashboard/collab/12``."""
    if not SCOPE_PATTERN.match(scope):
        raise LinkError(f"malformed scope {scope!r}")
    kind, _, rest = scope.partition(":")
    return f"{DASHBOARD_PREFIX}/{kind}" + (f"/{rest}" if rest else "")


def path_scope(path: str) -> str | None:
    """The inverse of ``scope_path``: ``/dashboard/collab/12/gantt.png`` → ``collab:12/gantt.png``."""
    if not path.startswith(DASHBOARD_PREFIX + "/"):
        return None
    kind, _, rest = path[len(DASHBOARD_PREFIX) + 1 :].partition("/")
    scope = kind + (f":{rest}" if rest else "")
    return scope if SCOPE_PATTERN.match(scope) else None


def make_token(
    config: Config, *, scope: str, person_id: int | None, expires_at: datetime, locale: str | None = None, admin: bool = False
) -> str:
    """The bare token (without the URL), for pages that link onwards with the same expiry."""
    secret = _secret(config)
    scope_path(scope)  # validates
    body: dict[str, Any] = {"s": scope, "p": person_id, "e": int(expires_at.timestamp())}
    if locale:
        body["l"] = locale
    if admin:
        body["a"] = 1
    payload = _b64(json.dumps(body, separators=(",", ":"), ensure_ascii=True).encode())
    return f"{payload}.{_sign(secret, payload)}"


def link_url(config: Config, scope: str, token: str) -> str:
    base = str(config.dashboard.base_url).rstrip("/")
    return f"{base}{scope_path(scope)}?t={quote(token, safe='')}"


def sign_link(
    config: Config,
    *,
    scope: str,
    person_id: int | None,
    now: datetime,
    ttl: timedelta | None = None,
    locale: str | None = None,
) -> str:
    """A full URL opening ``scope`` for ``person_id`` (None = admin) until ``now + ttl``.

    ``ttl`` defaults to ``[dashboard] link_ttl_days``; ``locale`` fixes the page language
    (otherwise the person's own locale, then the organisation's default).
    Raises ``LinkError`` when the dashboard is disabled or the scope is malformed.
    """
    if ttl is None:
        ttl = timedelta(days=config.dashboard.link_ttl_days)
    token = make_token(config, scope=scope, person_id=person_id, expires_at=now + ttl, locale=locale)
    return link_url(config, scope, token)


def verify_token(
    config: Config,
    token: str,
    *,
    now: datetime,
    scope: str | None = None,
    viewer_person_id: int | None = None,
) -> LinkGrant | LinkRefusal:
    """Check a token: signature, expiry, that it covers ``scope`` (the path opened) and, when the
    browser is already known to belong to ``viewer_person_id``, that it was made for that person."""
    try:
        secret = _secret(config)
    except LinkError:
        return LinkRefusal("disabled")
    payload, dot, signature = (token or "").partition(".")
    if not dot or not payload or not hmac.compare_digest(_sign(secret, payload), signature):
        return LinkRefusal("altered")
    try:
        body = json.loads(_unb64(payload))
        grant = LinkGrant(
            scope=str(body["s"]),
            person_id=None if body.get("p") is None else int(body["p"]),
            expires_at=datetime.fromtimestamp(int(body["e"]), tz=UTC),
            locale=body.get("l") or None,
            admin=bool(body.get("a")),
        )
    except (ValueError, KeyError, TypeError):
        return LinkRefusal("altered")
    if now >= grant.expires_at:
        return LinkRefusal("expired", grant.locale, grant.person_id)
    if scope is not None and not grant.covers(scope):
        return LinkRefusal("altered", grant.locale)
    if viewer_person_id is not None and grant.person_id is not None and grant.person_id != viewer_person_id:
        return LinkRefusal("not_yours", grant.locale, grant.person_id)
    return grant


def verify_link(
    config: Config, url: str, *, now: datetime, viewer_person_id: int | None = None
) -> LinkGrant | LinkRefusal:
    """Check a full URL made by ``sign_link``: the token must be intact, unexpired and match the URL's path."""
    from urllib.parse import parse_qs, urlsplit

    parts = urlsplit(url)
    tokens = parse_qs(parts.query).get("t") or [""]
    scope = path_scope(parts.path)
    if scope is None:
        return LinkRefusal("altered")
    return verify_token(config, tokens[0], now=now, scope=scope, viewer_person_id=viewer_person_id)


def sign_value(config: Config, value: str) -> str:
    """``value`` with a signature appended (for the dashboard's viewer cookie)."""
    return f"{value}.{_sign(_secret(config), 'cookie:' + value)}"


def unsign_value(config: Config, signed: str | None) -> str | None:
    """The value of ``sign_value`` if the signature holds, else None."""
    if not signed:
        return None
    value, dot, signature = signed.rpartition(".")
    try:
        secret = _secret(config)
    except LinkError:
        return None
    if not dot or not hmac.compare_digest(_sign(secret, "cookie:" + value), signature):
        return None
    return value


def locale_hint(token: str | None) -> str | None:
    """The locale written in a token, read WITHOUT checking the signature: only to word a refusal page."""
    payload = (token or "").partition(".")[0]
    try:
        value = json.loads(_unb64(payload)).get("l")
    except (ValueError, AttributeError, TypeError):
        return None
    return value if value in ("zh_CN", "en") else None
