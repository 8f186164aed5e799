"""The DingTalk OpenAPI calls collabbot makes, over aiohttp (the SDK's helpers block the event loop).

- ``POST /v1.0/oauth2/accessToken``: the app's token, cached until five
  minutes before it expires and fetched again after a 401;
- ``POST /v1.0/robot/groupMessages/send`` / ``POST /v1.0/robot/oToMessages/batchSend``:
  robot messages to a group / to people;
- ``POST /v1.0/card/instances/createAndDeliver`` / ``PUT /v1.0/card/instances``:
  interactive cards;
- a message's ``sessionWebhook``: replies in the conversation it came from.

Failures are mapped once, here, onto the outbox's retry policy
(``bot.errors``): 429 and throttling codes → ``RateLimited``, 5xx and
network errors → ``TransientError``, a rejected token → ``AuthExpired``,
other 4xx → ``PermanentError``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from bot.errors import AuthExpired, PermanentError, PlatformError, RateLimited, TransientError

log = logging.getLogger("collabbot.dingtalk")

TOKEN_MARGIN = timedelta(minutes=5)
# The custom-robot limit is 20 messages a minute, then a 10-minute block (errcode 130101, "send too fast").
BLOCK_SECONDS = 600.0
_THROTTLE_CODES = ("throttl", "qpslimit", "ratelimit", "flowcontrol", "toomanyrequests")
_AUTH_CODES = ("invalidauthentication", "invalidaccesstoken", "accesstokenexpired", "unauthorized")
_WEBHOOK_THROTTLED = {130101}
_MEDIA_TOKEN_CODES = {40001, 40014, 42001}  # the legacy API's "invalid / expired access_token"
# A 400 whose code says DingTalk itself failed: "system.error" comes back now and then on PUT card/instances
# and goes away on a retry; treating it as permanent would leave a card showing a stale state for good.
_TRANSIENT_CODES = ("systemerror", "servicebusy", "serviceunavailable", "internalerror", "timeout")


def _retry_after(headers: Any, default: float) -> float:
    value = headers.get("Retry-After") if headers is not None else None
    try:
        return max(1.0, float(value)) if value else default
    except ValueError:
        return default


def classify(status: int, data: dict[str, Any], headers: Any = None) -> PlatformError:
    """An OpenAPI error response → the ``PlatformError`` that drives the outbox."""
    code = str(data.get("code") or data.get("errcode") or "")
    message = str(data.get("message") or data.get("errmsg") or "")
    text = f"dingtalk {status} {code}: {message}".strip()
    lowered = code.lower().replace(".", "").replace("_", "")
    if status == 429 or any(mark in lowered for mark in _THROTTLE_CODES):
        # no Retry-After: wait out DingTalk's documented block rather than be blocked again for trying early
        return RateLimited(text, retry_after=_retry_after(headers, BLOCK_SECONDS), status=status)
    if status == 401 or any(mark in lowered for mark in _AUTH_CODES):
        return AuthExpired(text, status=status)
    if status >= 500 or any(mark in lowered for mark in _TRANSIENT_CODES):
        return TransientError(text, status=status)  # the outbox backs off exponentially and tries again
    return PermanentError(text, status=status)


class OpenApi:
    """One app's OpenAPI client. ``now`` is the bot's clock (token expiry follows it)."""

    def __init__(
        self,
        base_url: str,
        app_key: str,
        app_secret: str,
        *,
        now: Callable[[], datetime],
        timeout: float = 10.0,
    ):
        self.base_url = base_url.rstrip("/")
        self.app_key = app_key
        self.app_secret = app_secret
        self.now = now
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None
        self._token: str | None = None
        self._token_expires: datetime | None = None
        self._token_lock = asyncio.Lock()

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    # -- token -------------------------------------------------------------

    def forget_token(self) -> None:
        self._token = None
        self._token_expires = None

    async def token(self) -> str:
        async with self._token_lock:
            if self._token and self._token_expires and self.now() < self._token_expires:
                return self._token
            status, data, headers = await self._request(
                "POST", "/v1.0/oauth2/accessToken", {"appKey": self.app_key, "appSecret": self.app_secret}
            )
            if status != 200 or not data.get("accessToken"):
                error = classify(status, data, headers)
                # A wrong key or secret is retried like an expired token: an admin can still fix it.
                if isinstance(error, PermanentError):
                    error = AuthExpired(f"could not get an access token: {error}", status=status)
                raise error
            expires_in = float(data.get("expireIn") or 7200)
            self._token = str(data["accessToken"])
            self._token_expires = self.now() + timedelta(seconds=expires_in) - TOKEN_MARGIN
            return self._token

    # -- calls -------------------------------------------------------------

    async def _request(
        self, method: str, path_or_url: str, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, Any], Any]:
        url = path_or_url if path_or_url.startswith("http") else self.base_url + path_or_url
        try:
            async with self.session.request(method, url, json=body, headers=headers or {}) as response:
                raw = await response.text()
                try:
                    data = json.loads(raw) if raw else {}
                except ValueError:
                    data = {"message": raw[:200]}
                return response.status, data if isinstance(data, dict) else {"result": data}, response.headers
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TransientError(f"dingtalk {method} {path_or_url}: {exc!r}") from exc

    async def call(self, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """An authenticated OpenAPI call; a rejected token is fetched again once."""
        for attempt in range(2):
            token = await self.token()
            status, data, headers = await self._request(
                method, path, body, {"x-acs-dingtalk-access-token": token}
            )
            if 200 <= status < 300:
                return data
            error = classify(status, data, headers)
            if isinstance(error, AuthExpired) and attempt == 0:
                self.forget_token()
                continue
            raise error
        raise AssertionError("unreachable")

    async def webhook(self, url: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST to a message's ``sessionWebhook`` (the URL is the credential)."""
        status, data, headers = await self._request("POST", url, body)
        errcode = data.get("errcode", 0)
        if status == 200 and errcode in (0, "0"):
            return data
        if isinstance(errcode, int) and errcode in _WEBHOOK_THROTTLED:
            raise RateLimited(
                f"dingtalk webhook {errcode}: {data.get('errmsg')}", retry_after=BLOCK_SECONDS, status=status
            )
        if status != 200:
            raise classify(status, data, headers)
        raise PermanentError(f"dingtalk webhook {errcode}: {data.get('errmsg')}", status=status)

    # -- media ---------------------------------------------------------------

    @property
    def oapi_url(self) -> str:
        """The legacy API host of media uploads (``oapi.dingtalk.com``); a fake server serves both on one host."""
        return "https://oapi.dingtalk.com" if urlsplit(self.base_url).hostname == "api.dingtalk.com" else self.base_url

    async def upload_media(self, kind: str, filename: str, data: bytes, mime: str) -> str:
        """``POST /media/upload?type=image|file``: a chart or an export for a robot message; its ``media_id``."""
        for attempt in range(2):
            token = await self.token()
            form = aiohttp.FormData()  # a FormData is consumed by one request
            form.add_field("media", data, filename=filename, content_type=mime)
            try:
                async with self.session.post(f"{self.oapi_url}/media/upload", params={"access_token": token, "type": kind}, data=form) as response:
                    raw = await response.text()
                    status, headers = response.status, response.headers
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise TransientError(f"dingtalk media/upload: {exc!r}") from exc
            try:
                answer = json.loads(raw) if raw else {}
            except ValueError:
                answer = {"errmsg": raw[:200]}
            errcode = answer.get("errcode", 0)
            if status == 200 and errcode in (0, "0") and answer.get("media_id"):
                return str(answer["media_id"])
            if errcode in _MEDIA_TOKEN_CODES and attempt == 0:
                self.forget_token()
                continue
            if errcode in _MEDIA_TOKEN_CODES:
                raise AuthExpired(f"dingtalk media/upload {errcode}: {answer.get('errmsg')}", status=status)
            if status == 200 and errcode in _WEBHOOK_THROTTLED:
                raise RateLimited(f"dingtalk media/upload {errcode}", retry_after=BLOCK_SECONDS, status=status)
            raise classify(status, answer, headers) if status != 200 else PermanentError(f"dingtalk media/upload {errcode}: {answer.get('errmsg')}", status=status)
        raise AssertionError("unreachable")

    # -- the endpoints -------------------------------------------------------

    async def send_group(
        self, robot_code: str, conversation_id: str, title: str, text: str, *, msg_key: str = "sampleMarkdown", param: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """A robot message to a group: markdown, or ``msg_key`` with ``param`` (``sampleImageMsg``, ``sampleFile``)."""
        return await self.call(
            "POST",
            "/v1.0/robot/groupMessages/send",
            {
                "robotCode": robot_code,
                "openConversationId": conversation_id,
                "msgKey": msg_key,
                "msgParam": json.dumps(param if param is not None else {"title": title, "text": text}, ensure_ascii=False),
            },
        )

    async def send_people(
        self, robot_code: str, user_ids: list[str], title: str, text: str, *, msg_key: str = "sampleMarkdown", param: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        data = await self.call(
            "POST",
            "/v1.0/robot/oToMessages/batchSend",
            {
                "robotCode": robot_code,
                "userIds": user_ids,
                "msgKey": msg_key,
                "msgParam": json.dumps(param if param is not None else {"title": title, "text": text}, ensure_ascii=False),
            },
        )
        invalid = [*(data.get("invalidStaffIdList") or []), *(data.get("flowControlledStaffIdList") or [])]
        if data.get("flowControlledStaffIdList"):
            raise RateLimited(f"dingtalk flow control for {invalid}", retry_after=60.0)
        if invalid and len(invalid) == len(user_ids):
            raise PermanentError(f"dingtalk: no such staff ids {invalid}")
        return data

    async def create_and_deliver(self, body: dict[str, Any]) -> dict[str, Any]:
        data = await self.call("POST", "/v1.0/card/instances/createAndDeliver", body)
        result = data.get("result") or {}
        failed = [r for r in result.get("deliverResults") or [] if not r.get("success", True)]
        if data.get("success") is False or failed:
            raise TransientError(f"dingtalk card not delivered: {failed or data}")
        return data

    async def update_card(self, body: dict[str, Any]) -> dict[str, Any]:
        data = await self.call("PUT", "/v1.0/card/instances", body)
        if data.get("success") is False:
            raise TransientError(f"dingtalk card not updated: {data}")
        return data
