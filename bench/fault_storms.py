"""Outbound storms against the fake DingTalk and the fake WeCom, in simulated time (``bench/faults.py``
scenarios ``storm-dingtalk`` and ``storm-wecom``).

DingTalk's throttle carries no Retry-After and blocks a robot for ten minutes, so these storms run on a
``ManualClock``: the app's delivery worker is driven by hand (``flush``) and, whenever nothing can go,
the clock jumps to the next moment a row can (``outbox_queue.next_due``), as in ``bench/bench_fanout.py``.

Probe events (``probe <n>``) from several groups are parsed by the platform's real inbound code (DingTalk:
``inbound.robot_message`` on the fake's own frame, then ``App.dispatch``; WeCom: pushed over the real long
connection) and answered ``pong <n>`` through the outbox and the real transport, while the fake answers a
seeded storm:

- **throttling** as the platform sends it, and a block the fake announces and judges: DingTalk answers a
  session webhook ``errcode 130101`` ("send too fast") and the robot OpenAPI ``403
  Forbidden.AccessDenied.QpsLimitForApi``, then refuses that group for 600 s; WeCom answers ``errcode 45009``
  ("api freq out of limit") and refuses that chat for the minute (its limits are per minute). Any send into a
  blocked group is a violation, counted;
- **server errors**: DingTalk ``503 ServiceUnavailable``, WeCom ``errcode -1`` ("system busy");
- **accepted, answer lost**: the fake shows the message, then DingTalk answers 502 (the answer lost behind
  a gateway); WeCom never acknowledges the frame (the client's ack time-out).

Counted at the fake, per group, from what it showed: every pong exactly once, in commit order. A pong shown
again right after a copy whose answer was lost is a duplicate inside the ambiguity window (neither robot
API takes a dedupe key or lets a sender look its message up): counted apart, as ``ambiguous_duplicates``.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from bench.fault_kit import CrashCounter, Storm, Tally, probe
from bot.app import App
from bot.clock import ManualClock
from bot.config import from_dict
from storage import outbox_queue
from storage.models import OutboxMessage

START = datetime(2026, 12, 2, 1, 30, tzinfo=UTC)
PONGS = re.compile(r"\bpong (\d+)\b")
DINGTALK_BLOCK = 600.0  # seconds: DingTalk blocks a throttled robot for ten minutes
WECOM_BLOCK = 60.0  # seconds: WeCom's robot limits are per minute
STORM_SEED = 21  # its first thirty draws hold every kind of fault: the small version sees them all
GROUPS = 8
SIMULATED_LIMIT = timedelta(days=3)


class Shown:
    """What a fake showed, per group in arrival order: (pong numbers, whether that send's answer was lost)."""

    def __init__(self) -> None:
        self.by_group: dict[str, list[tuple[list[int], bool]]] = defaultdict(list)

    def add(self, group: str, text: str, lost: bool) -> None:
        numbers = [int(n) for n in PONGS.findall(text)]
        if numbers:
            self.by_group[group].append((numbers, lost))

    def count(self, tally: Tally, expected: dict[str, list[int]]) -> dict[str, int]:
        """Lost, duplicated, reordered; a copy right after a copy whose answer was lost is an ambiguous duplicate.
        Returns the ambiguous duplicates per group."""
        delivered: dict[str, list[int]] = {}
        ambiguous: Counter[str] = Counter()
        for group, sends in self.by_group.items():
            delivered[group] = [n for numbers, _ in sends for n in numbers]
            previous_lost: dict[int, bool] = {}
            for numbers, lost in sends:
                for n in numbers:
                    if previous_lost.get(n):
                        ambiguous[group] += 1
                    previous_lost[n] = lost
        tally.count_deliveries(expected, delivered)
        tally.ambiguous_duplicates = sum(ambiguous.values())
        tally.duplicated -= tally.ambiguous_duplicates
        return dict(ambiguous)


class StormDice:
    """The seeded storm and the blocks it announced (one per group), judged on the simulated clock."""

    def __init__(self, storm: Storm, clock: ManualClock, block: float):
        self.storm = storm
        self.clock = clock
        self.block = timedelta(seconds=block)
        self.random = random.Random(STORM_SEED)
        self.blocked_until: dict[str, datetime] = {}
        self.violations = 0
        self.sends = 0
        self.injected: Counter[str] = Counter()

    def draw(self, group: str) -> str:
        """``blocked`` (a send during a block), ``throttle``, ``error``, ``lost`` or ``ok``."""
        now = self.clock.now()
        self.sends += 1
        if now < self.blocked_until.get(group, now):
            self.violations += 1
            return "blocked"
        roll, storm = self.random.random(), self.storm
        if roll < storm.rate_limited:
            self.blocked_until[group] = now + self.block
            self.injected["throttle"] += 1
            return "throttle"
        if roll < storm.rate_limited + storm.server_error:
            self.injected["server error"] += 1
            return "error"
        if roll < storm.rate_limited + storm.server_error + storm.timeout:
            self.injected["answer lost"] += 1
            return "lost"
        return "ok"

    def note(self) -> str:
        return ", ".join(f"{count} {kind}" for kind, count in sorted(self.injected.items())) + f" injected into {self.sends} sends"


async def expected_order(platform: str) -> dict[str, list[int]]:
    """Per group, the pongs in commit (outbox id) order."""
    rows = await OutboxMessage.filter(platform=platform).order_by("id").values_list("conversation_id", "payload")
    found: dict[str, list[int]] = defaultdict(list)
    for conversation, payload in rows:
        body = str(payload.get("body") or "") if isinstance(payload, dict) else ""
        found[conversation] += [int(n) for n in PONGS.findall(body)]
    return found


async def drive(app: App, clock: ManualClock, platform: str) -> None:
    """Deliver what is due; when nothing can go, jump the clock to the next moment a row can."""
    while await OutboxMessage.filter(platform=platform, status__in=["pending", "sending"]).exists():
        await app.delivery.flush()
        upcoming = await outbox_queue.next_due([platform])
        if upcoming is None:
            break
        clock.set(max(upcoming, clock.now() + timedelta(milliseconds=1)))
        if clock.now() - START > SIMULATED_LIMIT:
            raise RuntimeError("the storm did not drain in three simulated days")


async def probes_then_drain(app: App, clock: ManualClock, platform: str, size: int, send: Any) -> None:
    """Send the probes a chunk at a time, delivering and letting a simulated second pass between chunks."""
    for start in range(0, size, 25):
        await send(list(range(start, min(size, start + 25))))
        await app.delivery.flush()
        clock.advance(seconds=1)
    await drive(app, clock, platform)


def never_answered(expected: dict[str, list[int]], size: int) -> int:
    """Probes whose pong was never committed (a refused or dropped event): lost too."""
    committed = {n for numbers in expected.values() for n in numbers}
    return sum(1 for n in range(size) if n not in committed)


def dead_note(dead: int) -> list[str]:
    return [f"{dead} rows dead"] if dead else []


# ---------------------------------------------------------------- DingTalk


def dingtalk_storm(fake: Any, dice: StormDice, shown: Shown) -> Any:
    """For ``FakeDingTalk.limits``: the storm on every robot message send (session webhook and group API)."""

    def check(call: Any) -> web.Response | None:
        body = call.body if isinstance(call.body, dict) else {}
        if call.path == "/robot/sendBySession":
            session = fake.sessions.get(call.query.get("session", ""))
            group, text, webhook = (session[0] if session else ""), str((body.get("markdown") or {}).get("text") or ""), True
        elif call.path == "/v1.0/robot/groupMessages/send":
            group, webhook = str(body.get("openConversationId") or ""), False
            text = str(json.loads(body.get("msgParam") or "{}").get("text") or "")
        else:
            return None
        outcome = dice.draw(group)
        if outcome in ("blocked", "throttle"):
            if webhook:
                return web.json_response({"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"})
            return web.json_response(
                {"code": "Forbidden.AccessDenied.QpsLimitForApi", "message": "send too fast, the robot is throttled"}, status=403
            )
        if outcome == "error":
            return web.json_response({"code": "ServiceUnavailable", "message": "the service is unavailable"}, status=503)
        shown.add(group, text, lost=outcome == "lost")
        if outcome == "lost":  # DingTalk does the work; the answer is lost behind a gateway
            fake.fail(call.method, call.path, 502, {"code": "BadGateway", "message": "upstream reset"}, after=True)
        return None

    return check


async def scenario_storm_dingtalk(size: int, database_url: str) -> Tally:
    from adapters.dingtalk import inbound
    from tests.dingtalk.fake_dingtalk import FakeDingTalk, ms

    tally = Tally("outbound storm (DingTalk)", events=size)
    clock = ManualClock(START)
    fake = FakeDingTalk().start()
    fake.clock_ms = lambda: ms(clock.now())
    dice, shown = StormDice(Storm(), clock, DINGTALK_BLOCK), Shown()
    fake.limits = dingtalk_storm(fake, dice, shown)
    config = {
        "database": {"url": database_url},
        "server": {"host": "127.0.0.1", "port": 0},
        "bot": {"locale": "zh_CN", "timezone": "Asia/Shanghai"},
        "dingtalk": {"app_key": fake.app_key, "app_secret": fake.app_secret, "openapi_url": fake.url, "timeout": 5},
    }
    app = App(from_dict(config, environ={}), clock=clock)
    app.engine.router.include(probe)
    try:
        with CrashCounter() as crashes:
            await app.start(serve_http=False, background=False)
            try:

                async def send(numbers: list[int]) -> None:
                    for n in numbers:
                        frame = fake.robot_frame(f"staff{n % 5}", f"probe {n}", group=f"cidPROBE{n % GROUPS:02d}==", msg_id=f"msgProbe{n:07d}")
                        event = inbound.robot_message(json.loads(frame["data"]), message_id=frame["headers"]["messageId"], secret=fake.app_secret)
                        assert event is not None
                        await app.dispatch(event)

                await probes_then_drain(app, clock, "dingtalk", size, send)
                expected = await expected_order("dingtalk")
                dead = await OutboxMessage.filter(platform="dingtalk", status="dead").count()
            finally:
                await app.stop()
            tally.crashes = crashes.count
        shown.count(tally, expected)
        tally.retry_after_violations = dice.violations
        tally.lost += never_answered(expected, size)
        tally.notes += [dice.note(), f"{(clock.now() - START).total_seconds() / 3600:.1f} h simulated", *dead_note(dead)]
    finally:
        fake.limits = None
        fake.stop()
    return tally


# ---------------------------------------------------------------- WeCom


def faulty_wecom(clock: ManualClock, dice: StormDice, shown: Shown) -> Any:
    """The fake WeCom answering the robot's answers and sends over the long connection with the storm."""
    from tests.wecom.fake import FakeWeCom

    class FaultyWeCom(FakeWeCom):
        lost: set[str]
        app_lost = 0  # answers of message/send lost after WeCom took the message

        async def _frame(self, conn: Any, frame: dict[str, Any]) -> None:
            cmd = str(frame.get("cmd") or "")
            req_id = str((frame.get("headers") or {}).get("req_id") or "")
            body = frame.get("body") or {}
            if cmd not in ("aibot_respond_msg", "aibot_send_msg") or not conn.subscribed:
                await super()._frame(conn, frame)
                return
            callback = self.history.get(req_id)
            chat = str(body.get("chatid") or "") if cmd == "aibot_send_msg" else (callback.chat if callback else "")
            outcome = dice.draw(chat)
            if outcome in ("blocked", "throttle"):
                await self._answer(conn, cmd, req_id, body, 45009, "api freq out of limit")
                return
            if outcome == "error":
                await self._answer(conn, cmd, req_id, body, -1, "system busy")
                return
            if outcome == "lost":
                self.lost.add(req_id)
            before = len(self.received)
            await super()._frame(conn, frame)
            self.lost.discard(req_id)  # refused for another reason: nothing was lost
            answered = self.received[before:] if len(self.received) > before else []
            if any(r.req_id == req_id and r.errcode == 0 for r in answered):
                shown.add(chat, json.dumps(body, ensure_ascii=False), lost=outcome == "lost")

        async def _message_send(self, request: web.Request) -> web.Response:
            """The self-built app's ``message/send`` (personal answers) under the same storm."""
            body = await request.json()
            member = str(body.get("touser") or "")
            outcome = dice.draw(member)
            if outcome in ("blocked", "throttle"):
                return web.json_response({"errcode": 45009, "errmsg": "api freq out of limit"})
            if outcome == "error":
                return web.json_response({"errcode": -1, "errmsg": "system busy"})
            before = (len(self.http), self.duplicates_dropped)
            answer = await super()._message_send(request)
            if self.duplicates_dropped == before[1] and any(r.cmd == "message/send" and r.errcode == 0 for r in self.http[before[0] :]):
                shown.add(member, json.dumps(body, ensure_ascii=False), lost=outcome == "lost")
            if outcome == "lost":
                self.app_lost += 1  # WeCom showed it (or dropped it as a duplicate); the answer is lost behind a gateway
                return web.Response(status=502, text="bad gateway")
            return answer

        async def _answer(self, conn: Any, cmd: str, req_id: str, body: Any, errcode: int, errmsg: str = "ok") -> None:
            if req_id in self.lost and errcode == 0:  # WeCom showed it; its acknowledgement never arrives
                self.lost.discard(req_id)
                from tests.wecom.fake import Received

                self.received.append(Received(len(self.received) + 1, self.clock.now(), cmd, req_id, body, errcode, conn.number))
                return
            await super()._answer(conn, cmd, req_id, body, errcode, errmsg)

    fake = FaultyWeCom(clock, duplicate_check=True)
    fake.lost = set()
    return fake


async def scenario_storm_wecom(size: int, database_url: str) -> Tally:
    tally = Tally("outbound storm (WeCom)", events=size)
    clock = ManualClock(START)
    dice, shown = StormDice(Storm(), clock, WECOM_BLOCK), Shown()
    fake = await faulty_wecom(clock, dice, shown).start()
    section = {
        "bot_id": fake.bot_id,
        "secret": fake.secret,
        "ws_url": fake.ws_url,
        "api_url": fake.api_url,
        "reconnect_max_seconds": 0.05,
        # personal answers go through the self-built app (message/send with enable_duplicate_check)
        **{"corp_id": fake.corp_id, "corp_secret": fake.corp_secret, "agent_id": fake.agent_id, "direct_messages": "app"},
    }
    config = {"database": {"url": database_url}, "server": {"host": "127.0.0.1", "port": 0}, "wecom": section}
    app = App(from_dict(config, environ={}), clock=clock)
    app.engine.router.include(probe)
    try:
        with CrashCounter() as crashes:
            await app.start(serve_http=False, background=False)
            try:
                platform: Any = app.platforms["wecom"]
                # the client waits this long for an acknowledgement; the storm's lost ones cost real time
                platform.ws.ack_timeout = 2.0
                await fake.wait_for(lambda: platform.ws.ready.is_set(), within=30)

                async def send(numbers: list[int]) -> None:
                    before = platform.ws.handled
                    for n in numbers:  # every fifth probe in a member's single chat: answered through the app
                        chat = None if n % 5 == 4 else f"wrPROBE{n % GROUPS:02d}"
                        await fake.say(f"member{n % 3}", f"probe {n}", chatid=chat, msgid=f"msgprobe{n:07d}")
                    await fake.wait_for(lambda: platform.ws.handled >= before + len(numbers), within=60)

                await probes_then_drain(app, clock, "wecom", size, send)
                expected = await expected_order("wecom")
                dead = await OutboxMessage.filter(platform="wecom", status="dead").count()
            finally:
                await app.stop()
            tally.crashes = crashes.count
        ambiguous = shown.count(tally, expected)
        tally.retry_after_violations = dice.violations
        tally.lost += never_answered(expected, size)
        app_twice = sum(count for chat, count in ambiguous.items() if not chat.startswith("wr"))
        tally.notes += [
            dice.note(),
            f"{(clock.now() - START).total_seconds() / 3600:.1f} h simulated",
            f"app messages: {fake.app_lost} answers lost, {app_twice} shown twice, {fake.duplicates_dropped} dropped by the duplicate check",
            *dead_note(dead),
        ]
    finally:
        await fake.stop()
    return tally


async def run_storm(name: str, size: int, database_url: str) -> Tally:
    if name == "storm-dingtalk":
        return await scenario_storm_dingtalk(size, database_url)
    return await scenario_storm_wecom(size, database_url)
