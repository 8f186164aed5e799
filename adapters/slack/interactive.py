"""Answering inside Slack's 3 seconds, and the App Home tab.

Slack gives a request 3 seconds: a slash command's or a click's ``trigger_id`` expires after that (a modal
opened later fails with ``expired_trigger_id``), and a modal submission's field errors must be in its ack.
A ``users.info`` lookup (name, e-mail, locale of someone the bot has not seen for an hour) can take seconds
on a bad day, and the database can be busy. So:

- the lookup is waited for at most ``PROFILE_WAIT`` and always inside the request's budget; one that is not
  back by then goes on in the background and fills the cache, and the event is handled with what the
  request itself says (Slack's user id and name);
- a command or click that may open a form uses its trigger before ``LOADING_AFTER``: when the work is not
  done by then, a small "working on it" modal opens with the trigger, and is replaced (``views.update``)
  by the form when the work is done — or by a short "done" note when the work needed no form;
- a submission's budget (``VIEW_ACK_BUDGET``) starts when the request arrives, lookup included.

App Home: ``app_home_opened`` is dispatched as the person's ``mytasks`` command in their DM with the bot,
marked ``reply_to = {"app_home": True}``; the answer (their pending items) is published to the Home tab with
``views.publish`` instead of being posted.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import MalformedPayload
from bot.i18n import _, localize
from bot.platform import Delivery, Receipt
from bot.types import Card, Conversation, Event, EventKind, Text

from ..payload import obj, text
from . import render
from .inbound import PLATFORM

if TYPE_CHECKING:
    from bot.engine import DispatchResult

log = logging.getLogger("collabbot.slack")

LOADING_AFTER = 1.0  # seconds after the request: past this a command still at work opens the loading modal
PROFILE_WAIT = 0.5  # an uncached users.info is waited for at most this long
VIEW_ACK_BUDGET = 2.5  # a submission's ack (with its field errors) leaves within this, lookup included
PROFILE_TTL = 3600.0
PROFILE_TIMEOUT = 10.0  # a background lookup gives up after this
APP_HOME = "app_home"


class Profiles:
    """``users.info`` results (name, e-mail, locale), cached for an hour; a slow lookup never holds a request."""

    def __init__(self, client: AsyncWebClient, *, enabled: bool = True):
        self.client = client
        self.enabled = enabled
        self._cache: dict[str, tuple[float, dict[str, Any] | None]] = {}
        self._lookups: dict[str, asyncio.Task[dict[str, Any] | None]] = {}

    async def get(self, user_id: str | None, *, wait: float = PROFILE_WAIT) -> dict[str, Any] | None:
        if not user_id or not self.enabled:
            return None
        cached = self._cache.get(user_id)
        if cached is not None and cached[0] >= time.monotonic():
            return cached[1]
        task = self._lookups.get(user_id)
        if task is None:
            task = self._lookups[user_id] = asyncio.create_task(self._lookup(user_id))
        done, _pending = await asyncio.wait({task}, timeout=max(0.0, wait))
        if done:
            return task.result()
        log.info("slack users.info %s is slow: handling the request without it", user_id)
        return cached[1] if cached else None

    async def _lookup(self, user_id: str) -> dict[str, Any] | None:
        user: dict[str, Any] | None = None
        try:
            response = await asyncio.wait_for(self.client.users_info(user=user_id, include_locale=True), PROFILE_TIMEOUT)
            user = response.get("user")
        except (SlackApiError, aiohttp.ClientError, TimeoutError, OSError) as exc:
            log.info("slack users.info %s failed: %r", user_id, exc)
        finally:
            self._lookups.pop(user_id, None)
        self._cache[user_id] = (time.monotonic() + (PROFILE_TTL if user else 60.0), user)
        return user

    async def close(self) -> None:
        tasks = list(self._lookups.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def remaining(received: float, budget: float) -> float:
    """Seconds left of ``budget`` for a request that arrived at ``received`` (``time.monotonic``)."""
    return max(0.0, budget - (time.monotonic() - received))


def _note_view(title: Any, body: Any, locale: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "title": render.plain(str(localize(title, locale)), render.MAX_MODAL_TITLE),
        "close": render.plain(str(localize(_("Close"), locale)), render.MAX_MODAL_TITLE),
        "blocks": [render.section(render.escape(str(localize(body, locale))))],
    }


def loading_view(locale: str) -> dict[str, Any]:
    return _note_view(_("Collaboration"), _("Working on it…"), locale)


def done_view(locale: str) -> dict[str, Any]:
    return _note_view(_("Collaboration"), _("Done. The answer is in the conversation."), locale)


async def answer(
    client: AsyncWebClient,
    trigger_id: str,
    received: float,
    work: Awaitable[DispatchResult | None],
    form_view: Callable[[DispatchResult | None], dict[str, Any] | None],
    locale: str,
) -> None:
    """Run ``work`` (the dispatch); open its form with ``trigger_id`` — at once if the work is done within
    ``LOADING_AFTER``, else through a loading modal opened in time and updated when the work is done."""
    task = asyncio.ensure_future(work)
    done, _pending = await asyncio.wait({task}, timeout=remaining(received, LOADING_AFTER))
    if done:
        view = form_view(task.result())
        if view is not None:
            await _call(client.views_open(trigger_id=trigger_id, view=view), "views.open")
        return
    opened = await _call(client.views_open(trigger_id=trigger_id, view=loading_view(locale)), "views.open")
    result = await task
    view = form_view(result)
    if opened is None:
        return
    loading = opened.get("view") or {}
    final = view if view is not None else done_view(result.locale if result is not None else locale)
    await _call(client.views_update(view_id=loading.get("id"), hash=loading.get("hash"), view=final), "views.update")


async def _call(request: Awaitable[Any], method: str) -> dict[str, Any] | None:
    try:
        response = await request
    except SlackApiError as exc:
        log.warning("slack %s failed: %s", method, exc.response.get("error") if exc.response is not None else exc)
        return None
    return dict(response.data) if hasattr(response, "data") and isinstance(response.data, dict) else None


# ---------------------------------------------------------------- App Home


def home_event(body: dict[str, Any], *, locale: str | None = None) -> Event | None:
    """``app_home_opened`` on the Home tab → the person's ``mytasks`` command in their DM with the bot."""
    event = obj(obj(body, "event_callback").get("event"), "event")
    if event.get("type") != "app_home_opened" or event.get("tab", "home") != "home":
        return None
    user = text(event.get("user"), "event.user")
    channel = text(event.get("channel"), "event.channel")
    if not user or not channel:
        raise MalformedPayload("app_home_opened without user or channel")
    return Event(
        kind=EventKind.COMMAND,
        platform=PLATFORM,
        delivery_id=text(body.get("event_id"), "event_id") or f"home:{user}:{event.get('event_ts')}",
        conversation=Conversation(PLATFORM, channel, is_direct=True),
        actor_id=user,
        text="mytasks",
        reply_to={APP_HOME: True},
        raw=body,
    )


def for_home(delivery: Delivery) -> bool:
    return bool((delivery.reply_to or {}).get(APP_HOME)) and delivery.kind != "edit"


async def publish_home(call: Callable[..., Awaitable[Any]], delivery: Delivery, user_id: str) -> Receipt:
    """The answer to an App Home opening, as the person's Home tab (``views.publish`` through the platform's
    ``_call``, so Slack's errors become the outbox's retry or dead row)."""
    content = delivery.content
    assert isinstance(content, Card | Text)
    blocks = render.render(content, delivery.mentions, delivery.locale)["blocks"]
    await call("views_publish", user_id=user_id, view={"type": "home", "blocks": blocks})
    return Receipt(None)
