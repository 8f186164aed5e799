"""Who is reading: a signed link (``?t=``), the admin token (``?admin=``), or nobody (a refusal).

A link made for a person opens its scope and, from there, pages within what that person may see (links on
the page are minted for the same person and expire with the link that was opened). A bearer link (no
person) opens its scope only. The first personal link opened in a browser sets a signed ``cb_viewer``
cookie; a personal link for someone else opened later in that browser is refused as not theirs.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import quote, urlencode

from aiohttp import web

from bot.config import Config, secret_text
from bot.i18n import DEFAULT_LOCALE, normalize_locale
from bot.links import (
    LinkGrant,
    LinkRefusal,
    locale_hint,
    make_token,
    scope_path,
    sign_value,
    unsign_value,
    verify_token,
)
from storage.models import Person
from workflows.common.visibility import visible_collaboration_ids

VIEWER_COOKIE = "cb_viewer"
# what every page and download the dashboard answers carries: kept out of caches, the token out of other sites' logs
PRIVATE_HEADERS = {"Cache-Control": "private, no-store", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"}
ADMIN_LINK_TTL = timedelta(days=1)


class Refused(Exception):
    """The request is answered with a refusal page (``reason`` is a key of ``labels.REFUSALS``)."""

    def __init__(self, reason: str, locale: str, status: int = 403):
        super().__init__(reason)
        self.reason, self.locale, self.status = reason, locale, status


@dataclass(slots=True)
class Viewer:
    config: Config
    now: datetime
    locale: str
    expires_at: datetime
    person: Person | None = None
    admin: bool = False
    scope: str = ""
    visible: set[int] | None = field(default_factory=set)  # None: everything (admin)
    set_cookie: str | None = None
    _links: dict[tuple[str, str | None, tuple[tuple[str, str], ...]], str | None] = field(default_factory=dict)

    @property
    def personal(self) -> bool:
        return self.person is not None

    def may_open(self, scope: str) -> bool:
        """Whether this page may link onwards to ``scope`` (a bearer link stays within its own scope)."""
        if self.admin or self.person is not None:
            return True
        return LinkGrant(self.scope, None, self.expires_at).covers(scope)

    def sees(self, collaboration_id: int) -> bool:
        return self.visible is None or collaboration_id in self.visible

    def link(self, scope: str, *, locale: str | None = None, **query: str | int) -> str | None:
        """A path with a fresh token for ``scope`` (same person, same expiry), or None if it may not go there."""
        key = (scope, locale, tuple(sorted((k, str(v)) for k, v in query.items())))
        if key not in self._links:
            self._links[key] = self._make_link(scope, locale=locale, **query)
        return self._links[key]

    def _make_link(self, scope: str, *, locale: str | None = None, **query: str | int) -> str | None:
        if not self.may_open(scope):
            return None
        token = make_token(
            self.config,
            scope=scope,
            person_id=self.person.id if self.person else None,
            expires_at=self.expires_at,
            locale=locale or self.locale,
            admin=self.admin,
        )
        params = {k: str(v) for k, v in query.items() if v not in (None, "")}
        extra = ("&" + urlencode(params)) if params else ""
        return f"{scope_path(scope)}?t={quote(token, safe='')}{extra}"


def reader_locale(request: web.Request, hint: str | None = None) -> str:
    """The language of a page for someone not (yet) known: the link's own, else the browser's, else zh_CN."""
    if hint:
        return hint
    accept = request.headers.get("Accept-Language", "")
    for part in accept.split(","):
        tag = part.split(";")[0].strip()
        found = normalize_locale(tag) if tag else None
        if found is None and tag:
            found = normalize_locale(tag.split("-")[0])
        if found:
            return found
    return DEFAULT_LOCALE


async def viewer_for(request: web.Request, config: Config, now: datetime, scope: str) -> Viewer:
    """Who reads ``scope``, or raise ``Refused``."""
    section = config.dashboard
    admin_token = secret_text(section.admin_token)
    offered = request.query.get("admin", "")
    if admin_token and offered and hmac.compare_digest(offered.encode(), admin_token.encode()):
        locale = normalize_locale(request.query.get("lang", "")) or config.bot.locale
        return Viewer(config, now, locale, now + ADMIN_LINK_TTL, admin=True, scope=scope, visible=None)
    token = request.query.get("t", "")
    if not token:
        raise Refused("missing", reader_locale(request), 401)
    cookie_person = unsign_value(config, request.cookies.get(VIEWER_COOKIE))
    viewer_id = int(cookie_person) if cookie_person and cookie_person.isdigit() else None
    result = verify_token(config, token, now=now, scope=scope, viewer_person_id=viewer_id)
    if isinstance(result, LinkRefusal):
        status = 410 if result.reason == "expired" else 403
        hint = result.locale or locale_hint(token)
        reader_id = viewer_id if result.reason == "not_yours" else result.person_id  # who is reading, as far as we know
        if hint is None and result.reason in ("expired", "not_yours") and reader_id is not None:
            reader = await Person.get_or_none(id=reader_id)
            hint = normalize_locale(reader.locale or "") if reader else None
        raise Refused(result.reason, reader_locale(request, hint), status)
    if result.admin:
        return Viewer(config, now, result.locale or config.bot.locale, result.expires_at, admin=True, scope=result.scope, visible=None)
    if result.person_id is None:
        collab = _collaboration_of(result.scope)
        visible = {collab} if collab is not None else set()
        return Viewer(config, now, result.locale or config.bot.locale, result.expires_at, scope=result.scope, visible=visible)
    person = await Person.get_or_none(id=result.person_id)
    if person is None:
        raise Refused("not_yours", reader_locale(request, result.locale), 403)
    locale = result.locale or normalize_locale(person.locale or "") or config.bot.locale
    return Viewer(
        config,
        now,
        locale,
        result.expires_at,
        person=person,
        scope=result.scope,
        visible=await visible_collaboration_ids(person),
        set_cookie=None if viewer_id == person.id else sign_value(config, str(person.id)),
    )


def _collaboration_of(scope: str) -> int | None:
    kind, _, rest = scope.partition(":")
    head = rest.split("/", 1)[0]
    return int(head) if kind == "collab" and head.isdigit() else None
