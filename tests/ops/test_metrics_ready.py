"""/metrics and /readyz scraped while a lifecycle runs through the simulator: counters move, gauges follow the
outbox and the timers, readiness goes false when the database goes away and /healthz stays a liveness check."""

from __future__ import annotations

import re
from datetime import timedelta

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from storage import db
from tests.core.harness import running
from tests.simclient import body_text, buttons

NEW = (
    "新建协作\n标题：新品发布物料\n背景：12月新品发布\n目标：12月18日前完成海报\n范围：海报\n"
    "协作部门：设计部，研发部\n期望启动：2026-11-24\n截止：2026-12-20\n优先级：高\n交付物：海报"
)


async def scrape(session: aiohttp.ClientSession, base: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    async with session.get(base + "/metrics") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        text = await response.text()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def ready(session: aiohttp.ClientSession, base: str) -> tuple[int, dict]:
    async with session.get(base + "/readyz") as response:
        return response.status, await response.json()


async def test_metrics_and_readiness_follow_a_lifecycle(database_url, clock):
    async with running(database_url, clock) as (app, sim), aiohttp.ClientSession() as session:
        base = f"http://127.0.0.1:{app.port}"
        before = await scrape(session, base)
        assert value(before, "collabbot_database_up") == 1
        assert value(before, "collabbot_platform_connected", platform="simulator") == 1

        response = await sim.say("lilei", NEW, "launch")
        assert response["ok"], response
        code = re.search(r"XZB\d{10}", body_text([m for m in await sim.messages(conversation="launch") if m["sender"] == "bot"][-1]))
        assert code is not None
        card = next(m for m in reversed(await sim.messages(person="liuyang")) if "request.accept" in buttons(m))
        assert (await sim.click("liuyang", card["id"], "request.accept"))["ok"]

        during = await scrape(session, base)
        handled = value(during, "collabbot_events_total", platform="simulator", kind="command", result="handled")
        assert handled >= 1 > value(before, "collabbot_events_total", platform="simulator", kind="command", result="handled")
        assert value(during, "collabbot_events_total", platform="simulator", kind="action", result="handled") >= 1
        assert value(during, "collabbot_handler_seconds_count", platform="simulator", kind="command") >= 1
        assert value(during, "collabbot_deliveries_total", platform="simulator", result="sent") >= 3  # card, two requests
        assert value(during, "collabbot_rate_limited_total", platform="simulator") == 0
        assert value(during, "collabbot_outbox_messages", status="pending") == 0
        assert value(during, "collabbot_outbox_messages", status="dead") == 0

        # rd has not answered: after three working days its reminder and escalation are due, not yet fired
        clock.advance(timedelta(days=4))
        overdue = await scrape(session, base)
        assert value(overdue, "collabbot_timers_due") >= 1
        assert value(overdue, "collabbot_timer_lag_seconds") > 0
        await app.settle()
        settled = await scrape(session, base)
        assert value(settled, "collabbot_timers_due") == 0
        assert value(settled, "collabbot_timer_lag_seconds") == 0
        assert value(settled, "collabbot_events_total", platform="timer", kind="timer", result="handled") >= 1

        status, body = await ready(session, base)
        assert status == 200 and body == {"ready": True, "checks": {"database": "ok", "simulator": "n/a"}}

        await db.close()  # the database goes away under the running bot
        status, body = await ready(session, base)
        assert status == 503 and body["ready"] is False and body["checks"]["database"] != "ok"
        gone = await scrape(session, base)
        assert value(gone, "collabbot_database_up") == 0
        async with session.get(base + "/healthz") as response:
            assert response.status == 200 and (await response.json())["ok"] is True
