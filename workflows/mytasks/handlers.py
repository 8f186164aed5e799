"""“My tasks” (我的任务 / ``mytasks``): one card with everything waiting for the sender across
collaborations, and the optional morning digest on working days.

- ``mytasks`` / ``我的任务``: the card (subtasks I own with their colour, decisions, reviews, risks to answer)
  with a signed link to my dashboard page when the dashboard is on.
- ``mytasks on [09:00]`` / ``我的任务 订阅 [9:00]``: the morning digest, at that local time on working days;
  ``mytasks off`` / ``我的任务 退订`` stops it. Aliases ``digest`` / ``每日待办``.
- Timer ``mytasks.digest``, key ``mytasks:digest:{person}:{local date}``, materialized ahead like the stand-ups'
  prompts; a morning with nothing waiting sends nothing.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.calendar import WorkCalendar
from bot.errors import InvalidInput
from bot.i18n import Msg, _, join
from bot.links import LinkError, links_enabled, sign_link
from bot.recurrence import recurring
from bot.router import Context, Router
from bot.scheduler import MaterializeContext, reconcile_timers
from bot.types import Card, Outcome, TimerSpec, ToPerson
from storage.models import Person
from storage.models_mytasks import DigestSubscription

from ..common import lookup
from ..common.format import day, when
from ..common.records import require_actor
from ..standup.schedule import hhmm, parse_hhmm
from .items import Waiting, waiting_for

router = Router()

DOT = {"red": "🔴", "yellow": "🟡", "green": "🟢", "grey": "⚪", "blue": "🔵"}
ON_WORDS = ("on", "subscribe", "daily", "订阅", "开启", "打开", "开")
OFF_WORDS = ("off", "unsubscribe", "stop", "退订", "关闭", "取消", "关")
DECISION_LABELS: dict[str, Msg] = {
    "request": _("Accept or decline the request for your department"),
    "change": _("Sign the change request"),
    "minutes": _("Confirm the minutes"),
    "delay": _("Confirm or reject the new date"),
}
HORIZON = timedelta(hours=36)


def dashboard_link(ctx_config: Any, person_id: int, now: datetime) -> str | None:
    """A signed link to the person's dashboard page, or None when the dashboard is off."""
    if not links_enabled(ctx_config):
        return None
    try:
        return sign_link(ctx_config, scope=f"person:{person_id}", person_id=person_id, now=now)
    except LinkError:
        return None


def waiting_card(waiting: Waiting, *, tz: str, link: str | None, title: Msg | None = None) -> Card:
    """The one card: four sections, empty ones left out."""
    lines: list[Any] = []
    if waiting.subtasks:
        lines.append(_("**Subtasks I own** ({n})", n=len(waiting.subtasks)))
        lines += [
            _("- {dot} {code} {title} — {progress}%, due {deadline}", dot=DOT[s.colour], code=s.task.code, title=s.task.title, progress=s.task.progress, deadline=day(s.task.deadline))
            for s in waiting.subtasks
        ]
    if waiting.decisions:
        lines.append(_("**To decide** ({n})", n=len(waiting.decisions)))
        lines += [
            _("- {code} {title}: {what}", code=d.subject, title=d.collaboration.title, what=DECISION_LABELS[d.kind])
            for d in waiting.decisions
        ]
    if waiting.reviews:
        lines.append(_("**Reviews I owe** ({n})", n=len(waiting.reviews)))
        lines += [
            _("- {code} {title} — submitted {time} (attempt {attempt})", code=r.task.code, title=r.task.title, time=when(r.request.submitted_at, tz), attempt=r.request.attempt)
            for r in waiting.reviews
        ]
    if waiting.risks:
        lines.append(_("**Risks to answer** ({n})", n=len(waiting.risks)))
        lines += [
            _("- {code} {description} — answer by {time}", code=r.risk.code, description=r.risk.description[:80], time=when(r.risk.due_at, tz))
            for r in waiting.risks
        ]
    if not lines:
        lines.append(_("Nothing is waiting for you. 🎉"))
    if link:
        lines.append(_("[Open my dashboard]({url})", url=link))
    red = any(s.colour == "red" for s in waiting.subtasks) or bool(waiting.risks)
    return Card(
        title=title or _("My tasks ({n})", n=waiting.count),
        body=join(lines),
        color="red" if red else "yellow" if waiting.count else "green",
    )


async def _person_today(person: Person, config: Any, now: datetime) -> date:
    return now.astimezone(ZoneInfo(person.timezone or config.bot.timezone)).date()


