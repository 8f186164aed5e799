"""Slack as a platform: slack-bolt ``AsyncApp`` in, slack-sdk ``AsyncWebClient`` out.

Inbound, over Socket Mode (the default: no public URL) or HTTP Events on the
product's own aiohttp server (``/slack/events``, signing secret checked by
Bolt: wrong signature or a timestamp older than 5 minutes → 401):

- every request is acknowledged only once its event is committed (Bolt's
  ``process_before_response``): a process killed mid-request leaves it
  unacknowledged, and Slack redelivers what it saw unanswered (the inbox drops
  the copy of anything that was committed). Work still running when
  ``ACK_BUDGET`` is spent goes on after the ack, so no ack is late; a database
  that is gone answers 500 for an event, so Slack retries it;
- slash commands (``/collab <sub-command>``, ``/standup``), ``app_mention``
  in channels and messages in the bot's DM are dispatched, then acked;
- button clicks are acked at once; a button that opens a form opens it as a
  modal straight away (``views.open`` with the click's ``trigger_id``);
  ``Outcome.open_form`` of a command or click does the same after dispatch;
- a modal submission is dispatched *before* the ack, so per-field errors go
  back in the ack (``response_action: errors``) and the modal stays open.

Redeliveries (``X-Slack-Retry-Num``, Socket Mode ``retry_attempt``) carry the
same ``event_id``/``trigger_id``/``action_ts`` and are dropped by the engine's
inbox. Outbound, ``deliver`` maps one outbox row to ``chat.postMessage``,
``chat.update``, ``chat.postEphemeral`` (or the command's ``response_url``
where the bot is not in the channel) and DMs via ``conversations.open``; a
429 raises ``RateLimited(retry_after)`` so the outbox reschedules the row
(the SDK's own retry is off), and ``pace`` keeps about one message per
second per channel. Every post carries its outbox key in the message
metadata; a retry after an ambiguous failure (``Delivery.attempt > 0``)
first looks for that key in the recent history, so it does not post twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient
from tortoise.exceptions import OperationalError

from bot.config import Config, SlackSection, secret_text
from bot.errors import AuthExpired, MalformedPayload, RateLimited, TransientError
from bot.i18n import normalize_locale
from bot.platform import Capabilities, Delivery, Pace, Receipt, Runtime
from bot.types import Event, FileContent, Text

from . import guard, inbound, interactive, modals, render
from .errors import NOT_THERE, SlackError, platform_error, split_ref

if TYPE_CHECKING:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    from bot.engine import DispatchResult

log = logging.getLogger("collabbot.slack")

METADATA_EVENT = "collabbot_outbox"
ACK_BUDGET = 2.5  # seconds: Slack wants every ack within 3
RECONCILE_PAGES = 5  # pages of 200 history messages read back to a row's first try before posting again


class SlackPlatform:
    """One Slack workspace (single-team app, bot token + app token or signing secret)."""

    capabilities = Capabilities(
        cards=True, card_update=True, forms=True, ephemeral=True, direct_messages=True, threads=True, markdown=True
    )

    def __init__(self, config: SlackSection, *, name: str = inbound.PLATFORM):
        self.config = config
        self.name = name
        # No SDK retries: a 429 or a 5xx goes back to the outbox, which reschedules without holding a lease.
        self.client = AsyncWebClient(
            token=secret_text(config.bot_token), base_url=config.api_url, timeout=max(1, round(config.timeout)), retry_handlers=[]
        )
        self.runtime: Runtime | None = None
        self.bolt: AsyncApp | None = None
        self.socket: AsyncSocketModeHandler | None = None
        self.bot_user_id: str | None = None
        self.team_id: str | None = None
        self._session: aiohttp.ClientSession | None = None
        self._connect_task: asyncio.Task[None] | None = None
        self._inflight: set[asyncio.Task[Any]] = set()
        self._dm_channels: dict[str, str] = {}
        self.profiles = interactive.Profiles(self.client, enabled=config.lookup_users)
        self.default_locale = "zh_CN"  # the configuration's bot.locale, set at start
        self.received = 0  # requests that reached a listener (commands, events, clicks, submissions)
        self.handled = 0  # events dispatched (including duplicates the inbox dropped)

    # -- lifecycle -------------------------------------------------------

    async def start(self, runtime: Runtime) -> None:
        self.runtime = runtime
        config = getattr(runtime, "config", None)
        self.default_locale = config.bot.locale if config is not None else self.default_locale
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.config.timeout))
        self.client.session = self._session
        await self._auth_test()
        self.bolt = self._build_bolt()
        if self.config.mode == "http":
            if runtime.web is None:
                raise RuntimeError("slack mode = 'http' needs the built-in HTTP server")
            runtime.web.router.add_post(self.config.events_path, self._http)
            log.info("slack: HTTP events at %s", self.config.events_path)
        else:
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            self.socket = AsyncSocketModeHandler(
                self.bolt, app_token=secret_text(self.config.app_token), web_client=self.client, ping_interval=self.config.ping_interval
            )
            # The SDK keeps (re)connecting by itself; don't hold up the rest of the bot meanwhile.
            self._connect_task = asyncio.create_task(self.socket.connect_async())

    async def _auth_test(self) -> None:
        try:
            response = await self.client.auth_test()
        except SlackApiError as exc:
            error = platform_error(exc)
            if isinstance(error, AuthExpired | SlackError):
                raise RuntimeError(f"Slack rejected slack.bot_token ({error}); check the token in the config") from exc
            log.warning("slack auth.test failed (%s); continuing, Bolt retries on the first request", error)
            return
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            log.warning("slack auth.test unreachable (%r); continuing", exc)
            return
        self.bot_user_id = response.get("user_id")
        self.team_id = response.get("team_id")
        log.info("slack: connected as %s in team %s", self.bot_user_id, self.team_id)

    async def connected(self) -> bool | None:
        """Socket Mode: whether the websocket is up (``/readyz``, metrics); HTTP mode keeps no connection."""
        if self.socket is None:
            return None
        return bool(await self.socket.client.is_connected())

    async def stop(self) -> None:
        if self.socket is not None:
            with contextlib.suppress(Exception):
                await self.socket.close_async()
        if self._connect_task is not None:
            self._connect_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._connect_task
        await self.idle(within=3.0)
        await self.profiles.close()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def idle(self, within: float = 5.0) -> bool:
        """Wait until no inbound event is being worked on; False if ``within`` seconds passed first."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while self._inflight:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            await asyncio.wait(set(self._inflight), timeout=remaining)
        return True

    # -- inbound ---------------------------------------------------------

    def _build_bolt(self) -> AsyncApp:
        http = self.config.mode == "http"
        app = AsyncApp(
            client=self.client,
            process_before_response=True,  # the ack leaves when the listener returns: after the commit
            signing_secret=secret_text(self.config.signing_secret) if http else "",
            request_verification_enabled=http,
            logger=logging.getLogger("collabbot.slack.bolt"),
        )
        app.command(re.compile(r".*"))(self._on_command)
        app.event("app_mention")(self._on_event)
        app.event("message")(self._on_event)
        app.event("app_home_opened")(self._on_home)
        app.action(re.compile(r".*"))(self._on_action)
        app.view(re.compile(r".*"))(self._on_view)
        return app

    async def _http(self, request: web.Request) -> web.Response:
        """Bolt's aiohttp adapter on our own server, behind ``guard``: 401 unsigned, 400 malformed."""
        assert self.bolt is not None
        headers: dict[str, str | Sequence[str]] = dict(request.headers)
        admitted = guard.admit(await request.read(), request.query_string, headers, secret_text(self.config.signing_secret))
        if isinstance(admitted, web.Response):
            return admitted
        return await to_aiohttp_response(await self.bolt.async_dispatch(admitted))

    async def _within_budget(self, work: Awaitable[Any], received: float) -> None:
        """Run ``work`` until it is done or the request's ack budget is spent; then it goes on after the ack."""
        task = asyncio.ensure_future(work)
        finished, _ = await asyncio.wait({task}, timeout=interactive.remaining(received, ACK_BUDGET))
        if finished:
            task.result()
            return
        log.info("slack: a request outlasted its ack budget; its work goes on after the ack")
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)
        task.add_done_callback(lambda t: t.cancelled() or t.exception())

    def _track(self) -> Callable[[], None]:
        self.received += 1
        task = asyncio.current_task()
        if task is None:
            return lambda: None
        self._inflight.add(task)
        return lambda: self._inflight.discard(task)

    async def _on_command(self, ack: Callable[..., Awaitable[Any]], body: dict[str, Any]) -> None:
        received, done = time.monotonic(), self._track()
        try:
            await ack()
            inbound.check_request(body)
            user = await self.profiles.get(body.get("user_id"))
            event = inbound.command_event(body, main_command=self.config.command, locale=(user or {}).get("locale"))
            work = self._work(inbound.with_profile(event, user), trigger_id=body.get("trigger_id"), received=received)
            await self._within_budget(work, received)
        except MalformedPayload as exc:
            guard.log_refusal(exc)
        finally:
            done()

    async def _on_event(self, body: dict[str, Any]) -> None:  # Bolt acks it when this returns
        received, done = time.monotonic(), self._track()
        try:
            inbound.check_request(body)
            user = await self.profiles.get((body.get("event") or {}).get("user"))
            authorizations = body.get("authorizations")
            bot_user_id = self.bot_user_id or next(
                (a.get("user_id") for a in authorizations if isinstance(a, dict) and a.get("is_bot")), None
            ) if isinstance(authorizations, list) else self.bot_user_id
            event = inbound.message_event(body, bot_user_id=bot_user_id, locale=(user or {}).get("locale"))
            if event is not None:
                await self._within_budget(self._work(inbound.with_profile(event, user)), received)
        except MalformedPayload as exc:
            guard.log_refusal(exc)
        finally:
            done()

    async def _on_home(self, body: dict[str, Any]) -> None:  # the Home tab opened: publish the person's tasks
        done = self._track()
        try:
            event = interactive.home_event(body)
            if event is not None:
                await self._work(await self._with_profile(event))
        except MalformedPayload as exc:
            guard.log_refusal(exc)
        finally:
            done()

    async def _on_action(self, ack: Callable[..., Awaitable[Any]], body: dict[str, Any]) -> None:
        received, done = time.monotonic(), self._track()
        try:
            await ack()
            event = inbound.action_event(body)
            if event is None:
                return
            raw_action = str((inbound.first_action(body) or {}).get("action_id") or "")
            # A form button opens its form at once; if the card is gone, the workflow gets the plain click.
            if raw_action.startswith(inbound.FORM_ACTION) and await modals.open_card_form(self.client, self.name, event, raw_action, body):
                return
            work = self._work(await self._with_profile(event), trigger_id=body.get("trigger_id"), received=received)
            await self._within_budget(work, received)
        except MalformedPayload as exc:
            guard.log_refusal(exc)
        finally:
            done()

    async def _on_view(self, ack: Callable[..., Awaitable[Any]], body: dict[str, Any]) -> None:
        received, done = time.monotonic(), self._track()  # the ack budget counts from here, lookup included
        try:
            try:
                event = inbound.form_event(body)
            except MalformedPayload as exc:
                await ack()
                guard.log_refusal(exc)
                return
            budget = interactive.remaining(received, interactive.VIEW_ACK_BUDGET)
            profiled = await self._with_profile(event, wait=min(interactive.PROFILE_WAIT, budget / 2))
            task = asyncio.ensure_future(self._dispatch(profiled))
            finished, _ = await asyncio.wait({task}, timeout=interactive.remaining(received, interactive.VIEW_ACK_BUDGET))
            if not finished:  # too slow for the ack: close the modal, the outcome still arrives as messages
                await ack()
                self._inflight.add(task)
                task.add_done_callback(self._inflight.discard)
                return
            result = task.result()
            errors = result.form_errors if result is not None else {}
            if errors:
                await ack(response_action="errors", errors=render.modal_errors(body.get("view") or {}, errors))
            else:
                await ack()
        finally:
            done()

    async def _work(self, event: Event, *, trigger_id: str | None = None, received: float | None = None) -> None:
        if not trigger_id:
            await self._dispatch(event)
            return

        def form_view(result: DispatchResult | None) -> dict[str, Any] | None:
            if result is None or result.open_form is None:
                return None
            metadata = inbound.form_metadata(event.conversation, result.open_form.value, event.reply_to)
            return render.render_modal(modals.localized_form(result.open_form, result.locale), result.locale, metadata)

        locale = normalize_locale(event.locale_hint) or self.default_locale
        await interactive.answer(self.client, trigger_id, received or time.monotonic(), self._dispatch(event), form_view, locale)

    async def _dispatch(self, event: Event) -> DispatchResult | None:
        """The engine's answer; None after a bug. A database that is gone raises (no ack: Slack retries)."""
        assert self.runtime is not None
        try:
            return await self.runtime.dispatch(event)
        except OperationalError:
            log.warning("slack event %s: the database is unavailable; it is not acknowledged", event.delivery_id)
            raise
        except Exception:
            log.exception("slack event %s could not be dispatched", event.delivery_id)
            return None
        finally:
            self.handled += 1

    async def _with_profile(self, event: Event, *, wait: float = interactive.PROFILE_WAIT) -> Event:
        return inbound.with_profile(event, await self.profiles.get(event.actor_id, wait=wait))

    # -- outbound --------------------------------------------------------

    def pace(self, delivery: Delivery) -> list[Pace]:
        if delivery.kind == "edit":
            return [Pace(f"{self.name}:chat.update", 50, 60.0)]  # Tier 3: 50 in any minute
        if isinstance(delivery.content, FileContent):
            return [Pace(f"{self.name}:files.upload", 20, 60.0)]  # files.getUploadURLExternal / completeUploadExternal: Tier 4, kept low
        if isinstance(delivery.content, Text) and delivery.content.ephemeral and not delivery.conversation.is_direct:
            return [Pace(f"{self.name}:chat.postEphemeral", 100, 60.0)]  # Tier 4
        target = delivery.recipient if delivery.conversation.is_direct and delivery.recipient else delivery.conversation.id
        # chat.postMessage: "one message per second per channel, short bursts allowed"
        return [Pace(f"{self.name}:channel:{target}", 1, 1.0, burst=3)]

    async def deliver(self, delivery: Delivery) -> Receipt:
        if interactive.for_home(delivery):
            return await interactive.publish_home(self._call, delivery, delivery.recipient or "")
        if isinstance(delivery.content, FileContent):
            return await self._upload(delivery, delivery.content)
        payload = render.render(delivery.content, delivery.mentions, delivery.locale)
        if delivery.kind == "edit":
            if not delivery.message_ref:
                raise SlackError("edit without message_ref")
            channel, ts = split_ref(delivery.message_ref)
            await self._call("chat_update", channel=channel, ts=ts, **payload)
            return Receipt(delivery.message_ref)
        channel = await self._channel_for(delivery)
        thread = delivery.conversation.thread
        extra: dict[str, Any] = {"thread_ts": thread} if thread else {}
        response_url = (delivery.reply_to or {}).get("response_url")
        content = delivery.content
        if isinstance(content, Text) and content.ephemeral and not delivery.conversation.is_direct and delivery.recipient:
            if delivery.attempt > 0:
                # An earlier try may have shown it, and an ephemeral message leaves no trace to look for:
                # at most once (a person who misses a reply asks again; one who sees it twice loses trust).
                log.warning("slack: ephemeral %s not sent again after an ambiguous failure", delivery.dedupe_key)
                return Receipt(None, ambiguity="not_repeated")
            try:
                await self._call("chat_postEphemeral", channel=channel, user=delivery.recipient, **payload, **extra)
            except SlackError as exc:
                if exc.error not in NOT_THERE or not response_url:
                    raise
                await self._respond(response_url, payload)  # the bot is not in that channel: the command's URL still works
            return Receipt(None)
        ambiguity = None
        if delivery.attempt > 0:  # an earlier try failed ambiguously (5xx, timeout, lost lease): did it post?
            posted, checked = await self._find_posted(channel, delivery.dedupe_key, delivery.first_try)
            if posted is not None:
                return Receipt(f"{channel}:{posted}", ambiguity="reconciled")
            ambiguity = None if checked else "unverified"
        # The outbox key travels in the message metadata, so a retry can recognise its own earlier post.
        extra["metadata"] = {"event_type": METADATA_EVENT, "event_payload": {"key": delivery.dedupe_key}}
        try:
            response = await self._call("chat_postMessage", channel=channel, unfurl_links=False, **payload, **extra)
        except SlackError as exc:
            if exc.error != "not_in_channel" or delivery.conversation.is_direct:
                raise
            await self._call("conversations_join", channel=channel)  # public channels only; raises otherwise
            response = await self._call("chat_postMessage", channel=channel, unfurl_links=False, **payload, **extra)
        return Receipt(f"{response.get('channel') or channel}:{response['ts']}", ambiguity=ambiguity)

    async def _upload(self, delivery: Delivery, file: FileContent) -> Receipt:
        """A chart or an export as a Slack file (files.getUploadURLExternal → upload → completeUploadExternal)."""
        channel = await self._channel_for(delivery)
        caption = render.render(Text(file.caption), delivery.mentions, delivery.locale)["text"] if file.caption else None
        response = await self._call(
            "files_upload_v2", channel=channel, file=file.data, filename=file.filename, title=file.filename,
            initial_comment=caption, thread_ts=delivery.conversation.thread,
        )
        uploaded = response.get("file") or {}
        return Receipt(f"{channel}:{uploaded.get('id', '')}")

    async def _find_posted(self, channel: str, key: str, since: datetime | None) -> tuple[str | None, bool]:
        """The ts of a bot message in ``channel`` carrying outbox ``key``, and whether the search was complete.

        Reads the history back to the row's first try (``oldest``), page by page, so a post that many newer
        messages pushed down is still found; at most ``RECONCILE_PAGES`` pages. Not complete when the app may
        not read the history (``channels:history``/``groups:history`` are optional scopes) or the pages ran out.
        """
        oldest = f"{since.timestamp() - 60:.6f}" if since is not None else None
        cursor: str | None = None
        for _page in range(RECONCILE_PAGES):
            try:
                response = await self._call(
                    "conversations_history", channel=channel, limit=200, include_all_metadata=True,
                    **({"oldest": oldest} if oldest else {}), **({"cursor": cursor} if cursor else {}),
                )
            except SlackError as exc:
                log.info("slack: cannot check %s for an earlier post (%s); posting again", channel, exc.error)
                return None, False
            for message in response.get("messages") or []:
                metadata = message.get("metadata") or {}
                if metadata.get("event_type") == METADATA_EVENT and (metadata.get("event_payload") or {}).get("key") == key:
                    return str(message.get("ts")), True
            cursor = ((response.get("response_metadata") or {}).get("next_cursor")) or None
            if not response.get("has_more") or not cursor:
                return None, True
        log.warning("slack: %s has more than %d pages since the first try of %s; posting again", channel, RECONCILE_PAGES, key)
        return None, False

    async def _channel_for(self, delivery: Delivery) -> str:
        """Where to post: a DM goes to the bot's own DM with the recipient, opened once per user."""
        conversation = delivery.conversation
        if not conversation.is_direct or not delivery.recipient:
            return conversation.id
        user = delivery.recipient
        if user not in self._dm_channels:
            response = await self._call("conversations_open", users=user)
            self._dm_channels[user] = str((response.get("channel") or {}).get("id") or conversation.id)
        return self._dm_channels[user]

    async def _respond(self, response_url: str, payload: dict[str, Any]) -> None:
        webhook = AsyncWebhookClient(response_url, session=self._session, timeout=int(self.config.timeout))
        try:
            response = await webhook.send_dict({**payload, "response_type": "ephemeral", "replace_original": False})
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise TransientError(f"slack response_url: {exc!r}") from exc
        if response.status_code == 429:
            raise RateLimited("slack response_url rate limited", retry_after=1.0)
        if response.status_code >= 500:
            raise TransientError(f"slack response_url {response.status_code}", status=response.status_code)
        if response.status_code != 200:
            raise SlackError(f"response_url {response.status_code}: {response.body[:100]}", status=response.status_code)

    async def _call(self, method: str, **kwargs: Any) -> Any:
        try:
            return await getattr(self.client, method)(**kwargs)
        except SlackApiError as exc:
            raise platform_error(exc) from exc
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise TransientError(f"slack {method}: {exc!r}") from exc


def build(config: Config) -> SlackPlatform | None:
    """The Slack platform, or None when ``[slack]`` is absent or ``enabled = false``."""
    if config.slack is None or not config.slack.enabled:
        return None
    return SlackPlatform(config.slack)

