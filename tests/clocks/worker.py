"""One bot process for the shared-clock test: ``python -m tests.clocks.worker <spec.json> <name>``.

The spec names the database, the config and the instants to move the clock to. At each instant the
process waits until every worker is there (a file barrier with a bounded wait), then settles: fires
what is due and delivers it. It prints how many timer rows it handled.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from datetime import datetime
from pathlib import Path

from bot.app import App
from bot.clock import ManualClock
from bot.config import from_dict


async def barrier(folder: Path, step: int, name: str, workers: int) -> None:
    await asyncio.to_thread((folder / f"{step}-{name}").touch)
    deadline = time.monotonic() + 60
    while len(await asyncio.to_thread(lambda: list(folder.glob(f"{step}-*")))) < workers:
        if time.monotonic() > deadline:
            raise TimeoutError(f"barrier {step}: the other workers did not arrive")
        await asyncio.sleep(0.01)


async def main(spec: dict, name: str) -> None:
    instants = [datetime.fromisoformat(t) for t in spec["instants"]]
    clock = ManualClock(instants[0])
    config = from_dict(spec["config"], environ={})
    app = App(config, clock=clock)
    app.timers.owner = name
    app.timers.batch = 2  # small claims, so that the processes interleave
    await app.start(serve_http=False, background=False)
    await asyncio.to_thread((Path(spec["barrier"]) / f"ready-{name}").touch)
    handled = 0
    try:
        for step, instant in enumerate(instants):
            clock.set(instant)
            await barrier(Path(spec["barrier"]), step, name, spec["workers"])
            for _ in range(100):
                fired = await app.timers.run_due()
                await app.delivery.flush()
                handled += fired
                if not fired:
                    break
    finally:
        await app.stop()
    print(json.dumps({"name": name, "handled": handled}))


if __name__ == "__main__":
    asyncio.run(main(json.loads(Path(sys.argv[1]).read_text()), sys.argv[2]))
