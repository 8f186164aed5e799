"""Each platform's documented send limits, enforced by its fake server (see tests/fakelimits.py)."""

from __future__ import annotations

import math
from typing import Any

from aiohttp import web

from tests.fakelimits import Bucket, PlatformLimits, Rule, Window

DINGTALK_GROUP = Window(20, 60.0, block=600.0)  # a robot: 20 a minute per group, then blocked for 10 minutes
DINGTALK_API = Window(20, 1.0)  # about 20 calls a second per app and API
SLACK_CHANNEL = Bucket(1, 1.0, burst=3)  # about one message a second per channel, short bursts
SLACK_EPHEMERAL = Window(100, 60.0)  # chat.postEphemeral, Tier 4
SLACK_UPDATE = Window(50, 60.0)  # chat.update, Tier 3


def dingtalk(limits: PlatformLimits, sessions: dict[str, tuple[str, str]] | None = None) -> Any:
    """For ``FakeDingTalk.limits``: a call → a 429 (no Retry-After, as DingTalk's throttling answer) or None."""

    def check(call: Any) -> web.Response | None:
        body = call.body if isinstance(call.body, dict) else {}
        checks: list[tuple[str, Rule]] = []
        if call.path == "/v1.0/robot/groupMessages/send":
            checks = [(f"group:{body.get('openConversationId')}", DINGTALK_GROUP), ("api:robot.group", DINGTALK_API)]
        elif call.path == "/v1.0/robot/oToMessages/batchSend":
            checks = [(f"user:{u}", DINGTALK_GROUP) for u in body.get("userIds") or []] + [("api:robot.oto", DINGTALK_API)]
        elif call.path == "/v1.0/card/instances/createAndDeliver":
            space = str(body.get("openSpaceId") or "")
            target = ("group:" if "IM_GROUP." in space else "user:") + space.split("IM_GROUP.", 1)[-1].split("IM_ROBOT.", 1)[-1]
            checks = [(target, DINGTALK_GROUP), ("api:card.create", DINGTALK_API)]
        elif call.path == "/v1.0/card/instances" and call.method == "PUT":
            checks = [("api:card.update", DINGTALK_API)]
        elif call.path == "/robot/sendBySession" and sessions is not None:
            session = sessions.get(call.query.get("session", ""))
            if session is not None:
                checks = [(f"group:{session[0]}", DINGTALK_GROUP)]
        if not checks or limits.admit(checks) is None:
            return None
        return web.json_response({"code": "Throttling.Api", "message": "send too fast"}, status=429)

    return check


def slack(limits: PlatformLimits) -> Any:
    """For ``FakeSlack.limits``: (method, args) → Slack's 429 ``ratelimited`` with ``Retry-After``, or None."""

    def check(method: str, args: dict[str, Any]) -> web.Response | None:
        checks: list[tuple[str, Rule]] = []
        if method == "chat.postMessage":
            checks = [(f"channel:{args.get('channel')}", SLACK_CHANNEL)]
        elif method == "chat.postEphemeral":
            checks = [("chat.postEphemeral", SLACK_EPHEMERAL)]
        elif method == "chat.update":
            checks = [("chat.update", SLACK_UPDATE)]
        wait = limits.admit(checks) if checks else None
        if wait is None:
            return None
        return web.json_response(
            {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": str(max(1, math.ceil(wait)))}
        )

    return check
