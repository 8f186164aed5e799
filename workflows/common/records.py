"""Helpers every workflow shares: where to announce, confirmations, SLA due times, id sequences."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.models import Model

from bot.calendar import WorkCalendar
from bot.errors import NotAllowed, TransitionNotAllowed
from bot.i18n import _
from bot.router import Context
from bot.types import Audience, ToCollaboration
from storage import directory, sql
from storage.at_end import AtEnd
from storage.event_end import confirmation_row
from storage.models import Collaboration, Confirmation, Department, Group, Person
from storage.unique import next_sequence_value, upsert_statement

from .format import when

_UNLOADED: Any = object()


def loaded(row: Model, name: str) -> Any:
    """The row's ``name`` relation if a join (``select_related``), a create or ``related`` already loaded it,
    else None — without a query."""
    value = row.__dict__.get(f"_{name}", _UNLOADED)
    return None if value is _UNLOADED else value


async def related(row: Model, name: str) -> Any:
    """The row's ``name`` relation, read at most once: what is loaded already, else a person, department or
    group from the directory cache, else one select; kept on the row."""
    value = row.__dict__.get(f"_{name}", _UNLOADED)
    if value is _UNLOADED:
        target = getattr(row._meta.fields_map.get(name), "related_model", None)
        reader = _DIRECTORY_READERS.get(target) if isinstance(target, type) else None
        value = await reader(getattr(row, f"{name}_id")) if reader is not None else await getattr(row, name)
        setattr(row, f"_{name}", value)
    return value


_DIRECTORY_READERS: dict[type[Model], Callable[[int | None], Awaitable[Any]]] = {
    Person: directory.person,
    Department: directory.department,
    Group: directory.group_by_id,
}


async def person_of(person_id: int | None, *known: Person | None) -> Person | None:
    """The person ``person_id``: one of ``known`` (people the handler has loaded already) when it is among
    them, else from the directory cache."""
    if person_id is None:
        return None
    for person in known:
        if person is not None and person.id == person_id:
            return person
    return await directory.person(person_id)


async def announce_to(collab: Collaboration) -> Audience:
    """The collaboration's groups, or its initiator when it is bound to none."""
    return ToCollaboration(collab.id, or_person=collab.initiator_id)


async def next_number(name: str) -> int:
    """The next value of a named counter: one atomic upsert, safe under concurrent writers in any process."""
    return await next_sequence_value(name)


async def open_confirmation(subject: str, purpose: str, person_id: int, now: datetime, *, at_end: bool = False) -> None:
    """Ask ``person_id`` to confirm: a new pending confirmation, or the earlier one made pending again.
    ``at_end``: written with the event's last statement (``storage.at_end``), for a flow that does not read
    it back in the same event."""
    keys = {"subject": subject, "purpose": purpose, "person_id": person_id}
    text, params = upsert_statement(Confirmation, keys, {"state": "pending", "decided_at": None, "comment": "", "created_at": now}, ("state", "decided_at", "comment"))
    if at_end:
        await sql.write_at_end(AtEnd(text, params, (confirmation_row(subject, purpose, person_id),)))
    else:
        await sql.execute(text, params)


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
