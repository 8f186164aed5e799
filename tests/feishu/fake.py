"""A fake Feishu on 127.0.0.1 that speaks the real wire protocols and records what it got.

- the **OpenAPI** under ``/open-apis/``: ``auth/v3/tenant_access_token/internal`` (checks app id and
  secret), ``bot/v3/info``, ``contact/v3/users/{open_id}``, ``im/v1/messages`` (send; a repeated
  ``uuid`` returns the first message, as Feishu does), ``PATCH im/v1/messages/{id}`` (cards only,
  ``update_multi`` required), ``im/v1/images`` and ``im/v1/files`` (multipart uploads); every call
  but the token's checks the ``Authorization: Bearer`` token;
- the **long connection** (``fake_ws.py``): ``POST /callback/ws/endpoint`` and the websocket of
  protobuf frames;
- a **pusher** for the HTTP event subscription: encrypts and signs a body and POSTs it to the bot.

Misbehaviour on demand: ``fail_next`` (a 429 with ``x-ogw-ratelimit-reset``, a code 99991400, a
5xx…), ``expire_tokens`` (the next call answers 99991663), ``drop`` (closes the websockets),
and ``push`` of the same event again (a redelivery).
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from adapters.feishu import crypto
from bot.clock import ManualClock
from tests.feishu import events
from tests.feishu.fake_ws import LongConnectionServer

RATE_LIMITED = 99991400
TOKEN_INVALID = 99991663


@dataclass
class Sent:
    """A message the bot sent, with every later version of its content (PATCH or a click's answer)."""

    message_id: str
    receive_id_type: str
    receive_id: str
    msg_type: str
    content: dict[str, Any]
    uuid: str
    versions: list[dict[str, Any]] = field(default_factory=list)
    via: list[str] = field(default_factory=list)  # "send", "patch", "callback"
    at: float = 0.0  # epoch seconds by the test's clock

    @property
    def chat(self) -> str:
        """The chat a click on it names: the group, or the person's direct chat with the bot."""
        return self.receive_id if self.receive_id_type == "chat_id" else f"oc_p2p_{self.receive_id}"

    def card_text(self) -> str:
        """Everything a reader sees on the card (or in the post)."""
        return text_of(self.msg_type, self.content)

    def buttons(self) -> list[dict[str, Any]]:
        return list(walk(self.content, "button")) if self.msg_type == "interactive" else []

    def button(self, label: str) -> dict[str, Any]:
        for found in self.buttons():
            if found["text"]["content"] == label:
                return found
        raise AssertionError(f"no button {label!r} on {self.card_text()[:200]}")


def walk(node: Any, tag: str) -> Any:
    if isinstance(node, dict):
        if node.get("tag") == tag:
            yield node
        for value in node.values():
            yield from walk(value, tag)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item, tag)


def text_of(msg_type: str, content: dict[str, Any]) -> str:
    if msg_type == "interactive":
        parts = [content.get("header", {}).get("title", {}).get("content", "")]
        parts += [m["content"] for m in walk(content.get("body", {}), "markdown")]
        return "\n".join(parts)
    if msg_type == "post":
        return "\n".join(n.get("text", "") for lang in content.values() for para in lang["content"] for n in para)
    return json.dumps(content, ensure_ascii=False)


