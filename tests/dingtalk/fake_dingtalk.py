"""A fake DingTalk on 127.0.0.1 that speaks the real wire protocol and records what it got.

It runs in its own thread with its own event loop: the dingtalk-stream SDK
opens its connection with a blocking ``requests.post`` (and the adapter runs
that in a thread too, but the fake must not depend on it).

- ``POST /v1.0/gateway/connections/open`` → a ``ws://127.0.0.1`` endpoint and a one-use ticket;
- ``GET /connect?ticket=…``: the Stream websocket. The test pushes robot
  messages (``say``), card callbacks (``click``) and SYSTEM frames; acks are
  collected by ``messageId``. Frames never acked with 200 are pushed again on
  the next connection, as DingTalk does. It can drop the connection, ask it
  to disconnect, or go silent (no frames, no pongs);
- the OpenAPI: ``oauth2/accessToken``, ``robot/groupMessages/send``,
  ``robot/oToMessages/batchSend``, ``card/instances/createAndDeliver``,
  ``PUT card/instances``, plus the ``sessionWebhook`` of each pushed message.
  Every call is recorded; ``fail`` makes the next calls answer 429/5xx/….
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from aiohttp import WSMsgType, web

ROBOT_TOPIC = "/v1.0/im/bot/messages/get"
MEDIA_KEYS = ("sampleImageMsg", "sampleFile")
CARD_TOPIC = "/v1.0/card/instances/callback"


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    at: float = field(default_factory=time.monotonic)


CALL = web.RequestKey("call", Call)


@dataclass
class Sent:
    """A message as a person would see it: where it went and its markdown."""

    conversation: str  # a group's cid, or "user:<staff id>" for a one-to-one message
    title: str
    text: str
    via: str  # "webhook" | "group" | "oto"
    at: list[str] = field(default_factory=list)

    @property
    def notified(self) -> list[str]:
        """Whom DingTalk notifies of a mention: an id in ``atUserIds`` whose ``@<userId>`` is in the text
        (a webhook message; the robot OpenAPI's group messages notify nobody)."""
        return [user for user in self.at if f"@{user}" in self.text] if self.via == "webhook" else []


@dataclass
class Fault:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    after: bool = False  # do the work, then answer with the fault (a response lost on the way back)


@dataclass
class FakeConnection:
    number: int
    ws: web.WebSocketResponse
    transport: Any
    muted: bool = False
    lose_acks: bool = False  # acks arrive but are "lost": the frames count as unacked
    open: bool = True
    acks: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class FakeCard:
    out_track_id: str
    template: str
    space: str  # "dtv1.card//IM_GROUP.<cid>" or "dtv1.card//IM_ROBOT.<staff id>"
    params: dict[str, str]
    history: list[dict[str, str]] = field(default_factory=list)
    body: dict[str, Any] = field(default_factory=dict)

    @property
    def buttons(self) -> list[dict[str, Any]]:
        return json.loads(self.params.get("btns") or "[]")

    @property
    def space_type(self) -> str:
        return self.space.split("//", 1)[1].split(".", 1)[0]

    @property
    def space_id(self) -> str:
        return self.space.split("//", 1)[1].split(".", 1)[1]

    def text(self) -> str:
        return f"{self.params.get('title', '')}\n{self.params.get('content', '')}"


class FakeDingTalk:
    def __init__(
        self, app_key: str = "dingappkey", app_secret: str = "app-secret-1", corp_id: str = "dingcorp"
    ):
        self.app_key = app_key
        self.app_secret = app_secret
        self.corp_id = corp_id
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread: threading.Thread | None = None
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._open_gate = threading.Event()  # cleared: connections/open hangs
        self.clock_ms: Callable[[], int] = lambda: int(time.time() * 1000)
        self.reset()

    # -- lifecycle (called from the test thread) --------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeDingTalk:
        self.thread = threading.Thread(target=self._thread_main, name="fake-dingtalk", daemon=True)
        self.thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the fake DingTalk did not start")
        return self

    def stop(self) -> None:
        if self.loop is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        if self.thread is not None:
            self.thread.join(10)

    def reset(self) -> None:
        """Forget everything between tests (the server and its port stay)."""
        self.calls: list[Call] = []
        self.messages: list[Sent] = []
        self.cards: dict[str, FakeCard] = {}
        self.connections: list[FakeConnection] = []
        self.subscriptions: list[list[dict[str, Any]]] = []
        self.acks: dict[str, list[dict[str, Any]]] = {}
        self.frames: dict[str, dict[str, Any]] = {}  # every pushed CALLBACK frame by messageId
        self.sessions: dict[str, tuple[str, str]] = {}  # session → (conversation, staff id)
        self.tickets: set[str] = set()
        self.tokens: dict[str, float] = {}  # token → valid (monotonic deadline)
        self.faults: dict[tuple[str, str], deque[Fault]] = {}
        # a platform limit to enforce (tests/fakelimits.py): call → a refusal, or None to go on
        self.limits: Callable[[Call], web.Response | None] | None = None
        self.media: dict[str, dict[str, Any]] = {}  # media_id → {"type", "filename", "data"} (media/upload)
        self.media_messages: list[tuple[str, str, dict[str, Any]]] = []  # (conversation, msgKey, msgParam)
        self._open_gate.set()
        self.silent_new_connections = False
        self._counter = itertools.count(1)

    def _thread_main(self) -> None:
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._serve())
        self._ready.set()
        self.loop.run_forever()
        self.loop.close()

    async def _serve(self) -> None:
        app = web.Application(middlewares=[self._faults], client_max_size=64 * 1024 * 1024)  # past the uploads' own 20 MB
        app.router.add_post("/v1.0/gateway/connections/open", self._open)
        app.router.add_get("/connect", self._connect)
        app.router.add_post("/v1.0/oauth2/accessToken", self._token)
        app.router.add_post("/v1.0/robot/groupMessages/send", self._group_send)
        app.router.add_post("/v1.0/robot/oToMessages/batchSend", self._oto_send)
        app.router.add_post("/v1.0/card/instances/createAndDeliver", self._create_card)
        app.router.add_put("/v1.0/card/instances", self._update_card)
        app.router.add_post("/robot/sendBySession", self._webhook)
        app.router.add_post("/media/upload", self._media_upload)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def _shutdown(self) -> None:
        for connection in self.connections:
            with contextlib.suppress(Exception):
                connection.transport.abort()
        if self._runner is not None:
            await self._runner.cleanup()

    def _in_loop(self, coro: Coroutine[Any, Any, Any]) -> Any:
        assert self.loop is not None
        return asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))

    # -- what the test does (awaited from the test's loop) ------------------

    def fail(
        self,
        method: str,
        path: str,
        status: int,
        body: dict[str, Any] | None = None,
        *,
        headers: dict[str, str] | None = None,
        times: int = 1,
        after: bool = False,
    ) -> None:
        """The next ``times`` calls to ``method path`` answer ``status`` with ``body`` (``after``: once the work is done)."""
        queue = self.faults.setdefault((method.upper(), path), deque())
        for _ in range(times):
            fault = Fault(
                status, body or {"code": f"fault{status}", "message": "injected"}, headers or {}, after
            )
            queue.append(fault)

    @property
    def hang_open(self) -> bool:
        """While True, ``connections/open`` accepts the request and does not answer."""
        return not self._open_gate.is_set()

    @hang_open.setter
    def hang_open(self, value: bool) -> None:
        if value:
            self._open_gate.clear()
        else:
            self._open_gate.set()

    def expire_tokens(self) -> None:
        self.tokens.clear()

    @property
    def open_connections(self) -> list[FakeConnection]:
        return [c for c in self.connections if c.open]

    async def wait_for(self, predicate: Callable[[], bool], what: str, within: float = 10.0) -> None:
        deadline = time.monotonic() + within
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            await asyncio.sleep(0.01)

    async def wait_connected(self, count: int = 1, within: float = 10.0) -> FakeConnection:
        await self.wait_for(
            lambda: len(self.connections) >= count and bool(self.open_connections),
            f"connection #{count}",
            within,
        )
        return self.open_connections[-1]

    async def wait_ack(self, message_id: str, within: float = 10.0) -> dict[str, Any]:
        await self.wait_for(lambda: bool(self.acks.get(message_id)), f"the ack of {message_id}", within)
        return self.acks[message_id][-1]

    async def push(self, frame: dict[str, Any], connection: FakeConnection | None = None) -> str:
        message_id = frame["headers"]["messageId"]
        if frame.get("type") == "CALLBACK":
            self.frames[message_id] = frame

        async def send() -> None:
            target = connection or (self.open_connections[-1] if self.open_connections else None)
            if target is not None and not target.muted:
                await target.ws.send_str(json.dumps(frame, ensure_ascii=False))

        await self._in_loop(send())
        return message_id

    def _frame(
        self, topic: str, data: dict[str, Any], message_id: str | None = None, kind: str = "CALLBACK"
    ) -> dict[str, Any]:
        return {
            "specVersion": "1.0",
            "type": kind,
            "headers": {
                "appId": "fake-app",
                "connectionId": f"conn-{len(self.connections)}",
                "contentType": "application/json",
                "messageId": message_id or f"msg-{uuid.uuid4().hex[:16]}",
                "time": str(self.clock_ms()),
                "topic": topic,
            },
            "data": json.dumps(data, ensure_ascii=False),
        }

    def robot_frame(
        self,
        user: str,
        text: str,
        *,
        group: str | None = None,
        name: str | None = None,
        title: str | None = None,
        msg_id: str | None = None,
        message_id: str | None = None,
    ) -> dict[str, Any]:
        session = uuid.uuid4().hex[:12]
        conversation = group or f"cid-dm-{user}"
        self.sessions[session] = (group or f"user:{user}", user)
        now = self.clock_ms()
        data = {
            "conversationId": conversation,
            "atUsers": [{"dingtalkId": "$:LWCP_v1:$robot"}],
            "chatbotCorpId": self.corp_id,
            "chatbotUserId": "$:LWCP_v1:$robot",
            "msgId": msg_id or f"msg{uuid.uuid4().hex[:20]}",
            "senderNick": name or user,
            "isAdmin": False,
            "senderStaffId": user,
            "sessionWebhookExpiredTime": now + 90 * 60 * 1000,
            "createAt": now,
            "senderCorpId": self.corp_id,
            "conversationType": "2" if group else "1",
            "senderId": f"$:LWCP_v1:${user}",
            "isInAtList": True,
            "sessionWebhook": f"{self.url}/robot/sendBySession?session={session}",
            "text": {"content": " " + text},
            "robotCode": self.app_key,
            "msgtype": "text",
        }
        if group:
            data["conversationTitle"] = title or group
        return self._frame(ROBOT_TOPIC, data, message_id)

    async def say(self, user: str, text: str, **kwargs: Any) -> str:
        """``user`` @-mentions the robot in ``group`` (or writes to it one-to-one); returns the frame's messageId."""
        return await self.push(self.robot_frame(user, text, **kwargs))

    def card_with(self, label: str, *, space: str | None = None) -> FakeCard:
        """The newest card (in ``space``, e.g. ``IM_ROBOT.<staff id>``) that shows a button labelled ``label``."""
        for card in reversed(list(self.cards.values())):
            if space and not card.space.endswith(space):
                continue
            if any(b["text"] == label for b in card.buttons):
                return card
        raise AssertionError(
            f"no card with a {label!r} button in {space or 'any space'}: {[c.params.get('title') for c in self.cards.values()]}"
        )

    async def click(self, user: str, card: FakeCard, label: str, *, message_id: str | None = None) -> str:
        """``user`` presses the button labelled ``label`` on ``card``; returns the frame's messageId."""
        button = next((b for b in card.buttons if b["text"] == label), None)
        if button is None:
            raise AssertionError(f"card {card.out_track_id} has no button {label!r}: {card.buttons}")
        params = button["action"]["params"]
        data = {
            "outTrackId": card.out_track_id,
            "corpId": self.corp_id,
            "userId": user,
            "type": "actionCallback",
            "spaceType": card.space_type,
            "spaceId": card.space_id,
            "extension": "{}",
            "content": json.dumps(
                {"cardPrivateData": {"actionIds": [params["actionId"]], "params": params["params"]}},
                ensure_ascii=False,
            ),
        }
        return await self.push(self._frame(CARD_TOPIC, data, message_id))

    async def system(self, topic: str, data: dict[str, Any] | None = None) -> str:
        return await self.push(self._frame(topic, data or {}, kind="SYSTEM"))

    async def drop(self) -> None:
        """Cut the current connection without a close frame (the network went away)."""
        connection = self.open_connections[-1]

        async def cut() -> None:
            connection.open = False
            connection.transport.abort()

        await self._in_loop(cut())

    def mute(self) -> None:
        """The current connection goes silent: no more frames, no pongs (a half-open socket)."""
        self.open_connections[-1].muted = True

    def sent_to(self, conversation: str) -> list[Sent]:
        return [m for m in self.messages if m.conversation == conversation]

    def calls_to(self, path: str, method: str | None = None) -> list[Call]:
        return [c for c in self.calls if c.path == path and (method is None or c.method == method)]

    def cards_in(self, space: str) -> list[FakeCard]:
        return [c for c in self.cards.values() if c.space.endswith(space)]

    # -- the server (runs in the fake's thread) ------------------------------

    @web.middleware
    async def _faults(self, request: web.Request, handler: Any) -> web.StreamResponse:
        """Record every call; answer with an injected fault before (or after) doing the work."""
        body: Any = None
        if request.can_read_body and request.content_type != "multipart/form-data":  # an upload is read by its handler
            try:
                body = await request.json()
            except (ValueError, UnicodeDecodeError):
                body = None
        call = Call(request.method, request.path, dict(request.query), dict(request.headers), body)
        request[CALL] = call
        if request.path != "/connect":
            self.calls.append(call)
        if self.limits is not None and request.path != "/connect":
            refused = self.limits(call)
            if refused is not None:
                return refused
        queue = self.faults.get((request.method, request.path))
        fault = queue.popleft() if queue else None
        if fault is not None and not fault.after:
            return web.json_response(fault.body, status=fault.status, headers=fault.headers)
        response = await handler(request)
        if fault is not None:
            return web.json_response(fault.body, status=fault.status, headers=fault.headers)
        return response

    def _authorized(self, call: Call) -> web.Response | None:
        token = call.headers.get("x-acs-dingtalk-access-token")
        if not token or token not in self.tokens:
            return web.json_response(
                {"code": "InvalidAuthentication", "message": "token invalid"}, status=401
            )
        return None

    async def _open(self, request: web.Request) -> web.Response:
        call: Call = request[CALL]
        if self.hang_open:  # until the test lets go (or ``reset``)
            await asyncio.to_thread(self._open_gate.wait, 60)
        body = call.body or {}
        if body.get("clientId") != self.app_key or body.get("clientSecret") != self.app_secret:
            return web.json_response({"code": "invalidClientId", "message": "bad credentials"}, status=401)
        self.subscriptions.append(body.get("subscriptions") or [])
        ticket = uuid.uuid4().hex
        self.tickets.add(ticket)
        return web.json_response({"endpoint": f"ws://127.0.0.1:{self.port}/connect", "ticket": ticket})

    async def _connect(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        if ticket not in self.tickets:
            return web.json_response({"code": "invalidTicket"}, status=403)
        self.tickets.discard(ticket)
        ws = web.WebSocketResponse(autoping=False)
        await ws.prepare(request)
        connection = FakeConnection(
            len(self.connections) + 1, ws, request.transport, muted=self.silent_new_connections
        )
        self.connections.append(connection)
        for message_id, frame in list(self.frames.items()):  # DingTalk pushes unacknowledged frames again
            if not any(a.get("code") == 200 for a in self.acks.get(message_id, [])):
                await ws.send_str(json.dumps(frame, ensure_ascii=False))
        try:
            async for message in ws:
                if message.type == WSMsgType.PING:
                    if not connection.muted:
                        await ws.pong(message.data)
                elif message.type == WSMsgType.TEXT:
                    ack = json.loads(message.data)
                    connection.acks.append(ack)
                    message_id = (ack.get("headers") or {}).get("messageId")
                    if message_id and not connection.muted and not connection.lose_acks:
                        self.acks.setdefault(message_id, []).append(ack)
                elif message.type in (WSMsgType.CLOSE, WSMsgType.ERROR):
                    break
        finally:
            connection.open = False
        return ws

    async def _token(self, request: web.Request) -> web.Response:
        call: Call = request[CALL]
        body = call.body or {}
        if body.get("appKey") != self.app_key or body.get("appSecret") != self.app_secret:
            return web.json_response(
                {"code": "invalidClientIdOrSecret", "message": "bad credentials"}, status=400
            )
        token = f"token-{next(self._counter)}"
        self.tokens[token] = time.monotonic() + 7200
        return web.json_response({"accessToken": token, "expireIn": 7200})

    def _message(self, conversation: str, param: str, via: str, at: list[str] | None = None) -> None:
        data = json.loads(param)
        self.messages.append(Sent(conversation, data.get("title", ""), data.get("text", ""), via, at or []))

    async def _group_send(self, request: web.Request) -> web.Response:
        call: Call = request[CALL]
        denied = self._authorized(call)
        if denied is not None:
            return denied
        body = call.body or {}
        if body.get("robotCode") != self.app_key:
            return web.json_response({"code": "invalidParameter", "message": f"bad body {body}"}, status=400)
        if body.get("msgKey") in MEDIA_KEYS:
            refused = self._media_message(body["openConversationId"], body["msgKey"], body.get("msgParam") or "{}")
            if refused is not None:
                return refused
        elif body.get("msgKey") != "sampleMarkdown":
            return web.json_response({"code": "invalidParameter", "message": f"bad body {body}"}, status=400)
        else:
            self._message(body["openConversationId"], body["msgParam"], "group")
        return web.json_response({"processQueryKey": f"pqk-{next(self._counter)}"})

    def _media_message(self, conversation: str, key: str, raw: str) -> web.Response | None:
        """``sampleImageMsg`` (photoURL = a media_id) / ``sampleFile`` (mediaId, fileName, fileType)."""
        param = json.loads(raw)
        media_id = param.get("photoURL") if key == "sampleImageMsg" else param.get("mediaId")
        if media_id not in self.media:
            return web.json_response({"code": "invalidParameter.mediaId", "message": f"unknown media {media_id}"}, status=400)
        if key == "sampleFile" and (not param.get("fileName") or not param.get("fileType")):
            return web.json_response({"code": "MissingParameter", "message": "fileName and fileType are required"}, status=400)
        self.media_messages.append((conversation, key, param))
        return None

    async def _media_upload(self, request: web.Request) -> web.Response:
        """The legacy ``oapi`` upload: ``?access_token=&type=image|file``, multipart field ``media``."""
        token = request.query.get("access_token", "")
        if token not in self.tokens:
            return web.json_response({"errcode": 40014, "errmsg": "invalid access_token"})
        kind = request.query.get("type")
        form = await request.post()
        media = form.get("media")
        if kind not in ("image", "file", "voice", "video") or not isinstance(media, web.FileField):
            return web.json_response({"errcode": 40004, "errmsg": "invalid media type or no media"})
        data = media.file.read()
        suffix = media.filename.rsplit(".", 1)[-1].lower()
        allowed = {"image": {"jpg", "jpeg", "gif", "png", "bmp"}, "file": {"doc", "docx", "xls", "xlsx", "ppt", "pptx", "zip", "pdf", "rar"}}
        if suffix not in allowed.get(kind, set()) or len(data) > 20 * 1024 * 1024:
            return web.json_response({"errcode": 40005, "errmsg": f"invalid file type {suffix}"})
        media_id = f"@lAD{next(self._counter):06d}"
        self.media[media_id] = {"type": kind, "filename": media.filename, "data": data}
        return web.json_response({"errcode": 0, "errmsg": "ok", "type": kind, "media_id": media_id, "created_at": self.clock_ms()})

    async def _oto_send(self, request: web.Request) -> web.Response:
        call: Call = request[CALL]
        denied = self._authorized(call)
        if denied is not None:
            return denied
        body = call.body or {}
        for user in body.get("userIds") or []:
            if body.get("msgKey") in MEDIA_KEYS:
                refused = self._media_message(f"user:{user}", body["msgKey"], body.get("msgParam") or "{}")
                if refused is not None:
                    return refused
            else:
                self._message(f"user:{user}", body["msgParam"], "oto")
        return web.json_response(
            {
                "processQueryKey": f"pqk-{next(self._counter)}",
                "invalidStaffIdList": [],
                "flowControlledStaffIdList": [],
            }
        )

    async def _webhook(self, request: web.Request) -> web.Response:
        call: Call = request[CALL]
        session = self.sessions.get(request.query.get("session", ""))
        if session is None:
            return web.json_response({"errcode": 300001, "errmsg": "session not found"})
        body = call.body or {}
        markdown = body.get("markdown") or {}
        at = (body.get("at") or {}).get("atUserIds") or []
        self.messages.append(
            Sent(session[0], markdown.get("title", ""), markdown.get("text", ""), "webhook", at)
        )
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def _create_card(self, request: web.Request) -> web.Response:
        call: Call = request[CALL]
        denied = self._authorized(call)
        if denied is not None:
            return denied
        body = call.body or {}
        out_track_id = body.get("outTrackId")
        if not out_track_id or not body.get("cardTemplateId") or body.get("callbackType") != "STREAM":
            return web.json_response({"code": "invalidParameter", "message": f"bad body {body}"}, status=400)
        if out_track_id in self.cards:
            return web.json_response(
                {"code": "param.outTrackIdExist", "message": "outTrackId already exists"}, status=400
            )
        params = dict(body["cardData"]["cardParamMap"])
        if any(not isinstance(v, str) for v in params.values()):
            return web.json_response(
                {"code": "invalidParameter", "message": "cardParamMap values must be strings"}, status=400
            )
        space = body["openSpaceId"]
        self.cards[out_track_id] = FakeCard(
            out_track_id, body["cardTemplateId"], space, params, [dict(params)], body
        )
        return web.json_response(
            {
                "success": True,
                "result": {
                    "outTrackId": out_track_id,
                    "deliverResults": [
                        {
                            "spaceType": space.split("//")[1].split(".")[0],
                            "spaceId": space.rsplit(".", 1)[-1],
                            "success": True,
                            "carrierId": uuid.uuid4().hex,
                        }
                    ],
                },
            }
        )

    async def _update_card(self, request: web.Request) -> web.Response:
        call: Call = request[CALL]
        denied = self._authorized(call)
        if denied is not None:
            return denied
        body = call.body or {}
        card = self.cards.get(body.get("outTrackId", ""))
        if card is None:
            return web.json_response({"code": "cardInstanceNotFound", "message": "no such card"}, status=400)
        params = body["cardData"]["cardParamMap"]
        if (body.get("cardUpdateOptions") or {}).get("updateCardDataByKey"):
            card.params.update(params)
        else:
            card.params = dict(params)
        card.history.append(dict(card.params))
        return web.json_response({"success": True, "result": True})


def dtmd_contents(markdown: str) -> list[str]:
    """The texts the ``dtmd://dingtalkclient/sendMessage`` links of a markdown message would send."""
    marker = "dtmd://dingtalkclient/sendMessage?content="
    out = []
    for part in markdown.split(marker)[1:]:
        out.append(unquote(part.split(")", 1)[0]))
    return out


def ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)
