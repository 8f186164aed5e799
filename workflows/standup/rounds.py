"""The stand-up clock: the materializer source, and the prompt, reminder and digest of each run."""

from __future__ import annotations

from datetime import date

from bot.router import Context, Router
from bot.scheduler import MaterializeContext
from bot.types import Conversation, Outcome, TimerSpec, ToConversation, ToPerson
from storage import directory
from storage.models import Group
from storage.models_clocks import Standup, StandupRun

from .cards import digest_card, prompt_card, reminder_card
from .common import task_colours
from .store import (
    absences,
    close_run,
    desired_timers,
    group_of,
    open_run,
    open_subtasks,
    participants,
    previous_plan,
    run_state,
    standup_and_group,
    standup_where,
)

router = Router()


async def materialize(mctx: MaterializeContext) -> list[TimerSpec]:
    """Prompt, reminder and digest rows for every active stand-up, for the materializer's window."""
    specs: list[TimerSpec] = []
    for standup in await Standup.filter(active=True):
        since = max(mctx.since, standup.updated_at)
        if since < mctx.until:
            specs += desired_timers(standup, mctx.calendar, since, mctx.until)
    return specs


def _late(ctx: Context) -> int | None:
    value = ctx.event.payload.get("_late_s")
    return int(value) if value else None


async def _timer_run(ctx: Context) -> tuple[Standup, Group, date] | None:
    standup = await standup_where("id", int(ctx.event.payload.get("standup", 0)))
    if standup is None or not standup.active:
        return None
    return standup, await group_of(standup), date.fromisoformat(ctx.event.payload["day"])


async def _timer_open_run(ctx: Context) -> tuple[Standup, Group, StandupRun] | None:
    """The open run a reminder or digest timer is for, with its stand-up and group (one read and the
    directory's cache): none when the stand-up is gone or paused, or the run is not open."""
    run = await open_run(int(ctx.event.payload.get("standup", 0)), date.fromisoformat(ctx.event.payload["day"]))
    if run is None:
        return None
    standup, group = await standup_and_group(run)
    return (standup, group, run) if standup.active else None


def _audience(standup: Standup, group: Group, person_id: int) -> ToPerson | ToConversation:
    if standup.mode == "group":
        return ToConversation(Conversation(group.platform, group.conversation_id))
    return ToPerson(person_id)


@router.timer("standup.prompt")
async def prompt(ctx: Context) -> Outcome:
    """One prompt per participant who is not away; the run row makes a second firing a no-op."""
    found = await _timer_run(ctx)
    if found is None:
        return Outcome()
    standup, group, day = found
    if await StandupRun.exists(standup_id=standup.id, day=day):
        return Outcome()
    people_ids = await participants(standup)
    away = await absences(people_ids, day)
    from .schedule import Plan, occurrence

    occ = occurrence(Plan.of(standup), day)
    run = await StandupRun.create(
        standup=standup,
        day=day,
        participants=people_ids,
        absent={str(k): ("skipped" if v == "skip" else "leave") for k, v in away.items()},
        prompted_at=ctx.now,
        cutoff_at=occ.cutoff_at,
        late_by=_late(ctx) or 0,
    )
    outcome = Outcome().record("standup.prompted", f"group:{group.id}", day=day.isoformat(), people=people_ids)
    people = await directory.people(people_ids)
    for pid in people_ids:
        if pid in away or pid not in people:
            continue
        tasks = await open_subtasks(pid)
        outcome.send(
            _audience(standup, group, pid),
            prompt_card(standup, group, run, people[pid], tasks, await previous_plan(pid, day), late_seconds=_late(ctx), colours=task_colours(ctx, tasks, day)),
        )
    return outcome


@router.timer("standup.remind")
async def remind(ctx: Context) -> Outcome:
    """Only to participants with no answer, skip or leave."""
    found = await _timer_open_run(ctx)
    if found is None:
        return Outcome()
    standup, group, run = found
    day = run.day
    state = await run_state(run)
    outcome = Outcome()
    for pid in [int(p) for p in run.participants or []]:
        if state.status(pid) != "missing" or pid not in state.people:
            continue
        tasks = await open_subtasks(pid)
        outcome.send(_audience(standup, group, pid), reminder_card(standup, run, state.people[pid], await previous_plan(pid, day), tasks))
    return outcome


@router.timer("standup.digest")
async def digest(ctx: Context) -> Outcome:
    found = await _timer_open_run(ctx)
    if found is None:
        return Outcome()
    standup, group, run = found
    day = run.day
    if not await close_run(run.id, ctx.now):
        return Outcome()
    run.state, run.closed_at = "closed", ctx.now
    state = await run_state(run)
    outcome = Outcome().record("standup.digest", f"group:{group.id}", day=day.isoformat())
    outcome.send(ToConversation(Conversation(group.platform, group.conversation_id)), digest_card(standup, group, state, _late(ctx)))
    return outcome
