"""The Feishu OpenAPI calls the bot makes, over aiohttp, with the errors mapped once.

- ``tenant_access_token``: ``POST /open-apis/auth/v3/tenant_access_token/internal``, cached until
  five minutes before it expires (Feishu gives two hours) and fetched again when a call says it
  is invalid (codes 99991661 / 99991663 / 99991668: one retry with a new token);
- messages: ``POST /open-apis/im/v1/messages`` (with ``uuid``: Feishu drops a second send with the
  same uuid within an hour, so a retried send does not post twice), ``PATCH
  /open-apis/im/v1/messages/{id}`` (a card's new content for everyone), uploads to
  ``/open-apis/im/v1/images`` and ``/open-apis/im/v1/files``;
- the contact API (``GET /open-apis/contact/v3/users/{open_id}``) for a name and an e-mail.

Errors: HTTP 429 or code 99991400 (the frequency limit) → ``RateLimited`` with the wait from
``x-ogw-ratelimit-reset``; 5xx, a timeout or a dropped connection → ``TransientError``; an
invalid token twice → ``AuthExpired``; any other non-zero code → ``PermanentError``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import aiohttp

from bot.errors import AuthExpired, PermanentError, PlatformError, RateLimited, TransientError

log = logging.getLogger("collabbot.feishu")

TOKEN_PATH = "/open-apis/auth/v3/tenant_access_token/internal"
TOKEN_MARGIN = 300.0
RATE_LIMITED_CODES = {99991400, 230020}  # the app's frequency limit; a chat's
TOKEN_INVALID_CODES = {99991661, 99991663, 99991668}
DEFAULT_WAIT = 1.0


def _wait(headers: Any) -> float:
    for name in ("x-ogw-ratelimit-reset", "Retry-After"):
        value = headers.get(name) if headers is not None else None
        if value:
            try:
                return max(DEFAULT_WAIT, float(value))
            except ValueError:
                continue
    return DEFAULT_WAIT


def classify(status: int, data: dict[str, Any], headers: Any) -> PlatformError | None:
    """A response → the ``PlatformError`` it means, or None when it succeeded."""
    code = data.get("code")
    message = f"feishu {status} {code}: {data.get('msg') or ''}".strip()
    if status == 429 or code in RATE_LIMITED_CODES:
        return RateLimited(message, retry_after=_wait(headers), status=status)
    if status >= 500:
        return TransientError(message, status=status)
    if code in TOKEN_INVALID_CODES:
        return AuthExpired(message, status=status)
    if code not in (0, None) or status >= 400:
        return PermanentError(message, status=status)
    return None


class OpenApi:
    """One app's calls. ``now`` is epoch seconds by the bot's clock (token expiry)."""

    def __init__(self, base_url: str, app_id: str, app_secret: str, *, now: Callable[[], float], timeout: float = 10.0):
        self.base_url = base_url.rstrip("/")
        self.app_id = app_id
        self.app_secret = app_secret
        self.now = now
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None
        self._token: tuple[str, float] | None = None  # (token, expires at)
        self._token_lock = asyncio.Lock()
        self.token_fetches = 0

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            async with self.session.request(method, self.base_url + path, **kwargs) as response:
                try:
                    data = await response.json(content_type=None)
                except ValueError:
                    data = {}
                if not isinstance(data, dict):
                    data = {}
                problem = classify(response.status, data, response.headers)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TransientError(f"feishu {method} {path}: {type(exc).__name__}: {exc}") from exc
        if problem is not None:
            raise problem
        return data

    async def token(self) -> str:
        async with self._token_lock:
            if self._token is not None and self._token[1] - TOKEN_MARGIN > self.now():
                return self._token[0]
            data = await self._request("POST", TOKEN_PATH, json={"app_id": self.app_id, "app_secret": self.app_secret})
            token = str(data.get("tenant_access_token") or "")
            if not token:
                raise AuthExpired("feishu: no tenant_access_token in the answer (check app_id and app_secret)")
            self._token = (token, self.now() + float(data.get("expire") or 7200))
            self.token_fetches += 1
            return token

    async def call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """An authenticated call; an invalid token is fetched anew and the call made once more."""
        for attempt in (1, 2):
            headers = {"Authorization": f"Bearer {await self.token()}"}
            try:
                return await self._request(method, path, headers=headers, **kwargs)
            except AuthExpired:
                self._token = None
                if attempt == 2:
                    raise
                log.info("feishu: the tenant access token was refused; fetching a new one")
        raise AssertionError("unreachable")

    @staticmethod
    def _data(answer: dict[str, Any]) -> dict[str, Any]:
        data = answer.get("data")
        return data if isinstance(data, dict) else {}

    async def send(self, receive_id_type: str, receive_id: str, msg_type: str, content: str, uuid: str) -> str:
        answer = await self.call(
            "POST",
            "/open-apis/im/v1/messages",
            params={"receive_id_type": receive_id_type},
            json={"receive_id": receive_id, "msg_type": msg_type, "content": content, "uuid": uuid[:50]},
        )
        return str(self._data(answer).get("message_id") or "")

    async def patch(self, message_id: str, content: str) -> None:
        await self.call("PATCH", f"/open-apis/im/v1/messages/{message_id}", json={"content": content})

    async def upload_image(self, data: bytes, filename: str) -> str:
        form = aiohttp.FormData()
        form.add_field("image_type", "message")
        form.add_field("image", data, filename=filename)
        answer = await self.call("POST", "/open-apis/im/v1/images", data=form)
        return str(self._data(answer).get("image_key") or "")

    async def upload_file(self, data: bytes, filename: str, file_type: str) -> str:
        form = aiohttp.FormData()
        form.add_field("file_type", file_type)
        form.add_field("file_name", filename)
        form.add_field("file", data, filename=filename)
        answer = await self.call("POST", "/open-apis/im/v1/files", data=form)
        return str(self._data(answer).get("file_key") or "")

    async def user(self, open_id: str) -> dict[str, Any]:
        """A person's ``name`` and ``email`` (the e-mail only with the contact e-mail scope)."""
        answer = await self.call("GET", f"/open-apis/contact/v3/users/{open_id}", params={"user_id_type": "open_id"})
        user = self._data(answer).get("user")
        return user if isinstance(user, dict) else {}

    async def bot_open_id(self) -> str:
        answer = await self.call("GET", "/open-apis/bot/v3/info")
        bot = answer.get("bot")
        return str(bot.get("open_id") or "") if isinstance(bot, dict) else ""
