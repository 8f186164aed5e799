"""Helpers every workflow shares: where to announce, confirmations, SLA due times, id sequences."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.calendar import WorkCalendar
from bot.errors import NotAllowed, TransitionNotAllowed
from bot.i18n import _
from bot.router import Context
from bot.types import Audience, ToCollaboration
from storage.models import Collaboration, Confirmation, Person
from storage.unique import create_or_get, next_sequence_value

from .format import when


async def announce_to(collab: Collaboration) -> Audience:
    """The collaboration's groups, or its initiator when it is bound to none."""
    return ToCollaboration(collab.id, or_person=collab.initiator_id)


async def next_number(name: str) -> int:
    """The next value of a named counter: one atomic upsert, safe under concurrent writers in any process."""
    return await next_sequence_value(name)


async def open_confirmation(subject: str, purpose: str, person_id: int, now: datetime) -> None:
    existing, created = await create_or_get(Confirmation, {"subject": subject, "purpose": purpose, "person_id": person_id}, {"created_at": now})
    if not created and existing.state != "pending":
        existing.state, existing.decided_at, existing.comment = "pending", None, ""
        await existing.save(update_fields=["state", "decided_at", "comment"])


async def record_confirmation(ctx: Context, subject: str, purpose: str, state: str, comment: str = "") -> None:
    """Who confirmed what and when: the platform's user id and the time, never edited afterwards."""
    assert ctx.actor is not None
    values: dict[str, Any] = {
        "state": state,
        "decided_at": ctx.now,
        "platform": ctx.event.platform,
        "platform_user_id": ctx.event.actor_id,
        "comment": comment,
    }
    row, created = await create_or_get(
        Confirmation, {"subject": subject, "purpose": purpose, "person_id": ctx.actor.id}, {"created_at": ctx.now, **values}
    )
    if not created:
        await Confirmation.filter(id=row.id).update(**values)


async def void_confirmations(subject: str, purpose_prefix: str) -> None:
    await Confirmation.filter(subject=subject, purpose__startswith=purpose_prefix, state="pending").update(state="void")


def require_actor(ctx: Context) -> Person:
    if ctx.actor is None:
        raise NotAllowed(_("I could not tell who you are. Ask an admin to add you to the directory."))
    return ctx.actor


def decided_line(verb: Any, person_name: str, moment: datetime | None, ctx: Context) -> Any:
    return _("{verb} by {name} at {time}", verb=verb, name=person_name, time=when(moment, ctx.config.bot.timezone))


def _add_working_days(ctx: Context, start: date, days: int) -> date:
    calendar: WorkCalendar = ctx.services["calendar"]
    return calendar.add_working_days(start, days)


def working_days_later(ctx: Context, days: int) -> datetime:
    """The end of the ``days``-th working day after today, in the organisation's timezone, as UTC."""
    tz = ZoneInfo(ctx.config.bot.timezone)
    today = ctx.now.astimezone(tz).date()
    due_day = _add_working_days(ctx, today, days)
    return datetime.combine(due_day, time(18, 0), tz).astimezone(ZoneInfo("UTC"))


def sla_timers(ctx: Context, key: str, kind: str, days: int, **payload: Any) -> list[tuple[str, str, datetime, dict[str, Any]]]:
    """A reminder one working day before the SLA runs out and an escalation when it does."""
    due = working_days_later(ctx, days)
    remind = working_days_later(ctx, days - 1) if days > 1 else due - timedelta(hours=4)
    return [
        (f"{key}:remind", f"{kind}.remind", remind, {**payload, "due": due.isoformat()}),
        (f"{key}:escalate", f"{kind}.escalate", due, {**payload, "due": due.isoformat()}),
    ]


def require_open(collab: Collaboration) -> None:
    """Completed, archived and cancelled collaborations are read-only."""
    if collab.state not in ("pending", "active"):
        from ..requests.states import CollaborationFlow

        raise TransitionNotAllowed(
            _("{code} is {state} and read-only. Send “show {code}” to read it.", code=collab.code, state=CollaborationFlow.label(collab.state))
        )
