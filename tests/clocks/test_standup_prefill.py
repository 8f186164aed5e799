"""A stand-up prefilled from open work: the prompt lists the person's open subtasks with their progress and
deadline colour (the board's rule), "yesterday" comes from the last answer's "today", and the answer form has
a progress field per subtask — answering updates the subtask's progress in the same tap."""

from __future__ import annotations

from datetime import date

from bot.clock import ManualClock
from storage.models import AuditEntry, ProgressUpdate, Subtask
from tests.clocks.harness import bot_messages, local, reset_database, run_until, running, text_of
from tests.clocks.test_alerts_reports import collaboration, demo, ok, titled

SH = "Asia/Shanghai"


def form_fields(message) -> dict[str, dict]:
    return {f["name"]: f for f in message.content["form"]["fields"]}


async def test_a_standup_prompt_shows_open_subtasks_and_one_tap_updates_their_progress(database_url):
    await reset_database(database_url)
    clock = ManualClock(local(date(2026, 11, 23), "09:00", SH))
    async with running(demo(database_url), clock) as (app, sim):
        code = await collaboration(sim)  # -01 Han Mei, due Thu 26 Nov; -02 Anna, due Fri 4 Dec
        await ok(await sim.say("lilei", "standup set time: 09:30 cutoff: 11:00", "global"))
        await run_until(app, clock, local(date(2026, 11, 24), "09:31", SH))

        prompt = titled(await bot_messages("dm:hanmei"), "Stand-up ·")[-1]
        text = text_of(prompt)
        assert f"🟡 {code}-01 Poster draft (0%, 2026-11-26)" in text  # due within two working days: yellow
        anna = titled(await bot_messages("dm:anna"), "Stand-up ·")[-1]
        assert f"🟢 {code}-02 Copy (0%, 2026-12-04)" in text_of(anna)
        task = await Subtask.get(code=f"{code}-01")
        fields = form_fields(prompt)
        assert fields[f"progress_{task.id}"]["initial"] == "0" and code in str(fields[f"progress_{task.id}"]["label"])
        assert f"{code}-01 Poster draft" in fields["today"]["initial"]  # today's plan prefilled from the open work

        bad = await sim.submit("hanmei", prompt.id, {"today": "draft", f"progress_{task.id}": "150"})
        assert bad["form_errors"] and f"progress_{task.id}" in bad["form_errors"], bad
        assert (await Subtask.get(id=task.id)).progress == 0

        await ok(await sim.submit("hanmei", prompt.id, {"today": "finish the draft，送审", "blockers": "无", f"progress_{task.id}": "60%"}))
        task = await Subtask.get(id=task.id)
        assert task.progress == 60 and task.stage == "in_progress"
        assert await ProgressUpdate.filter(subtask_id=task.id, progress=60).count() == 1
        assert await AuditEntry.filter(action="task.progress", subject=task.code).count() == 1
        refreshed = (await bot_messages("dm:hanmei"))
        assert any(f"{code}-01 Poster draft (60%, 2026-11-26)" in text_of(m) for m in refreshed)
        # an unchanged progress value writes no second report
        await ok(await sim.submit("hanmei", prompt.id, {"today": "finish the draft，送审", f"progress_{task.id}": "60"}))
        assert await ProgressUpdate.filter(subtask_id=task.id).count() == 1

        # the next day: "yesterday" is yesterday's plan, as typed; the overdue subtask turns red on the 27th
        await run_until(app, clock, local(date(2026, 11, 25), "09:31", SH))
        prompt = titled(await bot_messages("dm:hanmei"), "Stand-up ·")[-1]
        assert form_fields(prompt)["yesterday"]["initial"] == "finish the draft，送审"
        assert f"{code}-01 Poster draft (60%, 2026-11-26)" in text_of(prompt)
        await run_until(app, clock, local(date(2026, 11, 27), "09:31", SH))
        prompt = titled(await bot_messages("dm:hanmei"), "Stand-up ·")[-1]
        assert f"🔴 {code}-01 Poster draft (60%, 2026-11-26)" in text_of(prompt)