@dataclass
class FakeFeishu:
    clock: ManualClock
    app_id: str = events.APP_ID
    app_secret: str = "fakeAppSecret0123456789"
    people: dict[str, dict[str, Any]] = field(default_factory=dict)  # open_id → contact user
    port: int = 0
    sent: list[Sent] = field(default_factory=list)
    requests: list[tuple[str, str, int]] = field(default_factory=list)  # (method, path, status)
    uploads: list[dict[str, Any]] = field(default_factory=list)
    failures: list[tuple[str, int, dict[str, Any], dict[str, str]]] = field(default_factory=list)
    tokens: set[str] = field(default_factory=set)
    token_requests: int = 0
    lose_answers: int = 0  # the next sends are recorded, then answered 502 (the answer lost on the way)

    def __post_init__(self) -> None:
        self.ws = LongConnectionServer(self)
        self._runner: web.AppRunner | None = None
        self._ids = itertools.count(1)
        self._by_uuid: dict[str, Sent] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> FakeFeishu:
        app = web.Application(client_max_size=64 * 1024 * 1024)  # past the uploads' own 10 and 30 MB
        app.router.add_post("/open-apis/auth/v3/tenant_access_token/internal", self._token)
        app.router.add_get("/open-apis/bot/v3/info", self._bot_info)
        app.router.add_get("/open-apis/contact/v3/users/{open_id}", self._user)
        app.router.add_post("/open-apis/im/v1/messages", self._send)
        app.router.add_patch("/open-apis/im/v1/messages/{message_id}", self._patch)
        app.router.add_post("/open-apis/im/v1/images", self._upload)
        app.router.add_post("/open-apis/im/v1/files", self._upload)
        self.ws.mount(app)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        await self.ws.close_all()
        if self._runner is not None:
            await self._runner.cleanup()

    # -- misbehaviour ------------------------------------------------------------

    def fail_next(self, path: str, status: int = 429, *, code: int = RATE_LIMITED, times: int = 1, headers: dict[str, str] | None = None) -> None:
        """The next ``times`` calls whose path starts with ``path`` answer ``status`` with ``code``."""
        for _ in range(times):
            self.failures.append((path, status, {"code": code, "msg": "fake failure"}, headers or {}))

    def expire_tokens(self) -> None:
        self.tokens.clear()

    # -- the OpenAPI -------------------------------------------------------------

    def _failure(self, request: web.Request) -> web.Response | None:
        for index, (path, status, body, headers) in enumerate(self.failures):
            if request.path.startswith(path):
                del self.failures[index]
                self.requests.append((request.method, request.path, status))
                return web.json_response(body, status=status, headers=headers)
        return None

    def _authorized(self, request: web.Request) -> web.Response | None:
        failed = self._failure(request)
        if failed is not None:
            return failed
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in self.tokens:
            self.requests.append((request.method, request.path, 400))
            return web.json_response({"code": TOKEN_INVALID, "msg": "Invalid access token for authorization."}, status=400)
        self.requests.append((request.method, request.path, 200))
        return None

    async def _token(self, request: web.Request) -> web.Response:
        failed = self._failure(request)
        if failed is not None:
            return failed
        body = await request.json()
        if body.get("app_id") != self.app_id or body.get("app_secret") != self.app_secret:
            return web.json_response({"code": 10014, "msg": "app secret invalid"})
        self.token_requests += 1
        token = f"t-{os.urandom(8).hex()}"
        self.tokens.add(token)
        return web.json_response({"code": 0, "msg": "ok", "tenant_access_token": token, "expire": 7200})

    async def _bot_info(self, request: web.Request) -> web.Response:
        refused = self._authorized(request)
        if refused is not None:
            return refused
        return web.json_response({"code": 0, "msg": "ok", "bot": {"open_id": events.BOT_OPEN_ID, "app_name": events.BOT_NAME, "activate_status": 2}})

    async def _user(self, request: web.Request) -> web.Response:
        refused = self._authorized(request)
        if refused is not None:
            return refused
        user = self.people.get(request.match_info["open_id"])
        if user is None:
            return web.json_response({"code": 41050, "msg": "no user authority error"}, status=400)
        return web.json_response({"code": 0, "msg": "success", "data": {"user": {"open_id": request.match_info["open_id"], **user}}})

    async def _send(self, request: web.Request) -> web.Response:
        refused = self._authorized(request)
        if refused is not None:
            return refused
        kind = request.query.get("receive_id_type", "")
        body = await request.json()
        if kind not in ("chat_id", "open_id", "user_id", "union_id", "email"):
            return web.json_response({"code": 230001, "msg": "invalid receive_id_type"}, status=400)
        uuid = str(body.get("uuid") or "")
        if uuid and uuid in self._by_uuid:
            return web.json_response({"code": 0, "data": {"message_id": self._by_uuid[uuid].message_id}})
        content = json.loads(body["content"])
        if body["msg_type"] == "interactive" and content.get("schema") == "2.0" and not content.get("config", {}).get("update_multi"):
            return web.json_response({"code": 230099, "msg": "card json 2.0 requires update_multi"}, status=400)
        sent = Sent(f"om_{next(self._ids):030d}", kind, body["receive_id"], body["msg_type"], content, uuid, [content], ["send"], self.clock.now().timestamp())
        self.sent.append(sent)
        if uuid:
            self._by_uuid[uuid] = sent
        if self.lose_answers:
            self.lose_answers -= 1
            return web.Response(status=502, text="bad gateway")
        return web.json_response({"code": 0, "msg": "success", "data": {"message_id": sent.message_id, "chat_id": sent.chat}})

    async def _patch(self, request: web.Request) -> web.Response:
        refused = self._authorized(request)
        if refused is not None:
            return refused
        sent = self.message(request.match_info["message_id"])
        if sent is None or sent.msg_type != "interactive":
            return web.json_response({"code": 230001, "msg": "not a card message"}, status=400)
        body = await request.json()
        self.update(sent, json.loads(body["content"]), "patch")
        return web.json_response({"code": 0, "msg": "success", "data": {}})

    async def _upload(self, request: web.Request) -> web.Response:
        refused = self._authorized(request)
        if refused is not None:
            return refused
        form = await request.post()
        image = request.path.endswith("/images")
        part = form.get("image" if image else "file")
        data = part.file.read() if isinstance(part, web.FileField) else b""
        if len(data) > (10 if image else 30) * 1024 * 1024:
            return web.json_response({"code": 234006, "msg": "The file size exceed the max value."}, status=400)
        key = f"{'img' if image else 'file'}_v3_{hashlib.sha1(data).hexdigest()[:16]}"
        self.uploads.append({"kind": "image" if image else "file", "key": key, "size": len(data), "fields": {k: v for k, v in form.items() if isinstance(v, str)}})
        return web.json_response({"code": 0, "msg": "success", "data": {"image_key" if image else "file_key": key}})

    # -- what was received -------------------------------------------------------

    def message(self, message_id: str) -> Sent | None:
        return next((s for s in self.sent if s.message_id == message_id), None)

    def update(self, sent: Sent, content: dict[str, Any], via: str) -> None:
        sent.content = content
        sent.versions.append(content)
        sent.via.append(via)

    def to(self, receiver: str) -> list[Sent]:
        """Everything sent to a group (chat id) or a person (open id), oldest first."""
        return [s for s in self.sent if s.receive_id == receiver]

    def texts(self, receiver: str) -> list[str]:
        return [s.card_text() for s in self.to(receiver)]

    def card_with(self, receiver: str, label: str) -> Sent:
        """The newest card sent to ``receiver`` that has a ``label`` button now."""
        for sent in reversed(self.to(receiver)):
            if any(b["text"]["content"] == label for b in sent.buttons()):
                return sent
        raise AssertionError(f"{receiver} has no card with a {label!r} button: {self.texts(receiver)}")

    def calls(self, method: str, prefix: str) -> list[tuple[str, str, int]]:
        return [r for r in self.requests if r[0] == method and r[1].startswith(prefix)]

    async def wait_for(self, condition: Callable[[], bool], seconds: float = 10.0) -> None:
        deadline = time.monotonic() + seconds
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError("the condition did not hold in time")
            await asyncio.sleep(0.01)

    # -- the HTTP event subscription ----------------------------------------------

    def signed(self, body: dict[str, Any], *, timestamp: float | None = None, encrypt_key: str = events.ENCRYPT_KEY, nonce: str | None = None) -> tuple[bytes, dict[str, str]]:
        """``body`` encrypted and signed as Feishu sends it (timestamp: the clock's now unless given)."""
        plain = json.dumps(body, ensure_ascii=False).encode()
        raw = json.dumps({"encrypt": crypto.encrypt(plain, encrypt_key, os.urandom(16))}).encode()
        stamp = str(int(timestamp if timestamp is not None else self.clock.now().timestamp()))
        nonce = nonce or os.urandom(8).hex()
        headers = {
            "Content-Type": "application/json",
            crypto.TIMESTAMP: stamp,
            crypto.NONCE: nonce,
            crypto.SIGNATURE: crypto.signature(stamp, nonce, encrypt_key, raw),
        }
        return raw, headers

    async def post_callback(self, url: str, raw: bytes, headers: dict[str, str]) -> tuple[int, Any]:
        """POST a callback to the bot; ``(status, parsed answer)``. A card answer updates the card, as Feishu does."""
        async with aiohttp.ClientSession() as session, session.post(url, data=raw, headers=headers) as response:
            text = await response.text()
            try:
                answer = json.loads(text)
            except ValueError:
                answer = text
        return response.status, answer

    def apply_answer(self, message_id: str, answer: Any) -> None:
        """A card action's answer with a card replaces the card for everyone (``update_multi``)."""
        card = answer.get("card") if isinstance(answer, dict) else None
        sent = self.message(message_id)
        if isinstance(card, dict) and card.get("type") == "raw" and sent is not None:
            self.update(sent, card["data"], "callback")
