"""A fake WeCom on 127.0.0.1 that speaks the real wire protocols and records what it got.

- the intelligent robot's **long connection** (a websocket at ``/``): ``aibot_subscribe``
  (checks bot id and secret), ``ping``, ``aibot_respond_msg``, ``aibot_respond_welcome_msg``,
  ``aibot_respond_update_msg``, ``aibot_send_msg``, each answered with the same ``req_id``;
  it pushes ``aibot_msg_callback`` and ``aibot_event_callback`` frames and enforces what
  WeCom enforces: an update only answers a card click, within 5 seconds, with the clicked
  card's ``task_id``; a task id is never reused;
- the self-built app's **HTTP API** under ``/cgi-bin/``: ``gettoken``, ``message/send``
  (returns a ``response_code`` for cards), ``message/update_template_card`` (single-use
  codes), and the robot's ``aibot/response`` (a ``response_url``, usable once);
- a **pusher** that encrypts callbacks with a Token and EncodingAESKey and POSTs them to
  the product, as WeCom does in API mode and for an app.

Time is the test's ``ManualClock``: the 5-second window and every recorded ``at`` use it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

import aiohttp
from aiohttp import web

from adapters.wecom.crypto import WeComCrypto
from bot.clock import ManualClock

INVALID_REQ_ID = 846605  # what WeCom answers for a req_id it will not accept (unknown or expired)
INVALID_PARAM = 40058
DUPLICATE_TASK = 40124
INVALID_CREDENTIAL = 40001
TOKEN_EXPIRED = 42001
INVALID_TOKEN = 40014
CODE_USED = 40130
UNTRUSTED_IP = 60020
INVALID_MEDIA = 40007  # invalid media_id / media file

UPDATE_WINDOW = 5.0


@dataclass
class Received:
    """One frame or request the fake got, with the fake's answer."""

    n: int
    at: datetime
    cmd: str
    req_id: str
    body: Any
    errcode: int = 0
    conn: int = 0


@dataclass
class Callback:
    cmd: str
    kind: str  # "msg" | "card" | "welcome" | "other"
    at: datetime
    task_id: str | None = None
    chat: str = ""  # the group chatid, or the member's userid for a single chat


@dataclass
class Connection:
    number: int
    ws: web.WebSocketResponse
    subscribed: bool = False


