"""The simulator's JSON API and page. Documented in README.md ("Simulator API"); keep it stable.

All routes live under ``/sim``. Every call that makes the bot act returns
after the bot's replies were delivered, so a client can read them at once.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.clock import ManualClock
from bot.clock_travel import ClockMovedBackwards, advance_to
from bot.i18n import _, localize
from bot.platform import Runtime
from storage import outbox_queue
from storage.models import Group, Identity, Person, SimulatorMessage

from . import inbound

STATIC = Path(__file__).parent / "static"
MAX_BODY = 256 * 1024


def _without_bytes(message_id: int, content: dict[str, Any]) -> dict[str, Any]:
    """A file message as the page reads it: a URL instead of the base64 bytes."""
    if content.get("type") != "file":
        return content
    data = {k: v for k, v in content.items() if k != "data"}
    data["url"] = f"/sim/api/files/{message_id}"
    data["size"] = len(content.get("data") or "") * 3 // 4
    return data


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"ok": False, "error": message}, status=status)


class SimulatorApi:
    def __init__(self, runtime: Runtime):
        self.runtime = runtime

    @classmethod
    def mount(cls, runtime: Runtime) -> SimulatorApi:
        api = cls(runtime)
        app = runtime.web
        assert app is not None
        r = app.router
        r.add_get("/", api.redirect)
        r.add_get("/sim", api.redirect)
        r.add_get("/sim/", api.page)
        r.add_static("/sim/static/", STATIC)
        r.add_get("/sim/api/state", api.state)
        r.add_post("/sim/api/messages", api.post_message)
        r.add_post("/sim/api/actions", api.click)
        r.add_post("/sim/api/forms", api.submit_form)
        r.add_get("/sim/api/messages", api.read_messages)
        r.add_post("/sim/api/clock", api.move_clock)
        r.add_get("/sim/api/files/{id}", api.read_file)
        return api

    # -- helpers ---------------------------------------------------------

    @property
    def platform_names(self) -> list[str]:
        platforms = getattr(self.runtime, "platforms", {})
        return [name for name, p in platforms.items() if type(p).__name__ == "SimulatorPlatform"] or ["simulator"]

    async def _body(self, request: web.Request) -> dict[str, Any]:
        if request.content_length is not None and request.content_length > MAX_BODY:
            raise inbound.BadRequest(f"request body too large (limit {MAX_BODY} bytes)")
        raw = await request.content.read(MAX_BODY + 1)
        if len(raw) > MAX_BODY:
            raise inbound.BadRequest(f"request body too large (limit {MAX_BODY} bytes)")
        try:
            data = json.loads(raw or b"{}")
        except (ValueError, UnicodeDecodeError) as exc:
            raise inbound.BadRequest(f"body is not valid JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise inbound.BadRequest("body must be a JSON object")
        return data

    def _platform(self, data: dict[str, Any]) -> str:
        platform = data.get("platform") or self.platform_names[0]
        if platform not in self.platform_names:
            raise inbound.BadRequest(f"unknown simulator platform {platform!r}; known: {', '.join(self.platform_names)}")
        return str(platform)

    async def _names(self, platform: str) -> dict[str, str]:
        rows = await Identity.filter(platform=platform).select_related("person")
        return {i.platform_user_id: i.person.name for i in rows}

    async def _settle(self) -> None:
        settle = getattr(self.runtime, "settle", None)
        if settle is not None:
            await settle()

    async def _result(self, result: Any) -> web.Response:
        await self._settle()
        return web.json_response(
            {
                "ok": True,
                "duplicate": result.duplicate,
                "error": None if result.error is None else str(localize(result.error.message, result.locale)),
                "form_errors": result.form_errors,
                # set when the bot hit a bug and only apologized: "ok" says the request was taken, not that it worked
                "incident": result.incident,
            }
        )

    # -- routes ----------------------------------------------------------

    async def redirect(self, request: web.Request) -> web.Response:
        raise web.HTTPFound("/sim/")

    async def page(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "index.html")

    async def state(self, request: web.Request) -> web.Response:
        people = []
        for person in await Person.all().order_by("id").prefetch_related("department"):
            people.append(
                {
                    "id": person.handle,
                    "name": person.name,
                    "locale": person.locale,
                    "department": person.department.name if person.department else None,
                }
            )
        groups = [
            {"platform": g.platform, "id": g.conversation_id, "name": g.name or g.conversation_id, "locale": g.locale}
            for g in await Group.filter(platform__in=self.platform_names).order_by("id")
        ]
        clock = self.runtime.clock
        return web.json_response(
            {
                "ok": True,
                "platforms": self.platform_names,
                "people": people,
                "groups": groups,
                "now": clock.now().isoformat(),
                "manual_clock": isinstance(clock, ManualClock),
            }
        )

    async def post_message(self, request: web.Request) -> web.Response:
        try:
            data = await self._body(request)
            platform = self._platform(data)
            event = inbound.message_event(platform, data, await self._names(platform))
        except inbound.BadRequest as exc:
            return _error(400, str(exc))
        await SimulatorMessage.create(
            platform=platform,
            conversation_id=event.conversation.id if event.conversation else "",
            sender=event.actor_id or "",
            content={"type": "text", "body": event.text},
            created_at=self.runtime.clock.now(),
            updated_at=self.runtime.clock.now(),
        )
        return await self._result(await self.runtime.dispatch(event))

    async def _message(self, data: dict[str, Any], platform: str) -> SimulatorMessage:
        message_id = data.get("message_id")
        if not isinstance(message_id, int):
            raise inbound.BadRequest("field 'message_id' is required and must be an integer")
        message = await SimulatorMessage.get_or_none(id=message_id, platform=platform)
        if message is None or message.sender != "bot":
            raise inbound.BadRequest(f"no bot message {message_id} on {platform}")
        return message

    async def click(self, request: web.Request) -> web.Response:
        """``{"person", "message_id", "action", "platform"?, "delivery_id"?, "value"?}``: press the button with that action.

        With ``value`` the click carries that value, even when the card no longer
        shows the button: what a client with a stale (or forged) copy would send.
        """
        try:
            data = await self._body(request)
            platform = self._platform(data)
            message = await self._message(data, platform)
            action = data.get("action")
            buttons = [b for b in (message.content.get("buttons") or []) if b["action"] == action]
            if "index" in data and isinstance(data["index"], int):
                all_buttons = message.content.get("buttons") or []
                buttons = [all_buttons[data["index"]]] if 0 <= data["index"] < len(all_buttons) else []
            if isinstance(data.get("value"), dict) and isinstance(action, str):
                # a client with an older copy of the card, or a forged one: the server re-checks every click itself
                buttons = [{"action": action, "value": data["value"]}]
            if not buttons:
                raise inbound.BadRequest(f"message {message.id} has no button {action!r} (it may have been decided already)")
            event = inbound.action_event(platform, data, message.conversation_id, buttons[0], await self._names(platform))
        except inbound.BadRequest as exc:
            return _error(400, str(exc))
        return await self._result(await self.runtime.dispatch(event))

    async def submit_form(self, request: web.Request) -> web.Response:
        """``{"person", "message_id", "fields": {...}}``: submit the form shown in that message (or opened by one of its buttons: ``"action"``)."""
        try:
            data = await self._body(request)
            platform = self._platform(data)
            message = await self._message(data, platform)
            form = message.content.get("form")
            if data.get("action"):
                form = next(
                    (b.get("opens_form") for b in message.content.get("buttons") or [] if b["action"] == data["action"]),
                    None,
                )
            if not form:
                raise inbound.BadRequest(f"message {message.id} has no form")
            event = inbound.form_event(platform, data, message.conversation_id, form, await self._names(platform))
        except inbound.BadRequest as exc:
            return _error(400, str(exc))
        return await self._result(await self.runtime.dispatch(event))

    async def read_messages(self, request: web.Request) -> web.Response:
        """``?platform=&conversation=<group id>|&person=<id>&after=<message id>``; a DM when no conversation."""
        q = request.query
        platform = q.get("platform") or self.platform_names[0]
        person = q.get("person")
        conversation = q.get("conversation") or (inbound.dm_conversation(person) if person else None)
        if not conversation:
            return _error(400, "give conversation=<group id>, or person=<id> for their direct messages")
        try:
            after = int(q.get("after", "0"))
        except ValueError:
            return _error(400, "after must be a message id (integer)")
        rows = await SimulatorMessage.filter(platform=platform, conversation_id=conversation, id__gt=after).order_by("id")
        names = await self._names(platform)
        messages = [
            {
                "id": m.id,
                "sender": m.sender,
                "sender_name": "collabbot" if m.sender == "bot" else names.get(m.sender, m.sender),
                "ephemeral": m.recipient is not None,
                "content": _without_bytes(m.id, m.content),
                "version": m.version,
                "created_at": m.created_at.isoformat(),
                "updated_at": m.updated_at.isoformat(),
            }
            for m in rows
            if m.recipient is None or m.recipient == person
        ]
        return web.json_response({"ok": True, "platform": platform, "conversation": conversation, "messages": messages})

    async def _reader_locale(self, data: dict[str, Any]) -> str:
        """Who reads the clock's answer: the ``person`` named in the body, else the organisation."""
        config = getattr(self.runtime, "config", None)
        default = config.bot.locale if config is not None else None
        handle = data.get("person")
        if isinstance(handle, str) and handle:
            person = await Person.get_or_none(handle=handle)
            if person is not None and person.locale:
                return person.locale
        return default or "zh_CN"

    async def read_file(self, request: web.Request) -> web.Response:
        """The bytes of a file message (a chart, an export): ``GET /sim/api/files/{message id}``."""
        try:
            message_id = int(request.match_info["id"])
        except ValueError:
            return _error(400, "the file id is a message id (integer)")
        message = await SimulatorMessage.get_or_none(id=message_id, sender="bot")
        if message is None or (message.content or {}).get("type") != "file":
            return _error(404, f"no file message {message_id}")
        content = message.content
        try:
            data = base64.b64decode(content.get("data") or "", validate=True)
        except ValueError:
            return _error(500, f"file message {message_id} holds no valid data")
        disposition = "inline" if str(content.get("mime", "")).startswith("image/") else "attachment"
        return web.Response(
            body=data,
            content_type=str(content.get("mime") or "application/octet-stream"),
            headers={"Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(str(content.get('filename') or 'file'))}"},
        )

    async def move_clock(self, request: web.Request) -> web.Response:
        """``{"seconds"|"minutes"|"hours"|"days": n}`` or ``{"to": iso}``: only with a manual clock (demo, tests).

        Time passes as for a running bot (``bot.clock_travel``): every timer fires at its own due time, in
        order, and is delivered then. The clock never moves back: that is refused with a 400 and a localized message.
        """
        clock = self.runtime.clock
        if not isinstance(clock, ManualClock):
            return _error(409, "the clock is the system clock; start with [simulator] manual_clock = true to move it")
        data: dict[str, Any] = {}
        try:
            data = await self._body(request)
            if "to" in data:
                target = datetime.fromisoformat(str(data["to"]))
                if target.tzinfo is None:
                    raise inbound.BadRequest("'to' needs a timezone, e.g. 2026-12-01T09:00:00+08:00")
            else:
                units = {k: float(data[k]) for k in ("seconds", "minutes", "hours", "days") if k in data}
                if not units:
                    raise inbound.BadRequest("give seconds, minutes, hours or days (a positive number), or 'to'")
                target = clock.now() + timedelta(**units)
            stops = await advance_to(clock, target, self._settle, self._upcoming())
        except ClockMovedBackwards as exc:
            config = getattr(self.runtime, "config", None)
            zone = ZoneInfo(config.bot.timezone if config is not None else "UTC")
            now_text = exc.now.astimezone(zone).strftime("%Y-%m-%d %H:%M")
            target_text = exc.target.astimezone(zone).strftime("%Y-%m-%d %H:%M")
            message = _(
                "The simulated clock only moves forward: it is {now} and cannot go back to {target}. "
                "Timers that already fired would not fire again. Restart the demo to begin earlier.",
                now=now_text,
                target=target_text,
            )
            return _error(400, str(localize(message, await self._reader_locale(data))))
        except (inbound.BadRequest, ValueError, TypeError, OverflowError) as exc:
            return _error(400, str(exc))
        return web.json_response({"ok": True, "now": clock.now().isoformat(), "stops": stops})

    def _upcoming(self) -> list[Callable[[], Awaitable[datetime | None]]]:
        """When the next timer row and the next outbox row of the simulator fall due."""
        sources: list[Callable[[], Awaitable[datetime | None]]] = []
        timers = getattr(self.runtime, "timers", None)
        if timers is not None:
            sources.append(timers.next_due)
        names = list(getattr(self.runtime, "platforms", {}) or self.platform_names)

        async def outbox_due() -> datetime | None:
            return await outbox_queue.next_due(names)

        sources.append(outbox_due)
        return sources
