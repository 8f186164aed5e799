"""A fake Slack on 127.0.0.1 that speaks the real wire protocol.

The product's real ``AsyncWebClient`` is pointed at ``base_url``; its
``apps.connections.open`` returns this server's ``ws://`` Socket Mode URL, so
the unmodified slack-bolt / slack-sdk code paths run. The fake:

- serves the Web API methods the bot calls (JSON bodies, form bodies and GET
  query strings alike) and records every call in ``calls``;
- keeps the messages it was sent (``messages``, by ``(channel, ts)``, edited in
  place by ``chat.update``), ephemeral messages and opened modals;
- checks tokens, ``trigger_id``s it issued (each usable once) and channel
  membership (``outside`` channels answer ``not_in_channel`` until joined);
- injects failures: ``fail(method, status=429, retry_after=…)``, 5xx, error codes;
- runs Socket Mode: ``hello`` on connect, envelopes with ``push``, acks collected
  per envelope id, ``disconnect`` (refresh) and abrupt ``drop``; envelopes pushed
  while no connection is usable are queued, not lost;
- signs and POSTs HTTP-mode requests (commands, events, interactions) to the
  app exactly like Slack does (``v0`` HMAC-SHA256 over the raw body).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import itertools
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from tests.slack.limits import message_problems, view_problems

BOT_TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-test-token"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_USER = "UBOT"
TEAM = "T0TEST"
APP_ID = "A0TEST"


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    status: int
    token: str | None
    error: str | None = None
    detail: Any = None


@dataclass
class Failure:
    status: int = 429
    error: str | None = None
    retry_after: float | None = None
    times: int = 1
    commit: bool = False  # do the call, then fail anyway (Slack posted; the answer got lost)


@dataclass
class Connection:
    ws: web.WebSocketResponse
    number: int
    draining: bool = False


@dataclass
class FakeSlack:
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    outside: set[str] = field(default_factory=set)  # channels the bot is not a member of
    scopes: set[str] = field(default_factory=lambda: {"channels:history", "groups:history", "im:history"})
    calls: list[Call] = field(default_factory=list)
    messages: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    ephemerals: list[dict[str, Any]] = field(default_factory=list)
    views: list[dict[str, Any]] = field(default_factory=list)
    responses: list[dict[str, Any]] = field(default_factory=list)  # what arrived at response_urls
    files: dict[str, dict[str, Any]] = field(default_factory=dict)  # uploads by file id: name, length, data, channel
    acks: dict[str, dict[str, Any]] = field(default_factory=dict)
    connections: list[Connection] = field(default_factory=list)
    connects: int = 0
    failures: dict[str, list[Failure]] = field(default_factory=dict)
    # a platform limit to enforce (tests/fakelimits.py): (method, args) → a refusal, or None to go on
    limits: Any = None
    delays: dict[str, float] = field(default_factory=dict)  # method → seconds Slack takes to answer it
    # Slack's trigger_id opens a modal within 3 s of the request or never; tests of that path set 3.0
    # (others leave it off: a slow CI machine must not fail a test about something else)
    trigger_lifetime: float | None = None
    homes: dict[str, dict[str, Any]] = field(default_factory=dict)  # user → the published Home tab view

    def __post_init__(self) -> None:
        self._ts = itertools.count(1)
        self._ids = itertools.count(1)
        self._triggers: dict[str, float] = {}  # trigger_id → when it was issued (it expires 3 s later)
        self._queue: list[dict[str, Any]] = []
        self.pushed: dict[str, dict[str, Any]] = {}  # every envelope ever pushed, by id
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.port = 0

    # -- server ----------------------------------------------------------

    async def start(self) -> FakeSlack:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_get("/link/", self._socket)
        app.router.add_post("/response/{id}", self._response_url)
        app.router.add_post("/upload/{file_id}", self._upload)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._session = aiohttp.ClientSession()
        return self

    async def stop(self) -> None:
        for connection in list(self.connections):
            with contextlib.suppress(Exception):
                await connection.ws.close()
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def until(self, predicate: Any, within: float = 5.0, what: str = "condition") -> Any:
        """Wait (bounded) until ``predicate()`` is truthy; returns its value. Woken by every call and ack."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        async with self._changed:
            while True:
                value = predicate()
                if value:
                    return value
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise AssertionError(f"fake Slack: timed out waiting for {what}")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), timeout=min(remaining, 0.05))

    # -- injection -------------------------------------------------------

    def fail(
        self, method: str, *, status: int = 429, error: str | None = None, retry_after: float | None = None, times: int = 1, commit: bool = False
    ) -> None:
        """The next ``times`` calls of ``method`` fail (429 with Retry-After, a 5xx, or ``ok: false`` + error).
        With ``commit`` the call takes effect first: the ambiguous failure (a timeout after Slack posted)."""
        if status == 429 and retry_after is None:
            retry_after = 1
        self.failures.setdefault(method, []).append(Failure(status, error, retry_after, times, commit))

    def _injected(self, method: str, args: dict[str, Any]) -> web.Response | None:
        queue = self.failures.get(method)
        if not queue:
            return None
        failure = queue[0]
        if failure.commit:
            handler = getattr(self, "_m_" + method.replace(".", "_"))
            handler(args)
        failure.times -= 1
        if failure.times <= 0:
            queue.pop(0)
        headers = {"Retry-After": str(int(failure.retry_after))} if failure.retry_after is not None else {}
        if failure.status >= 500:
            return web.Response(status=failure.status, text="upstream connect error", headers=headers)
        error = failure.error or ("ratelimited" if failure.status == 429 else "fatal_error")
        return web.json_response({"ok": False, "error": error}, status=failure.status, headers=headers)

    # -- Web API ---------------------------------------------------------

    async def _args(self, request: web.Request) -> dict[str, Any]:
        args: dict[str, Any] = dict(request.query)
        if request.method == "POST" and request.can_read_body:
            if request.content_type == "application/json":
                args.update(await request.json())
            else:
                args.update(dict(await request.post()))
        for key in ("blocks", "view", "attachments", "metadata"):
            if isinstance(args.get(key), str):
                with contextlib.suppress(ValueError):
                    args[key] = json.loads(args[key])
        return args

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await self._args(request)
        if self.delays.get(method):  # a slow Slack (users.info on a bad day)
            await asyncio.sleep(self.delays[method])
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else args.get("token")
        response = self._injected(method, args)
        if response is None and self.limits is not None:
            response = self.limits(method, args)
        if response is None:
            expected = APP_TOKEN if method == "apps.connections.open" else BOT_TOKEN
            if token != expected:
                response = web.json_response({"ok": False, "error": "invalid_auth"})
            else:
                handler = getattr(self, "_m_" + method.replace(".", "_"), None)
                data = self._validate(method, args) or (handler(args) if handler else {"ok": False, "error": "unknown_method"})
                response = web.json_response(data)
        answer = json.loads(response.text) if response.content_type == "application/json" and response.text else {}
        self.calls.append(Call(method, args, response.status, token, answer.get("error"), answer.get("errors")))
        await self._notify()
        return response

    @staticmethod
    def _validate(method: str, args: dict[str, Any]) -> dict[str, Any] | None:
        """Slack rejects payloads outside the Block Kit limits with ``invalid_blocks``."""
        if method in ("chat.postMessage", "chat.update", "chat.postEphemeral"):
            problems = message_problems(args)
        elif method in ("views.open", "views.update"):
            problems = view_problems(args.get("view") or {})
        else:
            return None
        return {"ok": False, "error": "invalid_blocks", "errors": problems} if problems else None

    @property
    def rejected(self) -> list[Call]:
        """Calls Slack would have refused for a malformed payload (must stay empty)."""
        return [c for c in self.calls if c.error in ("invalid_blocks", "invalid_arguments", "no_text")]

    def _ts_next(self) -> str:
        """Like Slack's: the server's time in microseconds, unique and increasing within a channel."""
        self._last_ts = max(time.time(), getattr(self, "_last_ts", 0.0) + 1e-6)
        next(self._ts)
        return f"{self._last_ts:.6f}"

    def _m_auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": "https://test.slack.com/", "team": "Test", "user": "collabbot", "team_id": TEAM, "user_id": BOT_USER, "bot_id": "BBOT"}

    def _m_apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/link/?ticket={uuid.uuid4().hex}&app_id={APP_ID}"}

    def _dm_of(self, user: str) -> str:
        return "D" + user.lstrip("UW")

    def _channel_error(self, channel: str) -> str | None:
        if not channel:
            return "channel_not_found"
        if channel in self.outside:
            return "not_in_channel"
        return None

    def _m_chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel") or "")
        if channel.startswith(("U", "W")):
            channel = self._dm_of(channel)
        if error := self._channel_error(channel):
            return {"ok": False, "error": error}
        if not args.get("text") and not args.get("blocks"):
            return {"ok": False, "error": "no_text"}
        ts = self._ts_next()
        message = {
            "channel": channel,
            "ts": ts,
            "text": args.get("text"),
            "blocks": args.get("blocks") or [],
            "thread_ts": args.get("thread_ts"),
            "metadata": args.get("metadata"),
            "edits": 0,
        }
        self.messages[(channel, ts)] = message
        return {"ok": True, "channel": channel, "ts": ts, "message": {"text": args.get("text"), "ts": ts, "bot_id": "BBOT"}}

    # -- files: files.getUploadURLExternal → POST the bytes → files.completeUploadExternal

    def _m_files_getUploadURLExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        filename, length = args.get("filename"), args.get("length")
        if not filename or not str(length or "").isdigit():
            return {"ok": False, "error": "invalid_arguments"}
        file_id = f"F{next(self._ids):08d}"
        self.files[file_id] = {"id": file_id, "name": str(filename), "length": int(str(length)), "data": None, "channel": None}
        return {"ok": True, "upload_url": f"http://127.0.0.1:{self.port}/upload/{file_id}", "file_id": file_id}

    async def _upload(self, request: web.Request) -> web.Response:
        file = self.files.get(request.match_info["file_id"])
        if file is None:
            return web.Response(status=404, text="unknown upload")
        data = await request.read()  # Slack takes the raw bytes (the SDK posts them as the body)
        file["data"] = data
        await self._notify()
        return web.Response(text="OK - " + str(len(data)))

    def _m_files_completeUploadExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        raw = args.get("files")
        entries = json.loads(raw) if isinstance(raw, str) else raw or []
        channel = str(args.get("channel_id") or "")
        if error := self._channel_error(channel):
            return {"ok": False, "error": error}
        done = []
        for entry in entries:
            file = self.files.get(str(entry.get("id")))
            if file is None or file["data"] is None:
                return {"ok": False, "error": "file_not_found"}
            if len(file["data"]) != file["length"]:
                return {"ok": False, "error": "invalid_file_length"}
            file.update(channel=channel, title=entry.get("title"), initial_comment=args.get("initial_comment"), thread_ts=args.get("thread_ts"))
            done.append({"id": file["id"], "name": file["name"], "title": entry.get("title")})
        ts = self._ts_next()
        self.messages[(channel, ts)] = {
            "channel": channel, "ts": ts, "text": args.get("initial_comment"), "blocks": [], "files": done,
            "thread_ts": args.get("thread_ts"), "metadata": None, "edits": 0,
        }
        return {"ok": True, "files": done}

    def uploads(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Files whose upload was completed (into ``channel``, when given)."""
        return [f for f in self.files.values() if f["channel"] and (channel is None or f["channel"] == channel)]

    def _m_chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        key = (str(args.get("channel")), str(args.get("ts")))
        message = self.messages.get(key)
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        message.update(text=args.get("text"), blocks=args.get("blocks") or [], edits=message["edits"] + 1)
        return {"ok": True, "channel": key[0], "ts": key[1], "text": args.get("text")}

    def _m_chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel") or "")
        if error := self._channel_error(channel):
            return {"ok": False, "error": error}
        if not args.get("user"):
            return {"ok": False, "error": "user_not_in_channel"}
        ts = self._ts_next()
        self.ephemerals.append({"channel": channel, "user": args["user"], "ts": ts, "text": args.get("text"), "blocks": args.get("blocks") or []})
        return {"ok": True, "message_ts": ts}

    def _m_conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel") or "")
        needed = "im:history" if channel.startswith("D") else "groups:history" if channel.startswith("G") else "channels:history"
        if needed not in self.scopes:
            return {"ok": False, "error": "missing_scope", "needed": needed}
        if error := self._channel_error(channel):
            return {"ok": False, "error": error}
        with_metadata = str(args.get("include_all_metadata")).lower() in ("1", "true")
        limit = min(int(args.get("limit") or 100), 999)
        oldest = float(args.get("oldest") or 0)
        found = [
            {"type": "message", "ts": m["ts"], "text": m["text"], **({"bot_id": "BBOT"} if m.get("bot", True) else {"user": m.get("user")}),
             **({"metadata": m["metadata"]} if with_metadata and m.get("metadata") else {})}
            for m in sorted(self.in_channel(channel), key=lambda m: float(m["ts"]), reverse=True)  # newest first
            if float(m["ts"]) > oldest
        ]
        start = int(args.get("cursor") or 0)  # Slack's cursors are opaque: an offset here
        page = found[start : start + limit]
        more = len(found) > start + limit
        return {"ok": True, "messages": page, "has_more": more, "response_metadata": {"next_cursor": str(start + limit) if more else ""}}

    def chatter(self, channel: str, count: int, user: str = "U5HAN") -> None:
        """People talk in ``channel``: ``count`` new messages that push older ones down the history."""
        for n in range(count):
            ts = self._ts_next()
            self.messages[(channel, ts)] = {"channel": channel, "ts": ts, "text": f"chatter {n}", "blocks": [], "thread_ts": None,
                                            "metadata": None, "edits": 0, "bot": False, "user": user}

    def _m_conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        users = str(args.get("users") or "")
        if not users or "," in users:
            return {"ok": False, "error": "users_list_not_supplied"}
        return {"ok": True, "channel": {"id": self._dm_of(users)}}

    def _m_conversations_join(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel") or "")
        if channel.startswith("G"):
            return {"ok": False, "error": "method_not_supported_for_channel_type"}
        self.outside.discard(channel)
        return {"ok": True, "channel": {"id": channel}}

    def _m_users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user_id = str(args.get("user") or "")
        user = self.users.get(user_id)
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        data = {
            "id": user_id,
            "name": user.get("name", user_id.lower()),
            "real_name": user.get("real_name"),
            "tz": user.get("tz", "Asia/Shanghai"),
            "profile": {"real_name": user.get("real_name"), "display_name": user.get("display_name", ""), "email": user.get("email")},
        }
        if str(args.get("include_locale")).lower() in ("1", "true"):
            data["locale"] = user.get("locale", "en-US")
        return {"ok": True, "user": data}

    def _m_views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        trigger = str(args.get("trigger_id") or "")
        if trigger not in self._triggers:
            return {"ok": False, "error": "invalid_trigger_id" if trigger else "trigger_id_required"}
        issued = self._triggers.pop(trigger)  # one use only, like Slack
        if self.trigger_lifetime is not None and time.monotonic() - issued > self.trigger_lifetime:
            return {"ok": False, "error": "expired_trigger_id"}
        view = args.get("view")
        if not isinstance(view, dict) or view.get("type") != "modal":
            return {"ok": False, "error": "invalid_arguments"}
        stored = {**view, "id": f"V{next(self._ids):05d}", "hash": uuid.uuid4().hex[:10], "trigger_id": trigger}
        self.views.append(stored)
        return {"ok": True, "view": stored}

    def _m_views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        view_id = str(args.get("view_id") or "")
        stored = next((v for v in self.views if v["id"] == view_id), None)
        if stored is None:
            return {"ok": False, "error": "not_found"}
        if args.get("hash") and args["hash"] != stored["hash"]:
            return {"ok": False, "error": "hash_conflict"}
        view = args.get("view")
        if not isinstance(view, dict) or view.get("type") != "modal":
            return {"ok": False, "error": "invalid_arguments"}
        stored.clear()
        stored.update({**view, "id": view_id, "hash": uuid.uuid4().hex[:10]})
        return {"ok": True, "view": stored}

    def _m_views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        user = str(args.get("user_id") or "")
        view = args.get("view")
        if user not in self.users or not isinstance(view, dict) or view.get("type") != "home":
            return {"ok": False, "error": "invalid_arguments" if user in self.users else "user_not_found"}
        self.homes[user] = view
        return {"ok": True, "view": {**view, "id": f"V{next(self._ids):05d}"}}

    async def _response_url(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.responses.append({"id": request.match_info["id"], **body})
        self.calls.append(Call("response_url", body, 200, None))
        await self._notify()
        return web.Response(text="ok")

    # -- recorded state --------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def in_channel(self, channel: str) -> list[dict[str, Any]]:
        return [m for (ch, _), m in sorted(self.messages.items(), key=lambda kv: kv[0][1]) if ch == channel]

    def dms(self, user: str) -> list[dict[str, Any]]:
        return self.in_channel(self._dm_of(user))

    def ephemerals_for(self, user: str, channel: str | None = None) -> list[dict[str, Any]]:
        return [e for e in self.ephemerals if e["user"] == user and (channel is None or e["channel"] == channel)]

    # -- Socket Mode -----------------------------------------------------

    @property
    def live(self) -> list[Connection]:
        return [c for c in self.connections if not c.draining and not c.ws.closed]

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.connects += 1
        connection = Connection(ws, self.connects)
        await ws.send_str(
            json.dumps({"type": "hello", "num_connections": len(self.live) + 1, "debug_info": {"host": "fake"}, "connection_info": {"app_id": APP_ID}})
        )
        self.connections.append(connection)
        queued, self._queue = self._queue, []
        for envelope in queued:
            await ws.send_str(json.dumps(envelope))
        await self._notify()
        try:
            async for message in ws:
                if message.type == aiohttp.WSMsgType.TEXT:
                    data = json.loads(message.data)
                    envelope_id = data.get("envelope_id")
                    if envelope_id:
                        self.acks[envelope_id] = data.get("payload") or {}
                        await self._notify()
        finally:
            if connection in self.connections:
                self.connections.remove(connection)
            await self._notify()
        return ws

    async def wait_connected(self, count: int = 1, within: float = 10.0) -> None:
        """Until the bot has connected ``count`` times in total and holds a live connection."""
        await self.until(lambda: self.connects >= count and self.live, within, f"Socket Mode connection #{count}")

    async def push(self, kind: str, payload: dict[str, Any], *, retry_attempt: int = 0, envelope_id: str | None = None) -> str:
        """Send an envelope (``events_api`` / ``slash_commands`` / ``interactive``); queued if no live connection."""
        envelope = {
            "envelope_id": envelope_id or str(uuid.uuid4()),
            "type": kind,
            "payload": payload,
            "accepts_response_payload": kind != "events_api",
            "retry_attempt": retry_attempt,
            "retry_reason": "timeout" if retry_attempt else "",
        }
        self.pushed[envelope["envelope_id"]] = envelope
        live = self.live
        if live:
            await live[-1].ws.send_str(json.dumps(envelope))
        else:
            self._queue.append(envelope)
        return envelope["envelope_id"]

    async def redeliver(self, envelope_id: str) -> str:
        """Slack's retry of an envelope: same payload, ``retry_attempt + 1``, a new envelope id."""
        original = self.pushed[envelope_id]
        return await self.push(original["type"], original["payload"], retry_attempt=int(original.get("retry_attempt", 0)) + 1)

    @property
    def unacked(self) -> list[str]:
        return [envelope_id for envelope_id in self.pushed if envelope_id not in self.acks]

    async def wait_ack(self, envelope_id: str, within: float = 5.0) -> dict[str, Any]:
        await self.until(lambda: envelope_id in self.acks, within, f"ack of envelope {envelope_id}")
        return self.acks[envelope_id]

    async def disconnect(self, reason: str = "refresh_requested") -> None:
        """Slack's connection refresh: a ``disconnect`` message; new envelopes wait for the next connection."""
        for connection in self.live:
            connection.draining = True
            await connection.ws.send_str(json.dumps({"type": "disconnect", "reason": reason, "debug_info": {"host": "fake"}}))

    async def drop(self) -> None:
        """Close every connection abruptly (a network cut / server restart)."""
        for connection in list(self.connections):
            connection.draining = True
            await connection.ws.close(code=aiohttp.WSCloseCode.GOING_AWAY)

    # -- payloads as Slack sends them ----------------------------------------

    def trigger(self) -> str:
        trigger_id = f"{next(self._ids)}.{TEAM}.{uuid.uuid4().hex[:16]}"
        self._triggers[trigger_id] = time.monotonic()
        return trigger_id

    def _user_name(self, user: str) -> str:
        return str(self.users.get(user, {}).get("name", user.lower()))

    def slash(self, user: str, channel: str, text: str, command: str = "/collab") -> dict[str, str]:
        return {
            "token": "verification-token",
            "team_id": TEAM,
            "team_domain": "test",
            "channel_id": channel,
            "channel_name": "directmessage" if channel.startswith("D") else f"chan-{channel.lower()}",
            "user_id": user,
            "user_name": self._user_name(user),
            "command": command,
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": f"http://127.0.0.1:{self.port}/response/{uuid.uuid4().hex[:12]}",
            "trigger_id": self.trigger(),
        }

    def event(self, event: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
        return {
            "token": "verification-token",
            "team_id": TEAM,
            "api_app_id": APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or f"Ev{next(self._ids):08d}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": TEAM, "user_id": BOT_USER, "is_bot": True, "is_enterprise_install": False}],
            "is_ext_shared_channel": False,
        }

    def mention(self, user: str, channel: str, text: str, *, event_id: str | None = None, thread_ts: str | None = None) -> dict[str, Any]:
        ts = self._ts_next()
        event = {"type": "app_mention", "user": user, "text": f"<@{BOT_USER}> {text}", "ts": ts, "channel": channel, "event_ts": ts}
        if thread_ts:
            event["thread_ts"] = thread_ts
        return self.event(event, event_id)

    def direct(self, user: str, text: str, *, event_id: str | None = None) -> dict[str, Any]:
        ts = self._ts_next()
        event = {"type": "message", "channel_type": "im", "user": user, "text": text, "ts": ts, "channel": self._dm_of(user), "event_ts": ts}
        return self.event(event, event_id)

    def find_button(self, message: dict[str, Any], action: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """(actions block, button element) of the button whose action_id is ``action`` (or starts with ``action#``)."""
        for block in message.get("blocks") or []:
            if block.get("type") != "actions":
                continue
            for element in block.get("elements") or []:
                action_id = element.get("action_id", "")
                if action_id == action or action_id.startswith(action + "#"):
                    return block, element
        ids = [e.get("action_id") for b in message.get("blocks") or [] if b.get("type") == "actions" for e in b.get("elements", [])]
        raise AssertionError(f"message {message.get('ts')} has no button {action!r} (buttons: {ids})")

    def click(self, user: str, message: dict[str, Any], action: str) -> dict[str, Any]:
        """A ``block_actions`` payload for pressing a button of a posted message."""
        block, button = self.find_button(message, action)
        channel = message["channel"]
        action_ts = f"{int(time.time())}.{next(self._ids):06d}"
        return {
            "type": "block_actions",
            "user": {"id": user, "username": self._user_name(user), "name": self._user_name(user), "team_id": TEAM},
            "api_app_id": APP_ID,
            "token": "verification-token",
            "container": {"type": "message", "message_ts": message["ts"], "channel_id": channel, "is_ephemeral": False},
            "trigger_id": self.trigger(),
            "team": {"id": TEAM, "domain": "test"},
            "channel": {"id": channel, "name": f"chan-{channel.lower()}"},
            "message": {"type": "message", "ts": message["ts"], "text": message.get("text"), "blocks": message.get("blocks"), "thread_ts": message.get("thread_ts")},
            "response_url": f"http://127.0.0.1:{self.port}/response/{uuid.uuid4().hex[:12]}",
            "actions": [
                {
                    "type": "button",
                    "action_id": button["action_id"],
                    "block_id": block.get("block_id", "b"),
                    "text": button["text"],
                    "value": button.get("value"),
                    "style": button.get("style"),
                    "action_ts": action_ts,
                }
            ],
        }

    @staticmethod
    def _state(block: dict[str, Any], value: Any) -> dict[str, Any]:
        element = block["element"]
        kind = element["type"]
        if kind == "datepicker":
            return {"type": kind, "selected_date": value or None}
        if kind == "static_select":
            options = {o["value"]: o for o in element.get("options", [])}
            if value and value not in options:
                raise AssertionError(f"{block['block_id']}: {value!r} is not an option ({list(options)})")
            return {"type": kind, "selected_option": options.get(value)}
        if kind == "checkboxes":
            options = {o["value"]: o for o in element.get("options", [])}
            return {"type": kind, "selected_options": [options[v] for v in value or []]}
        if kind == "multi_static_select":
            options = {o["value"]: o for o in element.get("options", [])}
            return {"type": kind, "selected_options": [options[v] for v in value or []]}
        if kind == "users_select":
            return {"type": kind, "selected_user": value or None}
        return {"type": kind, "value": None if value in (None, "") else str(value)}

    def submit(self, user: str, view: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
        """A ``view_submission`` payload: ``values`` by field (block) name; unknown names are an error."""
        blocks = {b["block_id"]: b for b in view.get("blocks", []) if b.get("type") == "input"}
        unknown = set(values) - set(blocks)
        if unknown:
            raise AssertionError(f"the modal has no inputs {sorted(unknown)} (it has {sorted(blocks)})")
        state = {
            block_id: {block["element"]["action_id"]: self._state(block, values.get(block_id))} for block_id, block in blocks.items()
        }
        return {
            "type": "view_submission",
            "team": {"id": TEAM, "domain": "test"},
            "user": {"id": user, "username": self._user_name(user), "name": self._user_name(user), "team_id": TEAM},
            "api_app_id": APP_ID,
            "token": "verification-token",
            "trigger_id": self.trigger(),
            "view": {**view, "state": {"values": state}, "team_id": TEAM, "app_id": APP_ID, "bot_id": "BBOT"},
            "response_urls": [],
        }

    # -- HTTP mode ---------------------------------------------------------

    @staticmethod
    def sign(body: str, timestamp: int, secret: str = SIGNING_SECRET) -> str:
        basestring = f"v0:{timestamp}:{body}".encode()
        return "v0=" + hmac.new(secret.encode(), basestring, hashlib.sha256).hexdigest()

    async def post(
        self,
        url: str,
        kind: str,
        payload: dict[str, Any],
        *,
        secret: str = SIGNING_SECRET,
        timestamp: int | None = None,
        retry_num: int | None = None,
    ) -> tuple[int, str]:
        """POST like Slack: ``kind`` is ``command`` (form), ``event`` (JSON) or ``interactive`` (form ``payload=``)."""
        if kind == "command":
            body, content_type = urlencode(payload), "application/x-www-form-urlencoded"
        elif kind == "interactive":
            body, content_type = urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"
        else:
            body, content_type = json.dumps(payload), "application/json"
        stamp = int(time.time()) if timestamp is None else timestamp
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": str(stamp),
            "X-Slack-Signature": self.sign(body, stamp, secret),
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        }
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = "http_timeout"
        assert self._session is not None
        async with self._session.post(url, data=body.encode(), headers=headers) as response:
            return response.status, await response.text()