@dataclass
class FakeWeCom:
    clock: ManualClock
    bot_id: str = "aibot-1"
    secret: str = "bot-secret"
    corp_id: str = "wwfakecorp"
    corp_secret: str = "corp-secret"
    agent_id: int = 1000002
    answer_pings: bool = True
    refuse_connections: int = 0  # the next N websocket handshakes fail with HTTP 503
    # the caller's IP is not in the self-built app's 企业可信IP: its API calls answer 60020 (gettoken still works)
    untrusted_ip: bool = False
    update_window: float = UPDATE_WINDOW
    received: list[Received] = field(default_factory=list)
    http: list[Received] = field(default_factory=list)
    callbacks: dict[str, Callback] = field(default_factory=dict)  # the ones that may still be answered
    history: dict[str, Callback] = field(default_factory=dict)  # every callback pushed
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    connections: list[Connection] = field(default_factory=list)
    subscriptions: int = 0
    takeovers: int = 0  # connections dropped because another one subscribed with the same bot id
    handshakes: int = 0
    response_codes: dict[str, bool] = field(default_factory=dict)  # code → used
    response_urls: dict[str, bool] = field(default_factory=dict)
    tokens: dict[str, bool] = field(default_factory=dict)  # token → still valid
    media: dict[str, dict[str, Any]] = field(default_factory=dict)  # media_id → {"type", "filename", "data"}
    token_requests: int = 0
    # honour message/send's enable_duplicate_check: the same content to the same member within
    # duplicate_check_interval is answered ok and not shown again (off unless a test turns it on)
    duplicate_check: bool = False
    duplicates_dropped: int = 0

    def __post_init__(self) -> None:
        self._counter = itertools.count(1)
        self._shown_at: dict[str, datetime] = {}  # duplicate check: content key → when it was shown
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.changed = asyncio.Event()

    # -- server ----------------------------------------------------------------

    async def start(self) -> FakeWeCom:
        app = web.Application(client_max_size=64 * 1024 * 1024)  # past the uploads' own 10 and 20 MB
        app.router.add_get("/", self._ws)
        app.router.add_get("/cgi-bin/gettoken", self._gettoken)
        app.router.add_post("/cgi-bin/message/send", self._message_send)
        app.router.add_post("/cgi-bin/message/update_template_card", self._update_card)
        app.router.add_post("/cgi-bin/aibot/response", self._response_url)
        app.router.add_post("/cgi-bin/media/upload", self._media_upload)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        for conn in self.connections:
            await conn.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/cgi-bin/"

    def _note(self) -> None:
        self.changed.set()

    async def wait_for(self, predicate: Any, within: float = 5.0, poll: float = 0.005) -> Any:
        """Poll ``predicate()`` until it is truthy (bounded); returns its value."""
        async with asyncio.timeout(within):
            while True:
                value = predicate()
                if value:
                    return value
                self.changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.changed.wait(), poll)

    # -- long connection -----------------------------------------------------------

    @property
    def live(self) -> Connection | None:
        subscribed = [c for c in self.connections if c.subscribed and not c.ws.closed]
        return subscribed[-1] if subscribed else None

    async def _ws(self, request: web.Request) -> web.StreamResponse:
        self.handshakes += 1
        if self.refuse_connections > 0:
            self.refuse_connections -= 1
            self._note()
            return web.Response(status=503, text="try again later")
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        conn = Connection(len(self.connections) + 1, ws)
        self.connections.append(conn)
        self._note()
        try:
            async for message in ws:
                if message.type is not aiohttp.WSMsgType.TEXT:
                    continue
                frame = json.loads(message.data)
                await self._frame(conn, frame)
        finally:
            self._note()
        return ws

    async def _answer(self, conn: Connection, cmd: str, req_id: str, body: Any, errcode: int, errmsg: str = "ok") -> None:
        self.received.append(Received(next(self._counter), self.clock.now(), cmd, req_id, body, errcode, conn.number))
        self._note()
        if cmd == "ping" and not self.answer_pings:
            return
        await conn.ws.send_json({"headers": {"req_id": req_id}, "errcode": errcode, "errmsg": errmsg if errcode else "ok"})

    async def _frame(self, conn: Connection, frame: dict[str, Any]) -> None:
        cmd = str(frame.get("cmd") or "")
        req_id = str((frame.get("headers") or {}).get("req_id") or "")
        body = frame.get("body") or {}
        if cmd == "aibot_subscribe":
            ok = body.get("bot_id") == self.bot_id and body.get("secret") == self.secret
            if ok:
                conn.subscribed = True
                self.subscriptions += 1
            await self._answer(conn, cmd, req_id, body, 0 if ok else INVALID_CREDENTIAL, "invalid bot_id or secret")
            if ok:  # one connection per robot: the one it had is told and dropped, as WeCom does
                for other in self.connections:
                    if other is not conn and other.subscribed and not other.ws.closed:
                        await self._take_over(other)
            return
        if not conn.subscribed:
            await self._answer(conn, cmd, req_id, body, INVALID_CREDENTIAL, "not subscribed")
            return
        errcode, errmsg = 0, "ok"
        if cmd == "aibot_respond_msg":
            errcode, errmsg = self._check_reply(req_id, "msg", None)
            if not errcode:
                errcode, errmsg = self._check_card(body, req_id)
        elif cmd == "aibot_respond_welcome_msg":
            errcode, errmsg = self._check_reply(req_id, "welcome", UPDATE_WINDOW)
        elif cmd == "aibot_respond_update_msg":
            errcode, errmsg = self._check_reply(req_id, "card", self.update_window)
            callback = self.callbacks.get(req_id)
            card = body.get("template_card") or {}
            if not errcode and body.get("response_type") != "update_template_card":
                errcode, errmsg = INVALID_PARAM, "response_type must be update_template_card"
            if not errcode and callback is not None and card.get("task_id") != callback.task_id:
                errcode, errmsg = INVALID_PARAM, "task_id differs from the clicked card's"
            if not errcode:
                self.callbacks.pop(req_id, None)  # one update per click
        elif cmd == "aibot_send_msg":
            if not body.get("chatid"):
                errcode, errmsg = INVALID_PARAM, "chatid is required"
            else:
                errcode, errmsg = self._check_card(body, req_id)
        elif cmd != "ping":
            errcode, errmsg = INVALID_PARAM, f"unknown cmd {cmd}"
        await self._answer(conn, cmd, req_id, body, errcode, errmsg)

    def _check_reply(self, req_id: str, kind: str, window: float | None) -> tuple[int, str]:
        callback = self.callbacks.get(req_id)
        if callback is None or callback.kind != kind:
            return INVALID_REQ_ID, "invalid req_id"
        if window is not None and (self.clock.now() - callback.at).total_seconds() > window:
            return INVALID_REQ_ID, "invalid req_id: the reply window has passed"
        return 0, "ok"

    def _check_card(self, body: dict[str, Any], req_id: str) -> tuple[int, str]:
        if body.get("msgtype") != "template_card":
            return 0, "ok"
        card = body.get("template_card") or {}
        task_id = card.get("task_id")
        if card.get("card_type") != "text_notice" and not task_id:
            return INVALID_PARAM, "task_id is required"
        if card.get("card_type") == "text_notice" and not card.get("card_action"):
            return INVALID_PARAM, "card_action is required for text_notice"
        if task_id:
            if task_id in self.tasks:
                return DUPLICATE_TASK, "task_id already used"
            self.tasks[task_id] = {"chatid": body.get("chatid"), "card": card, "req_id": req_id}
        return 0, "ok"

    async def push(self, cmd: str, body: dict[str, Any], kind: str, task_id: str | None = None) -> str:
        conn = await self.wait_for(lambda: self.live)
        req_id = f"{cmd}_{os.urandom(6).hex()}"
        chat = str(body.get("chatid") or (body.get("from") or {}).get("userid") or "")
        self.callbacks[req_id] = self.history[req_id] = Callback(cmd, kind, self.clock.now(), task_id, chat)
        await conn.ws.send_json({"cmd": cmd, "headers": {"req_id": req_id}, "body": body})
        return req_id

    def message_body(self, userid: str, text: str, *, chatid: str | None = None, msgid: str | None = None, mention: str | None = "collabbot") -> dict[str, Any]:
        content = f"@{mention}\u2005{text}" if chatid and mention else text
        body: dict[str, Any] = {
            "msgid": msgid or os.urandom(8).hex(),
            "aibotid": self.bot_id,
            "chattype": "group" if chatid else "single",
            "from": {"userid": userid},
            "create_time": int(self.clock.now().timestamp()),
            "msgtype": "text",
            "text": {"content": content},
        }
        if chatid:
            body["chatid"] = chatid
        return body

    async def say(self, userid: str, text: str, *, chatid: str | None = None, msgid: str | None = None, mention: str | None = "collabbot") -> str:
        """A member @-mentions the robot in a group (``chatid``) or writes to it in a single chat."""
        return await self.push("aibot_msg_callback", self.message_body(userid, text, chatid=chatid, msgid=msgid, mention=mention), "msg")

    def click_body(
        self,
        userid: str,
        task_id: str,
        event_key: str,
        *,
        chatid: str | None = None,
        flat: bool = False,
        selected: dict[str, list[str]] | None = None,
        msgid: str | None = None,
    ) -> dict[str, Any]:
        card = self.tasks.get(task_id, {}).get("card", {})
        click: dict[str, Any] = {"card_type": card.get("card_type", "button_interaction"), "event_key": event_key, "task_id": task_id}
        if selected:
            click["selected_items"] = {
                "selected_item": [{"question_key": q, "option_ids": {"option_id": ids}} for q, ids in selected.items()]
            }
        event: dict[str, Any] = {"eventtype": "template_card_event"}
        if flat:
            event.update(click)
        else:
            event["template_card_event"] = click
        body: dict[str, Any] = {
            "msgid": msgid or os.urandom(8).hex(),
            "create_time": int(self.clock.now().timestamp()),
            "aibotid": self.bot_id,
            "chattype": "group" if chatid else "single",
            "from": {"userid": userid},
            "msgtype": "event",
            "event": event,
        }
        if chatid:
            body["chatid"] = chatid
        return body

    async def click(self, userid: str, task_id: str, event_key: str, **options: Any) -> str:
        """A member clicks a button (or a submit button, with ``selected``) on the card ``task_id``."""
        return await self.push("aibot_event_callback", self.click_body(userid, task_id, event_key, **options), "card", task_id)

    async def enter_chat(self, userid: str) -> str:
        body = {
            "msgid": os.urandom(8).hex(),
            "create_time": int(self.clock.now().timestamp()),
            "aibotid": self.bot_id,
            "from": {"userid": userid},
            "msgtype": "event",
            "event": {"eventtype": "enter_chat"},
        }
        return await self.push("aibot_event_callback", body, "welcome")

    async def drop(self) -> None:
        """The network drops every open long connection."""
        for conn in self.connections:
            if not conn.ws.closed:
                await conn.ws.close(code=1006)
        self._note()

    # -- reading what the bot sent --------------------------------------------------

    def frames(self, *cmds: str, ok: bool | None = None) -> list[Received]:
        return [r for r in self.received if (not cmds or r.cmd in cmds) and (ok is None or (r.errcode == 0) == ok)]

    def chat_of(self, frame: Received) -> str:
        """Where a message the robot posted appears: the send's chatid, or the answered callback's chat."""
        if frame.cmd == "aibot_send_msg":
            return str(frame.body.get("chatid") or "")
        callback = self.history.get(frame.req_id)
        return callback.chat if callback else ""

    def messages(self, chatid: str | None = None) -> list[Received]:
        """Everything the robot posted (answers and sends) that WeCom accepted, in ``chatid`` if given."""
        posted = self.frames("aibot_respond_msg", "aibot_respond_welcome_msg", "aibot_send_msg", ok=True)
        return [r for r in posted if chatid is None or self.chat_of(r) == chatid]

    def card(self, task_id: str) -> dict[str, Any]:
        return self.tasks[task_id]["card"]

    # -- HTTP: the self-built app and the robot's response_url ---------------------------

    def _record_http(self, name: str, body: Any, errcode: int) -> None:
        self.http.append(Received(next(self._counter), self.clock.now(), name, "", body, errcode))
        self._note()

    def _token_error(self, request: web.Request) -> int:
        token = request.query.get("access_token", "")
        if token not in self.tokens:
            return INVALID_TOKEN
        return 0 if self.tokens[token] else TOKEN_EXPIRED

    def expire_tokens(self) -> None:
        for token in self.tokens:
            self.tokens[token] = False

    async def _gettoken(self, request: web.Request) -> web.Response:
        self.token_requests += 1
        if request.query.get("corpid") != self.corp_id or request.query.get("corpsecret") != self.corp_secret:
            return web.json_response({"errcode": INVALID_CREDENTIAL, "errmsg": "invalid credential"})
        token = f"tok-{os.urandom(6).hex()}"
        self.tokens[token] = True
        return web.json_response({"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200})

    async def _take_over(self, conn: Connection) -> None:
        conn.subscribed = False
        self.takeovers += 1
        frame = {
            "cmd": "aibot_event_callback",
            "headers": {"req_id": f"evt-{os.urandom(4).hex()}"},
            "body": {"msgid": os.urandom(8).hex(), "create_time": int(self.clock.now().timestamp()), "aibotid": self.bot_id, "msgtype": "event", "event": {"eventtype": "disconnected_event"}},
        }
        with contextlib.suppress(ConnectionError, RuntimeError):
            await conn.ws.send_json(frame)
        await conn.ws.close()
        self._note()

    def _untrusted(self, name: str, body: Any) -> web.Response | None:
        if not self.untrusted_ip:
            return None
        self._record_http(name, body, UNTRUSTED_IP)
        return web.json_response({"errcode": UNTRUSTED_IP, "errmsg": "not allow to access from your ip, hint: [fake], from ip: 203.0.113.7"})

    async def _message_send(self, request: web.Request) -> web.Response:
        body = await request.json()
        if (refused := self._untrusted("message/send", body)) is not None:
            return refused
        errcode = self._token_error(request)
        if errcode:
            self._record_http("message/send", body, errcode)
            return web.json_response({"errcode": errcode, "errmsg": "access_token expired or invalid"})
        if body.get("agentid") != self.agent_id or not body.get("touser"):
            self._record_http("message/send", body, INVALID_PARAM)
            return web.json_response({"errcode": INVALID_PARAM, "errmsg": "agentid and touser are required"})
        answer: dict[str, Any] = {"errcode": 0, "errmsg": "ok", "invaliduser": "", "msgid": os.urandom(8).hex()}
        kind = body.get("msgtype")
        if self.duplicate_check and body.get("enable_duplicate_check") and kind not in ("template_card", "image", "file"):
            key = json.dumps([body["touser"], kind, body.get(kind)], ensure_ascii=False, sort_keys=True)
            interval = float(body.get("duplicate_check_interval") or 1800)
            shown_at = self._shown_at.get(key)
            now = self.clock.now()
            if shown_at is not None and (now - shown_at).total_seconds() < interval:
                self.duplicates_dropped += 1
                self._note()
                return web.json_response(answer)
            self._shown_at[key] = now
        if kind in ("image", "file") and (body.get(kind) or {}).get("media_id") not in self.media:
            self._record_http("message/send", body, INVALID_MEDIA)
            return web.json_response({"errcode": INVALID_MEDIA, "errmsg": "invalid media_id"})
        if body.get("msgtype") == "template_card":
            card = body.get("template_card") or {}
            task_id = str(card.get("task_id") or "")
            if not task_id or task_id in self.tasks:
                self._record_http("message/send", body, DUPLICATE_TASK)
                return web.json_response({"errcode": DUPLICATE_TASK, "errmsg": "task_id already used"})
            code = f"rc-{os.urandom(8).hex()}"
            self.response_codes[code] = False
            self.tasks[task_id] = {"chatid": body["touser"], "card": card, "response_code": code}
            answer["response_code"] = code
        self._record_http("message/send", body, 0)
        return web.json_response(answer)

    async def _media_upload(self, request: web.Request) -> web.Response:
        """``media/upload?access_token=&type=image|file``, multipart field ``media``: a temporary material."""
        errcode = self._token_error(request)
        if errcode:
            return web.json_response({"errcode": errcode, "errmsg": "access_token expired or invalid"})
        kind = request.query.get("type")
        form = await request.post()
        media = form.get("media")
        if kind not in ("image", "voice", "video", "file") or not isinstance(media, web.FileField):
            self._record_http("media/upload", {"type": kind}, INVALID_PARAM)
            return web.json_response({"errcode": INVALID_PARAM, "errmsg": "type and media are required"})
        data = media.file.read()
        limit = 10 * 1024 * 1024 if kind == "image" else 20 * 1024 * 1024
        if len(data) > limit or (kind == "image" and media.filename.rsplit(".", 1)[-1].lower() not in ("jpg", "jpeg", "png")):
            self._record_http("media/upload", {"type": kind, "filename": media.filename}, INVALID_MEDIA)
            return web.json_response({"errcode": INVALID_MEDIA, "errmsg": "invalid media"})
        media_id = f"media-{next(self._counter)}"
        self.media[media_id] = {"type": kind, "filename": media.filename, "data": data}
        self._record_http("media/upload", {"type": kind, "filename": media.filename, "media_id": media_id}, 0)
        return web.json_response({"errcode": 0, "errmsg": "ok", "type": kind, "media_id": media_id, "created_at": str(int(self.clock.now().timestamp()))})

    def issue_response_code(self) -> str:
        """A fresh code, as WeCom puts in a click's ``ResponseCode``."""
        code = f"rc-{os.urandom(8).hex()}"
        self.response_codes[code] = False
        return code

    async def _update_card(self, request: web.Request) -> web.Response:
        body = await request.json()
        if (refused := self._untrusted("message/update_template_card", body)) is not None:
            return refused
        errcode = self._token_error(request)
        if not errcode:
            code = body.get("response_code")
            if code not in self.response_codes or self.response_codes[code]:
                errcode = CODE_USED
            else:
                self.response_codes[code] = True
        self._record_http("message/update_template_card", body, errcode)
        return web.json_response({"errcode": errcode, "errmsg": "ok" if not errcode else "response_code used or unknown", "invaliduser": []})

    def new_response_url(self) -> str:
        code = os.urandom(8).hex()
        self.response_urls[code] = False
        return f"http://127.0.0.1:{self.port}/cgi-bin/aibot/response?response_code={quote(code)}"

    async def _response_url(self, request: web.Request) -> web.Response:
        body = await request.json()
        code = request.query.get("response_code", "")
        errcode = 0
        if code not in self.response_urls or self.response_urls[code]:
            errcode = INVALID_PARAM
        else:
            self.response_urls[code] = True
        self._record_http("aibot/response", body, errcode)
        return web.json_response({"errcode": errcode, "errmsg": "ok" if not errcode else "response_url used or unknown"})


@dataclass
class Pusher:
    """Encrypts callbacks as WeCom does and POSTs them to the product's callback URL."""

    base_url: str
    crypto: WeComCrypto
    clock: ManualClock
    session: aiohttp.ClientSession

    def _query(self, encrypted: str, *, timestamp: int | None = None, nonce: str | None = None, signature: str | None = None) -> dict[str, str]:
        ts = str(int(self.clock.now().timestamp()) if timestamp is None else timestamp)
        nonce = nonce or str(int.from_bytes(os.urandom(4), "big"))
        return {"msg_signature": signature or self.crypto.signature(ts, nonce, encrypted), "timestamp": ts, "nonce": nonce}

    async def verify(self, path: str, echo: str, **query: Any) -> tuple[int, str]:
        echostr = self.crypto.encrypt(echo)
        params = {**self._query(echostr, **query), "echostr": echostr}
        async with self.session.get(self.base_url + path, params=params) as response:
            return response.status, await response.text()

    async def post_json(self, path: str, body: dict[str, Any] | None = None, *, encrypted: str | None = None, **query: Any) -> tuple[int, Any, dict[str, str]]:
        """POST ``{"encrypt": …}``; returns the status, the decrypted reply (or the raw text) and the query used."""
        encrypted = encrypted if encrypted is not None else self.crypto.encrypt(json.dumps(body, ensure_ascii=False))
        params = self._query(encrypted, **query)
        async with self.session.post(self.base_url + path, params=params, json={"encrypt": encrypted}) as response:
            raw = await response.text()
            status = response.status
        if status != 200 or not raw:
            return status, raw, params
        envelope = json.loads(raw)
        assert envelope["nonce"] == params["nonce"], "the reply must reuse the callback's nonce"
        assert self.crypto.signature(str(envelope["timestamp"]), envelope["nonce"], envelope["encrypt"]) == envelope["msgsignature"]
        return status, json.loads(self.crypto.decrypt(envelope["encrypt"])), params

    async def post_xml(self, path: str, xml: str, *, to_user: str, agent_id: int, **query: Any) -> tuple[int, str]:
        encrypted = self.crypto.encrypt(xml)
        params = self._query(encrypted, **query)
        envelope = f"<xml><ToUserName><![CDATA[{to_user}]]></ToUserName><AgentID><![CDATA[{agent_id}]]></AgentID><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
        async with self.session.post(self.base_url + path, params=params, data=envelope.encode()) as response:
            return response.status, await response.text()
