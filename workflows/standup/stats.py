"""Stand-up participation: ``standup stats [weeks]``."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import timedelta
from typing import Any

from bot.errors import NotFound
from bot.i18n import _, join
from bot.router import Context, Router
from bot.types import Card, Outcome
from storage.models import Person
from storage.models_clocks import StandupRun

from .common import existing_standup, standup_today
from .store import run_state

router = Router()


# ---------------------------------------------------------------- participation


async def stats(ctx: Context, rest: str) -> Outcome:
    """Participation per person over the last N weeks (default 4): on time, late, away, missed."""
    weeks = 4
    if match := re.search(r"\d+", rest or ""):
        weeks = max(1, min(52, int(match.group())))
    today = standup_today(ctx)
    since = today - timedelta(weeks=weeks)
    query = StandupRun.filter(day__gte=since, day__lte=today).order_by("day")
    if ctx.group is not None:
        standup = await existing_standup(ctx)
        if standup is None:
            raise NotFound(_("This group has no stand-up yet. Send “standup set time: 09:30 cutoff: 11:00”."))
        query = query.filter(standup_id=standup.id)
    runs = list(await query)
    if ctx.group is None and ctx.actor is not None:
        runs = [r for r in runs if ctx.actor.id in [int(p) for p in r.participants or []]]
    counts: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    weekly: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for run in runs:
        state = await run_state(run)
        week = f"W{run.day.isocalendar().week:02d}"
        for pid in [int(p) for p in run.participants or []]:
            if ctx.group is None and ctx.actor is not None and pid != ctx.actor.id:
                continue
            status = state.status(pid)
            counts[pid][status] += 1
            if status not in ("skipped", "leave"):
                weekly[pid][week][1] += 1
                weekly[pid][week][0] += status in ("answered", "late")
    if not counts:
        return Outcome().reply(_("No stand-ups in the last {weeks} weeks.", weeks=weeks), ephemeral=True)
    people = {p.id: p.name for p in await Person.filter(id__in=list(counts))}
    lines: list[Any] = [_("Participation over the last {weeks} weeks ({runs} stand-ups):", weeks=weeks, runs=len(runs))]
    for pid in sorted(counts, key=lambda p: people.get(p, "")):
        c = counts[pid]
        expected = sum(c.values()) - c["skipped"] - c["leave"]
        rate = round(100 * (c["answered"] + c["late"]) / expected) if expected else 100
        trend = " ".join(f"{week} {round(100 * a / n) if n else 100}%" for week, (a, n) in sorted(weekly[pid].items()))
        lines.append(
            _(
                "- **{name}**: {rate}% — {ontime} on time, {late} late, {away} away, {missing} missed · {trend}",
                name=people.get(pid, str(pid)),
                rate=rate,
                ontime=c["answered"],
                late=c["late"],
                away=c["skipped"] + c["leave"],
                missing=c["missing"],
                trend=trend,
            )
        )
    return Outcome().reply(Card(title=_("Stand-up participation"), body=join(lines), color="blue"))
