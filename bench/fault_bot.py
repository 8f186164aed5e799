"""One bot process for the fault harness: ``python -m bench.fault_bot SPEC_JSON``.

The real ``App`` in Slack HTTP mode against the harness's fake Slack, with the probe workflow, on the
database the spec names, with the real clock and the background delivery and timer loops — the
process the harness kills with SIGKILL and starts again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
from typing import Any

from bot.app import App
from bot.config import from_dict
from tests.slack.fake_slack import BOT_TOKEN, SIGNING_SECRET
from tests.slack.world import ORG


def config_for(spec: dict[str, Any]) -> Any:
    slack = {
        "mode": "http",
        "bot_token": BOT_TOKEN,
        "signing_secret": SIGNING_SECRET,
        "api_url": spec["slack_api_url"],
        "timeout": 1,
    }
    data = {"database": {"url": spec["database_url"]}, "server": {"port": spec.get("port", 0)}, "slack": slack, **ORG}
    return from_dict(data, environ={})


async def main(spec: dict[str, Any]) -> None:
    from bench.fault_kit import probe

    app = App(config_for(spec))
    app.engine.router.include(probe)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await app.start(background=spec.get("background", True))
    print(f"ready {app.port}", flush=True)
    try:
        await stop.wait()
    finally:
        await app.stop()


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    asyncio.run(main(json.loads(sys.argv[1])))
