"""Being away from stand-ups: the skip button, ``standup skip [date]``, ``standup leave …``, ``standup back``."""

from __future__ import annotations

import contextlib
import re
from datetime import timedelta

from bot.dates import parse_date
from bot.errors import InvalidInput, NotFound
from bot.i18n import _
from bot.router import Context, Router
from bot.types import Outcome
from storage.models import Person
from storage.models_clocks import StandupAbsence, StandupAnswer, StandupRun

from .cards import day_label
from .common import actor_person, refresh_cards, standup_today
from .store import current_runs

router = Router()


async def _mark_away(ctx: Context, person: Person, kind: str, runs: list[StandupRun], outcome: Outcome) -> None:
    """Record ``kind`` (skipped / leave) on runs already prompted, and refresh their cards."""
    for run in runs:
        answer = await StandupAnswer.filter(run_id=run.id, person_id=person.id).first()
        if answer is not None and answer.status == "answered":
            continue
        if answer is None:
            answer = await StandupAnswer.create(run=run, person=person, status=kind, answered_at=ctx.now, updated_at=ctx.now)
        else:
            answer.status, answer.updated_at = kind, ctx.now
            await answer.save(update_fields=["status", "updated_at"])
        await refresh_cards(ctx, run, person, answer, outcome)


@router.action("standup.skip")
async def skip_button(ctx: Context) -> Outcome:
    person = actor_person(ctx)
    run = await StandupRun.get_or_none(id=int(ctx.event.value.get("run", 0)))
    if run is None or person.id not in [int(p) for p in run.participants or []]:
        raise NotFound(_("This stand-up is not yours or no longer exists."))
    outcome = Outcome().record("standup.skip", f"run:{run.id}", person=person.id)
    await _mark_away(ctx, person, "skipped", [run], outcome)
    return outcome.reply(_("OK, you skip the stand-up of {day}.", day=day_label(run.day)), ephemeral=True)


async def skip(ctx: Context, rest: str) -> Outcome:
    person = actor_person(ctx)
    today = standup_today(ctx)
    day = parse_date(rest, today) if rest.strip() else today
    await StandupAbsence.create(person=person, start=day, end=day, kind="skip", created_at=ctx.now)
    outcome = Outcome().record("standup.skip", f"person:{person.id}", day=day.isoformat())
    runs = [r for r in await current_runs(person.id, ctx.now) if r.day == day]
    await _mark_away(ctx, person, "skipped", runs, outcome)
    return outcome.reply(_("OK, you skip the stand-up of {day}.", day=day_label(day)), ephemeral=True)


_RANGE_SPLIT = re.compile(r"\s*(?:\.\.|~|～|到|至|—|–|\bto\b|\s-\s)\s*")


async def leave(ctx: Context, rest: str) -> Outcome:
    person = actor_person(ctx)
    today = standup_today(ctx)
    text = rest.strip()
    if not text:
        raise InvalidInput(_("Give the dates of your leave, e.g. “standup leave 2026-12-01 to 2026-12-05”."))
    tokens = _RANGE_SPLIT.sub(" ", text).split()
    start = parse_date(tokens[0], today)
    end, words = start, tokens[1:]
    if words:
        with contextlib.suppress(InvalidInput):
            end, words = parse_date(words[0], today), words[1:]
    reason = " ".join(words)
    if end < start:
        raise InvalidInput(_("The leave ends ({end}) before it starts ({start}).", end=end.isoformat(), start=start.isoformat()))
    if (end - start).days > 366:
        raise InvalidInput(_("A leave can be at most a year long."))
    await StandupAbsence.create(person=person, start=start, end=end, kind="leave", reason=reason.strip(), created_at=ctx.now)
    outcome = Outcome().record("standup.leave", f"person:{person.id}", start=start.isoformat(), end=end.isoformat())
    runs = [r for r in await current_runs(person.id, ctx.now) if start <= r.day <= end]
    await _mark_away(ctx, person, "leave", runs, outcome)
    return outcome.reply(
        _("On leave from {start} to {end}: no stand-up prompts for you until then.", start=start.isoformat(), end=end.isoformat()),
        ephemeral=True,
    )


async def back(ctx: Context) -> Outcome:
    person = actor_person(ctx)
    today = standup_today(ctx)
    rows = await StandupAbsence.filter(person_id=person.id, end__gte=today)
    for row in rows:
        if row.start >= today:
            await row.delete()
        else:
            row.end = today - timedelta(days=1)
            await row.save(update_fields=["end"])
    return Outcome().record("standup.back", f"person:{person.id}").reply(_("Welcome back: you get stand-up prompts again."), ephemeral=True)