@router.command("mytasks", "my tasks", "todo list", "我的任务", "我的待办", "待办", "digest", "每日待办")
async def my_tasks(ctx: Context, args: str, calendar: WorkCalendar) -> Outcome:
    person = require_actor(ctx)
    words = args.strip().split()
    if words and words[0].lower() in ON_WORDS:
        return await _subscribe(ctx, person, " ".join(words[1:]))
    if words and words[0].lower() in OFF_WORDS:
        return await _unsubscribe(ctx, person)
    if words:
        raise InvalidInput(_("“{text}” is not something “my tasks” understands. Send “my tasks”, “my tasks on 09:00” or “my tasks off”.", text=args.strip()[:40]))
    waiting = await waiting_for(person, today=lookup.local_today(ctx), calendar=calendar, due_soon_working_days=ctx.config.bot.due_soon_working_days)
    card = waiting_card(waiting, tz=ctx.config.bot.timezone, link=dashboard_link(ctx.config, person.id, ctx.now))
    if ctx.group is not None:  # what waits for me is mine: privately, not in the group
        return Outcome().send(ToPerson(person.id), card).reply(_("I sent you your tasks in a direct message."), ephemeral=True)
    return Outcome().reply(card)


# ---------------------------------------------------------------- the morning digest


def _specs(sub: DigestSubscription, calendar: WorkCalendar, since: datetime, until: datetime) -> list[TimerSpec]:
    specs = []
    for current, due in recurring(parse_hhmm(sub.time), sub.timezone, since, until, calendar=calendar):
        key = f"mytasks:digest:{sub.person_id}:{current.isoformat()}"
        specs.append(TimerSpec(key, "mytasks.digest", due, {"person": sub.person_id, "day": current.isoformat(), "version": sub.version, "_series": f"mytasks:digest:{sub.person_id}"}))
    return specs


async def materialize(mctx: MaterializeContext) -> list[TimerSpec]:
    """The digest of every subscribed person on each working day in the window."""
    specs: list[TimerSpec] = []
    for sub in await DigestSubscription.filter(active=True):
        specs += _specs(sub, mctx.calendar, mctx.since, mctx.until)
    return specs


async def _subscribe(ctx: Context, person: Person, text: str) -> Outcome:
    try:
        at = parse_hhmm(text) if text.strip() else time(9, 0)
    except ValueError:
        raise InvalidInput(_("“{text}” is not a time. Use HH:MM, e.g. “my tasks on 08:30”.", text=text.strip()[:20])) from None
    tz = person.timezone or ctx.config.bot.timezone
    sub = await DigestSubscription.get_or_none(person_id=person.id)
    if sub is None:
        sub = await DigestSubscription.create(person_id=person.id, time=hhmm(at), timezone=tz, active=True, created_at=ctx.now, updated_at=ctx.now)
    else:
        sub.time, sub.timezone, sub.active, sub.version, sub.updated_at = hhmm(at), tz, True, sub.version + 1, ctx.now
        await sub.save(update_fields=["time", "timezone", "active", "version", "updated_at"])
    calendar: WorkCalendar = ctx.services["calendar"]
    await reconcile_timers(f"mytasks:digest:{person.id}:", _specs(sub, calendar, ctx.now, ctx.now + HORIZON), ctx.now)
    return (
        Outcome()
        .record("mytasks.digest_on", f"person:{person.id}", time=sub.time, timezone=tz)
        .reply(_("Every working day at {time} ({tz}) I will send you what is waiting for you. Stop it with “my tasks off”.", time=sub.time, tz=tz), ephemeral=True)
    )


async def _unsubscribe(ctx: Context, person: Person) -> Outcome:
    sub = await DigestSubscription.get_or_none(person_id=person.id)
    if sub is None or not sub.active:
        return Outcome().reply(_("You had no morning digest. Start one with “my tasks on 09:00”."), ephemeral=True)
    await DigestSubscription.filter(id=sub.id).update(active=False, version=sub.version + 1, updated_at=ctx.now)
    await reconcile_timers(f"mytasks:digest:{person.id}:", [], ctx.now)
    return Outcome().record("mytasks.digest_off", f"person:{person.id}").reply(_("The morning digest is off."), ephemeral=True)


@router.timer("mytasks.digest")
async def digest(ctx: Context, calendar: WorkCalendar) -> Outcome:
    payload = ctx.event.payload
    sub = await DigestSubscription.get_or_none(person_id=int(payload["person"]))
    person = await Person.get_or_none(id=int(payload["person"]))
    if sub is None or person is None or not sub.active:
        return Outcome()
    today = date.fromisoformat(payload["day"])
    waiting = await waiting_for(person, today=today, calendar=calendar, due_soon_working_days=ctx.config.bot.due_soon_working_days)
    if waiting.count == 0:
        return Outcome()
    card = waiting_card(
        waiting,
        tz=person.timezone or ctx.config.bot.timezone,
        link=dashboard_link(ctx.config, person.id, ctx.now),
        title=_("Good morning: {n} things wait for you today", n=waiting.count),
    )
    card.key = None
    return Outcome().send(ToPerson(person.id), card).record("mytasks.digest", f"person:{person.id}", day=today.isoformat(), items=waiting.count)
